package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;

/**
 * A thread that only drives kernels to get them compiled. Backends do not count its rows in
 * their statistics (rows assigned, rows rescored), and its calls do not end
 * {@link JvmBackend}'s background warm-up as real work would.
 */
@Internal
public class WarmUpThread extends Thread {
    public WarmUpThread(Runnable task, String name) {
        super(task, name);
        setDaemon(true);
    }

    /** Whether the calling thread is a warm-up thread. */
    public static boolean isCurrent() {
        return Thread.currentThread() instanceof WarmUpThread;
    }
}

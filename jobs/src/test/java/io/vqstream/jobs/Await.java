package io.vqstream.jobs;

import java.time.Duration;
import java.util.function.Supplier;

/** Polling for what a running job or cluster does, shared by the cluster and recovery tests. */
final class Await {
    private Await() {}

    /** A condition polled until it holds; it may also fail the test at once (an assertion inside). */
    interface Condition {
        boolean met() throws Exception;
    }

    /** Polls every 200 ms until {@code condition} holds; fails after {@code timeout}. */
    static void until(String what, Duration timeout, Condition condition) throws Exception {
        until(what, timeout, condition, () -> "");
    }

    /** {@link #until(String, Duration, Condition)} whose failure adds {@code context} (logs, state). */
    static void until(String what, Duration timeout, Condition condition, Supplier<String> context) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.met()) {
            if (System.nanoTime() > deadline) {
                String c = context.get();
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what + (c.isEmpty() ? "" : ":\n" + c));
            }
            Thread.sleep(200);
        }
    }
}

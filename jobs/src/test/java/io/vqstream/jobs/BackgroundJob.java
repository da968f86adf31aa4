package io.vqstream.jobs;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.JobListener;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * A command ({@code quantize}, {@code learn}, {@code decode}) running in this JVM on a
 * background thread, exactly as {@link VqstreamCli#execute} runs it, with a handle on its Flink
 * job so that a test can check it is still running and cancel it. The handle comes from a
 * context environment factory that makes the same local environment the command would get and
 * registers a job listener on it.
 */
final class BackgroundJob implements AutoCloseable {
    private static final Map<Thread, CompletableFuture<JobClient>> CLIENTS = new ConcurrentHashMap<>();

    private final String[] args;
    private final Thread thread;
    private final CompletableFuture<JobClient> client = new CompletableFuture<>();
    private volatile Integer exitCode;

    /** Installs the capturing context environment (for every thread); undo with {@link #uninstall()}. */
    static void install() {
        Context.install();
    }

    static void uninstall() {
        Context.uninstall();
    }

    private BackgroundJob(String... args) {
        this.args = args.clone();
        this.thread = new Thread(() -> {
            try {
                exitCode = VqstreamCli.execute(this.args);
            } finally {
                client.completeExceptionally(new IllegalStateException("the command ended with exit code " + exitCode
                        + " before submitting a job: " + String.join(" ", this.args)));
            }
        }, "vqstream-" + args[0]);
        CLIENTS.put(thread, client);
    }

    static BackgroundJob start(String... args) {
        BackgroundJob j = new BackgroundJob(args);
        j.thread.setDaemon(true);
        j.thread.start();
        return j;
    }

    /** Starts a command once another one has submitted its job (commands are started one at a time). */
    static BackgroundJob startAfter(BackgroundJob previous, String... args) throws Exception {
        previous.client();
        return start(args);
    }

    /** The job, once submitted (the broker check and topic set-up come first). */
    JobClient client() throws Exception {
        return client.get(60, TimeUnit.SECONDS);
    }

    JobStatus status() throws Exception {
        return client().getJobStatus().get(30, TimeUnit.SECONDS);
    }

    boolean commandRunning() {
        return thread.isAlive();
    }

    Integer exitCode() {
        return exitCode;
    }

    /** Cancels the job and waits for the command to return. */
    @Override
    public void close() throws Exception {
        boolean cancelledHere = false;
        try {
            if (thread.isAlive() && client.isDone() && !client.isCompletedExceptionally()) {
                JobClient c = client.get();
                if (!c.getJobStatus().get(30, TimeUnit.SECONDS).isGloballyTerminalState()) {
                    c.cancel().get(30, TimeUnit.SECONDS);
                    cancelledHere = true;
                }
            }
            thread.join(30_000);
            if (thread.isAlive()) {
                throw new AssertionError("'" + String.join(" ", args) + "' did not return within 30 s of cancelling its job");
            }
            if (cancelledHere && !Integer.valueOf(0).equals(exitCode)) {
                // a cancelled job is a deliberate stop: the command says so in one line and exits 0
                throw new AssertionError("'" + String.join(" ", args) + "' exited " + exitCode + " after its job was cancelled");
            }
        } finally {
            CLIENTS.remove(thread);
        }
    }

    /** Gives access to the protected context-environment hooks of {@link StreamExecutionEnvironment}. */
    private static final class Context extends StreamExecutionEnvironment {
        private static final Object LOCK = new Object();

        static void install() {
            initializeContextEnvironment(Context::create);
        }

        static void uninstall() {
            resetContextEnvironment();
        }

        /**
         * The environment the command gets without a context, a {@link LocalStreamEnvironment}, with
         * a job listener. Such an environment refuses to be built while a context is set, so the
         * context is lifted for the moment it takes (tests start one command at a time).
         */
        private static StreamExecutionEnvironment create(Configuration conf) {
            StreamExecutionEnvironment env;
            synchronized (LOCK) {
                resetContextEnvironment();
                try {
                    env = new LocalStreamEnvironment(conf);
                } finally {
                    install();
                }
            }
            CompletableFuture<JobClient> target = CLIENTS.get(Thread.currentThread());
            env.registerJobListener(new JobListener() {
                @Override
                public void onJobSubmitted(JobClient jobClient, Throwable t) {
                    if (target != null && jobClient != null) {
                        target.complete(jobClient);
                    }
                }

                @Override
                public void onJobExecuted(JobExecutionResult result, Throwable t) {}
            });
            return env;
        }
    }
}

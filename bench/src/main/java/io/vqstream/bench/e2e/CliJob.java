package io.vqstream.bench.e2e;

import io.vqstream.jobs.VqstreamCli;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.JobListener;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * A {@code bin/vqstream} command ({@code quantize}, {@code demo}, ...) run in this JVM through
 * {@link VqstreamCli#execute}, exactly as the launcher runs it: the command builds its own
 * {@link LocalStreamEnvironment} and so its own mini-cluster. A context environment factory
 * makes that same environment and adds two things: a job listener, which hands over the
 * {@link JobClient} and the time of submission, and a fixed REST port on 127.0.0.1 (the
 * mini-cluster would otherwise pick a random one), so that the harness can read
 * {@code /jobs/:id/checkpoints}. One command at a time.
 */
final class CliJob implements AutoCloseable {
    private static volatile CliJob current;

    private final String[] args;
    private final int restPort;
    private final Thread thread;
    private final CompletableFuture<JobClient> client = new CompletableFuture<>();
    private final CompletableFuture<JobExecutionResult> result = new CompletableFuture<>();
    private volatile long submittedNanos;
    private volatile Integer exitCode;
    private volatile long endedNanos;

    private CliJob(String[] args) throws IOException {
        this.args = args.clone();
        this.restPort = freePort();
        this.thread = new Thread(() -> {
            try {
                exitCode = VqstreamCli.execute(this.args);
            } catch (Throwable t) {
                exitCode = -1;
                client.completeExceptionally(t);
            } finally {
                endedNanos = System.nanoTime();
                client.completeExceptionally(new IllegalStateException("'" + String.join(" ", this.args) + "' ended with exit code "
                        + exitCode + " before submitting a job"));
            }
        }, "vqstream-" + args[0]);
        thread.setDaemon(true);
    }

    /** Starts the command on a background thread. */
    static CliJob start(String... args) throws IOException {
        if (current != null) {
            throw new IllegalStateException("one command at a time");
        }
        Context.install();
        CliJob j = new CliJob(args);
        current = j;
        j.thread.start();
        return j;
    }

    /** The job, once submitted (the command checks the broker and creates topics first). */
    JobClient client(long timeoutSeconds) throws Exception {
        return client.get(timeoutSeconds, TimeUnit.SECONDS);
    }

    /** System.nanoTime() when the mini-cluster accepted the job (0 before). */
    long submittedNanos() {
        return submittedNanos;
    }

    /** The job's result once it ended (net runtime: from submission to the end, without the cluster's start). */
    CompletableFuture<JobExecutionResult> result() {
        return result;
    }

    int restPort() {
        return restPort;
    }

    /** Waits for the command to return; its exit code. */
    int await(long timeoutSeconds) throws InterruptedException {
        thread.join(TimeUnit.SECONDS.toMillis(timeoutSeconds));
        if (thread.isAlive()) {
            throw new IllegalStateException("'" + String.join(" ", args) + "' did not return within " + timeoutSeconds + " s");
        }
        return exitCode;
    }

    long endedNanos() {
        return endedNanos;
    }

    /** Cancels the job (if it still runs) and waits for the command to return. */
    @Override
    public void close() throws Exception {
        try {
            // a command that returned took its job (and mini-cluster) with it
            if (thread.isAlive() && client.isDone() && !client.isCompletedExceptionally()) {
                JobClient c = client.get();
                JobStatus s = c.getJobStatus().get(30, TimeUnit.SECONDS);
                if (!s.isGloballyTerminalState()) {
                    c.cancel().get(60, TimeUnit.SECONDS);
                }
            }
            thread.join(60_000);
            if (thread.isAlive()) {
                throw new IllegalStateException("'" + String.join(" ", args) + "' did not return within 60 s of cancelling its job");
            }
        } finally {
            current = null;
            Context.uninstall();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Reaches the protected context-environment hooks of {@link StreamExecutionEnvironment}. */
    private static final class Context extends StreamExecutionEnvironment {
        private static final Object LOCK = new Object();

        static void install() {
            initializeContextEnvironment(Context::create);
        }

        static void uninstall() {
            resetContextEnvironment();
        }

        /**
         * The environment the command would get without a context. A {@link LocalStreamEnvironment}
         * refuses to be built while a context is set, so the context is lifted for that moment.
         */
        private static StreamExecutionEnvironment create(Configuration conf) {
            CliJob job = current;
            Configuration c = new Configuration(conf);
            if (job != null) {
                c.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
                c.set(RestOptions.ADDRESS, "127.0.0.1");
                c.set(RestOptions.BIND_PORT, Integer.toString(job.restPort));
                c.set(RestOptions.PORT, job.restPort);
            }
            StreamExecutionEnvironment env;
            synchronized (LOCK) {
                resetContextEnvironment();
                try {
                    env = new LocalStreamEnvironment(c);
                } finally {
                    install();
                }
            }
            if (job != null) {
                env.registerJobListener(new JobListener() {
                    @Override
                    public void onJobSubmitted(JobClient jobClient, Throwable t) {
                        if (jobClient != null) {
                            job.submittedNanos = System.nanoTime();
                            job.client.complete(jobClient);
                            jobClient.getJobExecutionResult().whenComplete((r, e) -> {
                                if (e != null) {
                                    job.result.completeExceptionally(e);
                                } else {
                                    job.result.complete(r);
                                }
                            });
                        } else if (t != null) {
                            job.client.completeExceptionally(t);
                        }
                    }

                    @Override
                    public void onJobExecuted(JobExecutionResult r, Throwable t) {}
                });
            }
            return env;
        }
    }
}

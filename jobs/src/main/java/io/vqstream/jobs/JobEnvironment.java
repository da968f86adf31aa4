package io.vqstream.jobs;

import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Builds the execution environment of a job from its configuration, the same way on the
 * embedded mini-cluster (bin/vqstream) and under {@code flink run} (where Flink's context
 * environment is used and these settings are applied on top of the cluster's).
 */
final class JobEnvironment {
    /** Default checkpoint interval when a job needs checkpoints and none is configured. */
    static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(10);
    private static volatile boolean underFlinkClient;
    private static volatile boolean remoteDetached;

    private JobEnvironment() {}

    /** The temporary directory of the embedded mini-cluster ({@link EmbeddedTempDir}). */
    static Path embeddedTempDir() {
        return EmbeddedTempDir.get();
    }

    /** True when the job runs under {@code flink run} (Flink's client), not on the embedded mini-cluster. */
    static boolean underFlinkClient() {
        return underFlinkClient;
    }

    /**
     * @param exactlyOnce turn checkpointing on even without a checkpoint directory
     * @param bounded     a job over files: a failure is reported after a few restarts instead of retried forever
     */
    static StreamExecutionEnvironment create(JobConfig c, boolean exactlyOnce, boolean bounded) {
        // only what the job configures is set; everything else stays as the cluster's config says
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.NAME, c.jobName != null ? c.jobName : "vqstream");
        if (c.stateBackend != null) {
            conf.set(StateBackendOptions.STATE_BACKEND, c.stateBackend.name().toLowerCase());
        }
        if (c.checkpointInterval != null) {
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, c.checkpointInterval);
        } else if (c.checkpointDir != null || exactlyOnce) {
            // exactly-once output becomes visible at checkpoints: they must happen
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, DEFAULT_CHECKPOINT_INTERVAL);
        }
        if (exactlyOnce) {
            conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        }
        if (c.checkpointDir != null) {
            Path dir = c.checkpointDir.toAbsolutePath();
            try {
                Files.createDirectories(dir);
            } catch (java.io.IOException e) {
                throw new ConfigException("cannot create checkpoint directory " + dir + ": " + e.getMessage());
            }
            conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.toUri().toString());
            // kept after cancellation and after a hard kill: DIR/<job-id>/chk-N, restorable with --restore-from
            conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION, ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        }
        if (c.restoreFrom != null) {
            Path p = c.restoreFrom.toAbsolutePath();
            if (!Files.exists(p)) {
                throw new ConfigException("--restore-from: no such checkpoint or savepoint: " + p);
            }
            if (Files.isDirectory(p) && !Files.exists(p.resolve("_metadata"))) {
                throw new ConfigException("--restore-from: " + p + " holds no _metadata (expected a chk-N or savepoint folder)");
            }
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, p.toUri().toString());
        }
        if (bounded) {
            // a job over files reports a failure after a few attempts instead of retrying forever
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 2);
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
        }
        StreamExecutionEnvironment env;
        if (c.jobManager != null) {
            if (bounded) {
                throw new ConfigException("--jobmanager submits the Kafka jobs; the file jobs run embedded");
            }
            int colon = c.jobManager.lastIndexOf(':');
            // the remote environment uploads the job jar with the job graph: the cluster needs nothing but Flink
            env = StreamExecutionEnvironment.createRemoteEnvironment(c.jobManager.substring(0, colon),
                    Integer.parseInt(c.jobManager.substring(colon + 1)), conf, jobJar().toString());
            remoteDetached = c.detached;
            underFlinkClient = false;
        } else {
            env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            remoteDetached = false;
            underFlinkClient = !(env instanceof org.apache.flink.streaming.api.environment.LocalStreamEnvironment);
            if (!underFlinkClient) {
                // the mini-cluster unpacks its RPC system (a 21 MB flink-rpc-akka jar) and blobs into
                // io.tmp.dirs and removes them only if it shuts down before the JVM exits
                EmbeddedTempDir.applyTo(conf);
                env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            }
        }
        if (c.parallelism != null) {
            env.setParallelism(c.parallelism);
        } else if (!underFlinkClient && c.jobManager == null) {
            env.setParallelism(1);
        }
        return env;
    }

    /** Whether the command returns once the job is submitted: {@code flink run -d}, or {@code --jobmanager} with {@code --detached}. */
    static boolean detached(StreamExecutionEnvironment env) {
        return remoteDetached
                || underFlinkClient && !env.getConfiguration().get(org.apache.flink.configuration.DeploymentOptions.ATTACHED);
    }

    /**
     * The shaded job jar that {@code --jobmanager} uploads: {@code -Dvqstream.job-jar}, else the
     * jar this class was loaded from (jobs/target/vqstream-jobs.jar under bin/vqstream).
     */
    static Path jobJar() {
        String p = System.getProperty("vqstream.job-jar");
        if (p != null) {
            return Path.of(p);
        }
        try {
            Path self = Path.of(JobEnvironment.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(self) && self.toString().endsWith(".jar")) {
                return self;
            }
            throw new ConfigException("not running from the job jar (" + self + "): build it (mvn -pl jobs -am package) "
                    + "and run bin/vqstream, or give -Dvqstream.job-jar=PATH");
        } catch (java.net.URISyntaxException e) {
            throw new ConfigException("cannot locate the job jar: " + e.getMessage());
        }
    }

    /**
     * Runs a job in the foreground and waits for it. On SIGTERM/SIGINT the job is cancelled and
     * the process exits within a few seconds (a watchdog halts it if cancellation hangs).
     */
    static JobClient start(StreamExecutionEnvironment env, String name) throws Exception {
        JobClient client = env.executeAsync(name);
        if (detached(env)) {
            return client; // flink run -d or --detached: the job belongs to the cluster now
        }
        AtomicReference<JobClient> ref = new AtomicReference<>(client);
        Thread hook = new Thread(() -> {
            Thread watchdog = new Thread(() -> {
                try {
                    Thread.sleep(8000);
                } catch (InterruptedException e) {
                    return;
                }
                Runtime.getRuntime().halt(143);
            }, "vqstream-shutdown-watchdog");
            watchdog.setDaemon(true);
            watchdog.start();
            JobClient jc = ref.get();
            try {
                if (!jc.getJobStatus().get(2, TimeUnit.SECONDS).isGloballyTerminalState()) {
                    System.err.println("vqstream: stopping job " + jc.getJobID());
                    jc.cancel().get(5, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                // exiting anyway
            }
        }, "vqstream-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        return client;
    }
}

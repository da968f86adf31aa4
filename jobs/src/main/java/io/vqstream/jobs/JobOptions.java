package io.vqstream.jobs;

import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/** The flags every job command shares; a flag overrides the same setting of the config file. */
final class JobOptions {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML job configuration (quantizer, batching, codebook source, ...).")
    Path config;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]", description = "Kafka brokers.")
    String bootstrapServers;

    @Option(names = "--input-topic", paramLabel = "TOPIC")
    String inputTopic;

    @Option(names = "--output-topic", paramLabel = "TOPIC")
    String outputTopic;

    @Option(names = "--dead-letter-topic", paramLabel = "TOPIC", description = "Default: vqstream-dead-letters.")
    String deadLetterTopic;

    @Option(names = "--codebook-topic", paramLabel = "TOPIC", description = "Compacted topic of codebook snapshots.")
    String codebookTopic;

    @Option(names = "--control-topic", paramLabel = "TOPIC", description = "Control messages (install, freeze, unfreeze, reset).")
    String controlTopic;

    @Option(names = "--parallelism", paramLabel = "N")
    Integer parallelism;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "Retained checkpoints go to DIR/<job-id>/chk-N.")
    Path checkpointDir;

    @Option(names = "--checkpoint-interval", paramLabel = "MILLIS", description = "Checkpoint interval in milliseconds.")
    Long checkpointIntervalMillis;

    @Option(names = "--restore-from", paramLabel = "PATH", description = "A chk-N or savepoint folder to resume from.")
    Path restoreFrom;

    @Option(names = "--jobmanager", paramLabel = "HOST:PORT",
            description = "Submit to the Flink cluster with this REST address (e.g. the one of vqstream cluster start); the job jar travels with it.")
    String jobManager;

    @Option(names = "--detached", description = "With --jobmanager: print the job id and return once the job is submitted.")
    boolean detached;

    @Option(names = "--exactly-once", description = "Transactional Kafka sinks (read with isolation.level=read_committed).")
    boolean exactlyOnce;

    /** The config file (or {@code fallback} when none is given) with the flags applied. */
    JobConfig resolve(JobConfig fallback) {
        JobConfig c;
        if (config != null) {
            c = JobConfig.load(config);
        } else if (fallback != null) {
            c = fallback;
        } else {
            throw new ConfigException("--config FILE is required");
        }
        if (bootstrapServers != null) {
            c.bootstrapServers = bootstrapServers;
        }
        if (inputTopic != null) {
            c.inputTopic = inputTopic;
        }
        if (outputTopic != null) {
            c.outputTopic = outputTopic;
        }
        if (deadLetterTopic != null) {
            c.deadLetterTopic = deadLetterTopic;
        }
        if (codebookTopic != null) {
            c.codebookTopic = codebookTopic;
        }
        if (controlTopic != null) {
            c.controlTopic = controlTopic;
        }
        if (parallelism != null) {
            if (parallelism < 1) {
                throw new ConfigException("--parallelism must be at least 1");
            }
            c.parallelism = parallelism;
        }
        if (checkpointDir != null) {
            c.checkpointDir = checkpointDir;
        }
        if (checkpointIntervalMillis != null) {
            if (checkpointIntervalMillis < 10) {
                throw new ConfigException("--checkpoint-interval must be at least 10 ms");
            }
            c.checkpointInterval = Duration.ofMillis(checkpointIntervalMillis);
        }
        if (restoreFrom != null) {
            // the savepoint path as Flink prints it (file:/...) or as a plain path
            String r = restoreFrom.toString();
            c.restoreFrom = r.startsWith("file:") ? Path.of(java.net.URI.create(r.replaceFirst("^file:/+", "file:///"))) : restoreFrom;
        }
        if (jobManager != null) {
            if (!jobManager.matches("[^:\\s]+:\\d{1,5}")) {
                throw new ConfigException("--jobmanager: expected HOST:PORT (the REST address), got '" + jobManager + "'");
            }
            c.jobManager = jobManager;
        }
        if (detached) {
            if (jobManager == null) {
                throw new ConfigException("--detached needs --jobmanager HOST:PORT (under flink run use flink run -d)");
            }
            c.detached = true;
        }
        if (exactlyOnce) {
            c.delivery = JobConfig.Delivery.EXACTLY_ONCE;
        }
        return c;
    }
}

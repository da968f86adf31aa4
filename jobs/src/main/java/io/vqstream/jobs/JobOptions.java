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
            c.restoreFrom = restoreFrom;
        }
        if (exactlyOnce) {
            c.delivery = JobConfig.Delivery.EXACTLY_ONCE;
        }
        return c;
    }
}

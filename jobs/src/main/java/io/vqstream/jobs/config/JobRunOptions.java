package io.vqstream.jobs.config;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.config.Check;
import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The {@code job} section: name, parallelism, state and checkpoints; keys left out defer to the cluster's Flink configuration. */
@Internal
public final class JobRunOptions {
    private JobRunOptions() {}

    /** Largest job parallelism: Flink's upper bound for max parallelism (2^15). */
    public static final int MAX_PARALLELISM = 1 << 15;

    public static final ConfigOption<String> NAME = ConfigOption.key("job.name", OptionType.STRING)
            .defaultDescription("vqstream-<command>")
            .description("The Flink job name.");

    public static final ConfigOption<Integer> PARALLELISM = ConfigOption.key("job.parallelism", OptionType.INT)
            .defaultDescription("the cluster's default").check(Check.atLeast(1)).check(Check.atMost(MAX_PARALLELISM, "Flink's maximum"))
            .description("Parallelism of the job's operators.")
            .flag("--parallelism", "N");

    public static final ConfigOption<JobConfig.StateBackend> STATE_BACKEND = ConfigOption.key("job.state-backend",
                    OptionType.enumType(JobConfig.StateBackend.class))
            .defaultDescription("the cluster's")
            .description("Where keyed state lives: on the heap (hashmap) or on local disk (rocksdb).");

    public static final ConfigOption<Path> CHECKPOINT_DIR = ConfigOption.key("job.checkpoint-dir", OptionType.PATH)
            .defaultDescription("the cluster's")
            .description("Retained checkpoints go to DIR/<job-id>/chk-N.")
            .flag("--checkpoint-dir", "DIR");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOption.key("job.checkpoint-interval", OptionType.DURATION)
            .defaultDescription("the cluster's").check(Check.atLeast(Duration.ofMillis(10)))
            .description("Checkpoint interval (a number is milliseconds).")
            .flag("--checkpoint-interval", "DURATION");

    public static final ConfigOption<Path> RESTORE_FROM = ConfigOption.key("job.restore-from", OptionType.PATH)
            .description("A chk-N or savepoint folder to resume from (Kafka jobs only; `file:` paths as Flink prints them work too).")
            .flag("--restore-from", "PATH");

    public static final List<ConfigOption<?>> ALL = List.of(NAME, PARALLELISM, STATE_BACKEND, CHECKPOINT_DIR, CHECKPOINT_INTERVAL,
            RESTORE_FROM);
}

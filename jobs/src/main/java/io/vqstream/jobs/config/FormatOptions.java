package io.vqstream.jobs.config;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionType;
import java.util.List;

/** Record formats on Kafka ({@code input.format}, {@code output.format}); files are always JSON lines. */
@Internal
public final class FormatOptions {
    private FormatOptions() {}

    public static final ConfigOption<JobConfig.Format> OUTPUT_FORMAT = ConfigOption.key("output.format",
                    OptionType.enumType(JobConfig.Format.class))
            .defaultValue(JobConfig.Format.JSON)
            .description("Format of the code records on Kafka (see connectors/README.md).");

    public static final ConfigOption<JobConfig.Format> INPUT_FORMAT = ConfigOption.key("input.format",
                    OptionType.enumType(JobConfig.Format.class))
            .defaultValue(JobConfig.Format.JSON)
            .description("Format of the vector records and audio chunks on Kafka.");

    public static final List<ConfigOption<?>> ALL = List.of(OUTPUT_FORMAT, INPUT_FORMAT);
}

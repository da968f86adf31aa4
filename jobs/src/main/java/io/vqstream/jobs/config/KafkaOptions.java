package io.vqstream.jobs.config;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionType;
import java.util.List;
import java.util.Map;

/** The {@code kafka} section: brokers, topics, delivery. Most keys have a flag of the same name that overrides them. */
@Internal
public final class KafkaOptions {
    private KafkaOptions() {}

    /** The codebook topic of {@code learn} when none is configured. */
    public static final String LEARN_CODEBOOK_TOPIC = "vqstream-codebooks";

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOption.key("kafka.bootstrap-servers", OptionType.STRING)
            .description("Kafka brokers; without them (and with --input/--output) a job runs embedded over files.")
            .flag("--bootstrap-servers", "HOST:PORT[,...]");

    public static final ConfigOption<String> INPUT_TOPIC = ConfigOption.key("kafka.input-topic", OptionType.STRING)
            .description("Topic of the input records (vectors, audio chunks or codes).")
            .flag("--input-topic", "TOPIC");

    public static final ConfigOption<String> OUTPUT_TOPIC = ConfigOption.key("kafka.output-topic", OptionType.STRING)
            .description("Topic of the output records.")
            .flag("--output-topic", "TOPIC");

    public static final ConfigOption<String> DEAD_LETTER_TOPIC = ConfigOption.key("kafka.dead-letter-topic", OptionType.STRING)
            .defaultValue("vqstream-dead-letters")
            .description("Topic of the dead letters (records that could not be processed, with the reason).")
            .flag("--dead-letter-topic", "TOPIC");

    public static final ConfigOption<String> CODEBOOK_TOPIC = ConfigOption.key("kafka.codebook-topic", OptionType.STRING)
            .defaultDescription("none (learn: " + LEARN_CODEBOOK_TOPIC + ")")
            .description("Compacted topic of codebook snapshots.")
            .flag("--codebook-topic", "TOPIC");

    public static final ConfigOption<String> CONTROL_TOPIC = ConfigOption.key("kafka.control-topic", OptionType.STRING)
            .description("Control messages (install, freeze, unfreeze, reset).")
            .flag("--control-topic", "TOPIC");

    public static final ConfigOption<String> GROUP_ID = ConfigOption.key("kafka.group-id", OptionType.STRING)
            .defaultValue("vqstream")
            .description("Consumer group of the Kafka sources.");

    public static final ConfigOption<JobConfig.Delivery> DELIVERY = ConfigOption.key("kafka.delivery",
                    OptionType.enumType(JobConfig.Delivery.class))
            .defaultValue(JobConfig.Delivery.AT_LEAST_ONCE)
            .description("With exactly-once the Kafka sinks are transactional (read with isolation.level=read_committed).")
            .flagSwitch("--exactly-once", JobConfig.Delivery.EXACTLY_ONCE);

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOption.key("kafka.transactional-id-prefix",
                    OptionType.STRING)
            .defaultValue("vqstream")
            .description("Prefix of the transactional ids of exactly-once sinks.");

    public static final ConfigOption<Map<String, String>> PROPERTIES = ConfigOption.key("kafka.properties", OptionType.STRING_MAP)
            .defaultValue(Map.of())
            .description("Extra Kafka client properties, handed to the clients as they are; they win over vqstream's defaults (sinks:"
                    + " batch.size 262144; sources: max.partition.fetch.bytes 8388608, isolation.level read_committed).");

    public static final List<ConfigOption<?>> ALL = List.of(BOOTSTRAP_SERVERS, INPUT_TOPIC, OUTPUT_TOPIC, DEAD_LETTER_TOPIC,
            CODEBOOK_TOPIC, CONTROL_TOPIC, GROUP_ID, DELIVERY, TRANSACTIONAL_ID_PREFIX, PROPERTIES);
}

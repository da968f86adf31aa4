package io.vqstream.connectors.kafka;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.PayloadDecoder;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;

/**
 * Builds a {@link KafkaSource} of {@link Decoded} records from one topic.
 *
 * <p>Defaults: a fresh start reads from the earliest offset of every partition (committed group
 * offsets are ignored; after a failure or from a savepoint the offsets come from the checkpoint);
 * unbounded; {@code isolation.level=read_committed}; {@code max.partition.fetch.bytes} 8 MiB
 * ({@link #FETCH_BYTES_PER_PARTITION}); the timeouts of {@link KafkaClientTimeouts};
 * payloads above 16 MiB dead-lettered unread. Offsets are committed to the group on each
 * completed checkpoint, for monitoring only.
 */
@PublicEvolving
public final class VqSourceBuilder<T> {
    /**
     * Default {@code max.partition.fetch.bytes}: 8 MiB instead of the client's 1 MiB. The reader
     * has one fetch in flight per broker, so a small fetch caps the rate at fetch size over round
     * trip: 1 MiB is about 1,900 binary vectors of D=128 or 700 JSON ones per round trip, and with
     * the broker on the same busy cores the job's shared binary path flowed 59–103k vectors/s with
     * 1 MiB against 80–197k with 8 MiB (with the sink's larger batches, bench/README.md). A record
     * larger than this is still returned whole (the client hands over at least one batch).
     */
    public static final int FETCH_BYTES_PER_PARTITION = 8 << 20;

    private final String bootstrapServers;
    private final String topic;
    private final String groupId;
    private PayloadDecoder<T> decoder;
    private boolean bounded;
    private Duration clientTimeout = KafkaClientTimeouts.DEFAULT;
    private final Properties overrides = new Properties();

    VqSourceBuilder(String bootstrapServers, String topic, String groupId, PayloadDecoder<T> decoder) {
        this.bootstrapServers = VqSinkBuilder.nonEmpty(bootstrapServers, "bootstrap servers");
        this.topic = VqSinkBuilder.nonEmpty(topic, "topic");
        this.groupId = VqSinkBuilder.nonEmpty(groupId, "group id");
        this.decoder = Objects.requireNonNull(decoder, "decoder");
    }

    /** Stops at the offsets that are the latest when the job starts (a bounded, batch-like run). */
    public VqSourceBuilder<T> bounded() {
        return bounded(true);
    }

    /** Reads forever (the default). */
    public VqSourceBuilder<T> unbounded() {
        return bounded(false);
    }

    public VqSourceBuilder<T> bounded(boolean bounded) {
        this.bounded = bounded;
        return this;
    }

    /** Payloads above this size become dead letters without being parsed (default 16 MiB). */
    public VqSourceBuilder<T> maxPayloadBytes(int maxPayloadBytes) {
        this.decoder = decoder.withMaxPayloadBytes(maxPayloadBytes);
        return this;
    }

    /** See {@link KafkaClientTimeouts}. */
    public VqSourceBuilder<T> clientTimeout(Duration timeout) {
        KafkaClientTimeouts.millis(timeout);
        this.clientTimeout = timeout;
        return this;
    }

    /** Any Kafka consumer or KafkaSource property; wins over the defaults. */
    public VqSourceBuilder<T> property(String key, String value) {
        overrides.setProperty(key, value);
        return this;
    }

    /** The client properties the source will use (bootstrap servers and group id included). */
    public Properties properties() {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrapServers);
        p.setProperty("group.id", groupId);
        p.setProperty("isolation.level", "read_committed");
        p.setProperty("max.partition.fetch.bytes", Integer.toString(FETCH_BYTES_PER_PARTITION));
        KafkaClientTimeouts.applyConsumer(p, clientTimeout);
        p.putAll(overrides);
        return p;
    }

    public KafkaSource<Decoded<T>> build() {
        KafkaSourceBuilder<Decoded<T>> b = KafkaSource.<Decoded<T>>builder()
                .setProperties(properties())
                .setTopics(topic)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setDeserializer(new DecodingDeserializationSchema<>(decoder));
        if (bounded) {
            b.setBounded(OffsetsInitializer.latest());
        }
        return b.build();
    }
}

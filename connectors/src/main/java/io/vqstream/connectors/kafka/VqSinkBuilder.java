package io.vqstream.connectors.kafka;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.connectors.serde.PayloadEncoder;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;

/**
 * Builds a {@link KafkaSink} that writes records to one topic, keyed by stream key.
 *
 * <p>Defaults: {@link DeliveryGuarantee#AT_LEAST_ONCE}; producer {@code batch.size} 256 KiB
 * ({@link #BATCH_BYTES}); the timeouts of {@link KafkaClientTimeouts}.
 * With {@link DeliveryGuarantee#EXACTLY_ONCE} the records of a checkpoint are written in one
 * Kafka transaction per subtask and become visible to {@code read_committed} consumers when the
 * checkpoint completes; a transactional id prefix, unique per sink across every job on the
 * cluster, is then required, and {@code transaction.timeout.ms} is 10 minutes by default and may
 * not exceed 15 minutes (the broker's default {@code transaction.max.timeout.ms}). Checkpoints
 * must be enabled and complete well within the transaction timeout.
 */
@PublicEvolving
public final class VqSinkBuilder<T> {
    /** Largest allowed producer transaction timeout: 15 minutes. */
    public static final Duration MAX_TRANSACTION_TIMEOUT = Duration.ofMinutes(15);
    public static final Duration DEFAULT_TRANSACTION_TIMEOUT = Duration.ofMinutes(10);

    /**
     * Default producer {@code batch.size}: 256 KiB instead of the client's 16 KiB. Code records
     * are small (tens of bytes), so at 100k codes/s a 16 KiB batch closes every few milliseconds
     * and the producer's requests, not the job, set the pace; {@code linger.ms} stays the
     * client's (5 ms), so a slow stream waits no longer than before. Memory: one open batch per
     * partition written to, within the client's {@code buffer.memory} (32 MiB).
     */
    public static final int BATCH_BYTES = 256 << 10;

    private final String bootstrapServers;
    private final String topic;
    private final PayloadEncoder<T> encoder;
    private DeliveryGuarantee guarantee = DeliveryGuarantee.AT_LEAST_ONCE;
    private String transactionalIdPrefix;
    private Duration transactionTimeout = DEFAULT_TRANSACTION_TIMEOUT;
    private Duration clientTimeout = KafkaClientTimeouts.DEFAULT;
    private final Properties defaults = new Properties();
    private final Properties overrides = new Properties();

    VqSinkBuilder(String bootstrapServers, String topic, PayloadEncoder<T> encoder) {
        this.bootstrapServers = nonEmpty(bootstrapServers, "bootstrap servers");
        this.topic = nonEmpty(topic, "topic");
        this.encoder = Objects.requireNonNull(encoder, "encoder");
    }

    static String nonEmpty(String s, String what) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        return s;
    }

    public VqSinkBuilder<T> deliveryGuarantee(DeliveryGuarantee guarantee) {
        this.guarantee = Objects.requireNonNull(guarantee, "guarantee");
        return this;
    }

    /** {@link DeliveryGuarantee#EXACTLY_ONCE} with this transactional id prefix. */
    public VqSinkBuilder<T> exactlyOnce(String transactionalIdPrefix) {
        this.guarantee = DeliveryGuarantee.EXACTLY_ONCE;
        return transactionalIdPrefix(transactionalIdPrefix);
    }

    public VqSinkBuilder<T> atLeastOnce() {
        this.guarantee = DeliveryGuarantee.AT_LEAST_ONCE;
        return this;
    }

    public VqSinkBuilder<T> transactionalIdPrefix(String prefix) {
        this.transactionalIdPrefix = nonEmpty(prefix, "transactional id prefix");
        return this;
    }

    /** Producer {@code transaction.timeout.ms} for EXACTLY_ONCE (default 10 min, at most 15 min). */
    public VqSinkBuilder<T> transactionTimeout(Duration timeout) {
        this.transactionTimeout = checkTransactionTimeout(timeout);
        return this;
    }

    /** See {@link KafkaClientTimeouts}. */
    public VqSinkBuilder<T> clientTimeout(Duration timeout) {
        KafkaClientTimeouts.millis(timeout);
        this.clientTimeout = timeout;
        return this;
    }

    /** Any Kafka producer property; wins over the defaults. */
    public VqSinkBuilder<T> property(String key, String value) {
        overrides.setProperty(key, value);
        return this;
    }

    /** A default the caller's {@link #property} still overrides (used for per-sink defaults). */
    VqSinkBuilder<T> defaultProperty(String key, String value) {
        defaults.setProperty(key, value);
        return this;
    }

    private static Duration checkTransactionTimeout(Duration t) {
        if (t == null || t.isNegative() || t.isZero()) {
            throw new IllegalArgumentException("transaction timeout must be positive, got " + t);
        }
        if (t.compareTo(MAX_TRANSACTION_TIMEOUT) > 0) {
            throw new IllegalArgumentException("transaction timeout " + KafkaClientTimeouts.human(t)
                    + " exceeds 15 min, the broker's default transaction.max.timeout.ms");
        }
        return t;
    }

    /** The producer properties the sink will use. */
    public Properties properties() {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrapServers);
        p.setProperty("batch.size", Integer.toString(BATCH_BYTES));
        KafkaClientTimeouts.applyProducer(p, clientTimeout);
        if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
            p.setProperty("transaction.timeout.ms", Long.toString(transactionTimeout.toMillis()));
        }
        p.putAll(defaults);
        p.putAll(overrides);
        return p;
    }

    public KafkaSink<T> build() {
        Properties p = properties();
        if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
            if (transactionalIdPrefix == null) {
                throw new IllegalArgumentException("an EXACTLY_ONCE sink to topic " + topic
                        + " needs a transactional id prefix, unique per sink across jobs");
            }
            String t = p.getProperty("transaction.timeout.ms");
            try {
                checkTransactionTimeout(Duration.ofMillis(Long.parseLong(t.trim())));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("transaction.timeout.ms \"" + t + "\" is not an integer");
            }
        }
        var b = KafkaSink.<T>builder()
                .setBootstrapServers(bootstrapServers)
                .setKafkaProducerConfig(p)
                .setDeliveryGuarantee(guarantee)
                .setRecordSerializer(new EncodingSerializationSchema<>(topic, encoder));
        if (transactionalIdPrefix != null) {
            b.setTransactionalIdPrefix(transactionalIdPrefix);
        }
        return b.build();
    }
}

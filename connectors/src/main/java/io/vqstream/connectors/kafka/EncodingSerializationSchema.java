package io.vqstream.connectors.kafka;

import io.vqstream.connectors.serde.PayloadEncoder;
import java.util.Objects;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Records → Kafka records through a {@link PayloadEncoder}. The Kafka timestamp is the Flink
 * record timestamp when it has one (≥ 0), else the producer's clock; the partition is chosen by
 * Kafka's default partitioner from the record key, so each stream key stays in order.
 */
public final class EncodingSerializationSchema<T> implements KafkaRecordSerializationSchema<T> {
    private final String topic;
    private final PayloadEncoder<T> encoder;

    public EncodingSerializationSchema(String topic, PayloadEncoder<T> encoder) {
        this.topic = Objects.requireNonNull(topic, "topic");
        this.encoder = Objects.requireNonNull(encoder, "encoder");
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
        Long ts = timestamp != null && timestamp >= 0 ? timestamp : null;
        return new ProducerRecord<>(topic, null, ts, encoder.key(element), encoder.value(element), encoder.headers(element));
    }
}

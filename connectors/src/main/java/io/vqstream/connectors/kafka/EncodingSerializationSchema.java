package io.vqstream.connectors.kafka;

import org.apache.flink.annotation.Internal;
import io.vqstream.connectors.serde.PayloadEncoder;
import java.util.Objects;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Records → Kafka records through a {@link PayloadEncoder}. The Kafka timestamp is the producer's
 * clock: the record's event time travels in its payload ({@code ts}), and stamping Kafka records
 * with old event times would let time-based retention delete them as soon as they are written
 * (a replay of week-old input would vanish under the default 7-day retention). The partition is
 * chosen by Kafka's default partitioner from the record key, so each stream key stays in order.
 */
@Internal
public final class EncodingSerializationSchema<T> implements KafkaRecordSerializationSchema<T> {
    private final String topic;
    private final PayloadEncoder<T> encoder;

    public EncodingSerializationSchema(String topic, PayloadEncoder<T> encoder) {
        this.topic = Objects.requireNonNull(topic, "topic");
        this.encoder = Objects.requireNonNull(encoder, "encoder");
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(topic, null, null, encoder.key(element), encoder.value(element), encoder.headers(element));
    }
}

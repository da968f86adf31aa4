package io.vqstream.connectors.kafka;

import org.apache.flink.annotation.Internal;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.connectors.serde.PayloadDecoder;
import java.util.Objects;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Kafka records → {@link Decoded} records through a {@link PayloadDecoder}; never throws on bad input. */
@Internal
public final class DecodingDeserializationSchema<T> implements KafkaRecordDeserializationSchema<Decoded<T>> {
    private final PayloadDecoder<T> decoder;

    public DecodingDeserializationSchema(PayloadDecoder<T> decoder) {
        this.decoder = Objects.requireNonNull(decoder, "decoder");
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        decoder.warmUp();
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Decoded<T>> out) {
        Decoded<T> d = decoder.decode(record.value(), new Origin(record.key(), record.offset(), record.timestamp()));
        if (d != null) {
            out.collect(d);
        }
    }

    @Override
    public TypeInformation<Decoded<T>> getProducedType() {
        return Decoded.typeInfo(decoder.valueType());
    }
}

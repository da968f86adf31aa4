package io.vqstream.connectors.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.connectors.serde.PayloadDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class DecodingDeserializationSchemaTest {
    /** Decodes UTF-8 text and counts its warm-ups. */
    static final class Text implements PayloadDecoder<String> {
        int warmUps;

        @Override
        public Decoded<String> decode(byte[] payload, Origin origin) {
            return Decoded.of(new String(payload, StandardCharsets.UTF_8));
        }

        @Override
        public TypeInformation<String> valueType() {
            return Types.STRING;
        }

        @Override
        public PayloadDecoder<String> withMaxPayloadBytes(int maxPayloadBytes) {
            return this;
        }

        @Override
        public void warmUp() {
            warmUps++;
        }
    }

    @Test
    void opensByWarmingItsDecoderOnceThenDecodesRecords() throws Exception {
        Text text = new Text();
        DecodingDeserializationSchema<String> schema = new DecodingDeserializationSchema<>(text);
        schema.open(null);
        assertEquals(1, text.warmUps, "the source's open warms the decoder");
        List<Decoded<String>> out = new ArrayList<>();
        schema.deserialize(new ConsumerRecord<>("t", 0, 7, null, "hi".getBytes(StandardCharsets.UTF_8)), new Collector<>() {
            @Override
            public void collect(Decoded<String> r) {
                out.add(r);
            }

            @Override
            public void close() {}
        });
        assertEquals("hi", out.get(0).value());
        assertEquals(1, text.warmUps, "records do not warm it again");
    }
}

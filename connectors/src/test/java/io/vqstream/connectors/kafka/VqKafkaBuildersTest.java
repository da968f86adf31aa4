package io.vqstream.connectors.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.connectors.serde.CodebookSnapshotCodec;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.DeadLetterCodec;
import io.vqstream.connectors.serde.VectorCodec;
import io.vqstream.connectors.serde.WireFormat;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** Builder options and the Kafka (de)serialization schemas, without a broker. */
class VqKafkaBuildersTest {
    private static final String BOOT = "127.0.0.1:9";

    @Test
    void sourceDefaultsAreBoundedTimeoutsReadCommittedAndEarliest() {
        VqSourceBuilder<VectorRecord> b = VqKafka.vectorSource(BOOT, "vectors", "g", WireFormat.JSON);
        Properties p = b.properties();
        assertEquals(BOOT, p.getProperty("bootstrap.servers"));
        assertEquals("g", p.getProperty("group.id"));
        assertEquals("read_committed", p.getProperty("isolation.level"));
        assertEquals("30000", p.getProperty("request.timeout.ms"));
        assertEquals("30000", p.getProperty("default.api.timeout.ms"));
        assertEquals("8388608", p.getProperty("max.partition.fetch.bytes"), "8 MiB fetches, not the client's 1 MiB");
        assertEquals("1048576", VqKafka.vectorSource(BOOT, "vectors", "g", WireFormat.JSON).property("max.partition.fetch.bytes", "1048576")
                .properties().getProperty("max.partition.fetch.bytes"), "a job's kafka.properties win");
        KafkaSource<Decoded<VectorRecord>> unbounded = b.build();
        assertEquals(Boundedness.CONTINUOUS_UNBOUNDED, unbounded.getBoundedness());
        assertEquals(Decoded.typeInfo(VectorRecord.typeInfo()), unbounded.getProducedType());
        assertEquals(Boundedness.BOUNDED, b.bounded().build().getBoundedness());
        assertEquals(Boundedness.CONTINUOUS_UNBOUNDED, b.unbounded().build().getBoundedness());
        Properties q = b.clientTimeout(Duration.ofSeconds(5)).property("isolation.level", "read_uncommitted").properties();
        assertEquals("5000", q.getProperty("default.api.timeout.ms"));
        assertEquals("read_uncommitted", q.getProperty("isolation.level"));
        assertThrows(IllegalArgumentException.class, () -> VqKafka.vectorSource(BOOT, " ", "g", WireFormat.JSON));
        assertThrows(IllegalArgumentException.class, () -> b.clientTimeout(Duration.ZERO));
    }

    @Test
    void sinkDefaultsAndExactlyOnceRules() {
        Properties alo = VqKafka.codeSink(BOOT, "codes", WireFormat.BINARY).properties();
        assertEquals("30000", alo.getProperty("max.block.ms"));
        assertEquals("30000", alo.getProperty("request.timeout.ms"));
        assertEquals("60000", alo.getProperty("delivery.timeout.ms"));
        assertNull(alo.getProperty("transaction.timeout.ms"));
        assertEquals("262144", alo.getProperty("batch.size"), "256 KiB batches, not the client's 16 KiB");
        assertNull(alo.getProperty("linger.ms"), "the client's linger: a slow stream waits no longer");
        assertEquals("16384", VqKafka.codeSink(BOOT, "codes", WireFormat.BINARY).property("batch.size", "16384").properties().getProperty("batch.size"));
        VqKafka.codeSink(BOOT, "codes", WireFormat.BINARY).build();

        VqSinkBuilder<DeadLetter> eo = VqKafka.deadLetterSink(BOOT, "dlq").exactlyOnce("vq-dlq");
        assertEquals("600000", eo.properties().getProperty("transaction.timeout.ms"));
        eo.build();
        assertEquals("900000", eo.transactionTimeout(Duration.ofMinutes(15)).properties().getProperty("transaction.timeout.ms"));
        assertEquals("transaction timeout 960 s exceeds 15 min, the broker's default transaction.max.timeout.ms",
                assertThrows(IllegalArgumentException.class, () -> eo.transactionTimeout(Duration.ofMinutes(16))).getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> VqKafka.deadLetterSink(BOOT, "dlq").exactlyOnce("p").property("transaction.timeout.ms", "3600000").build());
        assertEquals("an EXACTLY_ONCE sink to topic dlq needs a transactional id prefix, unique per sink across jobs",
                assertThrows(IllegalArgumentException.class, () -> VqKafka.deadLetterSink(BOOT, "dlq")
                        .deliveryGuarantee(org.apache.flink.connector.base.DeliveryGuarantee.EXACTLY_ONCE).build()).getMessage());
        assertEquals("5000", VqKafka.controlSink(BOOT, "c").clientTimeout(Duration.ofSeconds(5)).properties().getProperty("max.block.ms"));
    }

    @Test
    void codebookSinkAllowsLargeSnapshotsUnlessOverridden() {
        assertEquals("16777216", VqKafka.codebookSink(BOOT, "cb").properties().getProperty("max.request.size"));
        assertEquals("1048576", VqKafka.codebookSink(BOOT, "cb").property("max.request.size", "1048576").properties().getProperty("max.request.size"));
    }

    @Test
    void deserializationSchemaFillsSeqAndTsFromTheKafkaRecord() throws Exception {
        DecodingDeserializationSchema<VectorRecord> s = new DecodingDeserializationSchema<>(VectorCodec.json());
        ConsumerRecord<byte[], byte[]> rec = new ConsumerRecord<>("t", 0, 42L, 1234L, org.apache.kafka.common.record.TimestampType.CREATE_TIME,
                0, 0, "k".getBytes(UTF_8), "{\"key\":\"k\",\"vector\":[1.5]}".getBytes(UTF_8),
                new org.apache.kafka.common.header.internals.RecordHeaders(), java.util.Optional.empty());
        List<Decoded<VectorRecord>> out = new ArrayList<>();
        s.deserialize(rec, collector(out));
        assertEquals(List.of(Decoded.of(new VectorRecord("k", 42, 1234, new float[] {1.5f}))), out);

        DecodingDeserializationSchema<CodebookSnapshot> cb = new DecodingDeserializationSchema<>(new CodebookSnapshotCodec());
        List<Decoded<CodebookSnapshot>> none = new ArrayList<>();
        cb.deserialize(new ConsumerRecord<>("t", 0, 1L, "k".getBytes(UTF_8), null), collector(none));
        assertTrue(none.isEmpty(), "a tombstone yields nothing");
    }

    @Test
    void serializationSchemaSetsKeyAndHeadersAndLeavesTheTimestampToTheProducer() {
        EncodingSerializationSchema<DeadLetter> s = new EncodingSerializationSchema<>("dlq", new DeadLetterCodec());
        DeadLetter d = new DeadLetter("k1", DeadLetter.Stage.DESERIALIZE, "vector is empty", "{}".getBytes(UTF_8), 7);
        ProducerRecord<byte[], byte[]> r = s.serialize(d, null, 99L);
        assertEquals("dlq", r.topic());
        assertNull(r.partition());
        // event time stays in the payload; the Kafka timestamp is the producer's clock, so retention
        // measures from when the record was written, not from the input's (possibly old) event time
        assertNull(r.timestamp());
        assertArrayEquals("k1".getBytes(UTF_8), r.key());
        assertArrayEquals("vector is empty".getBytes(UTF_8), r.headers().lastHeader("vq-reason").value());
        assertArrayEquals("deserialize".getBytes(UTF_8), r.headers().lastHeader("vq-stage").value());
        assertNull(s.serialize(d, null, null).timestamp());
    }

    private static <T> Collector<T> collector(List<T> out) {
        return new Collector<>() {
            @Override
            public void collect(T record) {
                out.add(record);
            }

            @Override
            public void close() {}
        };
    }
}

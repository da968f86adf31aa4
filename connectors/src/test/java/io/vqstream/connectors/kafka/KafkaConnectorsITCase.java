package io.vqstream.connectors.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.connectors.serde.CodeCodec;
import io.vqstream.connectors.serde.CodebookSnapshotCodec;
import io.vqstream.connectors.serde.DeadLetterCodec;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.DecodedStreams;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.connectors.serde.VectorCodec;
import io.vqstream.connectors.serde.WireFormat;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.QuantizerOutput;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.CodebookSource;
import io.vqstream.operators.QuantizeOperatorConfig;
import io.vqstream.operators.VqStreams;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kafka in, the real quantize operator, Kafka out, against an embedded broker and a Flink
 * mini-cluster of parallelism 2.
 */
class KafkaConnectorsITCase {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static final List<Integer> LEVELS = List.of(8, 5, 5, 5);
    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    private static QuantizeOperatorConfig fsq() {
        return QuantizeOperatorConfig.builder("FSQ", Map.of("levels", LEVELS)).source(CodebookSource.INIT)
                .emitQuantized(true).build();
    }

    private static StreamExecutionEnvironment env(Configuration conf) {
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        return env;
    }

    private static float[] vector(Random rnd, int dim) {
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = (rnd.nextFloat() - 0.5f) * 6f;
        }
        return v;
    }

    /** The codes and quantized vector the reference FSQ gives for one vector. */
    private static QuantizerOutput oracle(float[] v) {
        Quantizer q = Quantizers.create("FSQ", Map.of("levels", LEVELS));
        return q.forwardTokens(q.initParams(0), new Tensor(v.clone(), 1, 1, v.length), ForwardOptions.eval());
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, String key, byte[] value) {
        return new ProducerRecord<>(topic, key == null ? null : key.getBytes(UTF_8), value);
    }

    private static String id(String key, long seq) {
        return key + "#" + seq;
    }

    @Test
    void vectorsToCodesWithEveryMalformedRecordDeadLetteredOnce() throws Exception {
        KAFKA.broker().createTopic("vec-json", 2);
        KAFKA.broker().createTopic("vec-bin", 2);
        KAFKA.broker().createTopic("codes-json", 2);
        KAFKA.broker().createTopic("codes-bin", 2);
        KAFKA.broker().createTopic("codebooks", 2, Map.of("cleanup.policy", "compact", "max.message.bytes", "16777216"));
        KAFKA.broker().createTopic("dead-letters", 1);

        Random rnd = new Random(7);
        Map<String, VectorRecord> good = new LinkedHashMap<>();
        List<ProducerRecord<byte[], byte[]>> in = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            VectorRecord r = new VectorRecord("k" + i % 4, i, 1_700_000_000_000L + i, vector(rnd, 4), i == 3 ? Map.of("lang", "en") : Map.of());
            good.put(id(r.key(), r.seq()), r);
            in.add(record("vec-json", r.key(), VectorCodec.encode(r, WireFormat.JSON)));
        }
        for (int i = 0; i < 20; i++) {
            VectorRecord r = new VectorRecord("b" + i % 2, i, 1_700_000_000_000L + i, vector(rnd, 4));
            good.put(id(r.key(), r.seq()), r);
            in.add(record("vec-bin", r.key(), VectorCodec.encode(r, WireFormat.BINARY)));
        }
        // malformed payload -> the reason its dead letter must give
        Map<String, String> badJson = new LinkedHashMap<>();
        badJson.put("{\"key\":\"bad1\",\"seq\":1000,\"vector\":[1,2", "broken JSON");
        badJson.put("{\"seq\":1001,\"vector\":[1,2,3,4]}", "key is missing");
        badJson.put("{\"key\":\"bad3\",\"seq\":1002,\"vector\":[]}", "vector is empty");
        badJson.put("{\"key\":\"bad4\",\"seq\":1003,\"vector\":[1,\"NaN\",3,4]}", "vector[1] is the string \"NaN\", expected a number");
        badJson.put("{\"key\":\"bad5\",\"seq\":1004,\"vector\":[1,2,1e39,4]}", "vector[2] 1e39 overflows float32");
        badJson.put("{\"key\":\"bad6\",\"seq\":1005,\"vector\":\"1,2,3,4\"}", "vector is a string, expected an array of numbers");
        badJson.put("{\"key\":\"bad7\",\"seq\":1006,\"vector\":[1,2,3,4],\"attributes\":{\"pad\":\"" + "x".repeat(5000) + "\"}}",
                "exceeds the limit of 4096 bytes");
        for (String json : badJson.keySet()) {
            in.add(record("vec-json", "bad", json.getBytes(UTF_8)));
        }
        // parses, but has 3 values where FSQ over 4 levels expects 4: the operator dead-letters it
        VectorRecord wrongDim = new VectorRecord("k0", 1007, 5, new float[] {1, 2, 3});
        in.add(record("vec-json", "k0", VectorCodec.encode(wrongDim, WireFormat.JSON)));
        Map<String, String> badBinary = new HashMap<>();
        byte[] okBin = VectorCodec.encode(new VectorRecord("bad8", 1008, 1, new float[] {1, 2, 3, 4}), WireFormat.BINARY);
        byte[] version3 = okBin.clone();
        version3[0] = 3;
        byte[] truncated = Arrays.copyOf(okBin, okBin.length - 1);
        in.add(record("vec-bin", "bad", version3));
        in.add(record("vec-bin", "bad", truncated));
        KAFKA.broker().produce(in);

        StreamExecutionEnvironment env = env(new Configuration());
        String boot = KAFKA.broker().bootstrapServers();
        DataStream<Decoded<VectorRecord>> json = env.fromSource(
                VqKafka.vectorSource(boot, "vec-json", "it-json", WireFormat.JSON).bounded().maxPayloadBytes(4096).build(),
                WatermarkStrategy.noWatermarks(), "vectors-json");
        DataStream<Decoded<VectorRecord>> bin = env.fromSource(
                VqKafka.vectorSource(boot, "vec-bin", "it-bin", WireFormat.BINARY).bounded().build(),
                WatermarkStrategy.noWatermarks(), "vectors-bin");
        DecodedStreams.Split<VectorRecord> a = DecodedStreams.split(json, "split-json");
        DecodedStreams.Split<VectorRecord> b = DecodedStreams.split(bin, "split-bin");
        VqStreams.Quantized q = VqStreams.quantize(a.values().union(b.values()), null, fsq(), "vq");
        q.codes().sinkTo(VqKafka.codeSink(boot, "codes-json", WireFormat.JSON).build());
        q.codes().sinkTo(VqKafka.codeSink(boot, "codes-bin", WireFormat.BINARY).build());
        q.codebooks().sinkTo(VqKafka.codebookSink(boot, "codebooks").build());
        a.deadLetters().union(b.deadLetters(), q.deadLetters()).sinkTo(VqKafka.deadLetterSink(boot, "dead-letters").build());
        env.execute("kafka-vectors-to-codes");

        // codes: exactly the good records, once each, with the reference's codes
        Map<String, CodeRecord> jsonCodes = codes("codes-json", CodeCodec.json());
        Map<String, CodeRecord> binCodes = codes("codes-bin", CodeCodec.binary());
        assertEquals(good.keySet(), jsonCodes.keySet());
        assertEquals(jsonCodes, binCodes.entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey,
                e -> withAttributes(e.getValue(), jsonCodes.get(e.getKey()).attributes()))));
        for (VectorRecord r : good.values()) {
            CodeRecord c = jsonCodes.get(id(r.key(), r.seq()));
            QuantizerOutput expected = oracle(r.vector());
            assertArrayEquals(expected.indices().data(), c.codes(), "codes of " + id(r.key(), r.seq()));
            assertArrayEquals(expected.quantized().data(), c.quantized(), 1e-6f, "quantized of " + id(r.key(), r.seq()));
            assertEquals(r.eventTime(), c.eventTime());
            assertEquals(r.attributes(), c.attributes());
        }

        // codebook snapshots: one per key, keyed by it, at the version its codes carry
        Map<String, CodebookSnapshot> books = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> rec : KAFKA.broker().readAll("codebooks", false)) {
            Decoded<CodebookSnapshot> d = new CodebookSnapshotCodec().decode(rec.value(), new Origin(rec.key(), rec.offset(), rec.timestamp()));
            assertTrue(d.ok(), () -> d.deadLetter().reason());
            assertEquals(new String(rec.key(), UTF_8), d.value().key());
            assertEquals("FSQ", d.value().quantizerType());
            assertTrue(books.put(d.value().key(), d.value()) == null, "one snapshot per key");
        }
        assertEquals(Set.of("k0", "k1", "k2", "k3", "b0", "b1"), books.keySet());
        for (CodeRecord c : jsonCodes.values()) {
            assertEquals(books.get(c.key()).version(), c.codebookVersion());
        }

        // dead letters: exactly one per malformed record, with its raw payload and reason
        List<ConsumerRecord<byte[], byte[]>> dl = KAFKA.broker().readAll("dead-letters", false);
        assertEquals(badJson.size() + 1 + 2, dl.size(), () -> dl.stream().map(r -> new String(r.value(), UTF_8)).toList().toString());
        Map<String, DeadLetter> byPayload = new HashMap<>();
        DeadLetter quantizeStage = null;
        for (ConsumerRecord<byte[], byte[]> rec : dl) {
            DeadLetter d = new DeadLetterCodec().decode(rec.value(), Origin.NONE).value();
            assertNotNull(d, new String(rec.value(), UTF_8));
            assertEquals(d.reason(), new String(rec.headers().lastHeader("vq-reason").value(), UTF_8));
            assertEquals(d.stage().wireName(), new String(rec.headers().lastHeader("vq-stage").value(), UTF_8));
            if (d.key() != null) {
                assertEquals(d.key(), new String(rec.key(), UTF_8));
            }
            if (d.stage() == DeadLetter.Stage.QUANTIZE) {
                quantizeStage = d;
            } else {
                assertEquals(DeadLetter.Stage.DESERIALIZE, d.stage());
                assertTrue(byPayload.put(new String(d.payload(), java.nio.charset.StandardCharsets.ISO_8859_1), d) == null);
            }
        }
        for (Map.Entry<String, String> e : badJson.entrySet()) {
            DeadLetter d = byPayload.get(new String(e.getKey().getBytes(UTF_8), java.nio.charset.StandardCharsets.ISO_8859_1));
            assertNotNull(d, "no dead letter for " + e.getKey());
            assertTrue(d.reason().contains(e.getValue()), d.reason());
        }
        assertTrue(byPayload.get(new String(version3, java.nio.charset.StandardCharsets.ISO_8859_1)).reason()
                .contains("format version byte 3, expected 1 or 2"));
        assertTrue(byPayload.get(new String(truncated, java.nio.charset.StandardCharsets.ISO_8859_1)).reason()
                .contains("does not match its header"));
        assertEquals("bad3", byPayload.get(new String("{\"key\":\"bad3\",\"seq\":1002,\"vector\":[]}".getBytes(UTF_8),
                java.nio.charset.StandardCharsets.ISO_8859_1)).key());
        assertNotNull(quantizeStage);
        assertEquals("k0", quantizeStage.key());
        assertTrue(quantizeStage.reason().contains("wrong dimension"), quantizeStage.reason());
    }

    private static CodeRecord withAttributes(CodeRecord c, Map<String, String> attributes) {
        return new CodeRecord(c.key(), c.seq(), c.eventTime(), c.codes(), c.codebookVersion(), c.quantized(), c.error(), attributes);
    }

    private static Map<String, CodeRecord> codes(String topic, CodeCodec codec) {
        Map<String, CodeRecord> out = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> rec : KAFKA.broker().readAll(topic, true)) {
            Decoded<CodeRecord> d = codec.decode(rec.value(), Origin.NONE);
            assertTrue(d.ok(), () -> d.deadLetter().reason());
            CodeRecord c = d.value();
            assertEquals(c.key(), new String(rec.key(), UTF_8), "Kafka record key = stream key");
            assertTrue(out.put(id(c.key(), c.seq()), c) == null, "duplicate " + id(c.key(), c.seq()) + " on " + topic);
        }
        return out;
    }

    /** Throws once, on the first record of the second batch after a checkpoint has completed. */
    static final class FailOnceAfterCheckpoint extends RichMapFunction<CodeRecord, CodeRecord> implements CheckpointListener {
        static final AtomicBoolean FAILED = new AtomicBoolean();
        static final AtomicInteger CHECKPOINTS = new AtomicInteger();
        static final CountDownLatch FIRST_CHECKPOINT = new CountDownLatch(1);
        private boolean checkpointed;

        @Override
        public CodeRecord map(CodeRecord r) {
            if (checkpointed && r.seq() >= 200 && FAILED.compareAndSet(false, true)) {
                throw new IllegalStateException("injected failure at " + r.key() + "#" + r.seq());
            }
            return r;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            checkpointed = true;
            CHECKPOINTS.incrementAndGet();
            FIRST_CHECKPOINT.countDown();
        }
    }

    private static List<ProducerRecord<byte[], byte[]>> vectors(String topic, int from, int to, Random rnd, Map<String, VectorRecord> sent) {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            VectorRecord r = new VectorRecord("k" + i % 4, i, 1_700_000_000_000L + i, vector(rnd, 4));
            sent.put(id(r.key(), r.seq()), r);
            out.add(record(topic, r.key(), VectorCodec.encode(r, WireFormat.JSON)));
        }
        return out;
    }

    @Test
    void exactlyOnceAcrossAnInjectedFailure() throws Exception {
        KAFKA.broker().createTopic("eo-in", 2);
        KAFKA.broker().createTopic("eo-out", 2);
        Random rnd = new Random(11);
        Map<String, VectorRecord> sent = new LinkedHashMap<>();
        KAFKA.broker().produce(vectors("eo-in", 0, 200, rnd, sent));

        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        StreamExecutionEnvironment env = env(conf);
        env.enableCheckpointing(300);
        String boot = KAFKA.broker().bootstrapServers();
        DecodedStreams.Split<VectorRecord> in = DecodedStreams.split(env.fromSource(
                VqKafka.vectorSource(boot, "eo-in", "it-eo", WireFormat.JSON).build(), WatermarkStrategy.noWatermarks(), "eo-in"), "split");
        VqStreams.Quantized q = VqStreams.quantize(in.values(), null, fsq(), "vq");
        q.codes().map(new FailOnceAfterCheckpoint(), CodeRecord.typeInfo()).name("fail-once").uid("fail-once")
                .sinkTo(VqKafka.codeSink(boot, "eo-out", WireFormat.JSON).exactlyOnce("vq-it-eo")
                        .transactionTimeout(Duration.ofMinutes(5)).build());
        JobClient job = env.executeAsync("kafka-exactly-once");
        try {
            assertTrue(FailOnceAfterCheckpoint.FIRST_CHECKPOINT.await(60, TimeUnit.SECONDS), "no checkpoint completed");
            KAFKA.broker().produce(vectors("eo-in", 200, 400, rnd, sent));

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            Set<String> seen = new HashSet<>();
            while (seen.size() < sent.size() && System.nanoTime() < deadline) {
                Thread.sleep(300);
                seen.clear();
                KAFKA.broker().readAll("eo-out", true).forEach(r -> seen.add(new String(r.value(), UTF_8)));
                JobStatus status = job.getJobStatus().get(10, TimeUnit.SECONDS);
                assertTrue(!status.isGloballyTerminalState(), "the job ended: " + status);
            }
            assertTrue(FailOnceAfterCheckpoint.FAILED.get(), "the failure was injected");
            // a few more checkpoints: anything still pending would be committed by now
            int after = FailOnceAfterCheckpoint.CHECKPOINTS.get();
            while (FailOnceAfterCheckpoint.CHECKPOINTS.get() < after + 4 && System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(20)) {
                Thread.sleep(100);
            }
            Map<String, CodeRecord> out = codes("eo-out", CodeCodec.json());
            assertEquals(sent.keySet(), out.keySet(), "every input seq exactly once");
            for (VectorRecord r : sent.values()) {
                assertArrayEquals(oracle(r.vector()).indices().data(), out.get(id(r.key(), r.seq())).codes());
            }
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
    }
}

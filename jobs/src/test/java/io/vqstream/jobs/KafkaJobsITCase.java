package io.vqstream.jobs;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.connectors.kafka.EmbeddedKafkaExtension;
import io.vqstream.connectors.serde.CodeCodec;
import io.vqstream.connectors.serde.CodebookSnapshotCodec;
import io.vqstream.connectors.serde.DeadLetterCodec;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.connectors.serde.VectorCodec;
import io.vqstream.connectors.serde.WireFormat;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.VectorRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kafka commands ({@code quantize}, {@code learn}, {@code decode}) run in this JVM as a user
 * runs them, against a real one-node broker: formats, dead letters, codebook snapshots and
 * decoding, read back from the topics.
 */
class KafkaJobsITCase {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final List<Integer> LEVELS = List.of(8, 5, 5, 5);
    private static final Quantizer FSQ = Quantizers.create("FSQ", Map.of("levels", LEVELS));

    /**
     * Event times near now: the codes carry them as Kafka record timestamps, and the broker's time
     * retention (7 days) would delete records stamped further in the past.
     */
    private static final long T0 = System.currentTimeMillis();

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();
    private static Admin admin;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", KAFKA.broker().bootstrapServers());
        admin = Admin.create(p);
        BackgroundJob.install();
    }

    @AfterAll
    static void stop() throws Exception {
        BackgroundJob.uninstall();
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
    }

    private static Path config(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private static long fsqCode(float[] v) {
        return FSQ.forwardTokens(FSQ.initParams(0), new Tensor(v.clone(), 1, 1, v.length), ForwardOptions.eval()).indices().data()[0];
    }

    private static float[] fsqQuantized(float[] v) {
        return FSQ.forwardTokens(FSQ.initParams(0), new Tensor(v.clone(), 1, 1, v.length), ForwardOptions.eval()).quantized().data();
    }

    private static float[] vector(Random rnd, int dim) {
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = (rnd.nextFloat() - 0.5f) * 4f;
        }
        return v;
    }

    private static String json(String key, long seq, long ts, float[] v) {
        StringBuilder s = new StringBuilder("{\"key\":\"" + key + "\",\"seq\":" + seq + ",\"ts\":" + ts + ",\"vector\":[");
        for (int i = 0; i < v.length; i++) {
            s.append(i > 0 ? "," : "").append(v[i]);
        }
        return s.append("]}").toString();
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, Integer partition, String key, byte[] value) {
        return new ProducerRecord<>(topic, partition, key == null ? null : key.getBytes(UTF_8), value);
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), UTF_8);
    }

    private static Map<String, String> topicConfig(String topic) throws Exception {
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config c = admin.describeConfigs(List.of(res)).all().get(30, TimeUnit.SECONDS).get(res);
        Map<String, String> m = new HashMap<>();
        c.entries().forEach(e -> m.put(e.name(), e.value()));
        return m;
    }

    private static int partitions(String topic) throws Exception {
        return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic).partitions().size();
    }

    /** Polls the topic from the beginning until {@code count} records are there; fails early if a job's command ended. */
    private static List<ConsumerRecord<byte[], byte[]>> await(String topic, int count, boolean readCommitted, BackgroundJob... jobs) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<ConsumerRecord<byte[], byte[]>> got = List.of();
        while (System.nanoTime() < deadline) {
            got = KAFKA.broker().consume(topic, count, Duration.ofSeconds(3), readCommitted);
            if (got.size() >= count) {
                break;
            }
            for (BackgroundJob j : jobs) {
                assertTrue(j.commandRunning(), "the job ended (exit code " + j.exitCode() + ") while " + topic + " had " + got.size()
                        + " of " + count + " records");
            }
        }
        assertEquals(count, got.size(), topic + ": records after up to " + WAIT.toSeconds() + " s");
        return got;
    }

    /** A malformed input and the reason its dead letter must give. */
    record Bad(String name, byte[] payload, String stage, String reasonPart) {}

    @Test
    void quantizeJsonWithEveryKindOfBadInputDeadLetteredOnce() throws Exception {
        // topics that exist already are used as they are: 2 and 3 partitions, a retention setting
        KAFKA.broker().createTopic("vectors-json", 2);
        KAFKA.broker().createTopic("codes-json", 3, Map.of("retention.ms", "86400000"));
        Random rnd = new Random(1);
        List<Bad> bad = List.of(
                new Bad("broken JSON", "{\"key\":\"k1\",\"seq\":900,\"vector\":[1,2".getBytes(UTF_8), "deserialize", "broken JSON: Unexpected end-of-input"),
                new Bad("not an object", "[1,2,3,4]".getBytes(UTF_8), "deserialize", "payload is an array, expected a JSON object"),
                // the source knows the quantizer's dim: the dead letter keeps the original bytes
                new Bad("3 values", "{\"key\":\"k1\",\"seq\":901,\"vector\":[1,2,3]}".getBytes(UTF_8), "deserialize",
                        "wrong dimension: vector has 3 values, the quantizer expects 4"),
                new Bad("5 values", "{\"key\":\"k2\",\"seq\":902,\"vector\":[1,2,3,4,5]}".getBytes(UTF_8), "deserialize",
                        "wrong dimension: vector has 5 values, the quantizer expects 4"),
                new Bad("0 values", "{\"key\":\"k1\",\"seq\":903,\"vector\":[]}".getBytes(UTF_8), "deserialize", "vector is empty"),
                new Bad("a string", "{\"key\":\"k1\",\"seq\":904,\"vector\":[1,\"a\",3,4]}".getBytes(UTF_8), "deserialize",
                        "vector[1] is the string \"a\", expected a number"),
                new Bad("\"NaN\"", "{\"key\":\"k1\",\"seq\":905,\"vector\":[1,\"NaN\",3,4]}".getBytes(UTF_8), "deserialize",
                        "vector[1] is the string \"NaN\", expected a number"),
                new Bad("\"Infinity\"", "{\"key\":\"k1\",\"seq\":906,\"vector\":[1,2,\"Infinity\",4]}".getBytes(UTF_8), "deserialize",
                        "vector[2] is the string \"Infinity\", expected a number"),
                new Bad("\"-Infinity\"", "{\"key\":\"k1\",\"seq\":907,\"vector\":[\"-Infinity\",2,3,4]}".getBytes(UTF_8), "deserialize",
                        "vector[0] is the string \"-Infinity\", expected a number"),
                new Bad("bare NaN", "{\"key\":\"k1\",\"seq\":908,\"vector\":[NaN,2,3,4]}".getBytes(UTF_8), "deserialize",
                        "broken JSON: Non-standard token 'NaN'"),
                new Bad("overflow", "{\"key\":\"k1\",\"seq\":909,\"vector\":[1e39,2,3,4]}".getBytes(UTF_8), "deserialize",
                        "vector[0] 1e39 overflows float32"),
                new Bad("null value", "{\"key\":\"k1\",\"seq\":910,\"vector\":[1,null,3,4]}".getBytes(UTF_8), "deserialize",
                        "vector[1] is null, expected a number"),
                new Bad("no key", "{\"seq\":911,\"vector\":[1,2,3,4]}".getBytes(UTF_8), "deserialize", "key is missing"),
                new Bad("null key", "{\"key\":null,\"seq\":912,\"vector\":[1,2,3,4]}".getBytes(UTF_8), "deserialize", "key is null"),
                new Bad("empty key", "{\"key\":\"\",\"seq\":913,\"vector\":[1,2,3,4]}".getBytes(UTF_8), "deserialize", "key is empty"),
                new Bad("no vector", "{\"key\":\"k1\",\"seq\":914}".getBytes(UTF_8), "deserialize", "vector is missing"),
                new Bad("empty payload", new byte[0], "deserialize", "empty payload"));

        // the bad records first, on both partitions, so that the good ones after them show they were all read
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (int i = 0; i < bad.size(); i++) {
            out.add(record("vectors-json", i % 2, "bad-" + i, bad.get(i).payload()));
        }
        Map<String, float[]> good = new LinkedHashMap<>();
        Map<String, Long> ts = new HashMap<>();
        for (int seq = 0; seq < 10; seq++) {
            for (String key : List.of("k1", "k2", "k3", "k4")) {
                float[] v = vector(rnd, 4);
                long t = T0 + seq;
                good.put(key + "#" + seq, v);
                ts.put(key + "#" + seq, t);
                out.add(record("vectors-json", seq % 2, key, json(key, seq, t, v).getBytes(UTF_8)));
            }
        }
        // a fresh start reads the topic from the earliest offset: everything is there before the job starts
        KAFKA.broker().produce(out);

        Path cfg = config("fsq.yaml", "quantizer:\n  type: FSQ\n  levels: [8, 5, 5, 5]\nbatch:\n  size: 8\n  max-delay: 20ms\n");
        try (BackgroundJob job = BackgroundJob.start("quantize", "--config", cfg.toString(), "--bootstrap-servers",
                KAFKA.broker().bootstrapServers(), "--input-topic", "vectors-json", "--output-topic", "codes-json", "--dead-letter-topic", "dead-json")) {
            List<ConsumerRecord<byte[], byte[]>> codes = await("codes-json", good.size(), false, job);
            List<ConsumerRecord<byte[], byte[]>> dead = await("dead-json", bad.size(), false, job);
            // caught up, the job keeps running (unbounded source)
            assertEquals(JobStatus.RUNNING, job.status());
            assertTrue(job.commandRunning());

            // nothing more than the good records on the codes topic, each once, with its code
            List<ConsumerRecord<byte[], byte[]>> all = KAFKA.broker().readAll("codes-json", false);
            assertEquals(good.size(), all.size(), "codes topic holds the good records only");
            Map<String, JsonNode> byId = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : all) {
                JsonNode n = JSON.readTree(r.value());
                String key = n.get("key").asText();
                assertEquals(key, new String(r.key(), UTF_8), "Kafka record key = the input's key");
                String id = key + "#" + n.get("seq").asLong();
                assertNull(byId.put(id, n), "duplicate " + id);
                assertTrue(good.containsKey(id), "unexpected code record " + n);
                JsonNode c = n.get("codes");
                assertTrue(c.isArray() && c.size() == 1 && c.get(0).isIntegralNumber(), "codes is a flat list of ints: " + n);
                assertEquals(fsqCode(good.get(id)), c.get(0).asLong(), id);
                assertEquals(ts.get(id), n.get("ts").asLong(), id);
                assertEquals(1, n.get("codebook_version").asLong(), id);
                assertTrue(n.has("error") && !n.has("quantized"), "error by default, quantized only on request: " + n);
            }
            assertEquals(good.keySet(), byId.keySet());
            assertEquals(codes.size(), all.size());

            // exactly one dead letter per bad record, with the original payload and the reason
            List<ConsumerRecord<byte[], byte[]>> dl = KAFKA.broker().readAll("dead-json", false);
            assertEquals(dead.size(), dl.size());
            for (Bad b : bad) {
                List<JsonNode> matching = new ArrayList<>();
                List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
                for (ConsumerRecord<byte[], byte[]> r : dl) {
                    JsonNode n = JSON.readTree(r.value());
                    if (carries(n, b)) {
                        matching.add(n);
                        records.add(r);
                    }
                }
                assertEquals(1, matching.size(), b.name() + ": dead letters " + matching);
                JsonNode n = matching.get(0);
                assertEquals(b.stage(), n.get("stage").asText(), b.name());
                String reason = n.get("reason").asText();
                assertTrue(reason.startsWith(b.reasonPart()) && !reason.contains("\n"), b.name() + ": reason " + reason);
                // the payload's key when it was read (all of these payloads start with it), otherwise the Kafka record key
                java.util.regex.Matcher key = java.util.regex.Pattern.compile("^\\{\"key\":\"([^\"]+)\"").matcher(new String(b.payload(), UTF_8));
                String expectedKey = key.find() ? key.group(1) : "bad-" + bad.indexOf(b);
                assertEquals(expectedKey, n.get("key").asText(), b.name() + ": dead letter key");
                assertEquals(expectedKey, new String(records.get(0).key(), UTF_8), b.name() + ": Kafka record key of the dead letter");
                assertEquals(reason, header(records.get(0), DeadLetterCodec.HEADER_REASON), b.name());
                assertEquals(b.stage(), header(records.get(0), DeadLetterCodec.HEADER_STAGE), b.name());
            }
            assertEquals(2, partitions("vectors-json"), "an existing input topic is left as it is");
            assertEquals(3, partitions("codes-json"), "an existing output topic is left as it is");
            assertEquals("86400000", topicConfig("codes-json").get("retention.ms"));
        }
    }

    /** Whether a dead letter is the one of this bad input: the same payload (deserialize) or the same record (quantize). */
    private static boolean carries(JsonNode deadLetter, Bad b) throws Exception {
        if (b.stage().equals("deserialize")) {
            JsonNode p = deadLetter.get("payload");
            return p != null && p.asText().equals(new String(b.payload(), UTF_8));
        }
        // the operator rejects a decoded record: its payload is that record as JSON (key, seq, ts, vector)
        if (!deadLetter.get("stage").asText().equals("quantize")) {
            return false;
        }
        JsonNode original = JSON.readTree(b.payload());
        JsonNode p = JSON.readTree(deadLetter.get("payload").asText());
        return original.get("key").equals(p.get("key")) && p.get("seq").equals(original.get("seq"))
                && vectorEquals(p.get("vector"), original.get("vector"));
    }

    private static boolean vectorEquals(JsonNode a, JsonNode b) {
        if (a == null || b == null || a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i).asDouble() != b.get(i).asDouble()) {
                return false;
            }
        }
        return true;
    }

    private static byte[] binaryVector(String key, long seq, long ts, float[] v) {
        return VectorCodec.encode(new VectorRecord(key, seq, ts, v), WireFormat.BINARY);
    }

    @Test
    void quantizeBinaryExactlyOnce() throws Exception {
        Random rnd = new Random(2);
        Map<String, float[]> good = new LinkedHashMap<>();
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        byte[] wrongVersion = binaryVector("k1", 500, 1L, new float[] {1, 2, 3, 4});
        wrongVersion[0] = 9;
        byte[] truncated = java.util.Arrays.copyOf(binaryVector("k1", 501, 1L, new float[] {1, 2, 3, 4}), 30);
        byte[] nan = binaryVector("k1", 502, 1L, new float[] {1, 2, 3, 4});
        ByteBuffer.wrap(nan).order(ByteOrder.LITTLE_ENDIAN).putFloat(nan.length - 8, Float.NaN);
        byte[] threeValues = binaryVector("k2", 503, 1L, new float[] {1, 2, 3});
        List<byte[]> bad = List.of(wrongVersion, truncated, nan, threeValues, "{\"key\":\"k1\",\"vector\":[1,2,3,4]}".getBytes(UTF_8));
        for (int i = 0; i < bad.size(); i++) {
            out.add(record("vectors-bin", null, "bad", bad.get(i)));
        }
        for (int seq = 0; seq < 12; seq++) {
            for (String key : List.of("a", "b", "c")) {
                float[] v = vector(rnd, 4);
                good.put(key + "#" + seq, v);
                out.add(record("vectors-bin", null, key, binaryVector(key, seq, T0 + seq, v)));
            }
        }
        KAFKA.broker().createTopic("vectors-bin", 1);
        KAFKA.broker().produce(out.subList(0, bad.size() + 18));
        Path cfg = config("fsq-bin.yaml", "quantizer:\n  type: FSQ\n  levels: [8, 5, 5, 5]\nbatch:\n  size: 8\n  max-delay: 20ms\n"
                + "input:\n  format: binary\noutput:\n  format: binary\n  quantized: true\n");
        try (BackgroundJob job = BackgroundJob.start("quantize", "--config", cfg.toString(), "--bootstrap-servers",
                KAFKA.broker().bootstrapServers(), "--input-topic", "vectors-bin", "--output-topic", "codes-bin", "--dead-letter-topic", "dead-bin",
                "--exactly-once", "--checkpoint-interval", "300")) {
            job.client();
            KAFKA.broker().produce(out.subList(bad.size() + 18, out.size()));
            // exactly-once output becomes visible to read_committed readers when a checkpoint completes
            List<ConsumerRecord<byte[], byte[]>> codes = await("codes-bin", good.size(), true, job);
            List<ConsumerRecord<byte[], byte[]>> dead = await("dead-bin", bad.size(), true, job);
            assertEquals(JobStatus.RUNNING, job.status());
            CodeCodec codec = CodeCodec.binary();
            Map<String, CodeRecord> byId = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : KAFKA.broker().readAll("codes-bin", true)) {
                Decoded<CodeRecord> d = codec.decode(r.value(), new Origin(r.key(), r.offset(), r.timestamp()));
                assertTrue(d.ok(), "a binary code record: " + d.deadLetter());
                CodeRecord c = d.value();
                assertEquals(c.key(), new String(r.key(), UTF_8));
                String id = c.key() + "#" + c.seq();
                assertNull(byId.put(id, c), "duplicate " + id);
                float[] v = good.get(id);
                assertNotNull(v, "unexpected " + c);
                assertEquals(1, c.codes().length);
                assertEquals(fsqCode(v), c.codes()[0], id);
                assertEquals(T0 + c.seq(), c.eventTime());
                assertArrayEquals(fsqQuantized(v), c.quantized(), 1e-6f, id + ": quantized vector");
            }
            assertEquals(good.keySet(), byId.keySet());
            assertEquals(codes.size(), byId.size());
            List<ConsumerRecord<byte[], byte[]>> dl = KAFKA.broker().readAll("dead-bin", true);
            assertEquals(dead.size(), dl.size());
            for (byte[] b : bad) {
                long n = dl.stream().filter(r -> {
                    try {
                        JsonNode j = JSON.readTree(r.value());
                        if (j.has("payload_base64")) {
                            return java.util.Arrays.equals(java.util.Base64.getDecoder().decode(j.get("payload_base64").asText()), b);
                        }
                        if (b == threeValues) {
                            JsonNode p = JSON.readTree(j.get("payload").asText());
                            return j.get("stage").asText().equals("quantize") && p.get("seq").asLong() == 503 && p.get("vector").size() == 3;
                        }
                        return j.get("payload").asText().equals(new String(b, UTF_8));
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }).count();
                assertEquals(1, n, "one dead letter for bad payload #" + bad.indexOf(b));
            }
        }
    }

    @Test
    void learnPublishesCodebooksAndDecodeTurnsCodesBackIntoVectors() throws Exception {
        KAFKA.broker().createTopic("vectors-learn", 1);
        Path cfg = config("vq-learn.yaml", """
                quantizer:
                  type: VectorQuantize
                  dim: 4
                  codebook_size: 8
                  decay: 0.8
                seed: 5
                batch:
                  size: 16
                  max-delay: 20ms
                output:
                  quantized: true
                """);
        Random rnd = new Random(3);
        int perKey = 48;
        List<ProducerRecord<byte[], byte[]>> first = new ArrayList<>();
        List<ProducerRecord<byte[], byte[]>> second = new ArrayList<>();
        for (int seq = 0; seq < perKey; seq++) {
            for (String key : List.of("speaker-a", "speaker-b")) {
                (seq < perKey / 2 ? first : second).add(record("vectors-learn", null, key,
                        json(key, seq, T0 + seq, vector(rnd, 4)).getBytes(UTF_8)));
            }
        }
        KAFKA.broker().produce(first);
        try (BackgroundJob learn = BackgroundJob.start("learn", "--config", cfg.toString(), "--bootstrap-servers", KAFKA.broker().bootstrapServers(),
                "--input-topic", "vectors-learn", "--output-topic", "codes-learn", "--codebook-topic", "codebooks-learn",
                "--dead-letter-topic", "dead-learn");
             BackgroundJob decode = BackgroundJob.startAfter(learn, "decode", "--bootstrap-servers", KAFKA.broker().bootstrapServers(),
                "--input-topic", "codes-learn", "--codebook-topic", "codebooks-learn", "--output-topic", "decoded-learn",
                "--dead-letter-topic", "dead-decode")) {
            decode.client();
            KAFKA.broker().produce(second);
            int total = 2 * perKey;
            List<ConsumerRecord<byte[], byte[]>> codes = await("codes-learn", total, false, learn, decode);

            // the codebook topic: created compacted, keyed by stream key, holding every version that produced codes
            assertEquals("compact", topicConfig("codebooks-learn").get("cleanup.policy"));
            CodebookSnapshotCodec snapshotCodec = new CodebookSnapshotCodec();
            Map<String, CodebookSnapshot> snapshots = new HashMap<>();
            // versions 1 (initial) to 4 (after the third EMA step) for each of the two keys
            for (ConsumerRecord<byte[], byte[]> r : KAFKA.broker().consume("codebooks-learn", 8, WAIT, false)) {
                Decoded<CodebookSnapshot> d = snapshotCodec.decode(r.value(), new Origin(r.key(), r.offset(), r.timestamp()));
                assertTrue(d.ok(), String.valueOf(d.deadLetter()));
                CodebookSnapshot s = d.value();
                assertEquals(s.key(), new String(r.key(), UTF_8), "snapshot record key = stream key");
                assertEquals("VectorQuantize", s.quantizerType());
                snapshots.put(s.key() + "@" + s.version(), s);
            }
            Map<String, JsonNode> codeById = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : codes) {
                JsonNode n = JSON.readTree(r.value());
                String key = n.get("key").asText();
                long seq = n.get("seq").asLong();
                long version = n.get("codebook_version").asLong();
                assertNull(codeById.put(key + "#" + seq, n));
                // one EMA step per 16 records of a key: the codes of records 0..15 come from version 1, 16..31 from 2, ...
                assertEquals(1 + seq / 16, version, key + "#" + seq);
                CodebookSnapshot s = snapshots.get(key + "@" + version);
                assertNotNull(s, "the codebook version of " + key + "#" + seq + " is on the codebook topic: " + snapshots.keySet());
                long code = n.get("codes").get(0).asLong();
                assertTrue(code >= 0 && code < 8);
                // the quantized vector is that version's codebook row
                float[] embed = s.params().get("_codebook.embed").data();
                JsonNode q = n.get("quantized");
                for (int e = 0; e < 4; e++) {
                    assertEquals(embed[(int) code * 4 + e], q.get(e).floatValue(), 0f, key + "#" + seq + " element " + e);
                }
            }
            assertTrue(snapshots.containsKey("speaker-a@4") && snapshots.containsKey("speaker-b@4"), snapshots.keySet().toString());
            assertTrue(!java.util.Arrays.equals(snapshots.get("speaker-a@1").params().get("_codebook.embed").data(),
                    snapshots.get("speaker-a@4").params().get("_codebook.embed").data()), "the codebook learned");

            // decode: each code back to the vector of the codebook version that produced it
            List<ConsumerRecord<byte[], byte[]>> decoded = await("decoded-learn", total, false, learn, decode);
            VectorCodec vc = VectorCodec.json();
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (ConsumerRecord<byte[], byte[]> r : decoded) {
                Decoded<VectorRecord> d = vc.decode(r.value(), new Origin(r.key(), r.offset(), r.timestamp()));
                assertTrue(d.ok(), String.valueOf(d.deadLetter()));
                VectorRecord v = d.value();
                String id = v.key() + "#" + v.seq();
                assertTrue(seen.add(id), "decoded once: " + id);
                JsonNode code = codeById.get(id);
                assertNotNull(code, id);
                float[] want = new float[4];
                for (int e = 0; e < 4; e++) {
                    want[e] = code.get("quantized").get(e).floatValue();
                }
                assertArrayEquals(want, v.vector(), 1e-6f, id);
            }
            assertEquals(total, seen.size());
            assertEquals(JobStatus.RUNNING, learn.status());
            assertEquals(JobStatus.RUNNING, decode.status());
            assertTrue(KAFKA.broker().readAll("dead-learn", false).isEmpty());
            assertTrue(KAFKA.broker().readAll("dead-decode", false).isEmpty());
        }
    }

    @Test
    void restoreFromAFolderThatIsNotACheckpoint() throws Exception {
        Path cfg = config("fsq-restore.yaml", "quantizer:\n  type: FSQ\n  levels: [8, 5, 5, 5]\n");
        Path notChk = Files.createDirectories(dir.resolve("some-folder"));
        Cli.Result r = Cli.run("quantize", "--config", cfg.toString(), "--bootstrap-servers", KAFKA.broker().bootstrapServers(),
                "--input-topic", "vectors-r", "--output-topic", "codes-r", "--restore-from", notChk.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(List.of("vqstream quantize: --restore-from: " + notChk.toAbsolutePath()
                + " holds no _metadata (expected a chk-N or savepoint folder)"), r.errLines());
        Path missing = dir.resolve("no-such-chk");
        Cli.Result m = Cli.run("quantize", "--config", cfg.toString(), "--bootstrap-servers", KAFKA.broker().bootstrapServers(),
                "--input-topic", "vectors-r", "--output-topic", "codes-r", "--restore-from", missing.toString());
        assertEquals(2, m.exitCode(), m.toString());
        assertEquals(List.of("vqstream quantize: --restore-from: no such checkpoint or savepoint: " + missing.toAbsolutePath()), m.errLines());
        assertFalse(m.err().contains("Exception"));
    }
}

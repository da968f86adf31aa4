package io.vqstream.operators;

import static io.vqstream.operators.OperatorTestSupport.codes;
import static io.vqstream.operators.OperatorTestSupport.deadLetters;
import static io.vqstream.operators.OperatorTestSupport.harness;
import static io.vqstream.operators.OperatorTestSupport.randomVector;
import static io.vqstream.operators.OperatorTestSupport.snapshots;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The quantize operator in Flink's operator harness: batching, timers, restore, keys, dead letters, control. */
class QuantizeOperatorTest {
    private static final Map<String, Object> VQ = Map.of("dim", 8, "codebook_size", 16, "decay", 0.8);

    private static Params fixedParams() {
        return Quantizers.create("VectorQuantize", VQ).initParams(42);
    }

    private static QuantizeOperatorConfig.Builder frozen(int batch, Duration delay) {
        return QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.FILE).sharedParams(fixedParams())
                .batchSize(batch).maxDelay(delay);
    }

    /** What the quantizer itself says for one vector under the fixed parameters. */
    private static long expectedCode(float[] v) {
        Quantizer q = Quantizers.create("VectorQuantize", VQ);
        return q.forwardTokens(fixedParams(), new Tensor(v.clone(), 1, 1, 8), ForwardOptions.eval()).indices().data()[0];
    }

    private static VectorRecord rec(String key, long seq, float[] v) {
        return new VectorRecord(key, seq, 1000 + seq, v);
    }

    @Test
    void flushesWhenTheBatchIsFullAndNotBefore() throws Exception {
        SplittableRandom rng = new SplittableRandom(1);
        try (var h = harness(frozen(4, Duration.ZERO).build())) {
            h.open();
            List<float[]> vs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                vs.add(randomVector(rng, 8));
                h.processElement1(rec("a", i, vs.get(i)), 1000 + i);
            }
            assertEquals(0, codes(h).size(), "no codes before the batch is full");
            vs.add(randomVector(rng, 8));
            h.processElement1(rec("a", 3, vs.get(3)), 1003);
            List<CodeRecord> out = codes(h);
            assertEquals(4, out.size());
            for (int i = 0; i < 4; i++) {
                assertEquals(i, out.get(i).seq());
                assertEquals(expectedCode(vs.get(i)), out.get(i).codes()[0]);
                assertEquals(1, out.get(i).codebookVersion());
                assertTrue(out.get(i).error() >= 0);
            }
        }
    }

    @Test
    void theMaxDelayCountsFromTheOldestRecordOfTheCurrentCrossKeyBatch() throws Exception {
        SplittableRandom rng = new SplittableRandom(21);
        try (var h = harness(frozen(2, Duration.ofMillis(50)).build())) {
            h.open();
            h.setProcessingTime(0);
            h.processElement1(rec("a", 0, randomVector(rng, 8)), 0);
            h.processElement1(rec("b", 0, randomVector(rng, 8)), 0);
            assertEquals(2, codes(h).size(), "a and b fill a batch of 2 at once");
            h.setProcessingTime(30);
            h.processElement1(rec("c", 0, randomVector(rng, 8)), 0);
            h.setProcessingTime(50);
            assertEquals(2, codes(h).size(), "the full batch's timer leaves c's batch alone (c has waited 20 ms)");
            h.setProcessingTime(79);
            assertEquals(2, codes(h).size());
            h.setProcessingTime(80);
            List<CodeRecord> out = codes(h);
            assertEquals(3, out.size(), "c flushed 50 ms after it came");
            assertEquals("c", out.get(2).key());
        }
    }

    @Test
    void timerFlushesAPartialBatchAfterMaxDelay() throws Exception {
        SplittableRandom rng = new SplittableRandom(2);
        try (var h = harness(frozen(100, Duration.ofMillis(50)).build())) {
            h.open();
            h.setProcessingTime(0);
            float[] v0 = randomVector(rng, 8);
            float[] v1 = randomVector(rng, 8);
            h.processElement1(rec("a", 0, v0), 0);
            h.setProcessingTime(20);
            h.processElement1(rec("a", 1, v1), 0);
            h.setProcessingTime(49);
            assertEquals(0, codes(h).size());
            h.setProcessingTime(50);
            List<CodeRecord> out = codes(h);
            assertEquals(2, out.size(), "both records flushed 50 ms after the first");
            assertEquals(expectedCode(v0), out.get(0).codes()[0]);
            assertEquals(expectedCode(v1), out.get(1).codes()[0]);
        }
    }

    @Test
    void aCheckpointCodesTheWaitingRecordsSoARestoreNeitherLosesNorRepeatsThem() throws Exception {
        SplittableRandom rng = new SplittableRandom(3);
        QuantizeOperatorConfig config = frozen(4, Duration.ZERO).build();
        List<float[]> vs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            vs.add(randomVector(rng, 8));
        }
        OperatorSubtaskState snapshot;
        List<CodeRecord> before;
        try (var h = harness(config)) {
            h.open();
            for (int i = 0; i < 3; i++) {
                h.processElement1(rec("a", i, vs.get(i)), i);
            }
            assertEquals(0, codes(h).size(), "a batch of 4 is not full with 3");
            h.prepareSnapshotPreBarrier(1); // as the task does before it takes the snapshot
            snapshot = h.snapshot(1, 1);
            before = codes(h);
            assertEquals(3, before.size(), "the three waiting records are coded before the barrier");
        }
        try (var h = harness(config)) {
            h.initializeState(snapshot);
            h.open();
            h.processElement1(rec("a", 3, vs.get(3)), 3);
            h.endInput1();
            List<CodeRecord> after = codes(h);
            assertEquals(1, after.size(), "only the record after the checkpoint, once");
            List<CodeRecord> all = new ArrayList<>(before);
            all.addAll(after);
            for (int i = 0; i < 4; i++) {
                assertEquals(i, all.get(i).seq());
                assertEquals(expectedCode(vs.get(i)), all.get(i).codes()[0]);
            }
        }
    }

    @Test
    void keysOnTheSharedCodebookAreBatchedTogetherEachInItsOwnOrder() throws Exception {
        SplittableRandom rng = new SplittableRandom(4);
        try (var h = harness(frozen(3, Duration.ZERO).build())) {
            h.open();
            String[] keys = {"b", "a", "a", "c", "b", "a", "b", "c"};
            long[] seq = new long[128];
            List<float[]> vs = new ArrayList<>();
            for (String k : keys) {
                float[] v = randomVector(rng, 8);
                vs.add(v);
                h.processElement1(rec(k, seq[k.charAt(0)]++, v), 0);
            }
            List<CodeRecord> out = codes(h);
            assertEquals(6, out.size(), "two batches of 3 across the keys; b and c wait with one record each");
            assertEquals(List.of(0L, 1L, 2L), out.stream().filter(c -> c.key().equals("a")).map(CodeRecord::seq).toList());
            assertEquals(List.of(0L, 1L), out.stream().filter(c -> c.key().equals("b")).map(CodeRecord::seq).toList());
            assertEquals(List.of(0L), out.stream().filter(c -> c.key().equals("c")).map(CodeRecord::seq).toList());
            h.endInput1();
            List<CodeRecord> all = codes(h);
            assertEquals(List.of(0L, 1L, 2L), all.stream().filter(c -> c.key().equals("b")).map(CodeRecord::seq).toList());
            assertEquals(List.of(0L, 1L), all.stream().filter(c -> c.key().equals("c")).map(CodeRecord::seq).toList(),
                    "end of input codes the waiting records");
            for (int i = 0; i < keys.length; i++) {
                assertEquals(expectedCode(vs.get(i)), all.get(i).codes()[0], "record " + i + ": the same code whatever its batch");
            }
        }
    }

    @Test
    void badRecordsGoToDeadLettersAndTheRestIsUnaffected() throws Exception {
        SplittableRandom rng = new SplittableRandom(5);
        try (var h = harness(frozen(2, Duration.ZERO).build())) {
            h.open();
            float[] nan = randomVector(rng, 8);
            nan[3] = Float.NaN;
            float[] inf = randomVector(rng, 8);
            inf[0] = Float.NEGATIVE_INFINITY;
            h.processElement1(rec("a", 0, randomVector(rng, 8)), 0);
            h.processElement1(rec("a", 1, new float[7]), 0);
            h.processElement1(rec("a", 2, nan), 0);
            h.processElement1(rec("a", 3, inf), 0);
            h.processElement1(rec("a", 4, new float[0]), 0);
            h.processElement1(new VectorRecord("a", 5, 0, null), 0);
            h.processElement1(rec("a", 6, randomVector(rng, 8)), 0);
            List<DeadLetter> dead = deadLetters(h);
            assertEquals(5, dead.size());
            assertTrue(dead.get(0).reason().contains("wrong dimension") && dead.get(0).reason().contains("7"), dead.get(0).reason());
            assertTrue(dead.get(1).reason().contains("NaN") && dead.get(1).reason().contains("index 3"), dead.get(1).reason());
            assertTrue(dead.get(2).reason().contains("Infinity"), dead.get(2).reason());
            assertTrue(dead.get(3).reason().contains("wrong dimension"), dead.get(3).reason());
            assertTrue(dead.get(4).reason().contains("missing vector"), dead.get(4).reason());
            assertTrue(new String(dead.get(1).payload()).contains("\"NaN\""), "payload keeps the record");
            assertEquals(List.of(0L, 6L), codes(h).stream().map(CodeRecord::seq).toList());
        }
    }

    @Test
    void unknownKeyWithoutCodebookIsDeadLetteredUntilInstalled() throws Exception {
        SplittableRandom rng = new SplittableRandom(6);
        QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.CONTROL)
                .batchSize(1).maxDelay(Duration.ZERO).build();
        try (var h = harness(config)) {
            h.open();
            h.processElement1(rec("k", 0, randomVector(rng, 8)), 0);
            assertEquals(1, deadLetters(h).size());
            assertTrue(deadLetters(h).get(0).reason().contains("no codebook for key 'k'"));
            h.processElement2(ControlMessage.install("k", fixedParams()), 0);
            float[] v = randomVector(rng, 8);
            h.processElement1(rec("k", 1, v), 0);
            assertEquals(1, codes(h).size());
            assertEquals(expectedCode(v), codes(h).get(0).codes()[0]);
            List<CodebookSnapshot> snaps = snapshots(h);
            assertEquals(1, snaps.size());
            assertEquals("k", snaps.get(0).key());
            assertEquals(codes(h).get(0).codebookVersion(), snaps.get(0).version());
        }
    }

    @Test
    void learningTakesOneEmaStepPerBatchAndVersionsCodes() throws Exception {
        SplittableRandom rng = new SplittableRandom(7);
        QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.FILE)
                .sharedParams(fixedParams()).learn(true).batchSize(4).maxDelay(Duration.ZERO).build();
        Quantizer q = Quantizers.create("VectorQuantize", VQ);
        Params reference = fixedParams();
        try (var h = harness(config)) {
            h.open();
            for (int b = 0; b < 3; b++) {
                float[] batch = new float[4 * 8];
                for (int i = 0; i < 4; i++) {
                    float[] v = randomVector(rng, 8);
                    System.arraycopy(v, 0, batch, i * 8, 8);
                    h.processElement1(rec("a", b * 4 + i, v), 0);
                }
                long keyHash = QuantizeOperator.keyHash("a");
                var out = q.forwardTokens(reference, new Tensor(batch, 4, 1, 8), ForwardOptions.train(
                        RandomSourceFactory.seeded().create(0, keyHash, b, RandomSourceFactory.Purpose.STEP)));
                List<CodeRecord> codes = codes(h);
                for (int i = 0; i < 4; i++) {
                    assertEquals(out.indices().data()[i], codes.get(b * 4 + i).codes()[0]);
                    assertEquals(1 + b, codes.get(b * 4 + i).codebookVersion(), "codes carry the pre-step version");
                }
            }
            List<CodebookSnapshot> snaps = snapshots(h);
            assertEquals(4, snaps.size(), "initial version + one per EMA step");
            CodebookSnapshot last = snaps.get(3);
            assertEquals(4, last.version());
            assertEquals(3, last.step());
            assertTrue(last.params().bitEquals(reference), "operator state equals three direct EMA steps, bit for bit");
        }
    }

    @Test
    void restoringUnderAnIncompatibleQuantizerFailsNamingTheTensor() throws Exception {
        SplittableRandom rng = new SplittableRandom(8);
        QuantizeOperatorConfig learnSmall = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.INIT)
                .learn(true).batchSize(2).maxDelay(Duration.ZERO).build();
        OperatorSubtaskState snapshot;
        try (var h = harness(learnSmall)) {
            h.open();
            for (int i = 0; i < 4; i++) {
                h.processElement1(rec("a", i, randomVector(rng, 8)), i);
            }
            snapshot = h.snapshot(1, 1);
        }
        QuantizeOperatorConfig bigger = QuantizeOperatorConfig.builder("VectorQuantize", Map.of("dim", 8, "codebook_size", 32))
                .source(CodebookSource.INIT).learn(true).batchSize(2).maxDelay(Duration.ZERO).build();
        try (var h = harness(bigger)) {
            h.initializeState(snapshot);
            h.open();
            h.processElement1(rec("a", 4, randomVector(rng, 8)), 4);
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                    () -> h.processElement1(rec("a", 5, randomVector(rng, 8)), 5));
            Throwable root = e;
            while (!(root instanceof IllegalStateException) && root.getCause() != null) {
                root = root.getCause();
            }
            assertTrue(root.getMessage().contains("key 'a'") && root.getMessage().contains("_codebook.") && root.getMessage().contains("(1, 32"),
                    root.getMessage());
        }
    }

    /**
     * Without a reader of the codebooks stream the operator makes no snapshots, neither per EMA
     * step nor on a control install, and codes, versions and learning stay what they are with
     * snapshots (the snapshot was the only thing skipped).
     */
    @Test
    void withoutACodebookReaderNoSnapshotIsMadeAndTheCodesAreTheSame() throws Exception {
        List<List<CodeRecord>> runs = new ArrayList<>();
        List<Integer> snapshotCounts = new ArrayList<>();
        for (boolean read : new boolean[] {true, false}) {
            QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.INIT)
                    .learn(true).batchSize(1).maxDelay(Duration.ZERO).publishEvery(1).codebookSnapshots(read).build();
            SplittableRandom rng = new SplittableRandom(5);
            try (var h = harness(config)) {
                h.open();
                for (int i = 0; i < 60; i++) {
                    h.processElement1(rec("k" + (i % 3), i, randomVector(rng, 8)), 1000 + i);
                    if (i == 30) {
                        h.processElement2(ControlMessage.install("k1", fixedParams()), 1000 + i);
                    }
                }
                assertEquals(List.of(), deadLetters(h));
                runs.add(codes(h));
                snapshotCounts.add(snapshots(h).size());
            }
        }
        // 60 one-record EMA steps plus the install, plus each key's first version
        assertTrue(snapshotCounts.get(0) >= 61, "with a reader every version is published: " + snapshotCounts.get(0));
        assertEquals(0, snapshotCounts.get(1), "without a reader no snapshot is made");
        assertEquals(60, runs.get(0).size());
        for (int i = 0; i < 60; i++) {
            CodeRecord a = runs.get(0).get(i);
            CodeRecord b = runs.get(1).get(i);
            assertEquals(a.key(), b.key());
            assertEquals(a.seq(), b.seq());
            assertArrayEquals(a.codes(), b.codes(), "record " + i);
            assertEquals(a.codebookVersion(), b.codebookVersion(), "record " + i);
            assertEquals(Float.floatToIntBits(a.error()), Float.floatToIntBits(b.error()), "record " + i);
        }
        // the learning went on: later codes of a key come from later versions
        assertTrue(runs.get(1).get(57).codebookVersion() > runs.get(1).get(0).codebookVersion());
    }
}

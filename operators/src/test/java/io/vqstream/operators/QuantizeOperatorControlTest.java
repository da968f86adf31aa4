package io.vqstream.operators;

import static io.vqstream.operators.OperatorTestSupport.codes;
import static io.vqstream.operators.OperatorTestSupport.deadLetters;
import static io.vqstream.operators.OperatorTestSupport.harness;
import static io.vqstream.operators.OperatorTestSupport.randomVector;
import static io.vqstream.operators.OperatorTestSupport.snapshots;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.ControlMessage.Kind;
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

/** INSTALL, FREEZE, UNFREEZE and RESET on the control input, for one key and for all keys. */
class QuantizeOperatorControlTest {
    private static final int DIM = 8;
    private static final Map<String, Object> VQ = Map.of("dim", DIM, "codebook_size", 16, "decay", 0.8);
    private static final Quantizer Q = Quantizers.create("VectorQuantize", VQ);
    private static final Params P0 = Q.initParams(42);
    private static final Params P1 = Q.initParams(43);

    private static QuantizeOperatorConfig.Builder config() {
        return QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.FILE).sharedParams(P0).maxDelay(Duration.ZERO);
    }

    private static long[] eval(Params p, List<float[]> vs) {
        float[] x = new float[vs.size() * DIM];
        for (int i = 0; i < vs.size(); i++) {
            System.arraycopy(vs.get(i), 0, x, i * DIM, DIM);
        }
        return Q.forwardTokens(p, new Tensor(x, vs.size(), 1, DIM), ForwardOptions.eval()).indices().data();
    }

    /** One EMA step as the operator takes it for {@code key} at {@code step}; updates {@code p} in place. */
    private static long[] train(Params p, List<float[]> vs, String key, long step) {
        float[] x = new float[vs.size() * DIM];
        for (int i = 0; i < vs.size(); i++) {
            System.arraycopy(vs.get(i), 0, x, i * DIM, DIM);
        }
        return Q.forwardTokens(p, new Tensor(x, vs.size(), 1, DIM), ForwardOptions.train(
                RandomSourceFactory.seeded().create(0, QuantizeOperator.keyHash(key), step, RandomSourceFactory.Purpose.STEP))).indices().data();
    }

    private static List<float[]> vectors(SplittableRandom rng, int n) {
        List<float[]> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(randomVector(rng, DIM));
        }
        return l;
    }

    /** Vectors whose codes under P0 and P1 differ in most places, so a codebook switch is visible. */
    private static List<float[]> distinguishing(SplittableRandom rng, int n) {
        List<float[]> l = vectors(rng, n);
        long[] a = eval(P0, l);
        long[] b = eval(P1, l);
        int differ = 0;
        for (int i = 0; i < n; i++) {
            differ += a[i] != b[i] ? 1 : 0;
        }
        assertTrue(differ >= n / 2, "test vectors must tell the two codebooks apart (" + differ + "/" + n + ")");
        return l;
    }

    private static void feed(KeyedTwoInputStreamOperatorTestHarness<String, VectorRecord, ControlMessage, CodeRecord> h, String key,
                             long firstSeq, List<float[]> vs) throws Exception {
        for (int i = 0; i < vs.size(); i++) {
            h.processElement1(new VectorRecord(key, firstSeq + i, 0, vs.get(i)), 0);
        }
    }

    private static List<CodeRecord> codesOf(KeyedTwoInputStreamOperatorTestHarness<String, VectorRecord, ControlMessage, CodeRecord> h,
                                            String key, long fromSeq, long toSeq) {
        return codes(h).stream().filter(c -> c.key().equals(key) && c.seq() >= fromSeq && c.seq() < toSeq).toList();
    }

    private static long[] codeValues(List<CodeRecord> l) {
        return l.stream().mapToLong(c -> c.codes()[0]).toArray();
    }

    private static List<CodebookSnapshot> snapshotsOf(KeyedTwoInputStreamOperatorTestHarness<String, VectorRecord, ControlMessage, CodeRecord> h,
                                                      String key) {
        return snapshots(h).stream().filter(s -> s.key().equals(key)).toList();
    }

    @Test
    void installForOneKeySwitchesOnlyThatKeyAndRetiresItsBufferedRecordsWithTheOldCodebook() throws Exception {
        SplittableRandom rng = new SplittableRandom(11);
        List<float[]> early = distinguishing(rng, 3);
        List<float[]> late = distinguishing(rng, 8);
        try (var h = harness(config().batchSize(4).build())) {
            h.open();
            feed(h, "a", 0, early);
            feed(h, "b", 0, early);
            assertEquals(4, codes(h).size(), "keys on the shared default codebook make one batch of 4 between them");
            h.processElement2(ControlMessage.install("a", P1), 0);
            List<CodeRecord> retired = codesOf(h, "a", 0, 3);
            assertEquals(3, retired.size(), "a's buffered records are coded before the switch");
            assertEquals(List.of(1L, 1L, 1L), retired.stream().map(CodeRecord::codebookVersion).toList());
            assertArrayEquals(eval(P0, early), codeValues(retired));

            feed(h, "a", 3, late);
            feed(h, "b", 3, late);
            h.endInput1();
            List<CodeRecord> a = codesOf(h, "a", 3, 11);
            assertArrayEquals(eval(P1, late), codeValues(a));
            assertTrue(a.stream().allMatch(c -> c.codebookVersion() == 2), "a's codes carry the installed version");
            List<CodeRecord> b = codesOf(h, "b", 0, 11);
            List<float[]> all = new ArrayList<>(early);
            all.addAll(late);
            assertArrayEquals(eval(P0, all), codeValues(b), "b keeps the shared default");
            assertTrue(b.stream().allMatch(c -> c.codebookVersion() == 1));

            List<CodebookSnapshot> snapsA = snapshotsOf(h, "a");
            CodebookSnapshot installed = snapsA.get(snapsA.size() - 1);
            assertEquals(2, installed.version());
            assertTrue(installed.params().bitEquals(P1), "the published codebook is the installed one");
            assertEquals(1, snapshotsOf(h, "b").size(), "b published only its initial codebook");
        }
    }

    @Test
    void installForAllKeysSwitchesPresentKeysAndKeysSeenLaterAlsoAfterRestore() throws Exception {
        SplittableRandom rng = new SplittableRandom(12);
        List<float[]> vs = distinguishing(rng, 6);
        QuantizeOperatorConfig cfg = config().batchSize(1).build();
        OperatorSubtaskState snapshot;
        try (var h = harness(cfg)) {
            h.open();
            feed(h, "a", 0, vs.subList(0, 1));
            feed(h, "b", 0, vs.subList(0, 1));
            h.processElement2(ControlMessage.install(null, P1), 0);
            feed(h, "a", 1, vs);
            feed(h, "b", 1, vs);
            feed(h, "c", 0, vs);
            assertArrayEquals(eval(P1, vs), codeValues(codesOf(h, "a", 1, 7)));
            assertArrayEquals(eval(P1, vs), codeValues(codesOf(h, "b", 1, 7)));
            assertArrayEquals(eval(P1, vs), codeValues(codesOf(h, "c", 0, 6)), "a key first seen after the message starts from it");
            assertTrue(codesOf(h, "a", 1, 7).stream().allMatch(c -> c.codebookVersion() == 2));
            assertTrue(codesOf(h, "c", 0, 6).stream().allMatch(c -> c.codebookVersion() == 1));
            CodebookSnapshot c = snapshotsOf(h, "c").get(0);
            assertTrue(c.params().bitEquals(P1), "c publishes the installed default");
            snapshot = h.snapshot(1, 1);
        }
        try (var h = harness(cfg)) {
            h.initializeState(snapshot);
            h.open();
            feed(h, "d", 0, vs);
            feed(h, "a", 7, vs);
            assertArrayEquals(eval(P1, vs), codeValues(codesOf(h, "d", 0, 6)), "the all-keys install survives a restore");
            assertArrayEquals(eval(P1, vs), codeValues(codesOf(h, "a", 7, 13)));
        }
    }

    @Test
    void freezeStopsLearningButNotCodesAndUnfreezeResumesFromTheFrozenCodebook() throws Exception {
        SplittableRandom rng = new SplittableRandom(13);
        List<float[]> b0 = vectors(rng, 4);
        List<float[]> frozen = vectors(rng, 8);
        List<float[]> b1 = vectors(rng, 4);
        Params ref = P0.copy();
        try (var h = harness(config().learn(true).batchSize(4).build())) {
            h.open();
            feed(h, "a", 0, b0);
            train(ref, b0, "a", 0);
            assertEquals(2, snapshotsOf(h, "a").size(), "initial + one step");
            h.processElement2(ControlMessage.of(Kind.FREEZE, "a"), 0);
            feed(h, "a", 4, frozen);
            List<CodeRecord> fc = codesOf(h, "a", 4, 12);
            assertEquals(8, fc.size(), "codes keep flowing while frozen");
            assertArrayEquals(eval(ref, frozen), codeValues(fc), "frozen codes come from the codebook after step 1");
            assertTrue(fc.stream().allMatch(c -> c.codebookVersion() == 2));
            assertEquals(2, snapshotsOf(h, "a").size(), "no codebook change while frozen");

            h.processElement2(ControlMessage.of(Kind.UNFREEZE, "a"), 0);
            feed(h, "a", 12, b1);
            long[] expected = train(ref, b1, "a", 1);
            List<CodeRecord> uc = codesOf(h, "a", 12, 16);
            assertArrayEquals(expected, codeValues(uc));
            List<CodebookSnapshot> snaps = snapshotsOf(h, "a");
            assertEquals(3, snaps.size());
            CodebookSnapshot last = snaps.get(2);
            assertEquals(3, last.version());
            assertEquals(2, last.step(), "the frozen batches took no step");
            assertTrue(last.params().bitEquals(ref), "learning resumed from the frozen codebook, bit for bit");
        }
    }

    @Test
    void freezeForAllKeysAppliesToKeysSeenLater() throws Exception {
        SplittableRandom rng = new SplittableRandom(14);
        try (var h = harness(config().learn(true).batchSize(4).build())) {
            h.open();
            h.processElement2(ControlMessage.of(Kind.FREEZE, null), 0);
            List<float[]> vs = vectors(rng, 12);
            feed(h, "late", 0, vs);
            assertArrayEquals(eval(P0, vs), codeValues(codesOf(h, "late", 0, 12)));
            assertEquals(1, snapshotsOf(h, "late").size(), "only the initial codebook: the key was born frozen");
            h.processElement2(ControlMessage.of(Kind.UNFREEZE, null), 0);
            feed(h, "late", 12, vectors(rng, 4));
            assertEquals(2, snapshotsOf(h, "late").size(), "unfrozen: one EMA step");
        }
    }

    @Test
    void resetStartsTheKeyAgainFromItsSourceWithIncreasingVersions() throws Exception {
        SplittableRandom rng = new SplittableRandom(15);
        List<float[]> first = vectors(rng, 4);
        List<float[]> second = vectors(rng, 4);
        try (var h = harness(config().learn(true).batchSize(4).build())) {
            h.open();
            feed(h, "a", 0, first);
            feed(h, "a", 4, second);
            List<CodebookSnapshot> before = snapshotsOf(h, "a");
            assertEquals(3, before.size());
            CodebookSnapshot afterFirstStep = before.get(1);
            assertFalse(before.get(2).params().bitEquals(P0), "the key learned away from the default");

            h.processElement2(ControlMessage.of(Kind.RESET, "a"), 0);
            feed(h, "a", 8, first);
            List<CodeRecord> again = codesOf(h, "a", 8, 12);
            assertArrayEquals(codeValues(codesOf(h, "a", 0, 4)), codeValues(again), "same records, same start: same codes");
            List<CodebookSnapshot> all = snapshotsOf(h, "a");
            assertEquals(5, all.size(), "reset publishes the source codebook, then the new step");
            CodebookSnapshot restart = all.get(3);
            assertTrue(restart.params().bitEquals(P0), "the key starts again from its source");
            assertEquals(0, restart.step());
            CodebookSnapshot relearned = all.get(4);
            assertTrue(relearned.params().bitEquals(afterFirstStep.params()), "and relearns the same first step, bit for bit");
            assertEquals(1, relearned.step());
            for (int i = 1; i < all.size(); i++) {
                assertTrue(all.get(i).version() > all.get(i - 1).version(), "versions keep increasing: " + all);
            }
            assertTrue(again.stream().allMatch(c -> c.codebookVersion() == restart.version()));
        }
    }

    @Test
    void resetUnderTheControlSourceLeavesTheKeyWithoutACodebook() throws Exception {
        SplittableRandom rng = new SplittableRandom(16);
        QuantizeOperatorConfig cfg = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.CONTROL)
                .batchSize(1).maxDelay(Duration.ZERO).build();
        try (var h = harness(cfg)) {
            h.open();
            h.processElement2(ControlMessage.install("a", P1), 0);
            feed(h, "a", 0, vectors(rng, 2));
            assertEquals(2, codes(h).size());
            h.processElement2(ControlMessage.of(Kind.RESET, "a"), 0);
            feed(h, "a", 2, vectors(rng, 1));
            assertEquals(2, codes(h).size());
            List<DeadLetter> dead = deadLetters(h);
            assertEquals(1, dead.size());
            assertTrue(dead.get(0).reason().contains("no codebook for key 'a'"), dead.get(0).reason());
        }
    }

    @Test
    void installWithWrongShapesIsADeadLetterAndNothingChanges() throws Exception {
        SplittableRandom rng = new SplittableRandom(17);
        Params wrong = Quantizers.create("VectorQuantize", Map.of("dim", DIM, "codebook_size", 32)).initParams(1);
        Params missing = new Params().put("_codebook.embed_avg", P1.get("_codebook.embed_avg"));
        List<float[]> vs = distinguishing(rng, 6);
        try (var h = harness(config().batchSize(1).build())) {
            h.open();
            feed(h, "a", 0, vs.subList(0, 1));
            h.processElement2(ControlMessage.install("a", wrong), 0);
            h.processElement2(ControlMessage.install(null, wrong), 0);
            h.processElement2(ControlMessage.install("a", missing), 0);
            List<DeadLetter> dead = deadLetters(h);
            assertEquals(3, dead.size());
            for (DeadLetter d : dead) {
                assertEquals(DeadLetter.Stage.CONTROL, d.stage());
                assertTrue(d.reason().startsWith("rejected INSTALL message"), d.reason());
            }
            assertEquals("a", dead.get(0).key());
            assertTrue(dead.get(0).reason().contains("expects (1, 16"), dead.get(0).reason());
            assertEquals(null, dead.get(1).key(), "the all-keys message is dead-lettered without a key");
            assertTrue(dead.get(2).reason().contains("missing tensor") && dead.get(2).reason().contains("_codebook.embed"), dead.get(2).reason());

            feed(h, "a", 1, vs);
            feed(h, "b", 0, vs);
            assertArrayEquals(eval(P0, vs), codeValues(codesOf(h, "a", 1, 7)), "a keeps its codebook");
            assertArrayEquals(eval(P0, vs), codeValues(codesOf(h, "b", 0, 6)), "no all-keys default was installed");
            assertEquals(1, snapshotsOf(h, "a").size());
            assertNotEquals(0, codes(h).size());
        }
    }

    private static void assertArrayEquals(long[] expected, long[] got) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, got);
    }

    private static void assertArrayEquals(long[] expected, long[] got, String msg) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, got, msg);
    }
}

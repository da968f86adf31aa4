package io.vqstream.operators;

import static io.vqstream.operators.OperatorTestSupport.codes;
import static io.vqstream.operators.OperatorTestSupport.deadLetters;
import static io.vqstream.operators.OperatorTestSupport.harness;
import static io.vqstream.operators.OperatorTestSupport.randomVector;
import static io.vqstream.operators.OperatorTestSupport.snapshots;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Mode;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.quantize.RandomSource;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Timers with learning, kmeans-initialised keys, and every quantizer type through the operator. */
class QuantizeOperatorSourcesTest {
    private static final Map<String, Object> VQ = Map.of("dim", 8, "codebook_size", 16, "decay", 0.8);

    private static float[] flat(List<float[]> vs, int dim) {
        float[] x = new float[vs.size() * dim];
        for (int i = 0; i < vs.size(); i++) {
            System.arraycopy(vs.get(i), 0, x, i * dim, dim);
        }
        return x;
    }

    /** Runs keys a and b through a learning operator; with a delay, processing time advances between records. */
    private static Map<String, Object> runLearning(Duration delay, List<VectorRecord> input, long[] timeAfter, List<Integer> earlyCounts)
            throws Exception {
        QuantizeOperatorConfig cfg = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.INIT).learn(true)
                .batchSize(8).maxDelay(delay).build();
        Map<String, Object> result = new HashMap<>();
        try (var h = harness(cfg)) {
            h.open();
            h.setProcessingTime(0);
            for (int i = 0; i < input.size(); i++) {
                h.processElement1(input.get(i), 0);
                if (timeAfter != null) {
                    int before = codes(h).size();
                    h.setProcessingTime(timeAfter[i]);
                    if (codes(h).size() > before) {
                        earlyCounts.add(codes(h).size() - before);
                    }
                }
            }
            h.endInput1();
            result.put("codes", codes(h));
            Map<String, CodebookSnapshot> last = new HashMap<>();
            for (CodebookSnapshot s : snapshots(h)) {
                last.put(s.key(), s);
            }
            result.put("last", last);
        }
        return result;
    }

    @Test
    @SuppressWarnings("unchecked")
    void timersEmitCodesEarlyWithoutChangingCodesOrTheLearnedCodebook() throws Exception {
        SplittableRandom rng = new SplittableRandom(21);
        List<VectorRecord> input = new ArrayList<>();
        long[] seq = new long[2];
        for (int i = 0; i < 45; i++) {
            int k = rng.nextInt(3) == 0 ? 1 : 0;
            input.add(new VectorRecord(k == 0 ? "a" : "b", seq[k]++, i, randomVector(rng, 8)));
        }
        // processing time jumps past the 50 ms delay at irregular points, often mid-batch
        long[] time = new long[input.size()];
        long t = 0;
        for (int i = 0; i < time.length; i++) {
            t += rng.nextInt(5) == 0 ? 60 : 3;
            time[i] = t;
        }
        List<Integer> early = new ArrayList<>();
        Map<String, Object> timed = runLearning(Duration.ofMillis(50), input, time, early);
        Map<String, Object> untimed = runLearning(Duration.ZERO, input, null, null);

        List<CodeRecord> timedCodes = (List<CodeRecord>) timed.get("codes");
        List<CodeRecord> plainCodes = (List<CodeRecord>) untimed.get("codes");
        assertTrue(early.stream().anyMatch(n -> n % 8 != 0), "some codes were emitted by a timer before their batch was full: " + early);
        assertEquals(input.size(), timedCodes.size(), "every record coded exactly once");
        Set<String> seen = new HashSet<>();
        for (CodeRecord c : timedCodes) {
            assertTrue(seen.add(c.key() + "/" + c.seq()), "duplicate code for " + c);
        }
        Map<String, CodeRecord> plain = new HashMap<>();
        plainCodes.forEach(c -> plain.put(c.key() + "/" + c.seq(), c));
        for (CodeRecord c : timedCodes) {
            CodeRecord p = plain.get(c.key() + "/" + c.seq());
            assertArrayEquals(p.codes(), c.codes(), "code of " + c);
            assertEquals(p.codebookVersion(), c.codebookVersion(), "version of " + c);
        }
        Map<String, CodebookSnapshot> a = (Map<String, CodebookSnapshot>) timed.get("last");
        Map<String, CodebookSnapshot> b = (Map<String, CodebookSnapshot>) untimed.get("last");
        for (String k : List.of("a", "b")) {
            assertEquals(b.get(k).version(), a.get(k).version());
            assertTrue(a.get(k).step() >= 2, "the key learned");
            assertTrue(a.get(k).params().bitEquals(b.get(k).params()), "final codebook of " + k + " equals the run without timers");
        }
    }

    @Test
    void kmeansInitialisedKeyCodesNothingUntilItHasItsVectorsThenAllOfThem() throws Exception {
        Map<String, Object> kw = Map.of("dim", 8, "codebook_size", 16, "kmeans_init", true, "kmeans_iters", 5);
        Quantizer q = Quantizers.create("VectorQuantize", kw);
        QuantizeOperatorConfig cfg = QuantizeOperatorConfig.builder("VectorQuantize", kw).source(CodebookSource.INIT).seed(5)
                .initMinVectors(20).batchSize(4).maxDelay(Duration.ofMillis(10)).build();
        SplittableRandom rng = new SplittableRandom(22);
        List<float[]> vs = new ArrayList<>();
        for (int i = 0; i < 21; i++) {
            vs.add(randomVector(rng, 8));
        }
        try (var h = harness(cfg)) {
            h.open();
            h.setProcessingTime(0);
            for (int i = 0; i < 19; i++) {
                h.processElement1(new VectorRecord("k", i, 0, vs.get(i)), 0);
                h.setProcessingTime(100L * (i + 1));
            }
            assertEquals(0, codes(h).size(), "no codes before init.min-vectors records, not even by the timer");
            assertEquals(0, snapshots(h).size(), "no codebook published before the initialisation");
            h.processElement1(new VectorRecord("k", 19, 0, vs.get(19)), 0);
            List<CodeRecord> out = codes(h);
            assertEquals(20, out.size(), "the 20th record initialises the codebook and codes all of them");

            // the same initialisation done directly: the key's seeded initial params, kmeans on the 20 vectors
            long keyHash = QuantizeOperator.keyHash("k");
            Params p = q.initParams(RandomSource.mix(5, keyHash, 0));
            assertEquals(0f, p.get("_codebook.initted").item());
            long[] expected = q.forwardTokens(p, new Tensor(flat(vs.subList(0, 20), 8), 20, 1, 8), ForwardOptions.builder()
                    .mode(Mode.TRAIN).freezeCodebook(true)
                    .random(RandomSourceFactory.seeded().create(5, keyHash, 0, RandomSourceFactory.Purpose.INIT)).build())
                    .indices().data();
            for (int i = 0; i < 20; i++) {
                assertEquals(i, out.get(i).seq());
                assertEquals(expected[i], out.get(i).codes()[0], "code of record " + i);
            }
            assertEquals(1f, p.get("_codebook.initted").item(), "the direct call initialised its copy");
            List<CodebookSnapshot> snaps = snapshots(h);
            assertEquals(1, snaps.size());
            assertTrue(snaps.get(0).params().bitEquals(p), "the published codebook is the kmeans result");
            assertEquals(snaps.get(0).version(), out.get(0).codebookVersion());

            // after the initialisation the timer works again
            h.processElement1(new VectorRecord("k", 20, 0, vs.get(20)), 0);
            h.setProcessingTime(100_000);
            assertEquals(21, codes(h).size());
            long single = q.forwardTokens(p, new Tensor(vs.get(20).clone(), 1, 1, 8), ForwardOptions.eval()).indices().data()[0];
            assertEquals(single, codes(h).get(20).codes()[0]);
        }
    }

    /** Small configurations of every quantizer type (from the golden cases' kwargs). */
    static Map<String, Map<String, Object>> everyType() {
        Map<String, Map<String, Object>> m = new java.util.LinkedHashMap<>();
        m.put("VectorQuantize", Map.of("dim", 16, "codebook_size", 32, "heads", 2, "separate_codebook_per_head", true));
        m.put("ResidualVQ", Map.of("dim", 16, "codebook_size", 16, "num_quantizers", 3));
        m.put("GroupedResidualVQ", Map.of("dim", 16, "codebook_size", 16, "groups", 2, "num_quantizers", 2));
        m.put("FSQ", Map.of("levels", List.of(8, 5, 5, 5)));
        m.put("FSP", Map.of("dim", 12, "levels", List.of(8, 5, 5)));
        m.put("ResidualFSQ", Map.of("dim", 16, "levels", List.of(8, 5, 5, 3), "num_quantizers", 3));
        m.put("GroupedResidualFSQ", Map.of("dim", 16, "groups", 2, "levels", List.of(8, 5, 5, 3), "num_quantizers", 2));
        m.put("LFQ", Map.of("dim", 16, "codebook_size", 256));
        m.put("ResidualLFQ", Map.of("dim", 16, "codebook_size", 256, "num_quantizers", 3));
        m.put("GroupedResidualLFQ", Map.of("dim", 16, "codebook_size", 256, "groups", 2, "num_quantizers", 2));
        m.put("LatentQuantize", Map.of("dim", 16, "levels", List.of(8, 5, 5, 4)));
        m.put("SimVQ", Map.of("dim", 16, "codebook_size", 64));
        m.put("ResidualSimVQ", Map.of("dim", 16, "codebook_size", 32, "num_quantizers", 3));
        m.put("RandomProjectionQuantizer", Map.of("dim", 16, "codebook_size", 64, "codebook_dim", 8, "num_codebooks", 2));
        return m;
    }

    @TestFactory
    List<DynamicTest> everyQuantizerTypeRunsFrozenFromItsSeededInit() {
        Map<String, Map<String, Object>> types = everyType();
        assertEquals(Set.copyOf(Quantizers.TYPES), types.keySet(), "one configuration per quantizer type");
        List<DynamicTest> tests = new ArrayList<>();
        types.forEach((type, kw) -> tests.add(DynamicTest.dynamicTest(type, () -> runFrozen(type, kw))));
        return tests;
    }

    private static void runFrozen(String type, Map<String, Object> kw) throws Exception {
        Quantizer q = Quantizers.create(type, kw);
        int dim = q.dim();
        int cpt = q.codesPerToken();
        QuantizeOperatorConfig cfg = QuantizeOperatorConfig.builder(type, kw).source(CodebookSource.INIT).seed(9).batchSize(5)
                .maxDelay(Duration.ZERO).emitQuantized(true).build();
        SplittableRandom rng = new SplittableRandom(type.hashCode());
        List<float[]> vs = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            vs.add(randomVector(rng, dim));
        }
        try (var h = harness(cfg)) {
            h.open();
            for (int i = 0; i < 7; i++) {
                h.processElement1(new VectorRecord("key", i, 0, vs.get(i)), 0);
            }
            assertEquals(5, codes(h).size(), "one full batch");
            h.endInput1();
            List<CodeRecord> out = codes(h);
            assertEquals(7, out.size(), "end of input flushes the rest");
            assertEquals(List.of(), deadLetters(h));

            Params p = q.initParams(RandomSource.mix(9, QuantizeOperator.keyHash("key"), 0));
            var direct = q.forwardTokens(p, new Tensor(flat(vs, dim), 7, 1, dim), ForwardOptions.eval());
            long[] idx = direct.indices().data();
            boolean codesOnly = direct.quantized() == null;
            assertEquals("RandomProjectionQuantizer".equals(type), codesOnly, "only the random projection quantizer returns no vector");
            for (int t = 0; t < 7; t++) {
                CodeRecord c = out.get(t);
                assertEquals(t, c.seq());
                assertEquals(cpt, c.codes().length);
                for (int j = 0; j < cpt; j++) {
                    assertEquals(idx[t * cpt + j], c.codes()[j], type + " code " + j + " of record " + t);
                    assertTrue(c.codes()[j] >= 0 && c.codes()[j] < q.codebookSizes()[j]);
                }
                if (codesOnly) {
                    assertNull(c.quantized());
                    assertTrue(Float.isNaN(c.error()), "no vector, no error");
                } else {
                    float[] expectedQ = new float[dim];
                    System.arraycopy(direct.quantized().data(), t * dim, expectedQ, 0, dim);
                    assertArrayEquals(expectedQ, c.quantized(), 1e-6f);
                    double se = 0;
                    for (int e = 0; e < dim; e++) {
                        se += (vs.get(t)[e] - expectedQ[e]) * (double) (vs.get(t)[e] - expectedQ[e]);
                    }
                    assertEquals(se / dim, c.error(), 1e-5 * (1 + se / dim));
                }
            }
            List<CodebookSnapshot> snaps = snapshots(h);
            assertEquals(1, snaps.size(), "the seeded initial parameters are published once");
            assertTrue(snaps.get(0).params().bitEquals(p));
        }
    }
}

package io.vqstream.operators;

import static io.vqstream.operators.OperatorTestSupport.codes;
import static io.vqstream.operators.OperatorTestSupport.harness;
import static io.vqstream.operators.OperatorTestSupport.randomVector;
import static io.vqstream.operators.OperatorTestSupport.snapshots;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Mode;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Masked records, learn.accumulate and output.topk in the quantize operator. */
class QuantizeOperatorFeaturesTest {
    private static final Map<String, Object> VQ = Map.of("dim", 8, "codebook_size", 16, "decay", 0.8);

    private static Params fixedParams() {
        return Quantizers.create("VectorQuantize", VQ).initParams(42);
    }

    private static QuantizeOperatorConfig.Builder learning(int batch) {
        return QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.FILE).sharedParams(fixedParams())
                .learn(true).batchSize(batch).maxDelay(Duration.ZERO);
    }

    /** Runs 12 records of which seq 2, 5 and 9 are masked, with the masked vectors drawn from {@code maskedSeed}. */
    private static List<CodebookSnapshot> runWithMasked(long maskedSeed, List<CodeRecord>[] codesOut) throws Exception {
        SplittableRandom rng = new SplittableRandom(3);
        SplittableRandom other = new SplittableRandom(maskedSeed);
        try (var h = harness(learning(4).build())) {
            h.open();
            for (int i = 0; i < 12; i++) {
                boolean masked = i == 2 || i == 5 || i == 9;
                float[] v = randomVector(rng, 8);
                if (masked) {
                    v = randomVector(other, 8);
                }
                h.processElement1(new VectorRecord("a", i, 1000 + i, v, Map.of(), !masked), 0);
            }
            codesOut[0] = codes(h);
            return snapshots(h);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aMaskedRecordPassesThroughInOrderWithCodeMinusOneAndLearnsNothing() throws Exception {
        List<CodeRecord>[] a = new List[1];
        List<CodeRecord>[] b = new List[1];
        List<CodebookSnapshot> snapsA = runWithMasked(100, a);
        List<CodebookSnapshot> snapsB = runWithMasked(200, b);
        assertEquals(12, a[0].size());
        for (int i = 0; i < 12; i++) {
            CodeRecord r = a[0].get(i);
            assertEquals(i, r.seq(), "in order");
            boolean masked = i == 2 || i == 5 || i == 9;
            if (masked) {
                assertEquals(-1L, r.codes()[0]);
                assertTrue(Float.isNaN(r.error()));
            } else {
                assertTrue(r.codes()[0] >= 0);
                assertEquals(r.codes()[0], b[0].get(i).codes()[0], "other codes do not depend on masked vectors");
            }
        }
        assertEquals(snapsA.size(), snapsB.size());
        for (int s = 0; s < snapsA.size(); s++) {
            assertTrue(snapsA.get(s).params().bitEquals(snapsB.get(s).params()), "masked vectors leave no trace in the codebook");
        }
        // and the state equals EMA steps on the real records only
        Quantizer q = Quantizers.create("VectorQuantize", VQ);
        Params reference = fixedParams();
        SplittableRandom rng = new SplittableRandom(3);
        float[][] all = new float[12][];
        for (int i = 0; i < 12; i++) {
            all[i] = randomVector(rng, 8);
        }
        int[][] batches = {{0, 1, 3}, {4, 6, 7}, {8, 10, 11}};
        for (int[] batch : batches) {
            float[] x = new float[batch.length * 8];
            for (int j = 0; j < batch.length; j++) {
                System.arraycopy(all[batch[j]], 0, x, j * 8, 8);
            }
            q.forwardTokens(reference, new Tensor(x, batch.length, 1, 8), ForwardOptions.builder().mode(Mode.TRAIN).build());
        }
        assertTrue(snapsA.get(snapsA.size() - 1).params().bitEquals(reference));
    }

    @Test
    void accumulateNMicroBatchesEqualsOneEmaStepOnTheirUnion() throws Exception {
        SplittableRandom rng = new SplittableRandom(9);
        float[] union = new float[12 * 8];
        List<CodebookSnapshot> snaps;
        List<CodeRecord> codes;
        try (var h = harness(learning(4).accumulate(3).build())) {
            h.open();
            for (int i = 0; i < 12; i++) {
                float[] v = randomVector(rng, 8);
                System.arraycopy(v, 0, union, i * 8, 8);
                h.processElement1(new VectorRecord("a", i, 1000 + i, v), 0);
            }
            snaps = snapshots(h);
            codes = codes(h);
        }
        assertEquals(2, snaps.size(), "the initial codebook and one EMA step after three micro-batches");
        CodebookSnapshot last = snaps.get(1);
        assertEquals(3, last.step(), "three micro-batches");
        assertTrue(last.params().names().stream().noneMatch(n -> n.contains("accum")), "no pending statistics in a snapshot");
        for (CodeRecord r : codes) {
            assertEquals(1, r.codebookVersion(), "every micro-batch is coded with the codebook before the step");
        }
        Quantizer q = Quantizers.create("VectorQuantize", VQ);
        Params once = fixedParams();
        q.forwardTokens(once, new Tensor(union, 12, 1, 8), ForwardOptions.builder().mode(Mode.TRAIN).build());
        for (String name : List.of("_codebook.cluster_size", "_codebook.embed_avg", "_codebook.embed")) {
            float[] e = once.get(name).data();
            float[] g = last.params().get(name).data();
            for (int i = 0; i < e.length; i++) {
                assertEquals(e[i], g[i], 1e-6 + 1e-6 * Math.abs(e[i]), name + "[" + i + "]");
            }
        }
        assertTrue(!once.bitEquals(fixedParams()), "the step moved the codebook");
    }

    @Test
    void topkDistancesAscendAndTheFirstIsThePlainCode() throws Exception {
        SplittableRandom rng = new SplittableRandom(5);
        Params p = fixedParams();
        float[] e = p.get("_codebook.embed").data();
        QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.FILE)
                .sharedParams(p).batchSize(3).maxDelay(Duration.ZERO).topk(4).build();
        try (var h = harness(config)) {
            h.open();
            float[][] vs = new float[6][];
            for (int i = 0; i < 6; i++) {
                vs[i] = randomVector(rng, 8);
                h.processElement1(new VectorRecord("a", i, 1000 + i, vs[i], Map.of(), i != 4), 0);
            }
            List<CodeRecord> out = codes(h);
            assertEquals(6, out.size());
            for (int i = 0; i < 6; i++) {
                CodeRecord r = out.get(i);
                if (i == 4) {
                    assertNull(r.topkCodes(), "a masked record has no candidates");
                    continue;
                }
                assertNotNull(r.topkCodes());
                assertEquals(4, r.topkCodes().length);
                assertEquals(r.codes()[0], r.topkCodes()[0]);
                for (int j = 0; j < 4; j++) {
                    int c = (int) r.topkCodes()[j];
                    double s = 0;
                    for (int d = 0; d < 8; d++) {
                        double diff = (double) vs[i][d] - e[c * 8 + d];
                        s += diff * diff;
                    }
                    assertEquals(Math.sqrt(s), r.topkDistances()[j], 1e-5 * Math.sqrt(s) + 1e-6);
                    if (j > 0) {
                        assertTrue(r.topkDistances()[j] >= r.topkDistances()[j - 1], "ascending");
                    }
                }
            }
        }
    }

    @Test
    void recordsWithMaskAndTopkSurviveTheirSerializers() throws Exception {
        VectorRecord v = new VectorRecord("k", 3, 4, new float[] {1, 2}, Map.of("a", "b"), false);
        var vs = new VectorRecord.Serializer();
        var out = new org.apache.flink.core.memory.DataOutputSerializer(64);
        vs.serialize(v, out);
        assertEquals(v, vs.deserialize(new org.apache.flink.core.memory.DataInputDeserializer(out.getCopyOfBuffer())));
        CodeRecord c = new CodeRecord("k", 3, 4, new long[] {5}, 2, null, Float.NaN, Map.of(), new long[] {5, 1}, new float[] {0.5f, 0.7f});
        var cs = new CodeRecord.Serializer();
        out.clear();
        cs.serialize(c, out);
        CodeRecord back = cs.deserialize(new org.apache.flink.core.memory.DataInputDeserializer(out.getCopyOfBuffer()));
        assertEquals(c, back);
        assertArrayEquals(new long[] {5, 1}, back.topkCodes());
    }
}

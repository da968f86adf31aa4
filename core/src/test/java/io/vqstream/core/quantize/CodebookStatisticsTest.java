package io.vqstream.core.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.Tensor;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The collect/apply split of the EMA update: accumulation, masks, per-code weights, top-k. */
class CodebookStatisticsTest {

    private static Tensor gaussian(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) r.nextGaussian();
        }
        return t;
    }

    private static void assertClose(float[] expected, float[] got, double rel) {
        assertEquals(expected.length, got.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got[i], 1e-6 + rel * Math.abs(expected[i]), "element " + i);
        }
    }

    private final Quantizer vq = Quantizers.create("VectorQuantize", Map.of("dim", 6, "codebook_size", 12, "decay", 0.7));

    @Test
    void accumulatingMicroBatchesThenOneStepEqualsOneStepOnTheirUnion() {
        Params base = vq.initParams(3);
        Tensor[] parts = {gaussian(1, 1, 10, 6), gaussian(2, 1, 7, 6), gaussian(3, 1, 9, 6)};
        Params acc = base.copy();
        ForwardOptions accumulate = ForwardOptions.builder().mode(Mode.TRAIN).accumEmaUpdate(true).build();
        ForwardOptions step = ForwardOptions.builder().mode(Mode.TRAIN).build();
        for (int i = 0; i < 2; i++) {
            vq.forwardTokens(acc, parts[i], accumulate);
            assertArrayEquals(base.get("_codebook.embed").data(), acc.get("_codebook.embed").data(), "accumulating changes nothing");
        }
        vq.forwardTokens(acc, parts[2], step);
        assertTrue(!acc.has("_codebook.accum.cluster_size"), "pending statistics cleared by the step");

        float[] union = new float[26 * 6];
        System.arraycopy(parts[0].data(), 0, union, 0, 60);
        System.arraycopy(parts[1].data(), 0, union, 60, 42);
        System.arraycopy(parts[2].data(), 0, union, 102, 54);
        Params once = base.copy();
        vq.forwardTokens(once, new Tensor(union, 1, 26, 6), step);
        for (String name : new String[] {"_codebook.cluster_size", "_codebook.embed_avg", "_codebook.embed"}) {
            assertClose(once.get(name).data(), acc.get(name).data(), 1e-6);
        }
        // and the step really moved the codebook
        assertTrue(!once.bitEquals(base));
    }

    @Test
    void theFusedGatherAndCollectGiveTheStateOfTheSeparatePasses() {
        // without a mask the codes, this batch's statistics and the squared error come from one pass;
        // a mask of all true takes the separate gather, collect and commitment passes
        for (Map<String, Object> kwargs : java.util.List.<Map<String, Object>>of(
                Map.of("dim", 40, "codebook_size", 24),
                Map.of("dim", 40, "codebook_size", 24, "heads", 2, "separate_codebook_per_head", true),
                Map.of("dim", 40, "codebook_size", 24, "heads", 2))) {
            Quantizer q = Quantizers.create("VectorQuantize", kwargs);
            Params fused = q.initParams(9);
            Params separate = fused.copy();
            boolean[] all = new boolean[100];
            java.util.Arrays.fill(all, true);
            for (int step = 0; step < 3; step++) {
                Tensor x = gaussian(10 + step, 2, 50, 40);
                float[] input = x.data().clone();
                QuantizerOutput a = q.forwardTokens(fused, x, ForwardOptions.builder().mode(Mode.TRAIN).build());
                QuantizerOutput b = q.forwardTokens(separate, x, ForwardOptions.builder().mode(Mode.TRAIN).mask(all).build());
                assertTrue(fused.bitEquals(separate), kwargs + " step " + step + ": same codebook bits");
                assertArrayEquals(b.indices().data(), a.indices().data());
                assertArrayEquals(b.quantized().data(), a.quantized().data());
                float commit = b.floatOrNull("commit_loss").item();
                assertTrue(commit > 0f);
                assertEquals(commit, a.floatOrNull("commit_loss").item(), 1e-6 * commit);
                assertArrayEquals(input, x.data(), "the input is read, never written");
            }
        }
    }

    @Test
    void theOnePassEmaStepEqualsApplyThenRenormalizeBitForBit() {
        // decay 0.8 and 0.3 take the two forms of the lerp (weight below and above 1/2)
        for (Map<String, Object> kwargs : java.util.List.<Map<String, Object>>of(
                Map.of("dim", 10, "codebook_size", 16, "decay", 0.8),
                Map.of("dim", 10, "codebook_size", 16, "decay", 0.3, "heads", 2, "separate_codebook_per_head", true),
                Map.of("dim", 10, "codebook_size", 16, "decay", 0.8, "use_cosine_sim", true))) {
            VectorQuantize q = (VectorQuantize) Quantizers.create("VectorQuantize", kwargs);
            EmaCodebook cb = q.codebook;
            Params base = q.initParams(21);
            int c = cb.numCodebooks;
            float[] weight = new float[16];
            for (int j = 0; j < 16; j++) {
                weight[j] = j % 3 == 0 ? 0f : 0.5f + j / 8f;
            }
            for (float[] w : new float[][] {null, weight}) {
                CodebookStatistics pending = new CodebookStatistics(c, 16, 10, gaussian(1, c, 16).data(), gaussian(2, c, 16, 10).data());
                CodebookStatistics stats = new CodebookStatistics(c, 16, 10, gaussian(3, c, 16).data(), gaussian(4, c, 16, 10).data());
                Params twoSteps = base.copy();
                Params onePass = base.copy();
                cb.accumulate(twoSteps, pending.copy());
                cb.accumulate(onePass, pending.copy());
                cb.apply(twoSteps, stats.copy(), w, 0, c);
                cb.renormalize(twoSteps);
                cb.applyAndRenormalize(onePass, stats.copy(), w);
                assertTrue(onePass.bitEquals(twoSteps), kwargs + (w == null ? "" : " with weights"));
                assertTrue(!onePass.bitEquals(base));
            }
        }
    }

    @Test
    void codesNoRowChoseStepLikeTheOthersWithoutTheirSums() {
        for (double decay : new double[] {0.8, 0.3}) {
            VectorQuantize q = (VectorQuantize) Quantizers.create("VectorQuantize", Map.of("dim", 10, "codebook_size", 16, "decay", decay));
            EmaCodebook cb = q.codebook;
            Params base = q.initParams(22);
            float[] counts = gaussian(5, 1, 16).data();
            float[] sums = gaussian(6, 1, 16, 10).data();
            int unhit = 0;
            for (int j = 0; j < 16; j++) {
                counts[j] = Math.abs(counts[j]) + 1f;
                if (j % 4 != 1) {
                    // as collect leaves a code no row chose: count 0, sum +0
                    counts[j] = 0f;
                    java.util.Arrays.fill(sums, j * 10, j * 10 + 10, 0f);
                    unhit++;
                }
            }
            CodebookStatistics stats = new CodebookStatistics(1, 16, 10, counts, sums);
            Params twoSteps = base.copy();
            Params onePass = base.copy();
            cb.apply(twoSteps, stats.copy(), null, 0, 1);
            cb.renormalize(twoSteps);
            cb.applyAndRenormalize(onePass, stats.copy(), null);
            assertTrue(unhit == 12);
            assertTrue(onePass.bitEquals(twoSteps), "decay " + decay);
            assertTrue(!onePass.bitEquals(base));
        }
    }

    @Test
    void maskedTokensTakeNoPartInLearningAndComeOutAsMinusOne() {
        Params base = vq.initParams(4);
        Tensor x = gaussian(5, 1, 8, 6);
        boolean[] mask = {true, false, true, true, false, true, false, true};
        Params masked = base.copy();
        QuantizerOutput out = vq.forwardTokens(masked, x, ForwardOptions.builder().mode(Mode.TRAIN).mask(mask).build());
        float[] kept = new float[5 * 6];
        int k = 0;
        for (int t = 0; t < 8; t++) {
            if (mask[t]) {
                System.arraycopy(x.data(), t * 6, kept, k++ * 6, 6);
            }
        }
        Params only = base.copy();
        QuantizerOutput ref = vq.forwardTokens(only, new Tensor(kept, 1, 5, 6), ForwardOptions.builder().mode(Mode.TRAIN).build());
        assertTrue(only.bitEquals(masked), "a masked token changes no state");
        k = 0;
        for (int t = 0; t < 8; t++) {
            long code = out.indices().data()[t];
            if (mask[t]) {
                assertEquals(ref.indices().data()[k++], code);
            } else {
                assertEquals(-1L, code);
                for (int e = 0; e < 6; e++) {
                    assertEquals(0f, out.quantized().data()[t * 6 + e]);
                }
            }
        }
        assertEquals(ref.floatOrNull("commit_loss").item(), out.floatOrNull("commit_loss").item(), 1e-6);
    }

    @Test
    void emaUpdateWeightScalesTheRatePerCode() {
        Params base = vq.initParams(6);
        Tensor x = gaussian(7, 1, 20, 6);
        float[] w = new float[12];
        for (int j = 0; j < 12; j++) {
            w[j] = j % 2 == 0 ? 0f : 1f;
        }
        Params weighted = base.copy();
        vq.forwardTokens(weighted, x, ForwardOptions.builder().mode(Mode.TRAIN).emaUpdateWeight(w).build());
        Params plain = base.copy();
        vq.forwardTokens(plain, x, ForwardOptions.builder().mode(Mode.TRAIN).build());
        float[] cw = weighted.get("_codebook.cluster_size").data();
        float[] cp = plain.get("_codebook.cluster_size").data();
        float[] c0 = base.get("_codebook.cluster_size").data();
        for (int j = 0; j < 12; j++) {
            assertEquals(j % 2 == 0 ? c0[j] : cp[j], cw[j], "code " + j + ": weight 0 keeps, weight 1 is the plain step");
        }
    }

    @Test
    void nearestCodesAscendFromThePlainCodeWithFloat64Distances() {
        Params p = vq.initParams(8);
        Tensor x = gaussian(9, 1, 5, 6);
        QuantizerOutput top = ((VectorQuantize) vq).nearestCodes(p, x, 4, ForwardOptions.eval().backend());
        long[] plain = vq.forwardTokens(p, x, ForwardOptions.eval()).indices().data();
        float[] e = p.get("_codebook.embed").data();
        for (int t = 0; t < 5; t++) {
            assertEquals(plain[t], top.indices().data()[t * 4]);
            for (int j = 0; j < 4; j++) {
                int code = (int) top.indices().data()[t * 4 + j];
                double s = 0;
                for (int k = 0; k < 6; k++) {
                    double dl = (double) x.data()[t * 6 + k] - e[code * 6 + k];
                    s += dl * dl;
                }
                float dist = top.floatOrNull("distances").data()[t * 4 + j];
                assertEquals(Math.sqrt(s), dist, 1e-5 * Math.sqrt(s) + 1e-6);
                if (j > 0) {
                    assertTrue(dist >= top.floatOrNull("distances").data()[t * 4 + j - 1], "ascending");
                }
            }
        }
    }
}

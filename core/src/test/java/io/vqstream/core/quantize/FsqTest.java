package io.vqstream.core.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FsqTest {

    static FSQ fsq(Map<String, ?> kwargs) {
        return (FSQ) Quantizers.create("FSQ", kwargs);
    }

    static Tensor randn(long seed, int... shape) {
        return Nn.normal(new SplittableRandom(seed), 1.0, shape);
    }

    static void assertClose(float[] expected, float[] got, String what) {
        assertEquals(expected.length, got.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double tol = 1e-6 + 1e-5 * Math.abs(expected[i]);
            assertTrue(Math.abs(expected[i] - got[i]) <= tol, what + " at " + i + ": expected " + expected[i] + ", got " + got[i]);
        }
    }

    // ---------------------------------------------------------------- hand-computed cases

    /**
     * Levels [4, 3]. L=4: hl = 3·1.001/2 = 1.5015, offset 0.5, shift = atanh(0.5/1.5015), so z=0
     * gives y = 0 → code 0, digit 2; z=±5 saturate to y = 1.0015 → 1 (code 0.5, digit 3) and
     * y = −2.0015 → −2 (code −1, digit 0). L=3: hl = 1.001, y = tanh(z)·1.001: 0.8 → 0.665 → 1,
     * −0.2 → −0.198 → 0, −3 → −0.996 → −1. Index = k0 + 4·k1.
     */
    @Test
    void standardBoundMatchesHandComputedCodesAndIndices() {
        FSQ q = fsq(Map.of("levels", List.of(4, 3)));
        Tensor x = new Tensor(new float[] {0f, 0.8f, 5f, -0.2f, -5f, -3f}, 1, 3, 2);
        QuantizerOutput out = q.forward(new Params(), x, ForwardOptions.eval());
        assertClose(new float[] {0f, 1f, 0.5f, 0f, -1f, -1f}, out.quantized().data(), "values");
        assertArrayEquals(new int[] {1, 3}, out.indices().shape());
        assertArrayEquals(new long[] {2 + 4 * 2, 3 + 4 * 1, 0}, out.indices().data());
    }

    /** Levels [5]: y = tanh(z)·2.002: 0.3 → 0.583 → 1 (code 0.5), −1 → −1.525 → −2 (code −1), 2 → 1.93 → 2. */
    @Test
    void oddLevelRoundsToHalfSteps() {
        FSQ q = fsq(Map.of("levels", List.of(5)));
        Tensor x = new Tensor(new float[] {0.3f, -1f, 0f, 2f}, 1, 4, 1);
        QuantizerOutput out = q.forward(new Params(), x, ForwardOptions.eval());
        assertClose(new float[] {0.5f, -1f, 0f, 1f}, out.quantized().data(), "values");
        assertArrayEquals(new long[] {3, 0, 2, 4}, out.indices().data());
    }

    /**
     * preserve_symmetry, levels [4, 2]: k = floor((L−1)(tanh z + 1)/2 + 0.5), code 2k/(L−1) − 1.
     * L=4: z=−0.1 → floor(1.85) = 1 → −1/3; z=2 → floor(3.446) = 3 → 1. L=2: z=0.1 → floor(1.05)
     * = 1 → 1; z=−0.1 → floor(0.95) = 0 → −1. Index = k0 + 4·k1.
     */
    @Test
    void symmetricBoundMatchesHandComputedCodes() {
        FSQ q = fsq(Map.of("levels", List.of(4, 2), "preserve_symmetry", true));
        Tensor x = new Tensor(new float[] {-0.1f, 0.1f, 2f, -0.1f}, 1, 2, 2);
        QuantizerOutput out = q.forward(new Params(), x, ForwardOptions.eval());
        assertClose(new float[] {-1f / 3, 1f, 1f, -1f}, out.quantized().data(), "quantized");
        assertArrayEquals(new long[] {1 + 4 * 1, 3}, out.indices().data());
    }

    /**
     * dim 2 → levels [3] through project_in W = [[1, −1]], b = [0.5] and project_out
     * W = [[2], [−1]], b = [0, 1]: token (0.5, 1) → z = 0 → code 0 → (0, 1); token (2, 0) →
     * z = 2.5 → code 1 → (2, 0).
     */
    @Test
    void projectionsWrapTheQuantizer() {
        FSQ q = fsq(Map.of("levels", List.of(3), "dim", 2));
        Params p = new Params()
                .put("project_in.weight", new Tensor(new float[] {1f, -1f}, 1, 2))
                .put("project_in.bias", new Tensor(new float[] {0.5f}, 1))
                .put("project_out.weight", new Tensor(new float[] {2f, -1f}, 2, 1))
                .put("project_out.bias", new Tensor(new float[] {0f, 1f}, 2));
        q.validate(p);
        QuantizerOutput out = q.forward(p, new Tensor(new float[] {0.5f, 1f, 2f, 0f}, 1, 2, 2), ForwardOptions.eval());
        assertClose(new float[] {0f, 1f, 2f, 0f}, out.quantized().data(), "values");
        assertArrayEquals(new long[] {1, 2}, out.indices().data());
        assertClose(new float[] {0f, 1f, 2f, 0f}, q.codesFromIndices(p, out.indices()).data(), "codes_from_indices");
    }

    /** Two codebooks over levels [3]: features split in order, indices (b, n, 2) token-major. */
    @Test
    void multipleCodebooksKeepTheCodebookAxis() {
        FSQ q = fsq(Map.of("levels", List.of(3), "num_codebooks", 2));
        assertEquals(2, q.codesPerToken());
        QuantizerOutput out = q.forward(new Params(), new Tensor(new float[] {0.8f, -0.8f, 0f, 3f}, 1, 2, 2), ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 2, 2}, out.indices().shape());
        assertArrayEquals(new long[] {2, 0, 1, 2}, out.indices().data());
        assertClose(new float[] {1f, -1f, 0f, 1f}, out.quantized().data(), "values");
    }

    /** A channel-first image (1, 1, 2, 2) with levels [3]: indices (1, 2, 2) in row-major pixel order. */
    @Test
    void imageInputIsChannelFirst() {
        FSQ q = fsq(Map.of("levels", List.of(3)));
        Tensor img = new Tensor(new float[] {0.8f, -0.8f, 0f, 3f}, 1, 1, 2, 2);
        QuantizerOutput out = q.forward(new Params(), img, ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 1, 2, 2}, out.quantized().shape());
        assertArrayEquals(new int[] {1, 2, 2}, out.indices().shape());
        assertArrayEquals(new long[] {2, 0, 1, 2}, out.indices().data());
        Tensor codes = q.codesFromIndices(new Params(), out.indices());
        assertArrayEquals(new int[] {1, 1, 2, 2}, codes.shape());
        assertClose(new float[] {1f, -1f, 0f, 1f}, codes.data(), "values");
    }

    /**
     * orthogonal_rot = [[0, 1], [1, 0]] swaps the dimensions: z = (0.8, 0) → z·R = (0, 0.8);
     * levels [3, 5] give codes (0, 0.5) (0.8 → tanh·2.002 = 1.33 → 1), digits (1, 3), index
     * 1 + 3·3 = 10, and the codes rotated back are (0.5, 0).
     */
    @Test
    void orthogonalRotationIsAppliedBeforeAndUndoneAfter() {
        FSQ q = fsq(Map.of("levels", List.of(3, 5), "orthogonal_rotation", true));
        Params p = new Params().put("orthogonal_rot", new Tensor(new float[] {0f, 1f, 1f, 0f}, 2, 2));
        q.validate(p);
        QuantizerOutput out = q.forward(p, new Tensor(new float[] {0.8f, 0f}, 1, 1, 2), ForwardOptions.eval());
        assertArrayEquals(new long[] {10}, out.indices().data());
        assertClose(new float[] {0.5f, 0f}, out.quantized().data(), "values");
        assertClose(new float[] {0.5f, 0f}, q.decodeTokens(p, new LongTensor(new long[] {10}, 1, 1)).data(), "values");
    }

    @Test
    void initialisedRotationIsOrthogonal() {
        FSQ q = fsq(Map.of("levels", List.of(5, 5, 5, 5), "orthogonal_rotation", true));
        float[] r = q.initParams(3).get("orthogonal_rot").data();
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                double s = 0;
                for (int e = 0; e < 4; e++) {
                    s += r[i * 4 + e] * r[j * 4 + e];
                }
                assertEquals(i == j ? 1.0 : 0.0, s, 1e-6);
            }
        }
    }

    // ---------------------------------------------------------------- round trips

    static List<Map<String, Object>> configs() {
        return List.of(
                Map.of("levels", List.of(8, 5, 5, 5)),
                Map.of("levels", List.of(8, 6, 5), "dim", 7),
                Map.of("levels", List.of(8, 5, 5, 5), "dim", 12, "num_codebooks", 2),
                Map.of("levels", List.of(2, 3, 4, 7), "preserve_symmetry", true),
                Map.of("levels", List.of(4, 4, 4), "bound_hard_clamp", true),
                Map.of("levels", List.of(5, 5, 3), "dim", 6, "orthogonal_rotation", true, "projection_has_bias", false));
    }

    @Test
    void decodingTheIndicesGivesTheQuantizedOutput() {
        for (Map<String, Object> kw : configs()) {
            FSQ q = fsq(kw);
            Params p = q.initParams(11);
            q.validate(p);
            Tensor x = randn(5, 3, 20, q.dim());
            QuantizerOutput out = q.forwardTokens(p, x, ForwardOptions.eval());
            assertArrayEquals(new int[] {3, 20, q.codesPerToken()}, out.indices().shape(), kw.toString());
            LongTensor codes = out.indices().reshape(60, q.codesPerToken());
            assertClose(out.quantized().data(), q.decodeTokens(p, codes).data(), kw + " decodeTokens");
            QuantizerOutput ref = q.forward(p, x, ForwardOptions.eval());
            assertClose(ref.quantized().data(), q.codesFromIndices(p, ref.indices()).data(), kw + " codesFromIndices");
        }
    }

    /**
     * Every code of the implicit codebook is reached by forward at its own index: the latent
     * is the inverse of the bound at the code's centre.
     */
    @Test
    void everyImplicitCodeRoundTripsThroughForward() {
        for (boolean symmetric : new boolean[] {false, true}) {
            int[] levels = symmetric ? new int[] {2, 3, 8} : new int[] {8, 6, 5};
            FSQ q = fsq(Map.of("levels", List.of(levels[0], levels[1], levels[2]), "preserve_symmetry", symmetric));
            Tensor cb = q.implicitCodebook(new Params());
            int size = levels[0] * levels[1] * levels[2];
            assertArrayEquals(new int[] {size, 3}, cb.shape());
            float[] z = new float[size * 3];
            for (int i = 0; i < size; i++) {
                for (int d = 0; d < 3; d++) {
                    int l = levels[d];
                    float c = cb.data()[i * 3 + d];
                    if (symmetric) {
                        z[i * 3 + d] = (float) atanh(0.999 * c);
                    } else {
                        double hl = (l - 1) * 1.001 / 2;
                        double off = l % 2 == 0 ? 0.5 : 0;
                        z[i * 3 + d] = (float) (atanh((c * (l / 2) + off) / hl) - atanh(off / hl));
                    }
                }
            }
            QuantizerOutput out = q.forwardTokens(new Params(), new Tensor(z, 1, size, 3), ForwardOptions.eval());
            for (int i = 0; i < size; i++) {
                assertEquals(i, out.indices().data()[i], "symmetric=" + symmetric + " index " + i);
            }
            assertClose(cb.data(), out.quantized().data(), "values");
            LongTensor all = out.indices().reshape(size, 1);
            assertClose(cb.data(), q.decodeTokens(new Params(), all).data(), "values");
        }
    }

    private static double atanh(double x) {
        return 0.5 * Math.log((1 + x) / (1 - x));
    }

    /** Even levels are asymmetric: L=4 → {−1, −0.5, 0, 0.5}; symmetric L=4 → {−1, −1/3, 1/3, 1}. */
    @Test
    void implicitCodebookGridsFollowTheFormulas() {
        assertClose(new float[] {-1f, -0.5f, 0f, 0.5f}, fsq(Map.of("levels", List.of(4))).implicitCodebook(new Params()).data(), "values");
        assertClose(new float[] {-1f, -1f / 3, 1f / 3, 1f},
                fsq(Map.of("levels", List.of(4), "preserve_symmetry", true)).implicitCodebook(new Params()).data(), "symmetric");
    }

    // ---------------------------------------------------------------- training noise

    @Test
    void noiseDropoutPerturbsCodesInTrainingOnly() {
        FSQ q = fsq(Map.of("levels", List.of(5, 5), "preserve_symmetry", true, "noise_dropout", 1.0));
        Tensor x = randn(2, 2, 10, 2);
        QuantizerOutput eval = q.forwardTokens(new Params(), x, ForwardOptions.eval());
        QuantizerOutput train = q.forwardTokens(new Params(), x, ForwardOptions.train(RandomSource.seeded(4)));
        assertArrayEquals(eval.indices().data(), train.indices().data());
        boolean differs = false;
        for (int i = 0; i < x.size(); i++) {
            float t = train.quantized().data()[i];
            assertTrue(t >= -1f && t <= 1f);
            differs |= t != eval.quantized().data()[i];
        }
        assertTrue(differs, "noise dropout with p = 1 must change codes");
    }

    // ---------------------------------------------------------------- validation

    static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void invalidConstructorArgumentsAreRejected() {
        assertTrue(error(() -> fsq(Map.of("levels", List.of(1, 5)))).contains("levels[0] = 1"));
        assertTrue(error(() -> fsq(Map.of("levels", List.of(5, 0)))).contains("levels[1] = 0"));
        assertTrue(error(() -> fsq(Map.of("levels", List.of(2, 5)))).contains("preserve_symmetry"));
        assertTrue(error(() -> fsq(Map.of())).contains("'levels' is required"));
        assertTrue(error(() -> fsq(Map.of("levels", List.of()))).contains("must not be empty"));
        assertTrue(error(() -> fsq(Map.of("levels", 5))).contains("list of integers"));
        assertTrue(error(() -> fsq(Map.of("levels", List.of(5), "num_codebooks", 2, "keep_num_codebooks_dim", false)))
                .contains("keep_num_codebooks_dim"));
        assertTrue(error(() -> fsq(Map.of("levels", List.of(5), "num_codebooks", 0))).contains("num_codebooks"));
        assertTrue(error(() -> fsq(Map.of("levels", List.of(5), "noise_dropout", 0.1))).contains("noise_dropout"));
        assertTrue(error(() -> fsq(Map.of("levels", List.of(5), "dim", 0))).contains("dim"));
        assertTrue(error(() -> fsq(Map.of("levels", List.of(5), "codebook_size", 5))).contains("unknown argument codebook_size"));
    }

    @Test
    void badInputsAreRejected() {
        FSQ q = fsq(Map.of("levels", List.of(8, 5, 5, 5)));
        assertTrue(error(() -> q.forward(new Params(), randn(1, 1, 5, 3), ForwardOptions.eval())).contains("input feature size 3 != dim 4"));
        assertTrue(error(() -> q.forward(new Params(), randn(1, 1, 3, 2, 2), ForwardOptions.eval())).contains("dim = 4"));
        Tensor nan = randn(1, 1, 5, 4);
        nan.data()[7] = Float.NaN;
        assertTrue(error(() -> q.forward(new Params(), nan, ForwardOptions.eval())).contains("NaN"));
        Tensor inf = randn(1, 1, 5, 4);
        inf.data()[2] = Float.POSITIVE_INFINITY;
        assertTrue(error(() -> q.forwardTokens(new Params(), inf, ForwardOptions.eval())).contains("Infinity"));
        assertTrue(error(() -> q.decodeTokens(new Params(), new LongTensor(new long[] {1000}, 1, 1))).contains("out of range [0, 1000)"));
        assertTrue(error(() -> q.codesFromIndices(new Params(), new LongTensor(new long[] {-1, 2}, 1, 2))).contains("code -1"));
        assertTrue(error(() -> q.decodeTokens(new Params(), new LongTensor(new long[] {1, 2}, 1, 2))).contains("(m, 1)"));
        FSQ proj = fsq(Map.of("levels", List.of(8, 5, 5, 5), "dim", 16));
        Params missing = new Params();
        assertTrue(error(() -> proj.validate(missing)).contains("project_in.weight"));
    }
}

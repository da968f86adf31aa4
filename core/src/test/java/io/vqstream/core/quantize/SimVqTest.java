package io.vqstream.core.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SimVqTest {

    static Map<String, Object> kw(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static Tensor randomTensor(long seed, int... shape) {
        return Nn.normal(new SplittableRandom(seed), 1.0, shape);
    }

    static void assertClose(float[] expected, float[] got, double tol, String what) {
        assertEquals(expected.length, got.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got[i], tol, what + " at " + i);
        }
    }

    /** E = frozen·Wᵀ with frozen rows (1,0), (0,1), (1,1) and W = diag(2, 1): codes (2,0), (0,1), (2,1). */
    private static Params handParams() {
        return new Params()
                .put("frozen_codebook", new Tensor(new float[] {1, 0, 0, 1, 1, 1}, 3, 2))
                .put("code_transform.weight", new Tensor(new float[] {2, 0, 0, 1}, 2, 2));
    }

    @Test
    void handComputedCase() {
        SimVQ q = new SimVQ(kw("dim", 2, "codebook_size", 3));
        Params p = handParams();
        assertArrayEquals(new float[] {2, 0, 0, 1, 2, 1}, q.implicitCodebook(p).data());

        // x0 = (1.9, 0.2): squared distances to the codes 0.05, 4.25, 0.65 -> code 0
        // x1 = (0.1, 0.8): squared distances to the codes 4.25, 0.05, 3.65 -> code 1
        Tensor x = new Tensor(new float[] {1.9f, 0.2f, 0.1f, 0.8f}, 1, 2, 2);
        QuantizerOutput out = q.forward(p, x, ForwardOptions.eval());
        assertArrayEquals(new long[] {0, 1}, out.indices().data());
        assertArrayEquals(new int[] {1, 2}, out.indices().shape());
        assertClose(new float[] {2, 0, 0, 1}, out.quantized().data(), 1e-6, "quantized");
        // mse = (0.01 + 0.04 + 0.01 + 0.04) / 4 = 0.025; loss = 1 · (1 + 0.25) · 0.025
        assertEquals(0.03125, out.totalLoss(), 1e-7);

        SimVQ weighted = new SimVQ(kw("dim", 2, "codebook_size", 3, "commitment_weight", 2.0,
                "input_to_quantize_commit_loss_weight", 0.5));
        // 2 · (1 + 0.5) · 0.025
        assertEquals(0.075, weighted.forward(p, x, ForwardOptions.eval()).totalLoss(), 1e-7);
    }

    @Test
    void straightThroughValueIsTheCode() {
        SimVQ q = new SimVQ(kw("dim", 2, "codebook_size", 3, "rotation_trick", false));
        Tensor x = new Tensor(new float[] {1.9f, 0.2f, 0f, 0f}, 1, 2, 2);
        QuantizerOutput out = q.forward(handParams(), x, ForwardOptions.eval());
        // origin: squared distances 4, 1, 5 -> code 1 = (0, 1), output as is without the rotation trick
        assertArrayEquals(new long[] {0, 1}, out.indices().data());
        assertClose(new float[] {2, 0, 0, 1}, out.quantized().data(), 1e-6, "quantized");
    }

    @Test
    void rotationTrickValueIsTheCodeForNonZeroInputsAndZeroForZero() {
        SplittableRandom rng = new SplittableRandom(7);
        int d = 8;
        double[] scratch = new double[3 * d];
        float[] out = new float[d];
        for (int trial = 0; trial < 200; trial++) {
            float[] x = Nn.normal(rng, 1 + trial % 5, d).data();
            float[] q = Nn.normal(rng, 0.1 + trial % 3, d).data();
            SimVQ.rotateTo(x, 0, q, 0, out, 0, d, scratch);
            double qNorm = 0;
            for (float v : q) {
                qNorm += v * v;
            }
            assertClose(q, out, 1e-5 * Math.sqrt(qNorm), "rotated value, trial " + trial);
        }
        // (nearly) antipodal code: ‖u + q̂‖ is below the 1e-6 clamp, r ≈ −x and the value is still q
        float[] x = {0.3f, -1.2f, 2f, 0.5f, 0f, 1f, -0.7f, 0.1f};
        float[] anti = new float[d];
        for (int e = 0; e < d; e++) {
            anti[e] = -2.5f * x[e];
        }
        SimVQ.rotateTo(x, 0, anti, 0, out, 0, d, scratch);
        assertClose(anti, out, 1e-5, "antipodal");

        float[] zero = new float[d];
        float[] code = Nn.normal(rng, 1, d).data();
        SimVQ.rotateTo(zero, 0, code, 0, out, 0, d, scratch);
        assertArrayEquals(new float[d], out, "a zero input rotates to 0");
    }

    @Test
    void zeroInputTokenGivesZeroThroughForward() {
        SimVQ q = new SimVQ(kw("dim", 2, "codebook_size", 3));
        Tensor x = new Tensor(new float[] {1.9f, 0.2f, 0f, 0f}, 1, 2, 2);
        QuantizerOutput out = q.forward(handParams(), x, ForwardOptions.eval());
        assertArrayEquals(new long[] {0, 1}, out.indices().data());
        assertClose(new float[] {2, 0, 0, 0}, out.quantized().data(), 1e-6, "quantized");
        // the loss still measures the selected code (0, 1) against the zero token
        assertEquals(1.25 * (0.01 + 0.04 + 0 + 1) / 4, out.totalLoss(), 1e-6);
    }

    @Test
    void indicesAreNearestCodesAndRoundTrip() {
        SimVQ q = new SimVQ(kw("dim", 6, "codebook_size", 10, "frozen_codebook_dim", 4));
        Params p = q.initParams(3);
        q.validate(p);
        Tensor x = randomTensor(11, 3, 5, 6);
        QuantizerOutput out = q.forward(p, x, ForwardOptions.eval());
        float[] e = q.implicitCodebook(p).data();
        long[] idx = out.indices().data();
        assertArrayEquals(new int[] {3, 5}, out.indices().shape());
        for (int t = 0; t < 15; t++) {
            int best = -1;
            double bestD = Double.MAX_VALUE;
            for (int j = 0; j < 10; j++) {
                double s = 0;
                for (int k = 0; k < 6; k++) {
                    double diff = x.data()[t * 6 + k] - e[j * 6 + k];
                    s += diff * diff;
                }
                if (s < bestD) {
                    bestD = s;
                    best = j;
                }
            }
            assertEquals(best, idx[t], "nearest code of token " + t);
            float[] row = new float[6];
            System.arraycopy(e, best * 6, row, 0, 6);
            float[] got = new float[6];
            System.arraycopy(out.quantized().data(), t * 6, got, 0, 6);
            assertClose(row, got, 1e-5, "quantized token " + t);
        }
        Tensor codes = q.codesFromIndices(p, out.indices());
        assertArrayEquals(new int[] {3, 5, 6}, codes.shape());
        assertClose(out.quantized().data(), codes.data(), 1e-5, "codes_from_indices");

        QuantizerOutput tok = q.forwardTokens(p, x, ForwardOptions.eval());
        assertArrayEquals(new int[] {3, 5, 1}, tok.indices().shape());
        assertArrayEquals(idx, tok.indices().data());
        Tensor decoded = q.decodeTokens(p, tok.indices().reshape(15, 1));
        assertArrayEquals(new int[] {15, 6}, decoded.shape());
        assertClose(out.quantized().data(), decoded.data(), 1e-5, "decodeTokens");
        assertArrayEquals(new long[] {10}, q.codebookSizes());
    }

    @Test
    void channelFirstMatchesChannelLast() {
        SimVQ last = new SimVQ(kw("dim", 4, "codebook_size", 8));
        SimVQ first = new SimVQ(kw("dim", 4, "codebook_size", 8, "channel_first", true));
        Params p = last.initParams(5);
        Tensor img = randomTensor(2, 2, 4, 3, 5); // (b, dim, h, w)
        Tensor tokens = img.permute(0, 2, 3, 1); // (b, h, w, dim)
        QuantizerOutput a = last.forward(p, tokens, ForwardOptions.eval());
        QuantizerOutput b = first.forward(p, img, ForwardOptions.eval());
        assertArrayEquals(new int[] {2, 3, 5}, a.indices().shape());
        assertArrayEquals(new int[] {2, 3, 5}, b.indices().shape());
        assertArrayEquals(a.indices().data(), b.indices().data());
        assertArrayEquals(new int[] {2, 4, 3, 5}, b.quantized().shape());
        assertArrayEquals(a.quantized().permute(0, 3, 1, 2).data(), b.quantized().data());
        assertEquals(a.totalLoss(), b.totalLoss(), 0f);
        Tensor codes = first.codesFromIndices(p, b.indices());
        assertArrayEquals(new int[] {2, 4, 3, 5}, codes.shape());
        assertClose(b.quantized().data(), codes.data(), 1e-5, "channel-first codes");
    }

    @Test
    void trainModeEqualsEvalAndLeavesParamsUnchanged() {
        SimVQ q = new SimVQ(kw("dim", 4, "codebook_size", 8));
        Params p = q.initParams(9);
        Params before = p.copy();
        Tensor x = randomTensor(4, 2, 3, 4);
        QuantizerOutput ev = q.forward(p, x, ForwardOptions.eval());
        QuantizerOutput tr = q.forward(p, x, ForwardOptions.train(RandomSource.seeded(1)));
        assertArrayEquals(ev.indices().data(), tr.indices().data());
        assertArrayEquals(ev.quantized().data(), tr.quantized().data());
        assertTrue(ev.totalLoss() > 0, "the loss is computed in eval mode");
        assertEquals(ev.totalLoss(), tr.totalLoss(), 0f);
        assertTrue(p.bitEquals(before));
        assertFalse(q.learnsOnline());
    }

    @Test
    void initialisationFollowsTheReference() {
        SimVQ q = new SimVQ(kw("dim", 32, "codebook_size", 512, "frozen_codebook_dim", 64));
        Params p = q.initParams(1);
        float[] frozen = p.require("frozen_codebook", 512, 64).data();
        double var = 0;
        for (float v : frozen) {
            var += v * v;
        }
        var /= frozen.length;
        assertEquals(1.0 / 64, var, 0.05 / 64, "frozen codebook variance 1/fd");
        float[] w = p.require("code_transform.weight", 32, 64).data();
        for (float v : w) {
            assertTrue(Math.abs(v) <= 1 / Math.sqrt(64), "Linear init bound");
        }
        assertEquals(List.of("frozen_codebook", "code_transform.weight"),
                q.parameterSpecs().stream().map(ParamSpec::name).toList());
        assertFalse(q.initParams(1).bitEquals(q.initParams(2)));
        assertTrue(q.initParams(1).bitEquals(p));
    }

    @Test
    void invalidArgumentsAreRejected() {
        assertMessage(() -> new SimVQ(kw("codebook_size", 4)), "'dim' is required");
        assertMessage(() -> new SimVQ(kw("dim", 4, "codebook_size", 0)), "codebook_size must be positive");
        assertMessage(() -> new SimVQ(kw("dim", 0, "codebook_size", 4)), "dim must be positive");
        assertMessage(() -> new SimVQ(kw("dim", 4, "codebook_size", 4, "frozen_codebook_dim", -1)),
                "frozen_codebook_dim must be positive");
        assertMessage(() -> new SimVQ(kw("dim", 4, "codebook_size", 4, "commitment_weight", -1.0)),
                "commitment_weight must be a finite number >= 0");
        assertMessage(() -> new SimVQ(kw("dim", 4, "codebook_size", 4, "codebook_transform", "mlp")),
                "'codebook_transform' cannot be set");
        assertMessage(() -> new SimVQ(kw("dim", 4, "codebook_size", 4, "init_fn", "uniform")),
                "'init_fn' = uniform cannot be set");
        assertMessage(() -> new SimVQ(kw("dim", 4, "codebook_size", 4, "codebok_size", 3)), "unknown argument codebok_size");
        assertMessage(() -> new SimVQ(kw("dim", 4, "codebook_size", 4, "rotation_trick", "yes")),
                "'rotation_trick' must be true or false");
        // the identity init_fn spelled out is the default
        new SimVQ(kw("dim", 4, "codebook_size", 4, "init_fn", "identity"));
    }

    @Test
    void badInputsAreRejected() {
        SimVQ q = new SimVQ(kw("dim", 2, "codebook_size", 3));
        Params p = handParams();
        assertMessage(() -> q.forward(p, new Tensor(new float[] {1, 2, 3}, 1, 1, 3), ForwardOptions.eval()),
                "input feature size 3");
        assertMessage(() -> q.forwardTokens(p, new Tensor(new float[] {1, 2, 3}, 1, 1, 3), ForwardOptions.eval()),
                "input feature size 3 != dim 2");
        assertMessage(() -> q.forward(p, new Tensor(new float[] {1, Float.NaN}, 1, 1, 2), ForwardOptions.eval()), "NaN");
        assertMessage(() -> q.forward(p, new Tensor(new float[] {Float.POSITIVE_INFINITY, 0}, 1, 1, 2), ForwardOptions.eval()),
                "Infinity");
        assertMessage(() -> q.forward(p, new Tensor(new float[] {1, 2}, 2), ForwardOptions.eval()),
                "needs a batch and a feature axis");
        assertMessage(() -> q.codesFromIndices(p, new LongTensor(new long[] {0, 3}, 1, 2)), "code index 3 out of range [0, 3)");
        assertMessage(() -> q.decodeTokens(p, new LongTensor(new long[] {-1}, 1, 1)), "code index -1 out of range");
        assertMessage(() -> q.decodeTokens(p, new LongTensor(new long[] {0, 1}, 1, 2)), "codes must have shape (m, 1)");
        Params wrong = new Params().put("frozen_codebook", new Tensor(new float[4], 2, 2))
                .put("code_transform.weight", new Tensor(new float[4], 2, 2));
        assertMessage(() -> q.validate(wrong), "'frozen_codebook' has shape (2, 2), expected (3, 2)");
    }

    static void assertMessage(Runnable r, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    @Test
    void twoDimensionalInputIsOneTokenPerRow() {
        SimVQ q = new SimVQ(kw("dim", 2, "codebook_size", 3));
        QuantizerOutput out = q.forward(handParams(), new Tensor(new float[] {1.9f, 0.2f, 0.1f, 0.8f}, 2, 2), ForwardOptions.eval());
        assertArrayEquals(new int[] {2}, out.indices().shape());
        assertArrayEquals(new long[] {0, 1}, out.indices().data());
        assertArrayEquals(new int[] {2, 2}, out.quantized().shape());
    }
}

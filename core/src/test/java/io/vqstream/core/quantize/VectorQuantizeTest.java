package io.vqstream.core.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** VectorQuantize, ResidualVQ and GroupedResidualVQ beyond the golden cases. */
class VectorQuantizeTest {

    /** A tensor of standard normal values drawn from {@code seed}. */
    static Tensor gaussian(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) r.nextGaussian();
        }
        return t;
    }

    /** Constructor arguments from name/value pairs. */
    static Map<String, Object> args(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void handComputedNearestCodeAndCommitmentLoss() {
        Quantizer vq = Quantizers.create("VectorQuantize", args("dim", 2, "codebook_size", 3, "commitment_weight", 0.5));
        Params p = vq.initParams(0);
        float[] e = p.get("_codebook.embed").data();
        System.arraycopy(new float[] {0, 0, 1, 0, 0, 1}, 0, e, 0, 6);
        // (0.9, 0.2) is nearest (1, 0); (0.1, 0.7) nearest (0, 1); (-0.2, 0.1) nearest (0, 0)
        Tensor x = new Tensor(new float[] {0.9f, 0.2f, 0.1f, 0.7f, -0.2f, 0.1f}, 1, 3, 2);
        QuantizerOutput eval = vq.forward(p, x, ForwardOptions.eval());
        assertArrayEquals(new long[] {1, 2, 0}, eval.indices().data());
        assertArrayEquals(new float[] {1, 0, 0, 1, 0, 0}, eval.quantized().data());
        assertEquals(0f, eval.floatOrNull("loss").item(), "no loss in eval");
        QuantizerOutput train = vq.forward(p.copy(), x, ForwardOptions.train(RandomSource.seeded(1)));
        // mse = (0.01+0.04+0.01+0.09+0.04+0.01)/6 = 0.2/6; loss = 0.5 * mse
        assertEquals(0.2 / 6, train.floatOrNull("commit_loss").item(), 1e-6);
        assertEquals(0.1 / 6, train.floatOrNull("loss").item(), 1e-6);
    }

    @Test
    void handComputedEmaStep() {
        Quantizer vq = Quantizers.create("VectorQuantize", args("dim", 1, "codebook_size", 2, "decay", 0.5, "eps", 0.0));
        Params p = vq.initParams(0);
        p.get("_codebook.embed").data()[0] = 0f;
        p.get("_codebook.embed").data()[1] = 10f;
        p.get("_codebook.embed_avg").data()[0] = 0f;
        p.get("_codebook.embed_avg").data()[1] = 10f;
        vq.forward(p, new Tensor(new float[] {1f, 3f, 9f}, 1, 3, 1), ForwardOptions.train(RandomSource.seeded(1)));
        // counts (2, 1), sums (4, 9); cluster = 0.5·1 + 0.5·(2, 1) = (1.5, 1); avg = 0.5·(0, 10) + 0.5·(4, 9) = (2, 9.5)
        assertArrayEquals(new float[] {1.5f, 1f}, p.get("_codebook.cluster_size").data());
        assertArrayEquals(new float[] {2f, 9.5f}, p.get("_codebook.embed_avg").data());
        // eps = 0: smoothed = cluster size itself; embed = avg / cluster
        assertArrayEquals(new float[] {2f / 1.5f, 9.5f}, p.get("_codebook.embed").data(), 1e-6f);
    }

    @Test
    void codesRoundTripThroughDecodeForEveryLayout() {
        Object[][] configs = {
            {"VectorQuantize", args("dim", 8, "codebook_size", 16)},
            {"VectorQuantize", args("dim", 8, "codebook_size", 16, "use_cosine_sim", true)},
            {"VectorQuantize", args("dim", 12, "codebook_size", 16, "codebook_dim", 3, "heads", 2, "separate_codebook_per_head", true)},
            {"VectorQuantize", args("dim", 8, "codebook_size", 16, "heads", 2, "codebook_dim", 4)},
            {"VectorQuantize", args("dim", 8, "codebook_size", 16, "codebook_dim", 3, "layernorm_after_project_in", true)},
            {"ResidualVQ", args("dim", 8, "codebook_size", 16, "num_quantizers", 3)},
            {"ResidualVQ", args("dim", 8, "codebook_size", java.util.List.of(8, 16, 32), "codebook_dim", 4)},
            {"ResidualVQ", args("dim", 8, "codebook_size", 16, "num_quantizers", 3, "shared_codebook", true)},
            {"GroupedResidualVQ", args("dim", 8, "codebook_size", 16, "num_quantizers", 2, "groups", 2)},
        };
        for (Object[] c : configs) {
            @SuppressWarnings("unchecked")
            Quantizer q = Quantizers.create((String) c[0], (Map<String, Object>) c[1]);
            Params p = q.initParams(5);
            QuantizerOutput out = q.forwardTokens(p, gaussian(7, 4, 5, q.dim()), ForwardOptions.eval());
            LongTensor codes = out.indices().reshape(20, q.codesPerToken());
            Tensor decoded = q.decodeTokens(p, codes);
            assertArrayEquals(out.quantized().data(), decoded.data(), 1e-5f, c[0] + " " + c[1]);
            long[] sizes = q.codebookSizes();
            for (int i = 0; i < codes.size(); i++) {
                assertTrue(codes.data()[i] >= 0 && codes.data()[i] < sizes[i % sizes.length]);
            }
        }
    }

    @Test
    void invalidArgumentsAreRejectedByName() {
        String[][] cases = {
            {"codebook_size", "VectorQuantize", "dim", "8", "codebook_size", "0"},
            {"decay", "VectorQuantize", "dim", "8", "codebook_size", "4", "decay", "1.5"},
            {"unknown argument", "VectorQuantize", "dim", "8", "codebook_size", "4", "codebok_dim", "2"},
            {"directional_reparam", "VectorQuantize", "dim", "8", "codebook_size", "4", "directional_reparam", "true"},
            {"affine_param is only compatible", "VectorQuantize", "dim", "8", "codebook_size", "4", "affine_param", "true", "use_cosine_sim", "true"},
            {"heads", "ResidualVQ", "dim", "8", "codebook_size", "4", "num_quantizers", "2", "heads", "2"},
            {"divisible", "GroupedResidualVQ", "dim", "9", "codebook_size", "4", "num_quantizers", "2", "groups", "2"},
            {"num_quantizers", "ResidualVQ", "dim", "8", "codebook_size", "4"},
            {"dim", "VectorQuantize", "codebook_size", "4"},
        };
        for (String[] c : cases) {
            Map<String, Object> a = new HashMap<>();
            for (int i = 2; i < c.length; i += 2) {
                String v = c[i + 1];
                a.put(c[i], v.equals("true") ? Boolean.TRUE : v.contains(".") ? (Object) Double.parseDouble(v) : (Object) Integer.parseInt(v));
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Quantizers.create(c[1], a), c[0]);
            assertTrue(e.getMessage().contains(c[0]), e.getMessage());
        }
    }

    @Test
    void nonFiniteAndWronglySizedInputsAreRejected() {
        Quantizer vq = Quantizers.create("ResidualVQ", args("dim", 4, "codebook_size", 8, "num_quantizers", 2));
        Params p = vq.initParams(1);
        Tensor x = gaussian(2, 1, 3, 4);
        x.data()[6] = Float.NaN;
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class, () -> vq.forwardTokens(p, x, ForwardOptions.eval()));
        assertTrue(nan.getMessage().contains("NaN") && nan.getMessage().contains("[0, 1, 2]"), nan.getMessage());
        x.data()[6] = Float.POSITIVE_INFINITY;
        assertThrows(IllegalArgumentException.class, () -> vq.forwardTokens(p, x, ForwardOptions.eval()));
        IllegalArgumentException dim = assertThrows(IllegalArgumentException.class,
                () -> vq.forwardTokens(p, gaussian(2, 1, 3, 5), ForwardOptions.eval()));
        assertTrue(dim.getMessage().contains("5") && dim.getMessage().contains("dim 4"), dim.getMessage());
        assertThrows(IllegalArgumentException.class, () -> vq.decodeTokens(p, new LongTensor(new long[] {3, 8}, 1, 2)));
    }

    @Test
    void sameSeedGivesSameTrainingAndAnotherSeedDiffers() {
        Quantizer vq = Quantizers.create("VectorQuantize", args("dim", 4, "codebook_size", 8, "kmeans_init", true,
                "threshold_ema_dead_code", 2.0));
        Tensor x = gaussian(3, 2, 40, 4);
        Params a = vq.initParams(1);
        Params b = vq.initParams(1);
        Params c = vq.initParams(1);
        for (int step = 0; step < 3; step++) {
            vq.forwardTokens(a, x, ForwardOptions.train(RandomSource.seeded(100 + step)));
            vq.forwardTokens(b, x, ForwardOptions.train(RandomSource.seeded(100 + step)));
            vq.forwardTokens(c, x, ForwardOptions.train(RandomSource.seeded(200 + step)));
        }
        assertTrue(a.bitEquals(b));
        assertFalse(a.bitEquals(c), "kmeans seeding and dead-code rows depend on the random source");
    }

    @Test
    void pendingKmeansInitRunsAlsoInEvalAsTheReferenceDoes() {
        Quantizer vq = Quantizers.create("VectorQuantize", args("dim", 2, "codebook_size", 2, "kmeans_init", true));
        Params p = vq.initParams(0);
        assertEquals(0f, p.get("_codebook.initted").item());
        vq.forwardTokens(p, new Tensor(new float[] {0, 0, 0, 0.1f, 5, 5, 5, 5.1f}, 1, 4, 2), ForwardOptions.eval());
        assertEquals(1f, p.get("_codebook.initted").item());
        float[] e = p.get("_codebook.embed").data();
        // two clear clusters: the means are (0, 0.05) and (5, 5.05) in some order
        float lo = Math.min(e[0], e[2]);
        float hi = Math.max(e[0], e[2]);
        assertEquals(0f, lo, 1e-5f);
        assertEquals(5f, hi, 1e-5f);
    }

    @Test
    void quantizeDropoutSkipsLaterLayersWithMinusOne() {
        Quantizer rvq = Quantizers.create("ResidualVQ", args("dim", 4, "codebook_size", 8, "num_quantizers", 4, "quantize_dropout", true,
                "quantize_dropout_cutoff_index", 1));
        Params p = rvq.initParams(2);
        boolean sawDrop = false;
        for (int s = 0; s < 20; s++) {
            long[] idx = rvq.forwardTokens(p, gaussian(s, 1, 3, 4), ForwardOptions.builder().mode(Mode.TRAIN)
                    .freezeCodebook(true).random(RandomSource.seeded(s)).build()).indices().data();
            for (int t = 0; t < 3; t++) {
                assertTrue(idx[t * 4] >= 0, "layer 0 is never dropped (cutoff index 1)");
                boolean dropped = false;
                for (int l = 1; l < 4; l++) {
                    if (idx[t * 4 + l] < 0) {
                        dropped = true;
                    } else {
                        assertFalse(dropped, "once a layer is dropped every later one is");
                    }
                }
                sawDrop |= dropped;
            }
        }
        assertTrue(sawDrop);
    }
}

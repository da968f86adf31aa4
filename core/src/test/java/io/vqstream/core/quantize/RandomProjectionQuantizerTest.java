package io.vqstream.core.quantize;

import static io.vqstream.core.quantize.SimVqTest.assertMessage;
import static io.vqstream.core.quantize.SimVqTest.kw;
import static io.vqstream.core.quantize.SimVqTest.randomTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class RandomProjectionQuantizerTest {

    /** dim 3 → e 2: the projection keeps the first two features; codes (1,0), (0,1), (−0.6,0.8). */
    private static Params singleParams() {
        return new Params()
                .put("rand_projs", new Tensor(new float[] {1, 0, 0, 1, 0, 0}, 1, 3, 2))
                .put("vq._codebook.embed", new Tensor(new float[] {1, 0, 0, 1, -0.6f, 0.8f}, 1, 3, 2));
    }

    @Test
    void handComputedSingleCodebook() {
        RandomProjectionQuantizer raw = new RandomProjectionQuantizer(
                kw("dim", 3, "codebook_size", 3, "codebook_dim", 2, "norm", false));
        Params p = singleParams();
        raw.validate(p);
        // (3,4,·) → (0.6,0.8): dots 0.6, 0.8, 0.28 → 1;  (−3,1,·) → dots −0.949, 0.316, 0.822 → 2;
        // (5,−1,·) → dots 0.981, −0.196, −0.745 → 0
        Tensor x = new Tensor(new float[] {3, 4, 100, -3, 1, 7, 5, -1, 0}, 1, 3, 3);
        QuantizerOutput out = raw.forward(p, x, ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 3}, out.indices().shape());
        assertArrayEquals(new long[] {1, 2, 0}, out.indices().data());
        assertNull(out.quantized(), "no quantized output: codes live in the projection space");

        // LayerNorm first: (1,2,3) → (−1.2247, 0, 1.2247) → projected (−1.2247, 0): dots −1, 0, 0.6 → 2;
        // without it (1,2) has dots 0.447, 0.894, 0.447 → 1
        RandomProjectionQuantizer normed = new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2));
        Tensor y = new Tensor(new float[] {1, 2, 3}, 1, 1, 3);
        assertArrayEquals(new long[] {2}, normed.forward(p, y, ForwardOptions.eval()).indices().data());
        assertArrayEquals(new long[] {1}, raw.forward(p, y, ForwardOptions.eval()).indices().data());
        assertEquals(List.of("rand_projs", "vq._codebook.embed"), raw.parameterSpecs().stream().map(ParamSpec::name).toList());
    }

    @Test
    void handComputedTwoCodebooksGoThroughTheInnerProjection() {
        RandomProjectionQuantizer q = new RandomProjectionQuantizer(
                kw("dim", 2, "codebook_size", 2, "codebook_dim", 1, "num_codebooks", 2, "norm", false));
        // inner VectorQuantize(dim 2, heads 2) has codebook_dim 2: project_in 2 → 4 and codebooks (2, 2, 2)
        assertEquals(List.of("rand_projs", "vq.project_in.weight", "vq.project_in.bias", "vq._codebook.embed"),
                q.parameterSpecs().stream().map(ParamSpec::name).toList());
        assertArrayEquals(new int[] {4, 2}, q.parameterSpecs().get(1).shape());
        assertArrayEquals(new int[] {2, 2, 2}, q.parameterSpecs().get(3).shape());
        Params p = new Params()
                .put("rand_projs", new Tensor(new float[] {1, 0, 0, 1}, 2, 2, 1)) // head k keeps feature k
                .put("vq.project_in.weight", new Tensor(new float[] {1, 0, 0, 1, 0, 1, 1, 0}, 4, 2))
                .put("vq.project_in.bias", new Tensor(new float[] {0, 0, 0, -10}, 4))
                .put("vq._codebook.embed", new Tensor(new float[] {1, 0, 0, 1, 1, 0, 0, 1}, 2, 2, 2));
        q.validate(p);
        // x = (2, 1): head 0 sees (2, 1) → code 0; head 1 sees (1, 2 − 10) → code 0 (code 1 without the bias)
        QuantizerOutput out = q.forward(p, new Tensor(new float[] {2, 1}, 1, 1, 2), ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 1, 2}, out.indices().shape());
        assertArrayEquals(new long[] {0, 0}, out.indices().data());
        p.put("vq.project_in.bias", new Tensor(new float[4], 4));
        assertArrayEquals(new long[] {0, 1}, q.forward(p, new Tensor(new float[] {2, 1}, 1, 1, 2), ForwardOptions.eval())
                .indices().data());
    }

    @Test
    void trainModeBehavesAsEvalAndNothingIsLearnt() {
        RandomProjectionQuantizer q = new RandomProjectionQuantizer(
                kw("dim", 12, "codebook_size", 32, "codebook_dim", 4, "num_codebooks", 3, "decay", 0.5));
        Params p = q.initParams(2);
        q.validate(p);
        Params before = p.copy();
        Tensor x = randomTensor(1, 2, 9, 12);
        QuantizerOutput ev = q.forward(p, x, ForwardOptions.eval());
        QuantizerOutput tr = q.forward(p, x, ForwardOptions.train(RandomSource.seeded(3)));
        assertArrayEquals(new int[] {2, 9, 3}, ev.indices().shape());
        assertArrayEquals(ev.indices().data(), tr.indices().data());
        assertTrue(p.bitEquals(before));
        QuantizerOutput tok = q.forwardTokens(p, x, ForwardOptions.eval());
        assertArrayEquals(ev.indices().data(), tok.indices().data());
        assertArrayEquals(new long[] {32, 32, 32}, q.codebookSizes());
        assertEquals(3, q.codesPerToken());
    }

    @Test
    void initialisationFollowsTheReference() {
        RandomProjectionQuantizer q = new RandomProjectionQuantizer(
                kw("dim", 64, "codebook_size", 50, "codebook_dim", 32, "num_codebooks", 2));
        Params p = q.initParams(10);
        float[] r = p.require("rand_projs", 2, 64, 32).data();
        double var = 0;
        for (float v : r) {
            var += v * v;
        }
        var /= r.length;
        double expected = 2.0 / (32 * (64 + 2)); // Xavier-normal fans of a (h, dim, e) tensor
        assertEquals(expected, var, 0.06 * expected);
        float[] embed = p.require("vq._codebook.embed", 2, 50, 64).data();
        for (int row = 0; row < 100; row++) {
            double s = 0;
            for (int e = 0; e < 64; e++) {
                s += embed[row * 64 + e] * embed[row * 64 + e];
            }
            assertEquals(1.0, s, 1e-5, "unit codebook row " + row);
        }
        p.require("vq.project_in.weight", 128, 64);
    }

    @Test
    void decodingIsUnsupported() {
        RandomProjectionQuantizer q = new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> q.decodeTokens(singleParams(), new LongTensor(new long[] {0}, 1, 1)));
        assertTrue(e.getMessage().contains("indices cannot be decoded"), e.getMessage());
        assertThrows(UnsupportedOperationException.class,
                () -> q.codesFromIndices(singleParams(), new LongTensor(new long[] {0}, 1, 1)));
    }

    @Test
    void invalidArgumentsAreRejected() {
        assertMessage(() -> new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3)), "'codebook_dim' is required");
        assertMessage(() -> new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2, "num_codebooks", 0)),
                "num_codebooks must be positive");
        assertMessage(() -> new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 0)),
                "codebook_dim must be positive");
        assertMessage(() -> new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2, "heads", 2)),
                "'heads' is set by RandomProjectionQuantizer itself");
        assertMessage(() -> new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2,
                "use_cosine_sim", false)), "'use_cosine_sim' is set by RandomProjectionQuantizer itself");
        assertMessage(() -> new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2,
                "kmeans_init", true)), "kmeans_init=True is not supported");
        assertMessage(() -> new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2,
                "channel_last", false)), "channel_last=False");
        assertMessage(() -> new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2, "nrom", true)),
                "RandomProjectionQuantizer: unknown argument nrom");
        assertMessage(() -> new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2,
                "affine_param", true)), "affine_param is only compatible with a euclidean codebook");
    }

    @Test
    void badInputsAreRejected() {
        RandomProjectionQuantizer q = new RandomProjectionQuantizer(kw("dim", 3, "codebook_size", 3, "codebook_dim", 2));
        Params p = singleParams();
        assertMessage(() -> q.forward(p, new Tensor(new float[4], 1, 2, 2), ForwardOptions.eval()), "input feature size 2 != dim 3");
        assertMessage(() -> q.forward(p, new Tensor(new float[3], 1, 3), ForwardOptions.eval()), "must have shape (b, n, dim)");
        assertMessage(() -> q.forward(p, new Tensor(new float[] {0, Float.NaN, 1}, 1, 1, 3), ForwardOptions.eval()), "NaN");
        assertMessage(() -> q.forwardTokens(p, new Tensor(new float[] {0, Float.POSITIVE_INFINITY, 1}, 1, 1, 3),
                ForwardOptions.eval()), "Infinity");
        Params wrong = singleParams().put("rand_projs", new Tensor(new float[6], 1, 2, 3));
        assertMessage(() -> q.validate(wrong), "'rand_projs' has shape (1, 2, 3), expected (1, 3, 2)");
    }
}

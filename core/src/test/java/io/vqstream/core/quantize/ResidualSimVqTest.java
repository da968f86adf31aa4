package io.vqstream.core.quantize;

import static io.vqstream.core.quantize.SimVqTest.assertClose;
import static io.vqstream.core.quantize.SimVqTest.assertMessage;
import static io.vqstream.core.quantize.SimVqTest.kw;
import static io.vqstream.core.quantize.SimVqTest.randomTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResidualSimVqTest {

    /** Layer 0 codes (1,0), (0,1); layer 1 codes (0.1,0), (0,0.1) (W = 0.1·I). */
    private static Params handParams() {
        float[] identity = {1, 0, 0, 1};
        return new Params()
                .put("layers.0.frozen_codebook", new Tensor(identity.clone(), 2, 2))
                .put("layers.0.code_transform.weight", new Tensor(identity.clone(), 2, 2))
                .put("layers.1.frozen_codebook", new Tensor(identity.clone(), 2, 2))
                .put("layers.1.code_transform.weight", new Tensor(new float[] {0.1f, 0, 0, 0.1f}, 2, 2));
    }

    @Test
    void handComputedCase() {
        ResidualSimVQ q = new ResidualSimVQ(kw("dim", 2, "codebook_size", 2, "num_quantizers", 2));
        Params p = handParams();
        q.validate(p);
        Tensor x = new Tensor(new float[] {1.12f, 0.05f, -0.03f, 0.92f}, 1, 2, 2);
        QuantizerOutput out = q.forward(p, x, ForwardOptions.eval());
        // token 0: layer 0 -> (1,0), residual (0.12, 0.05); layer 1: distances² 0.0029 / 0.0169 -> (0.1, 0)
        // token 1: layer 0 -> (0,1), residual (-0.03, -0.08); layer 1: distances² 0.0233 / 0.0333 -> (0.1, 0)
        assertArrayEquals(new int[] {1, 2, 2}, out.indices().shape());
        assertArrayEquals(new long[] {0, 0, 1, 0}, out.indices().data());
        assertClose(new float[] {1.1f, 0, 0.1f, 1}, out.quantized().data(), 1e-6, "quantized");
        // layer 0: 1.25 · (0.0169 + 0.0073) / 4; layer 1: 1.25 · (0.0029 + 0.0233) / 4
        Tensor losses = out.floatOrNull("losses");
        assertArrayEquals(new int[] {2}, losses.shape());
        assertClose(new float[] {0.0075625f, 0.0081875f}, losses.data(), 1e-7, "losses");
        Tensor all = out.floatOrNull("all_codes");
        assertArrayEquals(new int[] {2, 1, 2, 2}, all.shape());
        assertClose(new float[] {1, 0, 0, 1, 0.1f, 0, 0.1f, 0}, all.data(), 1e-7, "all_codes");
        Tensor cbs = q.implicitCodebook(p);
        assertArrayEquals(new int[] {2, 2, 2}, cbs.shape());
        assertClose(new float[] {1, 0, 0, 1, 0.1f, 0, 0, 0.1f}, cbs.data(), 1e-7, "codebooks");
    }

    @Test
    void indicesRoundTripToCodesAndOutput() {
        ResidualSimVQ q = new ResidualSimVQ(kw("dim", 5, "codebook_size", 16, "num_quantizers", 3, "frozen_codebook_dim", 3));
        Params p = q.initParams(21);
        q.validate(p);
        assertEquals(List.of("layers.0.frozen_codebook", "layers.0.code_transform.weight", "layers.1.frozen_codebook",
                "layers.1.code_transform.weight", "layers.2.frozen_codebook", "layers.2.code_transform.weight"),
                q.parameterSpecs().stream().map(ParamSpec::name).toList());
        Tensor x = randomTensor(8, 2, 7, 5);
        QuantizerOutput out = q.forward(p, x, ForwardOptions.eval());
        assertArrayEquals(new int[] {2, 7, 3}, out.indices().shape());
        Tensor codes = q.codesFromIndices(p, out.indices());
        assertArrayEquals(new int[] {3, 2, 7, 5}, codes.shape());
        assertClose(out.floatOrNull("all_codes").data(), codes.data(), 1e-6, "codes_from_indices");
        assertClose(out.quantized().data(), q.outputFromIndices(p, out.indices()).data(), 1e-5, "output_from_indices");
        Tensor decoded = q.decodeTokens(p, out.indices().reshape(14, 3));
        assertArrayEquals(new int[] {14, 5}, decoded.shape());
        assertClose(out.quantized().data(), decoded.data(), 1e-5, "decodeTokens");

        // each layer quantizes what the previous ones left: layer l alone on the residual picks the same code
        Tensor cbs = q.implicitCodebook(p);
        float[] residual = x.data().clone();
        for (int l = 0; l < 3; l++) {
            float[] cb = cbs.select0(l).data();
            for (int t = 0; t < 14; t++) {
                long idx = out.indices().data()[t * 3 + l];
                for (int j = 0; j < 16; j++) {
                    assertTrue(dist(residual, t * 5, cb, j * 5, 5) >= dist(residual, t * 5, cb, (int) idx * 5, 5),
                            "layer " + l + " token " + t + ": code " + j + " is nearer than " + idx);
                }
                for (int e = 0; e < 5; e++) {
                    residual[t * 5 + e] -= cb[(int) idx * 5 + e];
                }
            }
        }
        // layers are initialised independently
        assertTrue(p.get("layers.0.frozen_codebook").data()[0] != p.get("layers.1.frozen_codebook").data()[0]);

        QuantizerOutput tok = q.forwardTokens(p, x, ForwardOptions.eval());
        assertArrayEquals(out.indices().data(), tok.indices().data());
        assertArrayEquals(new int[] {3, 2, 7, 5}, tok.floatOrNull("all_codes").shape());
    }

    private static double dist(float[] a, int ao, float[] b, int bo, int d) {
        double s = 0;
        for (int e = 0; e < d; e++) {
            double diff = a[ao + e] - b[bo + e];
            s += diff * diff;
        }
        return s;
    }

    @Test
    void channelFirstMatchesChannelLast() {
        ResidualSimVQ last = new ResidualSimVQ(kw("dim", 3, "codebook_size", 8, "num_quantizers", 2));
        ResidualSimVQ first = new ResidualSimVQ(kw("dim", 3, "codebook_size", 8, "num_quantizers", 2, "channel_first", true));
        Params p = last.initParams(4);
        Tensor img = randomTensor(3, 2, 3, 4, 2); // (b, dim, h, w)
        QuantizerOutput a = last.forward(p, img.permute(0, 2, 3, 1), ForwardOptions.eval());
        QuantizerOutput b = first.forward(p, img, ForwardOptions.eval());
        assertArrayEquals(new int[] {2, 4, 2, 2}, b.indices().shape());
        assertArrayEquals(a.indices().data(), b.indices().data());
        assertArrayEquals(a.quantized().permute(0, 3, 1, 2).data(), b.quantized().data());
        Tensor codes = b.floatOrNull("all_codes");
        assertArrayEquals(new int[] {2, 2, 3, 4, 2}, codes.shape());
        assertArrayEquals(a.floatOrNull("all_codes").permute(0, 1, 4, 2, 3).data(), codes.data());
        assertArrayEquals(codes.data(), first.codesFromIndices(p, b.indices()).data());
        assertArrayEquals(new int[] {2, 3, 4, 2}, first.outputFromIndices(p, b.indices()).shape());
    }

    @Test
    void quantizeDropoutSkipsLaterLayersInTraining() {
        ResidualSimVQ q = new ResidualSimVQ(kw("dim", 4, "codebook_size", 8, "num_quantizers", 4, "quantize_dropout", true));
        Params p = q.initParams(6);
        Tensor x = randomTensor(5, 2, 3, 4);
        // u = 0.3: last layer = floor(0.3 · 4) = 1, so layers 2 and 3 are dropped
        QuantizerOutput tr = q.forward(p, x, ForwardOptions.train(RandomSource.seeded(0).withUniform(0.3)));
        QuantizerOutput ev = q.forward(p, x, ForwardOptions.eval());
        long[] ti = tr.indices().data();
        long[] ei = ev.indices().data();
        for (int t = 0; t < 6; t++) {
            assertEquals(ei[t * 4], ti[t * 4]);
            assertEquals(ei[t * 4 + 1], ti[t * 4 + 1]);
            assertEquals(-1, ti[t * 4 + 2]);
            assertEquals(-1, ti[t * 4 + 3]);
        }
        float[] losses = tr.floatOrNull("losses").data();
        assertTrue(losses[0] > 0 && losses[1] > 0);
        assertEquals(0f, losses[2]);
        assertEquals(0f, losses[3]);
        assertEquals(ev.floatOrNull("losses").data()[1], losses[1]);
        float[] all = tr.floatOrNull("all_codes").data();
        for (int i = 2 * 6 * 4; i < all.length; i++) {
            assertEquals(0f, all[i], "dropped layers have zero codes");
        }
        // coarse indices (first two layers) reconstruct the training output
        long[] coarse = new long[6 * 2];
        for (int t = 0; t < 6; t++) {
            coarse[t * 2] = ti[t * 4];
            coarse[t * 2 + 1] = ti[t * 4 + 1];
        }
        Tensor fromCoarse = q.outputFromIndices(p, new LongTensor(coarse, 2, 3, 2));
        assertClose(tr.quantized().data(), fromCoarse.data(), 1e-5, "output from coarse indices");
        assertClose(tr.quantized().data(), q.outputFromIndices(p, tr.indices()).data(), 1e-5, "output from -1 indices");

        // multiple_of 2: a draw of layer 0 is rounded up to layer 1
        ResidualSimVQ q2 = new ResidualSimVQ(kw("dim", 4, "codebook_size", 8, "num_quantizers", 4, "quantize_dropout", true,
                "quantize_dropout_multiple_of", 2));
        assertEquals(1, q2.dropoutLayer(RandomSource.seeded(0).withUniform(0.0)));
        assertEquals(3, q2.dropoutLayer(RandomSource.seeded(0).withUniform(0.6)));
        ResidualSimVQ q3 = new ResidualSimVQ(kw("dim", 4, "codebook_size", 8, "num_quantizers", 4, "quantize_dropout", true,
                "quantize_dropout_cutoff_index", 2));
        assertEquals(2, q3.dropoutLayer(RandomSource.seeded(0).withUniform(0.0)));
        assertEquals(3, q3.dropoutLayer(RandomSource.seeded(0).withUniform(0.999999)));
    }

    @Test
    void invalidArgumentsAreRejected() {
        assertMessage(() -> new ResidualSimVQ(kw("dim", 4, "codebook_size", 8)), "'num_quantizers' is required");
        assertMessage(() -> new ResidualSimVQ(kw("dim", 4, "codebook_size", 8, "num_quantizers", 0)),
                "num_quantizers must be positive");
        assertMessage(() -> new ResidualSimVQ(kw("dim", 4, "codebook_size", 8, "num_quantizers", 2, "heads", 2)),
                "heads must be 1");
        assertMessage(() -> new ResidualSimVQ(kw("dim", 4, "codebook_size", 8, "num_quantizers", 2, "quantize_dropout", true,
                "quantize_dropout_cutoff_index", 2)), "quantize_dropout_cutoff_index 2 leaves no layer");
        assertMessage(() -> new ResidualSimVQ(kw("dim", 4, "codebook_size", 8, "num_quantizers", 2,
                "quantize_dropout_multiple_of", 0)), "quantize_dropout_multiple_of must be >= 1");
        assertMessage(() -> new ResidualSimVQ(kw("dim", 4, "codebook_size", 8, "num_quantizers", 2, "codebook_transform", "mlp")),
                "ResidualSimVQ: argument 'codebook_transform' cannot be set");
        assertMessage(() -> new ResidualSimVQ(kw("dim", 4, "codebook_size", 8, "num_quantizers", 2, "decay", 0.9)),
                "ResidualSimVQ: unknown argument decay");
        assertMessage(() -> new ResidualSimVQ(kw("dim", 4, "codebook_size", -8, "num_quantizers", 2)),
                "codebook_size must be positive");
    }

    @Test
    void badInputsAndCodesAreRejected() {
        ResidualSimVQ q = new ResidualSimVQ(kw("dim", 2, "codebook_size", 2, "num_quantizers", 2));
        Params p = handParams();
        assertMessage(() -> q.forward(p, new Tensor(new float[6], 1, 2, 3), ForwardOptions.eval()), "input feature size 3");
        assertMessage(() -> q.forward(p, new Tensor(new float[] {0, Float.NaN}, 1, 1, 2), ForwardOptions.eval()), "NaN");
        assertMessage(() -> q.forwardTokens(p, new Tensor(new float[] {Float.NEGATIVE_INFINITY, 0}, 1, 1, 2),
                ForwardOptions.eval()), "-Infinity");
        assertMessage(() -> q.codesFromIndices(p, new LongTensor(new long[] {0, 2}, 1, 2)), "code index 2 out of range [0, 2)");
        assertMessage(() -> q.decodeTokens(p, new LongTensor(new long[] {0, -2}, 1, 2)), "code index -2 out of range");
        assertMessage(() -> q.decodeTokens(p, new LongTensor(new long[] {0}, 1, 1)), "codes must have shape (m, 2)");
        assertMessage(() -> q.codesFromIndices(p, new LongTensor(new long[] {0}, 1, 1)),
                "fewer layers need quantize_dropout");
        assertMessage(() -> q.codesFromIndices(p, new LongTensor(new long[] {0, 0, 0}, 1, 3)), "more than num_quantizers 2");
        // −1 (a dropped layer) decodes to zero
        Tensor d = q.decodeTokens(p, new LongTensor(new long[] {1, -1}, 1, 2));
        assertArrayEquals(new float[] {0, 1}, d.data());
    }
}

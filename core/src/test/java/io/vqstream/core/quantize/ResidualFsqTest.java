package io.vqstream.core.quantize;

import static io.vqstream.core.quantize.FsqTest.assertClose;
import static io.vqstream.core.quantize.FsqTest.error;
import static io.vqstream.core.quantize.FsqTest.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ResidualFsqTest {

    static ResidualFSQ rfsq(Map<String, ?> kwargs) {
        return (ResidualFSQ) Quantizers.create("ResidualFSQ", kwargs);
    }

    static GroupedResidualFSQ grfsq(Map<String, ?> kwargs) {
        return (GroupedResidualFSQ) Quantizers.create("GroupedResidualFSQ", kwargs);
    }

    /**
     * levels [3], q = 2, no projection, hard clamp: v = 1 + 1/2 = 1.5, z = tanh(x/1.5)·1.5.
     * x = 0.3 → z = 0.29606; layer 0: k = floor(2·1.29606/2 + 0.5) = 1 → 0; layer 1 (scale 1/3):
     * 0.29606·3 = 0.888 → k = floor(2.388) = 2 → 1·1/3. Sum 1/3, indices (1, 2).
     * x = −0.9 → z = −0.80557 → k = 0 (−1); residual 0.19443·3 = 0.583 → k = 2 (+1/3). Sum −2/3.
     * x = 0.6 → z = 0.56992 → k = 2 (+1); residual −0.43008·3 → clamp −1 → k = 0 (−1/3). Sum 2/3.
     */
    @Test
    void residualLayersMatchHandComputedValues() {
        ResidualFSQ q = rfsq(Map.of("levels", List.of(3), "num_quantizers", 2));
        Tensor x = new Tensor(new float[] {0.3f, -0.9f, 0.6f}, 1, 3, 1);
        QuantizerOutput out = q.forward(new Params(), x, ForwardOptions.eval());
        assertClose(new float[] {1f / 3, -2f / 3, 2f / 3}, out.quantized().data(), "quantized");
        assertArrayEquals(new int[] {1, 3, 2}, out.indices().shape());
        assertArrayEquals(new long[] {1, 2, 0, 2, 2, 0}, out.indices().data());
        Tensor all = out.floatOrNull("all_codes");
        assertArrayEquals(new int[] {2, 1, 3, 1}, all.shape());
        assertClose(new float[] {0f, -1f, 1f, 1f / 3, 1f / 3, -1f / 3}, all.data(), "all_codes");
        assertClose(out.quantized().data(), q.outputFromIndices(new Params(), out.indices()).data(), "output_from_indices");
        assertClose(all.data(), q.codesFromIndices(new Params(), out.indices()).data(), "codes_from_indices");
    }

    /** The derived constants equal the reference's float32 buffers for levels [8, 5, 5, 3] (rfsq_eval). */
    @Test
    void scalesAndClampValuesAreTheReferenceFloat32Values() {
        ResidualFSQ q = rfsq(Map.of("levels", List.of(8, 5, 5, 3), "num_quantizers", 4, "dim", 16));
        float[][] expected = {
            {1f, 1f, 1f, 1f},
            {0.125f, 0.20000000298023224f, 0.20000000298023224f, 0.3333333432674408f},
            {0.015625f, 0.03999999910593033f, 0.03999999910593033f, 0.1111111119389534f},
            {0.001953125f, 0.00800000037997961f, 0.00800000037997961f, 0.03703703731298447f}};
        for (int l = 0; l < 4; l++) {
            assertArrayEquals(expected[l], q.scales[l], "scales[" + l + "]");
        }
        assertArrayEquals(new float[] {1.1428571939468384f, 1.25f, 1.25f, 1.5f}, q.clampValue);
    }

    @Test
    void decodingTheIndicesGivesTheQuantizedOutput() {
        List<Map<String, Object>> configs = List.of(
                Map.of("levels", List.of(8, 5, 5, 3), "num_quantizers", 4, "dim", 16),
                Map.of("levels", List.of(2, 4, 7), "num_quantizers", 3),
                Map.of("levels", List.of(5, 5), "num_quantizers", 3, "bound_hard_clamp", false, "soft_clamp_input_value", 2.0),
                Map.of("levels", List.of(5, 5, 5), "num_quantizers", 2, "dim", 6, "orthogonal_rotation", true));
        for (Map<String, Object> kw : configs) {
            ResidualFSQ q = rfsq(kw);
            Params p = q.initParams(9);
            q.validate(p);
            Tensor x = randn(3, 3, 20, q.dim());
            QuantizerOutput out = q.forwardTokens(p, x, ForwardOptions.eval());
            int cpt = q.codesPerToken();
            assertClose(out.quantized().data(), q.decodeTokens(p, out.indices().reshape(60, cpt)).data(), kw + " decodeTokens");
        }
    }

    @Test
    void channelFirstInputGivesChannelFirstOutputsAndIndices() {
        ResidualFSQ last = rfsq(Map.of("levels", List.of(5, 3), "num_quantizers", 3, "dim", 4));
        ResidualFSQ first = rfsq(Map.of("levels", List.of(5, 3), "num_quantizers", 3, "dim", 4, "is_channel_first", true));
        Params p = last.initParams(1);
        Tensor tokens = randn(8, 2, 6, 4);
        QuantizerOutput a = last.forward(p, tokens, ForwardOptions.eval());
        QuantizerOutput b = first.forward(p, tokens.permute(0, 2, 1), ForwardOptions.eval());
        assertArrayEquals(a.quantized().permute(0, 2, 1).data(), b.quantized().data());
        assertArrayEquals(new int[] {2, 3, 6}, b.indices().shape());
        assertArrayEquals(a.indices().permute(0, 2, 1).data(), b.indices().data());
        assertArrayEquals(a.floatOrNull("all_codes").data(), b.floatOrNull("all_codes").data());
    }

    @Test
    void quantizeDropoutDropsTrailingLayersInTrainingOnly() {
        Map<String, Object> kw = Map.of("levels", List.of(5, 5), "num_quantizers", 4, "quantize_dropout", true);
        ResidualFSQ q = rfsq(kw);
        Tensor x = randn(4, 1, 5, 2);
        // u = 0 → cut-off layer 0: layers 1..3 report −1 and contribute nothing
        QuantizerOutput t = q.forward(new Params(), x, ForwardOptions.train(RandomSource.seeded(0).withUniform(0.0)));
        QuantizerOutput e = q.forward(new Params(), x, ForwardOptions.eval());
        long[] ti = t.indices().data();
        for (int tok = 0; tok < 5; tok++) {
            assertEquals(e.indices().data()[tok * 4], ti[tok * 4]);
            for (int l = 1; l < 4; l++) {
                assertEquals(-1, ti[tok * 4 + l]);
                assertTrue(e.indices().data()[tok * 4 + l] >= 0);
            }
        }
        float[] allCodes = t.floatOrNull("all_codes").data();
        for (int i = 5 * 2; i < allCodes.length; i++) {
            assertEquals(0f, allCodes[i]);
        }
        assertClose(t.quantized().data(), q.decodeTokens(new Params(), t.indices().reshape(5, 4)).data(), "decode with -1");
        // multiple_of 2 rounds cut-off 0 up to 1: layers 2, 3 dropped
        Map<String, Object> kw2 = new HashMap<>(kw);
        kw2.put("quantize_dropout_multiple_of", 2);
        long[] t2 = rfsq(kw2).forward(new Params(), x, ForwardOptions.train(RandomSource.seeded(0).withUniform(0.0))).indices().data();
        assertTrue(t2[0] >= 0 && t2[1] >= 0 && t2[2] == -1 && t2[3] == -1);
        // coarse indices (fewer columns) decode only with quantize dropout
        LongTensor coarse = new LongTensor(new long[] {3, 6}, 1, 2);
        Tensor coarseCodes = q.codesFromIndices(new Params(), coarse);
        assertArrayEquals(new int[] {4, 1, 2}, coarseCodes.shape());
        for (int i = 0; i < 8; i++) {
            assertEquals(i < 4, coarseCodes.data()[i] != 0f, "padded layers decode to zero codes, at " + i);
        }
        ResidualFSQ plain = rfsq(Map.of("levels", List.of(5, 5), "num_quantizers", 4));
        assertTrue(error(() -> plain.codesFromIndices(new Params(), coarse)).contains("need quantize_dropout"));
    }

    @Test
    void invalidArgumentsAndInputsAreRejected() {
        assertTrue(error(() -> rfsq(Map.of("levels", List.of(1, 5), "num_quantizers", 2))).contains("levels[0] = 1"));
        assertTrue(error(() -> rfsq(Map.of("levels", List.of(5), "num_quantizers", 0))).contains("num_quantizers"));
        assertTrue(error(() -> rfsq(Map.of("levels", List.of(5)))).contains("'num_quantizers' is required"));
        assertTrue(error(() -> rfsq(Map.of("levels", List.of(5), "num_quantizers", 2, "soft_clamp_input_value", 2.0)))
                .contains("soft_clamp_input_value"));
        assertTrue(error(() -> rfsq(Map.of("levels", List.of(5), "num_quantizers", 2, "preserve_symmetry", false)))
                .contains("preserve_symmetry"));
        assertTrue(error(() -> rfsq(Map.of("levels", List.of(5), "num_quantizers", 2, "num_codebooks", 2)))
                .contains("num_codebooks"));
        assertTrue(error(() -> rfsq(Map.of("levels", List.of(5), "num_quantizers", 2, "codebook_size", 5)))
                .contains("unknown argument codebook_size"));
        assertTrue(error(() -> rfsq(Map.of("levels", List.of(5), "num_quantizers", 2, "quantize_dropout", true,
                "quantize_dropout_cutoff_index", 2))).contains("quantize_dropout_cutoff_index"));

        ResidualFSQ q = rfsq(Map.of("levels", List.of(5, 5), "num_quantizers", 2, "dim", 6));
        Params p = q.initParams(0);
        assertTrue(error(() -> q.forward(p, randn(1, 1, 4, 5), ForwardOptions.eval())).contains("input feature size 5 != dim 6"));
        Tensor nan = randn(1, 1, 4, 6);
        nan.data()[3] = Float.NaN;
        assertTrue(error(() -> q.forward(p, nan, ForwardOptions.eval())).contains("NaN"));
        assertTrue(error(() -> q.decodeTokens(p, new LongTensor(new long[] {25, 0}, 1, 2))).contains("out of range [0, 25)"));
        assertTrue(error(() -> q.decodeTokens(p, new LongTensor(new long[] {-2, 0}, 1, 2))).contains("code -2"));
    }

    // ---------------------------------------------------------------- grouped

    /**
     * dim 2 in 2 groups of width 1, levels [3], q = 2: each group is the hand case above, so
     * x = (0.3, −0.9) gives (1/3, −2/3), group indices (1, 2) and (0, 2), token-major
     * group-major codes (1, 2, 0, 2).
     */
    @Test
    void groupedSplitsFeaturesIntoIndependentResidualStacks() {
        GroupedResidualFSQ g = grfsq(Map.of("dim", 2, "groups", 2, "levels", List.of(3), "num_quantizers", 2));
        Tensor x = new Tensor(new float[] {0.3f, -0.9f}, 1, 1, 2);
        QuantizerOutput out = g.forward(new Params(), x, ForwardOptions.eval());
        assertClose(new float[] {1f / 3, -2f / 3}, out.quantized().data(), "quantized");
        assertArrayEquals(new int[] {2, 1, 1, 2}, out.indices().shape());
        assertArrayEquals(new long[] {1, 2, 0, 2}, out.indices().data());
        assertArrayEquals(new int[] {2, 2, 1, 1, 1}, out.floatOrNull("all_codes").shape());
        QuantizerOutput tok = g.forwardTokens(new Params(), x, ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 1, 4}, tok.indices().shape());
        assertArrayEquals(new long[] {1, 2, 0, 2}, tok.indices().data());
    }

    @Test
    void groupedEqualsPerGroupResidualStacksAndRoundTrips() {
        GroupedResidualFSQ g = grfsq(Map.of("dim", 12, "groups", 3, "levels", List.of(8, 5, 3), "num_quantizers", 2));
        Params p = g.initParams(21);
        g.validate(p);
        assertTrue(p.has("rvqs.2.project_out.bias"));
        Tensor x = randn(6, 3, 20, 12);
        QuantizerOutput out = g.forward(p, x, ForwardOptions.eval());
        QuantizerOutput tok = g.forwardTokens(p, x, ForwardOptions.eval());
        assertArrayEquals(new int[] {3, 3, 20, 2}, out.indices().shape());
        ResidualFSQ single = rfsq(Map.of("dim", 4, "levels", List.of(8, 5, 3), "num_quantizers", 2));
        for (int grp = 0; grp < 3; grp++) {
            Params pg = new Params();
            for (String n : List.of("project_in.weight", "project_in.bias", "project_out.weight", "project_out.bias")) {
                pg.put(n, p.get("rvqs." + grp + "." + n));
            }
            float[] chunk = new float[60 * 4];
            for (int t = 0; t < 60; t++) {
                System.arraycopy(x.data(), t * 12 + grp * 4, chunk, t * 4, 4);
            }
            QuantizerOutput o = single.forward(pg, new Tensor(chunk, 3, 20, 4), ForwardOptions.eval());
            assertArrayEquals(o.indices().data(), out.indices().select0(grp).data(), "group " + grp);
            for (int t = 0; t < 60; t++) {
                for (int l = 0; l < 2; l++) {
                    assertEquals(o.indices().data()[t * 2 + l], tok.indices().data()[t * 6 + grp * 2 + l]);
                }
                for (int e = 0; e < 4; e++) {
                    assertEquals(o.quantized().data()[t * 4 + e], out.quantized().data()[t * 12 + grp * 4 + e]);
                }
            }
        }
        assertClose(out.quantized().data(), g.decodeTokens(p, tok.indices().reshape(60, 6)).data(), "decodeTokens");
        assertClose(out.quantized().data(), g.outputFromIndices(p, out.indices()).data(), "output_from_indices");
        assertClose(out.floatOrNull("all_codes").data(), g.codesFromIndices(p, out.indices()).data(), "codes_from_indices");
    }

    @Test
    void groupedChannelFirstImages() {
        Map<String, Object> base = Map.of("dim", 4, "groups", 2, "levels", List.of(5, 3), "num_quantizers", 2);
        Map<String, Object> img = new HashMap<>(base);
        img.put("accept_image_fmap", true);
        img.put("is_channel_first", true);
        GroupedResidualFSQ last = grfsq(base);
        GroupedResidualFSQ first = grfsq(img);
        Params p = last.initParams(2);
        Tensor tokens = randn(3, 2, 6, 4);
        QuantizerOutput a = last.forward(p, tokens, ForwardOptions.eval());
        QuantizerOutput b = first.forward(p, tokens.permute(0, 2, 1).reshape(2, 4, 2, 3), ForwardOptions.eval());
        assertArrayEquals(new int[] {2, 4, 2, 3}, b.quantized().shape());
        assertArrayEquals(a.quantized().permute(0, 2, 1).data(), b.quantized().data());
        assertArrayEquals(new int[] {2, 2, 2, 2, 3}, b.indices().shape());
        assertArrayEquals(a.indices().permute(0, 1, 3, 2).data(), b.indices().data());
    }

    @Test
    void groupedRejectsBadArguments() {
        assertTrue(error(() -> grfsq(Map.of("dim", 10, "groups", 3, "levels", List.of(5), "num_quantizers", 2)))
                .contains("dim 10 is not divisible by groups 3"));
        assertTrue(error(() -> grfsq(Map.of("dim", 4, "groups", 0, "levels", List.of(5), "num_quantizers", 2))).contains("groups"));
        assertTrue(error(() -> grfsq(Map.of("dim", 4, "groups", 2, "levels", List.of(5), "num_quantizers", 2, "accept_image_fmap", true)))
                .contains("is_channel_first"));
        assertTrue(error(() -> grfsq(Map.of("dim", 4, "groups", 2, "levels", List.of(0), "num_quantizers", 2))).contains("levels[0] = 0"));
        GroupedResidualFSQ g = grfsq(Map.of("dim", 4, "groups", 2, "levels", List.of(5, 5), "num_quantizers", 2));
        Params p = g.initParams(0);
        assertTrue(error(() -> g.forward(p, randn(1, 1, 3, 6), ForwardOptions.eval())).contains("input feature size 6 != dim 4"));
        Tensor inf = randn(1, 1, 3, 4);
        inf.data()[0] = Float.NEGATIVE_INFINITY;
        assertTrue(error(() -> g.forward(p, inf, ForwardOptions.eval())).contains("Infinity"));
        assertTrue(error(() -> g.codesFromIndices(p, new LongTensor(new long[6], 3, 1, 2))).contains("groups = 2"));
    }
}

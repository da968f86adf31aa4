package io.vqstream.core.quantize;

import static io.vqstream.core.quantize.LfqTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ResidualLfqTest {

    private static Map<String, Object> args(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    /** Training options whose uniform draws are all {@code u} (quantize dropout picks layer floor(u·q)). */
    private static ForwardOptions trainWithUniform(double u) {
        return ForwardOptions.builder().mode(Mode.TRAIN).random(RandomSource.seeded(3).withUniform(u)).build();
    }

    @Test
    void layersHalveTheirScaleAndQuantizeTheResidualByHand() {
        ResidualLFQ q = new ResidualLFQ(args("dim", 2, "codebook_size", 4, "num_quantizers", 3));
        assertTrue(q.parameterSpecs().isEmpty());
        // x = (0.7, -0.2): layer 0 (+1, -1) idx 10b; r = (-0.3, 0.8): layer 1 (-.5, +.5) idx 01b;
        // r = (0.2, 0.3): layer 2 (+.25, +.25) idx 11b; sum (0.75, -0.25)
        QuantizerOutput out = q.forward(new Params(), new Tensor(new float[] {0.7f, -0.2f}, 1, 1, 2), ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 1, 3}, out.indices().shape());
        assertArrayEquals(new long[] {2, 1, 3}, out.indices().data());
        assertArrayEquals(new float[] {0.75f, -0.25f}, out.quantized().data(), 1e-7f);
        Tensor all = out.floatOrNull("all_codes");
        assertArrayEquals(new int[] {3, 1, 1, 2}, all.shape());
        assertArrayEquals(new float[] {1f, -1f, -0.5f, 0.5f, 0.25f, 0.25f}, all.data());
        assertArrayEquals(new float[] {0f, 0f, 0f}, out.floatOrNull("losses").data());
    }

    @Test
    void indicesRoundTripToCodesAndOutput() {
        ResidualLFQ q = new ResidualLFQ(args("dim", 12, "codebook_size", 32, "num_quantizers", 4));
        Params p = q.initParams(9);
        q.validate(p);
        assertEquals(List.of("project_in.weight", "project_in.bias", "project_out.weight", "project_out.bias"),
                q.parameterSpecs().stream().map(ParamSpec::name).toList());
        Tensor x = Nn.normal(new SplittableRandom(2), 1.0, 3, 7, 12);
        QuantizerOutput out = q.forward(p, x, ForwardOptions.eval());
        LongTensor idx = out.indices();
        assertArrayEquals(new int[] {3, 7, 4}, idx.shape());
        assertArrayEquals(out.quantized().data(), q.outputFromIndices(p, idx).data(), 1e-6f);
        assertArrayEquals(out.quantized().data(), q.decodeTokens(p, idx.reshape(21, 4)).data(), 1e-6f);
        Tensor codes = q.codesFromIndices(p, idx);
        assertArrayEquals(new int[] {4, 3, 7, 5}, codes.shape());
        assertArrayEquals(out.floatOrNull("all_codes").data(), codes.data());
        // every layer's code magnitude is 2^-l
        for (int l = 0; l < 4; l++) {
            for (int i = 0; i < 21 * 5; i++) {
                assertEquals(Math.scalb(1f, -l), Math.abs(codes.data()[l * 21 * 5 + i]));
            }
        }
    }

    @Test
    void trainingLossesAreEachLayersEntropyLossOnItsResidual() {
        ResidualLFQ q = new ResidualLFQ(args("dim", 3, "codebook_size", 8, "num_quantizers", 2,
                "commitment_loss_weight", 0.5));
        Tensor x = Nn.normal(new SplittableRandom(4), 0.05, 2, 5, 3);
        ForwardOptions train = ForwardOptions.train(RandomSource.seeded(0));
        QuantizerOutput out = q.forward(new Params(), x, train);
        LFQ layer0 = new LFQ(args("dim", 3, "codebook_size", 8, "commitment_loss_weight", 0.5));
        LFQ layer1 = new LFQ(args("dim", 3, "codebook_size", 8, "commitment_loss_weight", 0.5, "codebook_scale", 0.5));
        QuantizerOutput o0 = layer0.forward(new Params(), x, train);
        float[] residual = x.data().clone();
        for (int i = 0; i < residual.length; i++) {
            residual[i] -= o0.quantized().data()[i];
        }
        QuantizerOutput o1 = layer1.forward(new Params(), new Tensor(residual, 2, 5, 3), train);
        float[] losses = out.floatOrNull("losses").data();
        assertEquals(o0.floatOrNull("aux_loss").item(), losses[0], 1e-7);
        assertEquals(o1.floatOrNull("aux_loss").item(), losses[1], 1e-7);
        assertNotEquals(0f, losses[0]);
        assertNotEquals(losses[0], losses[1]);
        // the eval pass gives the same codes and zero losses
        QuantizerOutput eval = q.forward(new Params(), x, ForwardOptions.eval());
        assertArrayEquals(out.indices().data(), eval.indices().data());
        assertArrayEquals(new float[] {0f, 0f}, eval.floatOrNull("losses").data());
    }

    @Test
    void quantizeDropoutStopsAfterTheDrawnLayer() {
        ResidualLFQ q = new ResidualLFQ(args("dim", 2, "codebook_size", 4, "num_quantizers", 3, "quantize_dropout", true));
        Tensor x = new Tensor(new float[] {0.7f, -0.2f}, 1, 1, 2);
        QuantizerOutput out = q.forward(new Params(), x, trainWithUniform(0.4)); // floor(0.4·3) = layer 1
        assertArrayEquals(new long[] {2, 1, -1}, out.indices().data());
        assertArrayEquals(new float[] {0.5f, -0.5f}, out.quantized().data(), 1e-6f);
        assertEquals(0f, out.floatOrNull("losses").data()[2]);
        assertArrayEquals(new float[] {0f, 0f}, java.util.Arrays.copyOfRange(out.floatOrNull("all_codes").data(), 4, 6));
        assertArrayEquals(new float[] {0.5f, -0.5f}, q.decodeTokens(new Params(), out.indices().reshape(1, 3)).data());
        // coarse indices (fewer layers) are padded with dropped layers
        assertArrayEquals(new float[] {1f, -1f}, q.outputFromIndices(new Params(), new LongTensor(new long[] {2}, 1, 1)).data());
        // evaluation never drops
        assertArrayEquals(new long[] {2, 1, 3}, q.forward(new Params(), x, ForwardOptions.eval()).indices().data());
    }

    @Test
    void quantizeDropoutRoundsUpToItsMultiple() {
        ResidualLFQ q = new ResidualLFQ(args("dim", 2, "codebook_size", 4, "num_quantizers", 6, "quantize_dropout", true,
                "quantize_dropout_multiple_of", 4));
        Tensor x = new Tensor(new float[] {0.7f, -0.2f}, 1, 1, 2);
        long[] idx = q.forward(new Params(), x, trainWithUniform(0.0)).indices().data(); // layer 0 -> up to layer 3
        assertEquals(-1, idx[4]);
        assertNotEquals(-1, idx[3]);
    }

    @Test
    void invalidArgumentsAndInputsAreRejected() {
        assertMessage(() -> new ResidualLFQ(args("dim", 8, "codebook_size", 100, "num_quantizers", 2)), "codebook_size must be a power of 2");
        assertMessage(() -> new ResidualLFQ(args("codebook_size", 16, "num_quantizers", 2)), "argument 'dim' is required");
        assertMessage(() -> new ResidualLFQ(args("dim", 4, "codebook_size", 16)), "argument 'num_quantizers' is required");
        assertMessage(() -> new ResidualLFQ(args("dim", 4, "codebook_size", 16, "num_quantizers", 0)), "num_quantizers");
        assertMessage(() -> new ResidualLFQ(args("dim", 4, "codebook_size", 16, "num_quantizers", 2, "codebook_scale", 2.0)),
                "codebook_scale");
        assertMessage(() -> new ResidualLFQ(args("dim", 4, "codebook_size", 16, "num_quantizers", 2, "num_codebooks", 2)),
                "num_codebooks");
        assertMessage(() -> new ResidualLFQ(args("dim", 4, "codebook_size", 16, "num_quantizers", 2, "soft_clamp_input_value", 0.5)),
                "soft_clamp_input_value");
        assertMessage(() -> new ResidualLFQ(args("dim", 4, "codebook_size", 16, "num_quantizers", 2, "entropy_weight", 0.5)),
                "unknown argument entropy_weight");

        ResidualLFQ q = new ResidualLFQ(args("dim", 4, "codebook_size", 16, "num_quantizers", 2));
        assertMessage(() -> q.forward(new Params(), new Tensor(new float[] {0, 0, Float.NaN, 0}, 1, 1, 4), ForwardOptions.eval()), "NaN");
        assertMessage(() -> q.forward(new Params(), Tensor.zeros(1, 1, 3), ForwardOptions.eval()), "input feature size 3 != dim 4");
        assertMessage(() -> q.forward(new Params(), Tensor.zeros(1, 4, 2, 2), ForwardOptions.eval()), "expected (b, n, dim)");
        assertMessage(() -> q.decodeTokens(new Params(), new LongTensor(new long[] {3, 16}, 1, 2)), "code 16 of layer 1");
        assertMessage(() -> q.codesFromIndices(new Params(), new LongTensor(new long[] {3}, 1, 1)), "need quantize_dropout");
    }

    // ------------------------------------------------------------ GroupedResidualLFQ

    @Test
    void groupsQuantizeContiguousFeatureChunksByHand() {
        GroupedResidualLFQ q = new GroupedResidualLFQ(args("dim", 4, "groups", 2, "codebook_size", 4, "num_quantizers", 2));
        assertEquals(4, q.codesPerToken());
        // group 0: (0.7, -0.2) -> 10b, then (-0.3, 0.8) -> 01b; group 1: (-0.1, 0.4) -> 01b, then (0.9, -0.6) -> 10b
        Tensor x = new Tensor(new float[] {0.7f, -0.2f, -0.1f, 0.4f}, 1, 1, 4);
        QuantizerOutput out = q.forward(new Params(), x, ForwardOptions.eval());
        assertArrayEquals(new int[] {2, 1, 1, 2}, out.indices().shape());
        assertArrayEquals(new long[] {2, 1, 1, 2}, out.indices().data());
        assertArrayEquals(new float[] {0.5f, -0.5f, -0.5f, 0.5f}, out.quantized().data(), 1e-7f);
        assertArrayEquals(new int[] {2, 2}, out.floatOrNull("losses").shape());
        assertArrayEquals(new int[] {2, 2, 1, 1, 2}, out.floatOrNull("all_codes").shape());
        assertArrayEquals(new float[] {1f, -1f, -0.5f, 0.5f, -1f, 1f, 0.5f, -0.5f}, out.floatOrNull("all_codes").data());

        QuantizerOutput tokens = q.forwardTokens(new Params(), x, ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 1, 4}, tokens.indices().shape());
        assertArrayEquals(new long[] {2, 1, 1, 2}, tokens.indices().data()); // group-major: (g0 l0, g0 l1, g1 l0, g1 l1)
    }

    @Test
    void groupedIndicesRoundTrip() {
        GroupedResidualLFQ q = new GroupedResidualLFQ(args("dim", 18, "groups", 3, "codebook_size", 16, "num_quantizers", 3));
        Params p = q.initParams(5);
        q.validate(p);
        assertTrue(p.has("rvqs.2.project_out.bias"));
        Tensor x = Nn.normal(new SplittableRandom(8), 1.0, 2, 4, 18);
        QuantizerOutput out = q.forward(p, x, ForwardOptions.eval());
        LongTensor idx = out.indices();
        assertArrayEquals(new int[] {3, 2, 4, 3}, idx.shape());
        assertArrayEquals(out.quantized().data(), q.outputFromIndices(p, idx).data(), 1e-6f);
        assertArrayEquals(out.floatOrNull("all_codes").data(), q.codesFromIndices(p, idx).data());
        QuantizerOutput tok = q.forwardTokens(p, x, ForwardOptions.eval());
        assertArrayEquals(out.quantized().data(), q.decodeTokens(p, tok.indices().reshape(8, 9)).data(), 1e-6f);
        // token-major position g·q + l is layer l of group g
        for (int g = 0; g < 3; g++) {
            for (int t = 0; t < 8; t++) {
                for (int l = 0; l < 3; l++) {
                    assertEquals(idx.data()[(g * 8 + t) * 3 + l], tok.indices().data()[t * 9 + g * 3 + l]);
                }
            }
        }
    }

    @Test
    void allGroupsDropTheSameLayers() {
        GroupedResidualLFQ q = new GroupedResidualLFQ(args("dim", 4, "groups", 2, "codebook_size", 4, "num_quantizers", 3,
                "quantize_dropout", true));
        Tensor x = new Tensor(new float[] {0.7f, -0.2f, -0.1f, 0.4f}, 1, 1, 4);
        long[] idx = q.forwardTokens(new Params(), x, trainWithUniform(0.2)).indices().data(); // layer 0 only
        assertEquals(-1, idx[1]);
        assertEquals(-1, idx[2]);
        assertEquals(-1, idx[4]);
        assertEquals(-1, idx[5]);
        assertNotEquals(-1, idx[0]);
        assertNotEquals(-1, idx[3]);
    }

    @Test
    void groupedArgumentsAndInputsAreValidated() {
        assertMessage(() -> new GroupedResidualLFQ(args("dim", 10, "groups", 3, "codebook_size", 4, "num_quantizers", 2)),
                "must be a positive multiple of groups");
        assertMessage(() -> new GroupedResidualLFQ(args("dim", 8, "groups", 2, "codebook_size", 6, "num_quantizers", 2)),
                "codebook_size must be a power of 2");
        assertMessage(() -> new GroupedResidualLFQ(args("dim", 8, "groups", 2, "codebook_size", 4, "num_quantizers", 2,
                "accept_image_fmap", true)), "accept_image_fmap");
        GroupedResidualLFQ q = new GroupedResidualLFQ(args("dim", 4, "groups", 2, "codebook_size", 4, "num_quantizers", 2));
        assertMessage(() -> q.forward(new Params(), Tensor.zeros(1, 2, 6), ForwardOptions.eval()), "input feature size 6 != dim 4");
        assertMessage(() -> q.forward(new Params(), new Tensor(new float[] {0, Float.NEGATIVE_INFINITY, 0, 0}, 1, 1, 4),
                ForwardOptions.eval()), "-Infinity");
        assertMessage(() -> q.decodeTokens(new Params(), new LongTensor(new long[] {0, 0, 0}, 1, 3)), "codes must have shape (m, 4)");
        assertMessage(() -> q.codesFromIndices(new Params(), new LongTensor(new long[] {0, 4, 0, 0}, 2, 1, 1, 2)), "code 4");
    }
}

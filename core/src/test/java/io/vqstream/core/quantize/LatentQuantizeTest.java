package io.vqstream.core.quantize;

import static io.vqstream.core.quantize.FsqTest.assertClose;
import static io.vqstream.core.quantize.FsqTest.error;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LatentQuantizeTest {

    static LatentQuantize lq(Map<String, ?> kwargs) {
        return (LatentQuantize) Quantizers.create("LatentQuantize", kwargs);
    }

    /**
     * levels [4, 3], dim 2, no projection. Tables: L=4 → (−0.5, −0.25, 0, 0.25), L=3 →
     * (−0.5, 0, 0.5). Channel-first input (1, 2, 3), tokens (0.1, 0.3), (−0.6, −0.2), (0.9, 0.05)
     * snap to (0, 0.5), (−0.5, 0), (0.25, 0). Index = (r0·2·2 + 2) + 4·(r1·2·1 + 1): 2 + 4·2 = 10,
     * 0 + 4·1 = 4, 3 + 4·1 = 7. Training loss with weights 0.1 and 0.3: squared errors 0.01, 0.04,
     * 0.01, 0.04, 0.4225, 0.0025 → mse 0.0875 → 0.4·0.0875 = 0.035.
     */
    @Test
    void nearestTableValuesAndIndicesMatchHandComputation() {
        LatentQuantize q = lq(Map.of("levels", List.of(4, 3), "dim", 2, "quantization_loss_weight", 0.3));
        Params p = q.initParams(0);
        Tensor x = new Tensor(new float[] {0.1f, -0.6f, 0.9f, 0.3f, -0.2f, 0.05f}, 1, 2, 3);
        QuantizerOutput eval = q.forward(p, x, ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 2, 3}, eval.quantized().shape());
        assertClose(new float[] {0f, -0.5f, 0.25f, 0.5f, 0f, 0f}, eval.quantized().data(), "quantized");
        assertArrayEquals(new int[] {1, 3}, eval.indices().shape());
        assertArrayEquals(new long[] {10, 4, 7}, eval.indices().data());
        assertEquals(0f, eval.floatOrNull("loss").item());
        QuantizerOutput train = q.forward(p, x, ForwardOptions.train(RandomSource.seeded(1)));
        assertEquals(0.035f, train.floatOrNull("loss").item(), 1e-7);
        assertArrayEquals(eval.indices().data(), train.indices().data());
        Tensor codes = q.codesFromIndices(p, eval.indices());
        assertArrayEquals(new int[] {1, 2, 3}, codes.shape());
        assertClose(eval.quantized().data(), codes.data(), "codes_from_indices");
    }

    /** The initial tables are the reference's float32 values (as stored in lq_nondyadic_eval). */
    @Test
    void initialTablesAreTorchFloat32Values() {
        assertArrayEquals(new float[] {-0.5f, -0.3333333134651184f, -0.1666666567325592f, -1.4901161193847656e-08f,
            0.1666666567325592f, 0.3333333134651184f, 0.5f}, LatentQuantize.initialTable(7));
        assertArrayEquals(new float[] {-0.5f, -0.3333333134651184f, -0.1666666567325592f, 0f, 0.1666666865348816f,
            0.3333333134651184f}, LatentQuantize.initialTable(6));
        assertArrayEquals(new float[] {-0.5f, 0f, 0.5f}, LatentQuantize.initialTable(3));
        assertArrayEquals(new float[] {-0.5f, -0.25f, 0f, 0.25f, 0.5f}, LatentQuantize.initialTable(5));
    }

    /**
     * The float32 index recipe: with L = 6 the top value is fl(5/6) − 0.5 = 0.33333331; an input
     * of 3.5343947 selects it, but r = fl(z + fl(q − z)) = 0.33333325, so t = fl(fl(r·2)·3) + 3 =
     * 4.9999995 truncates to 4 (the reference's answer in lq_nondyadic_eval), one below argmin 5.
     */
    @Test
    void indexFollowsTheReferenceFloat32TruncationRecipe() {
        LatentQuantize q = lq(Map.of("levels", List.of(6), "dim", 1));
        QuantizerOutput out = q.forward(q.initParams(0), new Tensor(new float[] {3.5343947410583496f}, 1, 1, 1), ForwardOptions.eval());
        assertEquals(0.33333325386047363f, out.quantized().item());
        assertArrayEquals(new long[] {4}, out.indices().data());
    }

    @Test
    void multipleCodebooksShareTablesAndKeepTheCodebookAxis() {
        LatentQuantize q2 = lq(Map.of("levels", List.of(4, 3), "dim", 4, "num_codebooks", 2));
        assertFalse(q2.projects);
        assertEquals(2, q2.codesPerToken());
        // tokens as channel-first (1, 4, 1): codebook 0 reads (0.1, 0.3), codebook 1 reads (−0.6, −0.2)
        QuantizerOutput out = q2.forward(q2.initParams(0), new Tensor(new float[] {0.1f, 0.3f, -0.6f, -0.2f}, 1, 4, 1),
                ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 1, 2}, out.indices().shape());
        assertArrayEquals(new long[] {10, 4}, out.indices().data());
        assertClose(new float[] {0f, 0.5f, -0.5f, 0f}, out.quantized().data(), "quantized");
        assertClose(out.quantized().data(), q2.codesFromIndices(q2.initParams(0), out.indices()).data(), "codes");
    }

    @Test
    void decodingTheIndicesGivesTheQuantizedOutput() {
        List<Map<String, Object>> configs = List.of(
                Map.of("levels", List.of(8, 5, 5, 4), "dim", 16),
                Map.of("levels", List.of(5, 4, 8), "dim", 12, "num_codebooks", 2),
                Map.of("levels", 4, "codebook_dim", 3, "dim", 3, "optimize_values", false));
        for (Map<String, Object> kw : configs) {
            LatentQuantize q = lq(kw);
            Params p = q.initParams(4);
            q.validate(p);
            Tensor x = Nn.normal(new SplittableRandom(8), 1.0, 3, 20, q.dim());
            QuantizerOutput out = q.forwardTokens(p, x, ForwardOptions.eval());
            assertArrayEquals(new int[] {3, 20, q.codesPerToken()}, out.indices().shape());
            assertClose(out.quantized().data(), q.decodeTokens(p, out.indices().reshape(60, q.codesPerToken())).data(), kw.toString());
        }
    }

    @Test
    void everyImplicitCodeRoundTrips() {
        LatentQuantize q = lq(Map.of("levels", List.of(8, 5, 4), "dim", 3));
        Params p = q.initParams(0);
        Tensor cb = q.implicitCodebook(p);
        assertArrayEquals(new int[] {160, 3}, cb.shape());
        QuantizerOutput out = q.forwardTokens(p, cb.reshape(1, 160, 3), ForwardOptions.eval());
        for (int i = 0; i < 160; i++) {
            assertEquals(i, out.indices().data()[i], "index " + i);
        }
        assertClose(cb.data(), out.quantized().data(), "codes");
        assertClose(cb.data(), q.decodeTokens(p, out.indices().reshape(160, 1)).data(), "decode");
    }

    @Test
    void parametersAreTheReferenceStateDictNames() {
        LatentQuantize q = lq(Map.of("levels", List.of(8, 5), "dim", 6));
        List<String> names = q.parameterSpecs().stream().map(ParamSpec::name).toList();
        assertEquals(List.of("project_in.weight", "project_in.bias", "project_out.weight", "project_out.bias",
                "values_per_latent.0", "values_per_latent.1"), names);
        LatentQuantize fixed = lq(Map.of("levels", List.of(8, 5), "dim", 2, "optimize_values", false));
        assertTrue(fixed.parameterSpecs().isEmpty());
    }

    @Test
    void trainedTablesChangeTheSelectedValues() {
        LatentQuantize q = lq(Map.of("levels", List.of(3), "dim", 1));
        Params p = q.initParams(0);
        p.put("values_per_latent.0", new Tensor(new float[] {-0.4f, 0.1f, 0.7f}, 3));
        QuantizerOutput out = q.forward(p, new Tensor(new float[] {0.5f, -0.1f}, 1, 1, 2), ForwardOptions.eval());
        assertClose(new float[] {0.7f, 0.1f}, out.quantized().data(), "quantized");
    }

    @Test
    void invalidArgumentsAndInputsAreRejected() {
        assertTrue(error(() -> lq(Map.of("levels", List.of(1, 4), "dim", 2))).contains("levels[0] = 1"));
        assertTrue(error(() -> lq(Map.of("levels", 4, "dim", 2))).contains("codebook_dim > 0"));
        assertTrue(error(() -> lq(Map.of("levels", List.of(4, 4), "dim", 2, "codebook_dim", 3))).contains("codebook_dim 3"));
        assertTrue(error(() -> lq(Map.of("levels", List.of(4, 4)))).contains("'dim' is required"));
        assertTrue(error(() -> lq(Map.of("levels", List.of(4, 4), "dim", 0))).contains("dim must be positive"));
        assertTrue(error(() -> lq(Map.of("levels", List.of(4, 4), "dim", 2, "num_codebooks", 0))).contains("num_codebooks"));
        Map<String, Object> opt = new HashMap<>(Map.of("levels", List.of(4, 4), "dim", 2));
        opt.put("in_place_codebook_optimizer", "Adam");
        assertTrue(error(() -> lq(opt)).contains("in_place_codebook_optimizer"));

        LatentQuantize q = lq(Map.of("levels", List.of(4, 4), "dim", 2));
        Params p = q.initParams(0);
        // a channel-last sequence (b, n, dim) with n != dim is read as channel-first and rejected
        assertTrue(error(() -> q.forward(p, new Tensor(new float[10], 1, 5, 2), ForwardOptions.eval()))
                .contains("input feature size 5 on axis 1 != dim 2"));
        Tensor nan = new Tensor(new float[] {0f, Float.NaN, 0f, 0f}, 1, 2, 2);
        assertTrue(error(() -> q.forward(p, nan, ForwardOptions.eval())).contains("NaN"));
        assertTrue(error(() -> q.forwardTokens(p, new Tensor(new float[6], 1, 2, 3), ForwardOptions.eval())).contains("input feature size 3"));
        assertTrue(error(() -> q.decodeTokens(p, new LongTensor(new long[] {16}, 1, 1))).contains("out of range [0, 16)"));
        assertTrue(error(() -> q.codesFromIndices(p, new LongTensor(new long[] {-3}, 1))).contains("code -3"));
    }
}

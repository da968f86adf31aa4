package io.vqstream.core.quantize;

import static io.vqstream.core.quantize.SimVqTest.assertMessage;
import static io.vqstream.core.quantize.SimVqTest.kw;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vqstream.core.tensor.LongTensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one quantize-dropout implementation, as every residual and grouped quantizer reads it. */
class QuantizeDropoutTest {

    /** Arguments of each residual family, without the dropout ones. */
    private static final Map<String, Map<String, Object>> RESIDUAL = Map.of(
            "ResidualVQ", kw("dim", 4, "codebook_size", 8, "num_quantizers", 3),
            "ResidualFSQ", kw("dim", 4, "levels", List.of(5, 3), "num_quantizers", 3),
            "ResidualLFQ", kw("dim", 4, "codebook_size", 8, "num_quantizers", 3),
            "ResidualSimVQ", kw("dim", 4, "codebook_size", 8, "num_quantizers", 3),
            "GroupedResidualVQ", kw("dim", 4, "groups", 2, "codebook_size", 8, "num_quantizers", 3),
            "GroupedResidualFSQ", kw("dim", 4, "groups", 2, "levels", List.of(5, 3), "num_quantizers", 3),
            "GroupedResidualLFQ", kw("dim", 4, "groups", 2, "codebook_size", 8, "num_quantizers", 3));

    private static Quantizer create(String type, Object... extra) {
        Map<String, Object> a = kw(extra);
        a.putAll(RESIDUAL.get(type));
        return Quantizers.create(type, a);
    }

    @Test
    void everyResidualQuantizerChecksTheDropoutArgumentsAlike() {
        for (String type : RESIDUAL.keySet()) {
            assertMessage(() -> create(type, "quantize_dropout", true, "quantize_dropout_cutoff_index", 3),
                    "quantize_dropout_cutoff_index 3 leaves no layer to draw from num_quantizers 3");
            assertMessage(() -> create(type, "quantize_dropout_cutoff_index", -1), "quantize_dropout_cutoff_index must be >= 0, got -1");
            assertMessage(() -> create(type, "quantize_dropout_multiple_of", 0), "quantize_dropout_multiple_of must be >= 1, got 0");
            // without dropout a cut-off past the stack is never used, so it is accepted (as in the reference)
            assertEquals(type, create(type, "quantize_dropout_cutoff_index", 3).type());
        }
    }

    @Test
    void theDrawnLayerStartsAtTheCutoffAndRoundsUpToTheMultiple() {
        QuantizeDropout d = QuantizeDropout.read(new Kwargs("t", kw("quantize_dropout", true, "quantize_dropout_cutoff_index", 1,
                "quantize_dropout_multiple_of", 2)), 6);
        // span 5: u·5 = 0 → layer 1, rounded up to 1; u·5 = 2.5 → layer 3; u·5 = 4.95 → layer 5
        assertEquals(1, d.draw(RandomSource.seeded(0).withUniform(0.0)));
        assertEquals(3, d.draw(RandomSource.seeded(0).withUniform(0.5)));
        assertEquals(5, d.draw(RandomSource.seeded(0).withUniform(0.99)));
        assertEquals(5, d.lastLayer(ForwardOptions.eval()), "no dropout outside training");
        QuantizeDropout single = QuantizeDropout.read(new Kwargs("t", kw("quantize_dropout", true)), 1);
        assertEquals(false, single.enabled(), "one layer: nothing to drop");
    }

    @Test
    void coarseIndicesArePaddedOnlyWithDropout() {
        QuantizeDropout on = QuantizeDropout.read(new Kwargs("t", kw("quantize_dropout", true)), 3);
        assertArrayEquals(new long[] {4, -1, -1, 5, -1, -1}, on.padIndices("t", new LongTensor(new long[] {4, 5}, 2, 1)));
        QuantizeDropout off = QuantizeDropout.read(new Kwargs("t", kw()), 3);
        assertMessage(() -> off.padIndices("t", new LongTensor(new long[] {4, 5}, 2, 1)), "t: indices have 1 of 3 layers; fewer layers need quantize_dropout");
        assertMessage(() -> on.checkIndexLayers("t", 4), "more than num_quantizers 3");
    }

}

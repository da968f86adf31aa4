package io.vqstream.core.quantize;

import static io.vqstream.core.quantize.SimVqTest.assertMessage;
import static io.vqstream.core.quantize.SimVqTest.kw;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the three grouped quantizers share through {@link GroupedQuantizer}. */
class GroupedQuantizerTest {
    private static final Map<String, Map<String, Object>> GROUPED = Map.of(
            "GroupedResidualVQ", kw("codebook_size", 8, "num_quantizers", 2),
            "GroupedResidualFSQ", kw("levels", List.of(5, 3), "num_quantizers", 2),
            "GroupedResidualLFQ", kw("codebook_size", 8, "num_quantizers", 2));

    private static Quantizer create(String type, int dim, int groups) {
        Map<String, Object> a = kw("dim", dim, "groups", groups);
        a.putAll(GROUPED.get(type));
        return Quantizers.create(type, a);
    }

    @Test
    void theGroupArgumentsAreCheckedAlike() {
        for (String type : GROUPED.keySet()) {
            assertMessage(() -> create(type, 10, 3), type + ": dim 10 is not divisible by groups 3");
            assertMessage(() -> create(type, 4, 0), type + ": groups must be at least 1, got 0");
            assertMessage(() -> create(type, 0, 1), type + ": dim must be positive, got 0");
        }
    }

    @Test
    void eachGroupQuantizesItsOwnFeatureChunk() {
        for (String type : GROUPED.keySet()) {
            Quantizer q = create(type, 6, 3);
            Params p = q.initParams(4);
            Tensor x = VectorQuantizeTest.gaussian(8, 2, 5, 6);
            QuantizerOutput tokens = q.forwardTokens(p, x, ForwardOptions.eval());
            QuantizerOutput ref = q.forward(p, x, ForwardOptions.eval());
            assertArrayEquals(new int[] {2, 5, 6}, tokens.indices().shape(), type);
            assertArrayEquals(new int[] {3, 2, 5, 2}, ref.indices().shape(), type);
            assertArrayEquals(tokens.quantized().data(), ref.quantized().data(), type);
            long[] t = tokens.indices().data();
            long[] r = ref.indices().data();
            for (int pos = 0; pos < 10; pos++) {
                for (int g = 0; g < 3; g++) {
                    for (int l = 0; l < 2; l++) {
                        assertEquals(r[(g * 10 + pos) * 2 + l], t[pos * 6 + g * 2 + l], type + " token " + pos + " group " + g + " layer " + l);
                    }
                }
            }
            // group 1 alone: its columns quantized by rvqs.1 give the same codes and values
            GroupedQuantizer<?> grouped = (GroupedQuantizer<?>) q;
            Tensor chunk = new Tensor(FeatureGroups.columns(x.data(), 10, 6, 2, 2), 2, 5, 2);
            QuantizerOutput alone = grouped.rvqs.get(1).forwardTokens(p, chunk, ForwardOptions.eval());
            assertArrayEquals(alone.indices().data(), FeatureGroups.groupCodes(t, 10, 3, 2, 1), type);
            assertArrayEquals(FeatureGroups.columns(alone.quantized().data(), 10, 2, 0, 2),
                    FeatureGroups.columns(tokens.quantized().data(), 10, 6, 2, 2), type);
            assertArrayEquals(tokens.quantized().data(), q.decodeTokens(p, new LongTensor(t, 10, 6)).data(), 1e-5f, type);
            assertMessage(() -> q.decodeTokens(p, new LongTensor(t, 15, 4)), type + ": codes must have shape (m, 6)");
            assertMessage(() -> q.codesFromIndices(p, new LongTensor(r, 2, 15, 2)), type + ": indices must be (groups = 3");
        }
    }
}

package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.Map;

/**
 * {@code G} independent {@link ResidualVQ}s on contiguous feature chunks of width
 * {@code dim/G}, as {@code GroupedResidualVQ} (see {@link GroupedQuantizer} for the layout).
 *
 * <p>With {@code accept_image_fmap}, images {@code (b, c, h, w)} are quantized per pixel:
 * indices {@code (G, b, h, w, q)}, all codes {@code (G, q, b, h, w, D)}. In training the EMA
 * state of the groups ({@code embed}, {@code embed_avg}, {@code cluster_size}) is traced
 * stacked on a group axis, and {@code dead_codes_replaced} is summed over the groups.
 */
@Internal
public final class GroupedResidualVQ extends GroupedQuantizer<ResidualVQ> {

    public GroupedResidualVQ(Map<String, ?> kwargs) {
        super("GroupedResidualVQ", kwargs, ResidualVQ::new);
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        for (int g = 0; g < groups; g++) {
            rvqs.get(g).initParams(seed + 0x9E3779B97F4A7C15L * (g + 1)).asMap().forEach(p::put);
        }
        return p;
    }

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        if (!acceptImageFmap) {
            return super.forward(params, input, options);
        }
        if (input.rank() != 4) {
            throw new IllegalArgumentException(type() + ": expected an image (b, c, h, w), got " + Shapes.str(input.shape()));
        }
        int[] spatial = Layouts.spatial(input);
        QuantizerOutput out = forwardTokens(params, Layouts.channelFirstToTokens(input), options);
        out.put(QuantizerOutput.Name.QUANTIZED, Layouts.tokensToChannelFirst(out.quantized(), spatial));
        return withGroupAxis(out, input.dim(0), spatial);
    }
}

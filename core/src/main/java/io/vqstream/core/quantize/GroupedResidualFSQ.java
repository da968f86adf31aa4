package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Grouped residual FSQ, as {@code GroupedResidualFSQ} of vector-quantize-pytorch: {@code G}
 * independent {@link ResidualFSQ}s (own projection {@code dim/G → D}) on contiguous feature
 * chunks of width {@code dim/G} (see {@link GroupedQuantizer} for the layout).
 *
 * <p>Channel-first images need both {@code accept_image_fmap} (split on axis 1) and
 * {@code is_channel_first} (each group reads {@code (b, dim/G, …)}); the reference misreads the
 * input when only one is set, so that is rejected. Then indices are {@code (G, b, q, …)} and
 * all_codes {@code (G, q, b, …, D)}. {@link #outputFromIndices} concatenates the groups on the
 * feature (last) axis; the reference concatenates on axis 1 with {@code accept_image_fmap},
 * which mixes spatial rows with groups.
 */
@Internal
public final class GroupedResidualFSQ extends GroupedQuantizer<ResidualFSQ> implements ImplicitCodebook {

    public GroupedResidualFSQ(Map<String, ?> kwargs) {
        super("GroupedResidualFSQ", kwargs, ResidualFSQ::new);
        if (acceptImageFmap != rvqs.get(0).channelFirst) {
            throw new IllegalArgumentException(type() + ": accept_image_fmap and is_channel_first must be set together "
                    + "(accept_image_fmap=" + acceptImageFmap + ", is_channel_first=" + rvqs.get(0).channelFirst + ")");
        }
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        SplittableRandom rng = new SplittableRandom(seed);
        for (ResidualFSQ r : rvqs) {
            r.initParams(p, rng);
        }
        return p;
    }

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        if (!acceptImageFmap) {
            return super.forward(params, input, options);
        }
        if (input.rank() < 2 || input.dim(1) != dim) {
            throw new IllegalArgumentException(type() + ": channel-first input must have dim = " + dim + " features on axis 1, got "
                    + Shapes.str(input.shape()));
        }
        int[] spatial = Layouts.spatial(input);
        Tensor tokens = FsqSupport.channelFirstTokens(type(), input);
        int b = tokens.dim(0);
        QuantizerOutput[] per = runGroups(params, tokens, options);
        Tensor[] quantized = new Tensor[groups];
        LongTensor[] idx = new LongTensor[groups];
        Tensor[] codes = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            QuantizerOutput cf = rvqs.get(g).channelFirstOutput(per[g], b, spatial);
            quantized[g] = per[g].quantized();
            idx[g] = cf.indices();
            codes[g] = cf.get(QuantizerOutput.Name.ALL_CODES);
        }
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, Layouts.tokensToChannelFirst(FeatureGroups.concatLast(quantized), spatial));
        out.put(QuantizerOutput.Name.INDICES, LongTensor.stack(idx));
        out.put(QuantizerOutput.Name.ALL_CODES, Tensor.stack(codes));
        return out;
    }

    /** The reference's {@code codebooks}: {@code (G, q, Π L, D)}. */
    @Override
    public Tensor implicitCodebook(Params params) {
        Tensor[] per = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            per[g] = rvqs.get(g).implicitCodebook(params);
        }
        return Tensor.stack(per);
    }
}

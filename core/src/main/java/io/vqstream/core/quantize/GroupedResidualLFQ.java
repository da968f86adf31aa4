package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code GroupedResidualLFQ}: {@code G} independent {@link ResidualLFQ}s on contiguous feature
 * chunks of width {@code dim/G} (see {@link GroupedQuantizer} for the layout).
 *
 * <p>{@code accept_image_fmap = true} is rejected: the reference splits channel-first images
 * on axis 1 but then applies each group's {@code project_in} to the last (spatial) axis.
 */
@Internal
public final class GroupedResidualLFQ extends GroupedQuantizer<ResidualLFQ> {

    public GroupedResidualLFQ(Map<String, ?> kwargs) {
        super("GroupedResidualLFQ", kwargs, ResidualLFQ::new);
        if (acceptImageFmap) {
            throw new IllegalArgumentException(type() + ": argument 'accept_image_fmap' = true is not supported by vqstream "
                    + "(pass channel-last (b, n, dim) tokens)");
        }
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        SplittableRandom rng = new SplittableRandom(seed);
        for (ResidualLFQ r : rvqs) {
            r.initInto(p, rng);
        }
        return p;
    }
}

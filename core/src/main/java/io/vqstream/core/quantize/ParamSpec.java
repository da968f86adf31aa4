package io.vqstream.core.quantize;

import io.vqstream.core.tensor.Shapes;

/**
 * One tensor a quantizer needs, named as in the reference's {@code state_dict}.
 *
 * @param name    state_dict name, e.g. {@code layers.0._codebook.embed}
 * @param shape   exact shape
 * @param kind    what it is: a fixed parameter, or EMA state that online learning updates
 */
public record ParamSpec(String name, int[] shape, Kind kind) {

    public enum Kind {
        /** Trained elsewhere (projection weights, frozen codebooks); never changed here. */
        PARAMETER,
        /** A codebook or EMA statistic that online learning updates. */
        EMA_STATE,
        /** A flag such as {@code initted} (0-d); files may store it as shape () or (1,). */
        FLAG
    }

    @Override
    public String toString() {
        return name + Shapes.str(shape) + " " + kind;
    }
}

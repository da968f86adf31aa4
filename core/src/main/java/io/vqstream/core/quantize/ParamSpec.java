package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.Shapes;

/**
 * One tensor a quantizer needs, named as in the reference's {@code state_dict}.
 *
 * @param name    state_dict name, e.g. {@code layers.0._codebook.embed}
 * @param shape   exact shape
 * @param kind    what it is: a fixed parameter, or EMA state that online learning updates
 */
@Internal
public record ParamSpec(String name, int[] shape, Kind kind) {

    public enum Kind {
        /** Trained elsewhere (projection weights, frozen codebooks); never changed here. */
        PARAMETER,
        /** A codebook or EMA statistic that online learning updates. */
        EMA_STATE,
        /** A flag such as {@code initted} (0-d); files may store it as shape () or (1,). */
        FLAG
    }

    /** A torch {@code nn.Linear(in, out)} under {@code prefix}: {@code weight (out, in)} and, if {@code bias}, {@code bias (out)}. */
    public static java.util.List<ParamSpec> linear(String prefix, int in, int out, boolean bias) {
        ParamSpec w = new ParamSpec(prefix + "weight", new int[] {out, in}, Kind.PARAMETER);
        return bias ? java.util.List.of(w, new ParamSpec(prefix + "bias", new int[] {out}, Kind.PARAMETER)) : java.util.List.of(w);
    }

    @Override
    public String toString() {
        return name + Shapes.str(shape) + " " + kind;
    }
}

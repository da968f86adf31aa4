package io.vqstream.core.quantize;

import org.apache.flink.annotation.PublicEvolving;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.util.List;
import java.util.Map;

/**
 * Creates quantizers from the reference's class name and keyword arguments, e.g.
 * {@code create("VectorQuantize", Map.of("dim", 16, "codebook_size", 64))}.
 */
@PublicEvolving
public final class Quantizers {
    /** Every reference class this port implements. */
    public static final List<String> TYPES = List.of(
            "VectorQuantize", "ResidualVQ", "GroupedResidualVQ",
            "FSQ", "ResidualFSQ", "GroupedResidualFSQ", "FSP",
            "LFQ", "ResidualLFQ", "GroupedResidualLFQ",
            "LatentQuantize", "SimVQ", "ResidualSimVQ", "RandomProjectionQuantizer");

    private Quantizers() {}

    public static Quantizer create(String type, Map<String, ?> kwargs) {
        if (!TYPES.contains(type)) {
            throw new IllegalArgumentException("unknown quantizer type '" + type + "' (known: " + String.join(", ", TYPES) + ")");
        }
        try {
            Class<?> c = Class.forName(Quantizers.class.getPackageName() + "." + type);
            Constructor<?> ctor = c.getConstructor(Map.class);
            return (Quantizer) ctor.newInstance(kwargs == null ? Map.of() : kwargs);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("cannot create " + type, e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("quantizer type " + type + " is not available in this build", e);
        }
    }
}

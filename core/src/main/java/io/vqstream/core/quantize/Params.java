package io.vqstream.core.quantize;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A quantizer's parameters and buffers by their reference {@code state_dict} names
 * ({@code _codebook.embed}, {@code project_in.weight}, {@code layers.0._codebook.embed}, ...).
 * Training updates the EMA buffers in place; {@link #copy()} gives an independent snapshot.
 */
@PublicEvolving
public final class Params {
    private final Map<String, Tensor> tensors;

    public Params() {
        this.tensors = new LinkedHashMap<>();
    }

    public Params(Map<String, Tensor> tensors) {
        this.tensors = new LinkedHashMap<>(tensors);
    }

    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("missing parameter '" + name + "'");
        }
        return t;
    }

    public Tensor getOrNull(String name) {
        return tensors.get(name);
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    public Params put(String name, Tensor t) {
        tensors.put(name, t);
        return this;
    }

    /** Removes {@code name}; returns the tensor it held, or null. */
    public Tensor remove(String name) {
        return tensors.remove(name);
    }

    public Set<String> names() {
        return Collections.unmodifiableSet(tensors.keySet());
    }

    public Map<String, Tensor> asMap() {
        return Collections.unmodifiableMap(tensors);
    }

    /** Deep copy. */
    public Params copy() {
        Params p = new Params();
        tensors.forEach((k, v) -> p.tensors.put(k, v.copy()));
        return p;
    }

    /** The tensor {@code name}, checked to have exactly {@code shape}. */
    public Tensor require(String name, int... shape) {
        Tensor t = get(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("parameter '" + name + "' has shape " + Shapes.str(t.shape())
                    + ", expected " + Shapes.str(shape));
        }
        return t;
    }

    /** True when every tensor here equals the other's bit for bit (same names, shapes, values). */
    public boolean bitEquals(Params other) {
        if (!tensors.keySet().equals(other.tensors.keySet())) {
            return false;
        }
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor o = other.tensors.get(e.getKey());
            if (!Arrays.equals(e.getValue().shape(), o.shape())) {
                return false;
            }
            float[] a = e.getValue().data();
            float[] b = o.data();
            for (int i = 0; i < a.length; i++) {
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Params{");
        tensors.forEach((k, v) -> sb.append(k).append(Shapes.str(v.shape())).append(' '));
        return sb.append('}').toString();
    }
}

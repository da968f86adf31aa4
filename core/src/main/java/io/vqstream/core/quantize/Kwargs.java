package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Constructor arguments of a quantizer, spelled as the reference's keyword arguments
 * ({@code codebook_size}, {@code use_cosine_sim}, ...). Values come from JSON or YAML, so
 * numbers may arrive as any {@link Number} and lists as {@link List}. Every key read is
 * remembered; {@link #rejectUnused} turns a misspelt or unsupported key into a clear error.
 */
@Internal
public final class Kwargs {
    private final String owner;
    private final Map<String, Object> values;
    private final Set<String> used = new HashSet<>();

    public Kwargs(String owner, Map<String, ?> values) {
        this.owner = owner;
        this.values = new LinkedHashMap<>(values == null ? Map.of() : values);
    }

    public String owner() {
        return owner;
    }

    /** A copy of all values (used or not). */
    public Map<String, Object> asMap() {
        return new LinkedHashMap<>(values);
    }

    public boolean has(String key) {
        return values.containsKey(key) && values.get(key) != null;
    }

    /** A copy without the given keys, for arguments forwarded to inner quantizers. */
    public Map<String, Object> without(Collection<String> keys) {
        Map<String, Object> m = new LinkedHashMap<>(values);
        keys.forEach(m::remove);
        return m;
    }

    /** Marks keys as consumed without reading them (forwarded or gradient-only). */
    public void markUsed(String... keys) {
        used.addAll(List.of(keys));
    }

    public void markAllUsed() {
        used.addAll(values.keySet());
    }

    private Object raw(String key) {
        used.add(key);
        return values.get(key);
    }

    public int requireInt(String key) {
        Object v = raw(key);
        if (v == null) {
            throw new IllegalArgumentException(owner + ": argument '" + key + "' is required");
        }
        return toInt(key, v);
    }

    public int getInt(String key, int def) {
        Object v = raw(key);
        return v == null ? def : toInt(key, v);
    }

    public Integer getIntOrNull(String key) {
        Object v = raw(key);
        return v == null ? null : toInt(key, v);
    }

    public double getDouble(String key, double def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Number num) {
            return num.doubleValue();
        }
        throw new IllegalArgumentException(owner + ": argument '" + key + "' must be a number, got " + v);
    }

    public Double getDoubleOrNull(String key) {
        Object v = raw(key);
        return v == null ? null : getDouble(key, 0);
    }

    public boolean getBool(String key, boolean def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException(owner + ": argument '" + key + "' must be true or false, got " + v);
    }

    /** A boolean that may be absent (null), as the reference's {@code Optional[bool]} arguments. */
    public Boolean getBoolOrNull(String key) {
        Object v = raw(key);
        return v == null ? null : getBool(key, false);
    }

    /** An int list; a single int is accepted where {@code repeatIfScalar} > 0 and repeated that often. */
    public int[] getIntList(String key, int repeatIfScalar) {
        Object v = raw(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Number && repeatIfScalar > 0) {
            int[] r = new int[repeatIfScalar];
            java.util.Arrays.fill(r, toInt(key, v));
            return r;
        }
        if (!(v instanceof List<?> list)) {
            throw new IllegalArgumentException(owner + ": argument '" + key + "' must be a list of integers, got " + v);
        }
        int[] r = new int[list.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = toInt(key, list.get(i));
        }
        return r;
    }

    /** A number or a list of numbers (per dimension); null if absent. */
    public double[] getDoubleOrList(String key) {
        Object v = raw(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Number n) {
            return new double[] {n.doubleValue()};
        }
        if (v instanceof List<?> list) {
            double[] r = new double[list.size()];
            for (int i = 0; i < r.length; i++) {
                if (!(list.get(i) instanceof Number n)) {
                    throw new IllegalArgumentException(owner + ": argument '" + key + "' must hold numbers, got " + list.get(i));
                }
                r[i] = n.doubleValue();
            }
            return r;
        }
        throw new IllegalArgumentException(owner + ": argument '" + key + "' must be a number or a list, got " + v);
    }

    /** Either an int or a list of ints (e.g. ResidualVQ's per-layer codebook sizes). */
    public Object getIntOrList(String key) {
        Object v = raw(key);
        return v;
    }

    private int toInt(String key, Object v) {
        if (v instanceof Number n) {
            double d = n.doubleValue();
            if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(owner + ": argument '" + key + "' must be an integer, got " + v);
            }
            return (int) d;
        }
        throw new IllegalArgumentException(owner + ": argument '" + key + "' must be an integer, got " + v);
    }

    /**
     * Fails on keys nobody read. {@code ignored} lists arguments accepted without effect here
     * (gradient-only ones); {@code unsupported} lists arguments this port deliberately lacks,
     * rejected when set to anything but their default.
     */
    public void rejectUnused(Collection<String> ignored, Map<String, Object> unsupportedDefaults) {
        List<String> unknown = new ArrayList<>();
        for (Map.Entry<String, Object> e : values.entrySet()) {
            String k = e.getKey();
            if (used.contains(k) || ignored.contains(k)) {
                continue;
            }
            if (unsupportedDefaults.containsKey(k)) {
                Object def = unsupportedDefaults.get(k);
                Object v = e.getValue();
                boolean isDefault = v == null ? def == null : (def != null && (v.equals(def)
                        || (v instanceof Number a && def instanceof Number b && a.doubleValue() == b.doubleValue())));
                if (!isDefault) {
                    throw new IllegalArgumentException(owner + ": argument '" + k + "' = " + v + " is not supported by vqstream");
                }
                continue;
            }
            unknown.add(k);
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(owner + ": unknown argument" + (unknown.size() > 1 ? "s " : " ")
                    + String.join(", ", new TreeSet<>(unknown)));
        }
    }
}

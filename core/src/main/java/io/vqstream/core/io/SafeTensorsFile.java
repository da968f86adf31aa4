package io.vqstream.core.io;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The parsed content of one safetensors file: its metadata and its tensors, decoded on demand
 * into float32 ({@link #floatTensor}) or int64 ({@link #longTensor}).
 */
@Internal
public final class SafeTensorsFile {

    /** Where one tensor lies in the data block. */
    public record Entry(String name, DType dtype, int[] shape, long begin, long end) {}

    private final String source;
    private final Map<String, String> metadata;
    private final Map<String, Entry> entries;
    private final ByteBuffer data;

    SafeTensorsFile(String source, Map<String, String> metadata, Map<String, Entry> entries, ByteBuffer data) {
        this.source = source;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.entries = Collections.unmodifiableMap(entries);
        this.data = data.order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Name of the file or buffer this was read from, for messages. */
    public String source() {
        return source;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public String metadata(String key) {
        return metadata.get(key);
    }

    /** Tensor names in file order. */
    public Set<String> names() {
        return entries.keySet();
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new TensorFormatException(source + ": no tensor named '" + name + "'");
        }
        return e;
    }

    public int[] shape(String name) {
        return entry(name).shape().clone();
    }

    /** The tensor as float32, converting from F64/F16/BF16 (integers are rejected). */
    public Tensor floatTensor(String name) {
        Entry e = entry(name);
        int n = Math.toIntExact(Shapes.numel(e.shape()));
        float[] out = new float[n];
        int p = Math.toIntExact(e.begin());
        switch (e.dtype()) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.getFloat(p + 4 * i);
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) data.getDouble(p + 8 * i);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.f16ToFloat(data.getShort(p + 2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.bf16ToFloat(data.getShort(p + 2 * i));
                }
            }
            default -> throw new TensorFormatException(
                    source + ": tensor '" + name + "' has dtype " + e.dtype() + ", expected a float dtype (F32, F16, BF16, F64)");
        }
        return new Tensor(out, e.shape());
    }

    /** The tensor as int64, converting from I32/I16/I8/U8/BOOL (floats are rejected). */
    public LongTensor longTensor(String name) {
        Entry e = entry(name);
        int n = Math.toIntExact(Shapes.numel(e.shape()));
        long[] out = new long[n];
        int p = Math.toIntExact(e.begin());
        switch (e.dtype()) {
            case I64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.getLong(p + 8 * i);
                }
            }
            case I32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.getInt(p + 4 * i);
                }
            }
            case I16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.getShort(p + 2 * i);
                }
            }
            case I8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.get(p + i);
                }
            }
            case U8, BOOL -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.get(p + i) & 0xff;
                }
            }
            default -> throw new TensorFormatException(
                    source + ": tensor '" + name + "' has dtype " + e.dtype() + ", expected an integer dtype (I64, I32)");
        }
        return new LongTensor(out, e.shape());
    }

    /** Any numeric tensor as float32 (integers and booleans widened). */
    public Tensor anyAsFloat(String name) {
        Entry e = entry(name);
        if (e.dtype().isFloating()) {
            return floatTensor(name);
        }
        long[] l = longTensor(name).data();
        float[] f = new float[l.length];
        for (int i = 0; i < l.length; i++) {
            f[i] = l[i];
        }
        return new Tensor(f, e.shape());
    }

    /** Tensors as a name → float tensor map, in file order (integer tensors widened). */
    public Map<String, Tensor> allAsFloat() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String n : entries.keySet()) {
            m.put(n, anyAsFloat(n));
        }
        return m;
    }
}

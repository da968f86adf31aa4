package io.vqstream.core.tensor;

import org.apache.flink.annotation.PublicEvolving;
import java.util.Arrays;

/** A dense int64 tensor in row-major order: code indices, counts and masks. */
@PublicEvolving
public final class LongTensor {
    private final int[] shape;
    private final long[] data;

    public LongTensor(long[] data, int... shape) {
        this.shape = shape.clone();
        this.data = data;
        long n = Shapes.numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException(
                    "data length " + data.length + " does not match shape " + Shapes.str(shape) + " (" + n + " elements)");
        }
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return shape[axis < 0 ? shape.length + axis : axis];
    }

    public long[] data() {
        return data;
    }

    public int size() {
        return data.length;
    }

    public LongTensor reshape(int... newShape) {
        return new LongTensor(data, newShape);
    }

    public LongTensor permute(int... perm) {
        long[] out = new long[data.length];
        int[] ns = Shapes.permuteShape(shape, perm);
        int[] srcStrides = Shapes.strides(shape);
        int[] idx = new int[shape.length];
        for (int o = 0; o < out.length; o++) {
            int src = 0;
            for (int a = 0; a < ns.length; a++) {
                src += idx[a] * srcStrides[perm[a]];
            }
            out[o] = data[src];
            Shapes.increment(idx, ns);
        }
        return new LongTensor(out, ns);
    }

    public static LongTensor stack(LongTensor... parts) {
        int[] inner = parts[0].shape;
        int len = parts[0].data.length;
        long[] out = new long[len * parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (!Arrays.equals(parts[i].shape, inner)) {
                throw new IllegalArgumentException("stack of unequal shapes");
            }
            System.arraycopy(parts[i].data, 0, out, i * len, len);
        }
        int[] s = new int[inner.length + 1];
        s[0] = parts.length;
        System.arraycopy(inner, 0, s, 1, inner.length);
        return new LongTensor(out, s);
    }

    /** Index {@code i} of the first axis, copied. */
    public LongTensor select0(int i) {
        int inner = data.length / shape[0];
        return new LongTensor(Arrays.copyOfRange(data, i * inner, (i + 1) * inner), Arrays.copyOfRange(shape, 1, shape.length));
    }

    @Override
    public String toString() {
        return "LongTensor" + Shapes.str(shape);
    }
}

package io.vqstream.core.tensor;

import org.apache.flink.annotation.PublicEvolving;
import java.util.Arrays;

/**
 * A dense float32 tensor in row-major (C) order: the plain carrier used between quantizers,
 * codebook I/O and the Flink operators. It holds its data array directly (no copy on
 * construction), so wrapping a state array costs nothing.
 */
@PublicEvolving
public final class Tensor {
    private final int[] shape;
    private final float[] data;

    public Tensor(float[] data, int... shape) {
        this.shape = shape.clone();
        this.data = data;
        long n = Shapes.numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException(
                    "data length " + data.length + " does not match shape " + Shapes.str(shape) + " (" + n + " elements)");
        }
    }

    public static Tensor zeros(int... shape) {
        return new Tensor(new float[Math.toIntExact(Shapes.numel(shape))], shape);
    }

    public static Tensor scalar(float v) {
        return new Tensor(new float[] {v});
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

    /** The backing array (not a copy). */
    public float[] data() {
        return data;
    }

    public int size() {
        return data.length;
    }

    public float get(int... idx) {
        return data[Shapes.offset(shape, idx)];
    }

    public float item() {
        if (data.length != 1) {
            throw new IllegalStateException("item() on a tensor of shape " + Shapes.str(shape));
        }
        return data[0];
    }

    /** Same data, new shape (no copy). */
    public Tensor reshape(int... newShape) {
        return new Tensor(data, newShape);
    }

    public Tensor copy() {
        return new Tensor(data.clone(), shape);
    }

    /** Axes permuted: result axis i is source axis {@code perm[i]}. Always copies. */
    public Tensor permute(int... perm) {
        return new Tensor(Shapes.permute(data, shape, perm), Shapes.permuteShape(shape, perm));
    }

    /** Rows {@code [from, to)} of the first axis, copied. */
    public Tensor slice0(int from, int to) {
        int inner = Math.toIntExact(Shapes.numel(shape) / shape[0]);
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(Arrays.copyOfRange(data, from * inner, to * inner), s);
    }

    /** Index {@code i} of the first axis, copied; the result has one axis fewer. */
    public Tensor select0(int i) {
        int inner = Math.toIntExact(Shapes.numel(shape) / shape[0]);
        return new Tensor(Arrays.copyOfRange(data, i * inner, (i + 1) * inner), Arrays.copyOfRange(shape, 1, shape.length));
    }

    /** Stack equally shaped tensors along a new first axis. */
    public static Tensor stack(Tensor... parts) {
        int[] inner = parts[0].shape;
        int len = parts[0].data.length;
        float[] out = new float[len * parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (!Arrays.equals(parts[i].shape, inner)) {
                throw new IllegalArgumentException("stack of unequal shapes " + Shapes.str(inner) + " and " + Shapes.str(parts[i].shape));
            }
            System.arraycopy(parts[i].data, 0, out, i * len, len);
        }
        int[] s = new int[inner.length + 1];
        s[0] = parts.length;
        System.arraycopy(inner, 0, s, 1, inner.length);
        return new Tensor(out, s);
    }

    @Override
    public String toString() {
        return "Tensor" + Shapes.str(shape);
    }
}

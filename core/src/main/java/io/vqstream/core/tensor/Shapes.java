package io.vqstream.core.tensor;

import org.apache.flink.annotation.Internal;
import java.util.Arrays;

/** Shape arithmetic for row-major tensors. */
@Internal
public final class Shapes {
    private Shapes() {}

    public static long numel(int... shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + str(shape));
            }
            n *= s;
        }
        return n;
    }

    public static String str(int... shape) {
        return Arrays.toString(shape).replace('[', '(').replace(']', ')');
    }

    public static int[] strides(int[] shape) {
        int[] st = new int[shape.length];
        int s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= shape[i];
        }
        return st;
    }

    public static int offset(int[] shape, int[] idx) {
        if (idx.length != shape.length) {
            throw new IllegalArgumentException("index rank " + idx.length + " for shape " + str(shape));
        }
        int off = 0;
        for (int i = 0; i < shape.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(idx) + " out of shape " + str(shape));
            }
            off = off * shape[i] + idx[i];
        }
        return off;
    }

    /** Multi-index as a string, e.g. {@code [1, 0, 3]}, for the flat offset {@code flat}. */
    public static String unravel(int[] shape, long flat) {
        int[] idx = new int[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 0) {
                return "[]";
            }
            idx[i] = (int) (flat % shape[i]);
            flat /= shape[i];
        }
        return Arrays.toString(idx);
    }

    static void increment(int[] idx, int[] shape) {
        for (int a = shape.length - 1; a >= 0; a--) {
            if (++idx[a] < shape[a]) {
                return;
            }
            idx[a] = 0;
        }
    }

    public static int[] permuteShape(int[] shape, int[] perm) {
        if (perm.length != shape.length) {
            throw new IllegalArgumentException("permutation " + Arrays.toString(perm) + " for shape " + str(shape));
        }
        int[] ns = new int[shape.length];
        for (int i = 0; i < perm.length; i++) {
            ns[i] = shape[perm[i]];
        }
        return ns;
    }

    static float[] permute(float[] data, int[] shape, int[] perm) {
        float[] out = new float[data.length];
        int[] ns = permuteShape(shape, perm);
        int[] srcStrides = strides(shape);
        int[] idx = new int[shape.length];
        for (int o = 0; o < out.length; o++) {
            int src = 0;
            for (int a = 0; a < ns.length; a++) {
                src += idx[a] * srcStrides[perm[a]];
            }
            out[o] = data[src];
            increment(idx, ns);
        }
        return out;
    }
}

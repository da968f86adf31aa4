package io.vqstream.core.quantize;

import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;

/**
 * The bookkeeping of the grouped quantizers (GroupedResidualVQ/FSQ/LFQ): features split into
 * contiguous groups, per-group results joined back, and token-major codes laid out group-major
 * ({@code code g·q + l} is layer {@code l} of group {@code g}).
 */
final class FeatureGroups {
    private FeatureGroups() {}

    /** Columns {@code [from, from + w)} of a row-major {@code (rows, width)} matrix. */
    static float[] columns(float[] x, int rows, int width, int from, int w) {
        float[] out = new float[rows * w];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(x, r * width + from, out, r * w, w);
        }
        return out;
    }

    /** Concatenates tensors of equal leading shape along their last axis. */
    static Tensor concatLast(Tensor... parts) {
        int[] s = parts[0].shape();
        int rows = Math.toIntExact(Shapes.numel(Arrays.copyOf(s, s.length - 1)));
        int total = 0;
        for (Tensor p : parts) {
            total += p.dim(-1);
        }
        float[] out = new float[rows * total];
        int off = 0;
        for (Tensor p : parts) {
            int w = p.dim(-1);
            float[] d = p.data();
            for (int r = 0; r < rows; r++) {
                System.arraycopy(d, r * w, out, r * total + off, w);
            }
            off += w;
        }
        s[s.length - 1] = total;
        return new Tensor(out, s);
    }

    /** Per-group codes {@code perGroup[g] (rows, q)} to token-major {@code (rows, G·q)}. */
    static long[] interleave(long[][] perGroup, int rows, int q) {
        int groups = perGroup.length;
        long[] out = new long[rows * groups * q];
        for (int g = 0; g < groups; g++) {
            for (int t = 0; t < rows; t++) {
                System.arraycopy(perGroup[g], t * q, out, (t * groups + g) * q, q);
            }
        }
        return out;
    }

    /** Group {@code g}'s codes {@code (rows, q)} out of token-major {@code (rows, G·q)}. */
    static long[] groupCodes(long[] codes, int rows, int groups, int q, int g) {
        long[] out = new long[rows * q];
        for (int t = 0; t < rows; t++) {
            System.arraycopy(codes, (t * groups + g) * q, out, t * q, q);
        }
        return out;
    }
}

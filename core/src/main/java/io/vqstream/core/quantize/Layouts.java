package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;

/** Conversions between the reference's input layouts and channel-last tokens. */
@Internal
public final class Layouts {
    private Layouts() {}

    /** {@code (b, c, s1, s2, ...)} → {@code (b, s1·s2·…, c)}; positions row-major. */
    public static Tensor channelFirstToTokens(Tensor x) {
        int r = x.rank();
        if (r < 3) {
            throw new IllegalArgumentException("channel-first input needs at least 3 axes, got " + Shapes.str(x.shape()));
        }
        int[] s = x.shape();
        int b = s[0];
        int c = s[1];
        int n = Math.toIntExact(Shapes.numel(Arrays.copyOfRange(s, 2, r)));
        return x.reshape(b, c, n).permute(0, 2, 1);
    }

    /** Inverse of {@link #channelFirstToTokens}: {@code (b, n, c)} → {@code (b, c, spatial...)}. */
    public static Tensor tokensToChannelFirst(Tensor t, int[] spatial) {
        int b = t.dim(0);
        int c = t.dim(2);
        Tensor cf = t.permute(0, 2, 1);
        int[] shape = new int[2 + spatial.length];
        shape[0] = b;
        shape[1] = c;
        System.arraycopy(spatial, 0, shape, 2, spatial.length);
        return cf.reshape(shape);
    }

    /** The spatial axes of a channel-first input (axes 2..). */
    public static int[] spatial(Tensor x) {
        int[] s = x.shape();
        return Arrays.copyOfRange(s, 2, s.length);
    }

    /** Requires {@code x} to have rank {@code rank} and last-axis size {@code dim}. */
    public static void requireLastDim(String owner, Tensor x, int dim) {
        if (x.dim(-1) != dim) {
            throw new IllegalArgumentException(owner + ": input feature size " + x.dim(-1) + " != dim " + dim
                    + " (input shape " + Shapes.str(x.shape()) + ")");
        }
    }

    /** Rejects NaN and infinite inputs with the position of the first one. */
    public static void requireFinite(String owner, Tensor x) {
        float[] d = x.data();
        if (io.vqstream.core.backend.BoundedRounding.copyFinite(d, 0, null, 0, d.length)) {
            return;
        }
        for (int i = 0; i < d.length; i++) {
            if (!Float.isFinite(d[i])) {
                throw new IllegalArgumentException(owner + ": input holds " + d[i] + " at index "
                        + Shapes.unravel(x.shape(), i) + "; NaN and infinite values cannot be quantized");
            }
        }
    }

    /** Reshape indices {@code (b, n, k)} with token positions expanded to {@code (b, spatial..., k)}; k dropped if !keep. */
    public static LongTensor spatialIndices(LongTensor idx, int b, int[] spatial, int k, boolean keepK) {
        int[] shape = new int[1 + spatial.length + (keepK ? 1 : 0)];
        shape[0] = b;
        System.arraycopy(spatial, 0, shape, 1, spatial.length);
        if (keepK) {
            shape[shape.length - 1] = k;
        }
        return idx.reshape(shape);
    }
}

package io.vqstream.core.quantize;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Layout, validation and initialisation helpers shared by the scalar quantizers
 * ({@link FSQ}, {@link ResidualFSQ}, {@link GroupedResidualFSQ}, {@link LatentQuantize}).
 */
final class FsqSupport {
    private FsqSupport() {}

    /**
     * Checks a {@code levels} list: present, non-empty, every entry at least 2 (a level of 1 has
     * no step width), and a product that fits the reference's int32 indices.
     */
    static int[] requireLevels(String owner, int[] levels) {
        if (levels == null) {
            throw new IllegalArgumentException(owner + ": argument 'levels' is required");
        }
        if (levels.length == 0) {
            throw new IllegalArgumentException(owner + ": argument 'levels' must not be empty");
        }
        long product = 1;
        for (int i = 0; i < levels.length; i++) {
            if (levels[i] < 2) {
                throw new IllegalArgumentException(owner + ": levels[" + i + "] = " + levels[i]
                        + " must be at least 2 (levels " + Arrays.toString(levels) + ")");
            }
            product *= levels[i];
            if (product > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(owner + ": the product of levels " + Arrays.toString(levels)
                        + " exceeds the int32 index range");
            }
        }
        return levels.clone();
    }

    /** Mixed-radix basis, first dimension least significant: {@code basis_i = Π_{j<i} L_j}. */
    static long[] basis(int[] levels) {
        long[] b = new long[levels.length];
        long acc = 1;
        for (int i = 0; i < levels.length; i++) {
            b[i] = acc;
            acc *= levels[i];
        }
        return b;
    }

    static long product(int[] levels) {
        long p = 1;
        for (int l : levels) {
            p *= l;
        }
        return p;
    }

    /**
     * A channel-first input {@code (b, c, s1, s2, ...)} as tokens {@code (b, s1·s2·…, c)}; a
     * rank-2 input {@code (b, c)} is one token per batch row, as einops' pack with no spatial axes.
     */
    static Tensor channelFirstTokens(String owner, Tensor x) {
        if (x.rank() < 2) {
            throw new IllegalArgumentException(owner + ": channel-first input needs at least 2 axes (b, dim, ...), got "
                    + Shapes.str(x.shape()));
        }
        if (x.rank() == 2) {
            return x.reshape(x.dim(0), 1, x.dim(1));
        }
        return Layouts.channelFirstToTokens(x);
    }

    /** Moves the last axis to position 1: {@code (b, ..., d) → (b, d, ...)}. */
    static Tensor moveLastToAxis1(Tensor t) {
        int r = t.rank();
        if (r < 3) {
            return t;
        }
        int[] perm = new int[r];
        perm[1] = r - 1;
        for (int i = 2; i < r; i++) {
            perm[i] = i - 1;
        }
        return t.permute(perm);
    }

    /** Index version of {@link #moveLastToAxis1(Tensor)}. */
    static LongTensor moveLastToAxis1(LongTensor t) {
        int r = t.rank();
        if (r < 3) {
            return t;
        }
        int[] perm = new int[r];
        perm[1] = r - 1;
        for (int i = 2; i < r; i++) {
            perm[i] = i - 1;
        }
        return t.permute(perm);
    }

    /** {@code shape} with {@code last} appended. */
    static int[] append(int[] shape, int last) {
        int[] s = Arrays.copyOf(shape, shape.length + 1);
        s[shape.length] = last;
        return s;
    }

    /** Requires tokens of shape {@code (b, n, dim)} holding only finite values. */
    static void requireTokens(String owner, Tensor tokens, int dim) {
        if (tokens.rank() != 3) {
            throw new IllegalArgumentException(owner + ": tokens must have shape (b, n, " + dim + "), got "
                    + Shapes.str(tokens.shape()));
        }
        Layouts.requireLastDim(owner, tokens, dim);
        Layouts.requireFinite(owner, tokens);
    }

    /** Requires token-major codes of shape {@code (m, perToken)}. */
    static void requireCodes(String owner, LongTensor codes, int perToken) {
        if (codes.rank() != 2 || codes.dim(1) != perToken) {
            throw new IllegalArgumentException(owner + ": codes must have shape (m, " + perToken + "), got "
                    + Shapes.str(codes.shape()));
        }
    }

    /** Fails unless {@code 0 ≤ code < size}; {@code flat} is the position in {@code shape} for the message. */
    static void requireCodeInRange(String owner, long code, long size, int[] shape, int flat) {
        if (code < 0 || code >= size) {
            throw new IllegalArgumentException(owner + ": code " + code + " at " + Shapes.unravel(shape, flat)
                    + " is out of range [0, " + size + ")");
        }
    }

    /**
     * A random orthogonal {@code d × d} matrix, as {@code nn.init.orthogonal_}: the Q factor of a
     * Gaussian matrix with the signs fixed so that R has a positive diagonal (Gram–Schmidt on
     * the columns gives exactly that factor).
     */
    static Tensor randomOrthogonal(SplittableRandom rng, int d) {
        double[][] cols = new double[d][d];
        float[] g = Nn.normal(rng, 1.0, d, d).data();
        for (int r = 0; r < d; r++) {
            for (int c = 0; c < d; c++) {
                cols[c][r] = g[r * d + c];
            }
        }
        for (int c = 0; c < d; c++) {
            for (int pass = 0; pass < 2; pass++) {
                for (int p = 0; p < c; p++) {
                    double dot = 0;
                    for (int r = 0; r < d; r++) {
                        dot += cols[c][r] * cols[p][r];
                    }
                    for (int r = 0; r < d; r++) {
                        cols[c][r] -= dot * cols[p][r];
                    }
                }
            }
            double norm = 0;
            for (int r = 0; r < d; r++) {
                norm += cols[c][r] * cols[c][r];
            }
            norm = Math.sqrt(norm);
            for (int r = 0; r < d; r++) {
                cols[c][r] /= norm;
            }
        }
        Tensor q = Tensor.zeros(d, d);
        for (int r = 0; r < d; r++) {
            for (int c = 0; c < d; c++) {
                q.data()[r * d + c] = (float) cols[c][r];
            }
        }
        return q;
    }
}

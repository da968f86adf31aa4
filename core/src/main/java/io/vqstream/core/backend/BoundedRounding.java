package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The elementwise cores of the scalar quantizers (FSQ's bound-and-round, LFQ's sign bits) over
 * a flat array of {@code count} rows of {@code d} values, dimension {@code i = f mod d} of
 * element {@code f}. Runs on the Vector API where {@link VectorSupport} allows, otherwise in
 * the scalar loops below, which are the definition: the vector path returns the same codes and
 * the same floats. Where it uses a faster tanh than {@link Math#tanh} it checks every element's
 * distance to the rounding boundary and recomputes the few that are too close on the scalar
 * path, so a decision never depends on the last bits of the faster tanh.
 */
@Internal
public final class BoundedRounding {
    private static final Logger LOG = LoggerFactory.getLogger(BoundedRounding.class);

    /** The three loops, implemented twice (this class's scalar reference, and the Vector API). */
    interface Kernels {
        void fsqStandard(float[] z, int count, int d, float[] shift, float[] halfL, float[] offset, float[] halfWidth,
                         boolean hardClamp, int[] digits);

        void fsqSymmetric(float[] z, int count, int d, float[] levelsMinus1, float[] symStep, boolean hardClamp, int[] digits);

        /**
         * LFQ's codes; false (outputs unspecified) when {@code u} holds a value that is not
         * finite, so that the caller's input check needs no pass of its own.
         */
        boolean lfqSigns(float[] u, int rows, int d, float scale, float[] q, long[] indices);

        /** {@link BoundedRounding#copyFinite}. */
        boolean copyFinite(float[] src, int srcOff, float[] dst, int dstOff, int n);

        /** {@link BoundedRounding#fsqStandardIndexed}. */
        boolean fsqStandardIndexed(float[] src, float[] dst, int count, int d, float[] shift, float[] halfL, float[] offset,
                                   float[] halfWidth, boolean hardClamp, float[] basis, long[] indices);

        /** {@link BoundedRounding#fsqSymmetricIndexed}. */
        boolean fsqSymmetricIndexed(float[] src, float[] dst, int count, int d, float[] levelsMinus1, float[] symStep,
                                    boolean hardClamp, float[] basis, long[] indices);
    }

    static final Kernels SCALAR = new Scalar();
    private static volatile Kernels kernels;

    private BoundedRounding() {}

    static Kernels kernels() {
        Kernels k = kernels;
        if (k == null) {
            synchronized (BoundedRounding.class) {
                k = kernels;
                if (k == null) {
                    k = SCALAR;
                    if (VectorSupport.available()) {
                        try {
                            k = (Kernels) Class.forName("io.vqstream.core.backend.VectorRounding").getDeclaredConstructor().newInstance();
                        } catch (ReflectiveOperationException | LinkageError e) {
                            LOG.warn("vqstream: vectorised FSQ/LFQ kernels unavailable ({}); scalar loops", e.toString());
                        }
                    }
                    kernels = k;
                }
            }
        }
        return k;
    }

    /**
     * FSQ's standard bound and round, in place, per element with {@code i = f mod d}:
     * <pre>
     * s = z + shift_i,  t = tanh(s) (or clamp(s, −1, 1)),  y = t·halfL_i − offset_i,
     * r = rint(y),  z ← r / halfWidth_i,  digit = (int) r + (int) halfWidth_i
     * </pre>
     * with {@code tanh} the float of {@link Math#tanh}.
     */
    public static void fsqStandard(float[] z, int count, int d, float[] shift, float[] halfL, float[] offset, float[] halfWidth,
                                   boolean hardClamp, int[] digits) {
        kernels().fsqStandard(z, count, d, shift, halfL, offset, halfWidth, hardClamp, digits);
    }

    /**
     * FSQ's symmetric bound and round ({@code preserve_symmetry}), in place:
     * <pre>
     * t = tanh(z) (or clamp),  k = floor(levelsMinus1_i·(t + 1)/2 + 0.5),  z ← symStep_i·k − 1,  digit = k
     * </pre>
     */
    public static void fsqSymmetric(float[] z, int count, int d, float[] levelsMinus1, float[] symStep, boolean hardClamp,
                                    int[] digits) {
        kernels().fsqSymmetric(z, count, d, levelsMinus1, symStep, hardClamp, digits);
    }

    /**
     * LFQ's codes: {@code q = u > 0 ? scale : −scale} and per row the index with the first
     * dimension as the most significant bit, {@code index = Σ_j [u_j > 0]·2^(d−1−j)} (d ≤ 63).
     * Returns false (outputs unspecified) when {@code u} holds NaN or ±∞: the input check of
     * the caller rides on this pass.
     */
    public static boolean lfqSigns(float[] u, int rows, int d, float scale, float[] q, long[] indices) {
        return kernels().lfqSigns(u, rows, d, scale, q, indices);
    }

    /**
     * Whether {@code src[srcOff .. srcOff+n)} holds no NaN or ±∞, copying it to {@code dst} on
     * the way when {@code dst} is not null (the copy is unspecified when it returns false): the
     * quantizers' input check, one vectorised pass, fused with the copy they make anyway.
     */
    public static boolean copyFinite(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        return kernels().copyFinite(src, srcOff, dst, dstOff, n);
    }

    /** Largest codebook for which the indexed variants sum {@code digit·basis} exactly in float. */
    public static final long MAX_INDEXED_CODEBOOK = 1L << 24;

    /**
     * {@link #fsqStandard} from {@code src} into {@code dst} (the same array allowed), with the
     * row's code index instead of the digits,
     * <pre>
     * indices[r] = Σ_i digit_{r,i} · basis_i        (codebook size ≤ 2²⁴, so every partial sum is exact in float)
     * </pre>
     * and the input's finiteness checked in the same pass: false, with {@code dst} and
     * {@code indices} unspecified, when {@code src} holds NaN or ±∞ in its first {@code count·d}
     * elements.
     */
    public static boolean fsqStandardIndexed(float[] src, float[] dst, int count, int d, float[] shift, float[] halfL,
                                             float[] offset, float[] halfWidth, boolean hardClamp, float[] basis, long[] indices) {
        return kernels().fsqStandardIndexed(src, dst, count, d, shift, halfL, offset, halfWidth, hardClamp, basis, indices);
    }

    /** {@link #fsqSymmetric} from {@code src} into {@code dst}, indexed and checked as {@link #fsqStandardIndexed}. */
    public static boolean fsqSymmetricIndexed(float[] src, float[] dst, int count, int d, float[] levelsMinus1, float[] symStep,
                                              boolean hardClamp, float[] basis, long[] indices) {
        return kernels().fsqSymmetricIndexed(src, dst, count, d, levelsMinus1, symStep, hardClamp, basis, indices);
    }

    /** One element of {@link #fsqStandard}: {@code out[0]} the code value; returns the digit. */
    static float fsqStandardElement(float zf, int i, float[] shift, float[] halfL, float[] offset, float[] halfWidth,
                                    boolean hardClamp, float[] out) {
        float s = zf + shift[i];
        float bounded = hardClamp ? Math.max(-1f, Math.min(1f, s)) : (float) Math.tanh(s);
        float y = bounded * halfL[i] - offset[i];
        float rounded = (float) Math.rint(y);
        out[0] = rounded / halfWidth[i];
        return (int) rounded + (int) halfWidth[i];
    }

    /** One element of {@link #fsqSymmetric}: {@code out[0]} the code value; returns the digit. */
    static float fsqSymmetricElement(float zf, int i, float[] levelsMinus1, float[] symStep, boolean hardClamp, float[] out) {
        float t = hardClamp ? Math.max(-1f, Math.min(1f, zf)) : (float) Math.tanh(zf);
        float bracket = levelsMinus1[i] * (t + 1f) / 2f + 0.5f;
        float k = (float) Math.floor(bracket);
        out[0] = symStep[i] * k - 1f;
        return (int) k;
    }

    /** Scalar reference of {@link #fsqStandardIndexed} for rows {@code [from, to)}. */
    static boolean fsqStandardIndexedScalar(float[] src, float[] dst, int from, int to, int d, float[] shift, float[] halfL,
                                            float[] offset, float[] halfWidth, boolean hardClamp, float[] basis, long[] indices) {
        float[] out = new float[1];
        for (int r = from; r < to; r++) {
            long index = 0;
            for (int i = 0, f = r * d; i < d; i++, f++) {
                float zf = src[f];
                if (!Float.isFinite(zf)) {
                    return false;
                }
                float digit = fsqStandardElement(zf, i, shift, halfL, offset, halfWidth, hardClamp, out);
                dst[f] = out[0];
                index += (long) digit * (long) basis[i];
            }
            indices[r] = index;
        }
        return true;
    }

    /** Scalar reference of {@link #fsqSymmetricIndexed} for rows {@code [from, to)}. */
    static boolean fsqSymmetricIndexedScalar(float[] src, float[] dst, int from, int to, int d, float[] levelsMinus1,
                                             float[] symStep, boolean hardClamp, float[] basis, long[] indices) {
        float[] out = new float[1];
        for (int r = from; r < to; r++) {
            long index = 0;
            for (int i = 0, f = r * d; i < d; i++, f++) {
                float zf = src[f];
                if (!Float.isFinite(zf)) {
                    return false;
                }
                float digit = fsqSymmetricElement(zf, i, levelsMinus1, symStep, hardClamp, out);
                dst[f] = out[0];
                index += (long) digit * (long) basis[i];
            }
            indices[r] = index;
        }
        return true;
    }

    /** Scalar reference of {@link #fsqStandard} for elements {@code [from, to)}. */
    static void fsqStandardScalar(float[] z, int from, int to, int d, float[] shift, float[] halfL, float[] offset,
                                  float[] halfWidth, boolean hardClamp, int[] digits) {
        for (int f = from; f < to; f++) {
            int i = f % d;
            float s = z[f] + shift[i];
            float bounded = hardClamp ? Math.max(-1f, Math.min(1f, s)) : (float) Math.tanh(s);
            float y = bounded * halfL[i] - offset[i];
            float rounded = (float) Math.rint(y);
            z[f] = rounded / halfWidth[i];
            digits[f] = (int) rounded + (int) halfWidth[i];
        }
    }

    /** Scalar reference of {@link #fsqSymmetric} for elements {@code [from, to)}. */
    static void fsqSymmetricScalar(float[] z, int from, int to, int d, float[] levelsMinus1, float[] symStep, boolean hardClamp,
                                   int[] digits) {
        for (int f = from; f < to; f++) {
            int i = f % d;
            float t = hardClamp ? Math.max(-1f, Math.min(1f, z[f])) : (float) Math.tanh(z[f]);
            float bracket = levelsMinus1[i] * (t + 1f) / 2f + 0.5f;
            float k = (float) Math.floor(bracket);
            z[f] = symStep[i] * k - 1f;
            digits[f] = (int) k;
        }
    }

    private static final class Scalar implements Kernels {
        @Override
        public void fsqStandard(float[] z, int count, int d, float[] shift, float[] halfL, float[] offset, float[] halfWidth,
                                boolean hardClamp, int[] digits) {
            fsqStandardScalar(z, 0, count * d, d, shift, halfL, offset, halfWidth, hardClamp, digits);
        }

        @Override
        public void fsqSymmetric(float[] z, int count, int d, float[] levelsMinus1, float[] symStep, boolean hardClamp, int[] digits) {
            fsqSymmetricScalar(z, 0, count * d, d, levelsMinus1, symStep, hardClamp, digits);
        }

        @Override
        public boolean lfqSigns(float[] u, int rows, int d, float scale, float[] q, long[] indices) {
            return lfqSignsScalar(u, 0, rows, d, scale, q, indices);
        }

        @Override
        public boolean copyFinite(float[] src, int srcOff, float[] dst, int dstOff, int n) {
            return copyFiniteScalar(src, srcOff, dst, dstOff, n);
        }

        @Override
        public boolean fsqStandardIndexed(float[] src, float[] dst, int count, int d, float[] shift, float[] halfL, float[] offset,
                                          float[] halfWidth, boolean hardClamp, float[] basis, long[] indices) {
            return fsqStandardIndexedScalar(src, dst, 0, count, d, shift, halfL, offset, halfWidth, hardClamp, basis, indices);
        }

        @Override
        public boolean fsqSymmetricIndexed(float[] src, float[] dst, int count, int d, float[] levelsMinus1, float[] symStep,
                                           boolean hardClamp, float[] basis, long[] indices) {
            return fsqSymmetricIndexedScalar(src, dst, 0, count, d, levelsMinus1, symStep, hardClamp, basis, indices);
        }
    }

    /** Scalar reference of {@link #copyFinite}. */
    static boolean copyFiniteScalar(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        // exponent all ones (NaN, ±∞) carries into the sign bit: branch-free, so the loop vectorises
        int bad = 0;
        for (int i = 0; i < n; i++) {
            float v = src[srcOff + i];
            bad |= (Float.floatToRawIntBits(v) & 0x7f800000) + 0x00800000;
            if (dst != null) {
                dst[dstOff + i] = v;
            }
        }
        return bad >= 0;
    }

    /** Scalar reference of {@link #lfqSigns} for rows {@code [from, to)}. */
    static boolean lfqSignsScalar(float[] u, int from, int to, int d, float scale, float[] q, long[] indices) {
        for (int r = from; r < to; r++) {
            long index = 0;
            for (int j = 0; j < d; j++) {
                float v = u[r * d + j];
                if (!Float.isFinite(v)) {
                    return false;
                }
                boolean positive = v > 0;
                q[r * d + j] = positive ? scale : -scale;
                index = (index << 1) | (positive ? 1 : 0);
            }
            indices[r] = index;
        }
        return true;
    }
}

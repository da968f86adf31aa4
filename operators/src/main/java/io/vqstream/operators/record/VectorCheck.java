package io.vqstream.operators.record;

import org.apache.flink.annotation.Internal;

/**
 * The one check of an input vector, shared by the payload readers (which reject a record while
 * its raw bytes are at hand, so the dead letter carries them) and the operators (which check
 * again, since records also come from files, generators and restored buffers). Each method
 * returns the one-line reason, or null when the vector passes.
 */
@Internal
public final class VectorCheck {
    private VectorCheck() {}

    /** Why a vector of {@code length} values does not fit a quantizer of dimension {@code dim}, or null. */
    public static String dimension(int length, int dim) {
        return length == dim ? null : "wrong dimension: vector has " + length + " values, the quantizer expects " + dim;
    }

    /** The index of the first NaN or infinity in {@code v}, or −1. */
    public static int firstNonFinite(float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The bits of the largest |x| of {@code v}: for non-negative floats the bit patterns order like
     * the values, and NaN and infinity lie above every finite one. A branch-free int maximum the
     * JIT can vectorise: the common vector passes in one pass instead of a search for a non-finite
     * value and a sequential sum of squares (together a few percent of a pipeline's task thread).
     */
    static int largestMagnitudeBits(float[] v) {
        int max = 0;
        for (float x : v) {
            max = Math.max(max, Float.floatToRawIntBits(x) & 0x7FFFFFFF);
        }
        return max;
    }

    /**
     * The magnitude m with {@code n·m² ≤ Float.MAX_VALUE / 2}: a vector of finite values within it
     * has a squared norm within float32 also after the double sum's rounding.
     */
    static float safeMagnitude(int n) {
        return (float) Math.sqrt(Float.MAX_VALUE / (2.0 * Math.max(n, 1)));
    }

    /**
     * Why {@code v} cannot be quantized by a quantizer of dimension {@code dim} (wrong dimension,
     * a non-finite value, a norm beyond float32), or null.
     */
    public static String problem(float[] v, int dim) {
        String wrong = dimension(v.length, dim);
        if (wrong != null) {
            return wrong;
        }
        if (Float.intBitsToFloat(largestMagnitudeBits(v)) <= safeMagnitude(v.length)) {
            return null; // finite, and n·max² ≤ MAX/2 bounds the squared norm: the checks below would pass
        }
        int bad = firstNonFinite(v);
        if (bad >= 0) {
            return "non-finite value " + v[bad] + " at index " + bad;
        }
        double squaredNorm = 0;
        for (float x : v) {
            squaredNorm += (double) x * x;
        }
        // distances and the error term are float32: a finite but huge vector (1e30) would make
        // them Infinity and, when learning, carry that into the codebook
        if (squaredNorm > Float.MAX_VALUE) {
            return "vector too large: its squared norm " + (float) Math.sqrt(squaredNorm) + "^2 exceeds the float32 range ("
                    + Float.MAX_VALUE + ")";
        }
        return null;
    }
}

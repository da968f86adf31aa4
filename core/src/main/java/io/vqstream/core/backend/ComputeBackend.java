package io.vqstream.core.backend;

/**
 * The hot operations of every quantizer for one micro-batch. Quantizers call only this
 * interface, so one implementation (plain JVM loops, the Vector API, ND4J on CPU or CUDA) can
 * be swapped for another without changing results: indices are equal across implementations
 * (lowest index wins ties) and floats agree within 1e-5 relative.
 *
 * <p>All arrays are row-major. {@code x} holds {@code n} rows of {@code d} floats; a codebook
 * holds {@code k} rows of {@code d} floats starting at {@code cbOff}. Implementations must be
 * safe to call from several threads at once (one operator instance per slot shares one).
 */
public interface ComputeBackend {

    /** Short name for logs and benchmark output ("jvm", "jvm-scalar", "nd4j"). */
    String name();

    /**
     * Nearest code per row. For {@link Metric#L2} {@code outScore[i]} is the clamped squared
     * distance of the winner, for {@link Metric#DOT} its dot product.
     */
    void assign(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, int[] outIdx, float[] outScore);

    /**
     * The full score matrix {@code out[i*k + j]}: {@code −sqrt(max(‖x‖²+‖c‖²−2x·c, 1e-8))} for
     * {@link Metric#L2} (the reference's "negative distance" logits) or {@code x·c} for DOT.
     */
    void scores(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, float[] out);

    /** {@code out[i*d ..] = codebook[cbOff + idx[i]*d ..]}; an index of −1 gives a zero row. */
    default void gather(float[] codebook, int cbOff, int k, int d, int[] idx, int n, float[] out, int outOff) {
        for (int i = 0; i < n; i++) {
            int j = idx[i];
            if (j < 0) {
                java.util.Arrays.fill(out, outOff + i * d, outOff + (i + 1) * d, 0f);
            } else {
                if (j >= k) {
                    throw new IndexOutOfBoundsException("code " + j + " of a codebook of size " + k);
                }
                System.arraycopy(codebook, cbOff + j * d, out, outOff + i * d, d);
            }
        }
    }

    /**
     * EMA sufficient statistics of one batch, added to {@code counts[j]} (hits of code j) and
     * {@code sums[j*d ..]} (sum of its rows). A scatter-add: never a one-hot product.
     */
    default void accumulateStatistics(float[] x, int n, int d, int[] idx, float[] counts, float[] sums) {
        for (int i = 0; i < n; i++) {
            int j = idx[i];
            if (j < 0) {
                continue;
            }
            counts[j] += 1f;
            int o = j * d;
            int xo = i * d;
            for (int e = 0; e < d; e++) {
                sums[o + e] += x[xo + e];
            }
        }
    }

    /** Dense projection {@code y = x·Wᵀ + b}, W of shape (out, in) as torch stores it; bias may be null. */
    void linear(float[] x, int n, int in, float[] w, float[] bias, int out, float[] y);
}

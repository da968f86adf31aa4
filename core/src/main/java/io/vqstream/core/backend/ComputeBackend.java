package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
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
@Internal
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

    /**
     * {@link #gather}, {@link #accumulateStatistics} and the squared error of the rows to their
     * codes in one pass over the rows (a training step needs all three of the same rows):
     * <pre>
     * out_i = c_{idx_i},   counts[cOff + j] += 1,   sums[sOff + j·d ..] += x_i   (j = idx_i),   returns Σ_i ‖x_i − c_{idx_i}‖²
     * </pre>
     * Counts and sums exactly as {@link #accumulateStatistics} (float, rows in order); the error
     * is summed per row in float and over rows in double (its last bits may differ between
     * backends). An index of −1 gives a zero row and takes no part in the statistics or the
     * error; {@code counts} and {@code sums} may be null (no statistics).
     */
    default double gatherStatistics(float[] codebook, int cbOff, int k, int d, int[] idx, float[] x, int n, float[] out,
                                    float[] counts, int cOff, float[] sums, int sOff) {
        PlainKernels.checkCodes(idx, n, k);
        return PlainKernels.gatherScatterRows(codebook, cbOff, d, idx, x, n, out, counts, cOff, sums, sOff);
    }

    /** Dense projection {@code y = x·Wᵀ + b}, W of shape (out, in) as torch stores it; bias may be null. */
    void linear(float[] x, int n, int in, float[] w, float[] bias, int out, float[] y);

    /**
     * Residual quantization over {@code codebooks.length} stages of {@code k} codes each: every
     * stage assigns what the previous stages left and subtracts the chosen code, as
     * ResidualVQ does in evaluation.
     * <pre>
     * r₀ = x,   i_q = assign(r_q, C_q),   r_{q+1} = r_q − C_q[i_q],   quantized = Σ_q C_q[i_q]
     * </pre>
     * Codebook q is {@code codebooks[q]} from {@code offsets[q]}. {@code outIdx[i*Q + q]} gets
     * the code of row i at stage q; {@code residual} (n×d, may be null) gets r_Q and
     * {@code quantized} (n×d, may be null) the running sum in stage order (the reference's
     * float rounding). A default built from {@link #assign} and {@link #gather}, so every
     * backend gives the same indices.
     */
    default void residualAssign(float[] x, int n, int d, float[][] codebooks, int[] offsets, int k, Metric metric,
                                int[] outIdx, float[] residual, float[] quantized) {
        int stages = codebooks.length;
        if (offsets.length != stages) {
            throw new IllegalArgumentException(stages + " codebooks but " + offsets.length + " offsets");
        }
        float[] r = residual != null ? residual : new float[n * d];
        System.arraycopy(x, 0, r, 0, n * d);
        if (quantized != null) {
            java.util.Arrays.fill(quantized, 0, n * d, 0f);
        }
        int[] idx = new int[n];
        float[] chosen = new float[n * d];
        for (int q = 0; q < stages; q++) {
            assign(r, n, d, codebooks[q], offsets[q], k, metric, idx, null);
            gather(codebooks[q], offsets[q], k, d, idx, n, chosen, 0);
            for (int i = 0; i < n * d; i++) {
                r[i] -= chosen[i];
            }
            if (quantized != null) {
                for (int i = 0; i < n * d; i++) {
                    quantized[i] += chosen[i];
                }
            }
            for (int i = 0; i < n; i++) {
                outIdx[i * stages + q] = idx[i];
            }
        }
    }

    /**
     * Frees what this backend holds for the calling thread (ND4J's per-thread workspace, the JVM
     * kernels' scratch buffers). An
     * operator calls it when it closes, so a cancelled or rescaled task returns its native memory
     * at once instead of when the thread dies. Further calls simply allocate again.
     */
    default void releaseThreadResources() {
    }
}

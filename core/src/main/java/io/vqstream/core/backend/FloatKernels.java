package io.vqstream.core.backend;

/**
 * Float inner loops of {@link JvmBackend}: one implementation on the Vector API, one in plain
 * Java for JVMs started without {@code --add-modules jdk.incubator.vector}. Results may differ
 * from the reference in the last bits; {@link Referee} makes the indices exact.
 *
 * <p>Scores are {@code ĥ_ij = bias_j + x_i·c_j} with {@code x_i} the rows of {@code x} from
 * {@code xOff} and {@code c_j} the rows of {@code cb} from {@code cbOff}, all of length d.
 */
interface FloatKernels {

    /** Human-readable description for the log ("Vector API, 8 float lanes", "plain loops"). */
    String describe();

    /** The register tile of the Vector API kernels; null for plain loops. */
    default VectorSupport.TileShape tileShape() {
        return null;
    }

    /**
     * From this many rows on, {@link #dots} passes over the codes once per block of rows (register
     * tiles) instead of once per row; never, by default.
     */
    default int groupMinRows() {
        return Integer.MAX_VALUE;
    }

    /** Drops the calling thread's scratch buffers (they grow again on the next call). */
    default void releaseThreadScratch() {}

    /** {@code out[outOff + j] = ‖a_j‖²} in float for the {@code rows} rows of {@code a} from {@code off}. */
    void sumSquares(float[] a, int off, int rows, int d, float[] out, int outOff);

    /**
     * Per row: {@code best[i] = max_j ĥ_ij}, {@code bestIdx[i]} its lowest code, and
     * {@code second[i]} the largest score among the other codes (−∞ when k = 1), with bias
     * {@code −‖c_j‖²/2} for L2 and 0 for DOT. {@code norms[j]} receives ‖c_j‖² in float. Scores
     * that are NaN are skipped; callers check the norms and the rows for non-finite values.
     */
    void argmax(float[] x, int n, int d, float[] cb, int cbOff, int k, boolean l2, float[] norms,
                float[] best, float[] second, int[] bestIdx);

    /** {@code out[outOff + i*k + j] = ĥ_ij} for rows {@code xOff/d .. +n}. */
    void dots(float[] x, int xOff, int n, int d, float[] cb, int cbOff, int k, float[] bias, float[] out, int outOff);

    /**
     * One row's fast scores against every code, {@code out[j] = bias[j] + x·c_j} (the referee's
     * input for a row it cannot decide from the arg-max alone).
     */
    default void rowScores(float[] x, int xo, int d, float[] cb, int cbOff, int k, float[] bias, float[] out) {
        dots(x, xo, 1, d, cb, cbOff, k, bias, out, 0);
    }

    /** {@code counts[j] += 1; sums[j*d ..] += x_i} for every row with {@code j = idx[i] ≥ 0}. */
    void scatterAdd(float[] x, int n, int d, int[] idx, float[] counts, float[] sums);

    /** {@link ComputeBackend#gatherStatistics} for indices already checked to lie in {@code [−1, k)}. */
    double gatherScatter(float[] cb, int cbOff, int d, int[] idx, float[] x, int n, float[] out, float[] counts, int cOff,
                         float[] sums, int sOff);
}

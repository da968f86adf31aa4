package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.backend.ComputeBackend;

/**
 * Sufficient statistics of one or more batches for the EMA codebook update: per codebook
 * {@code k} and code {@code j}, the hit count and the sum of the codebook-space vectors
 * assigned to it.
 *
 * <pre>
 * counts[k, j] = Σ_t [i_t = j] · m_t        sums[k, j] = Σ_t [i_t = j] · m_t · x̂_t
 * </pre>
 * with {@code m_t} the token mask. Statistics of several micro-batches (or of several workers)
 * combine by {@link #add}, so that accumulating {@code N} batches and applying once equals one
 * EMA step on their union.
 */
@Internal
public final class CodebookStatistics {
    private final int numCodebooks;
    private final int size;
    private final int dim;
    private final float[] counts;
    private final float[] sums;
    /**
     * Per codebook: its statistics are still the zeros of the constructor, so a collect may
     * scatter straight into them (0 + s = s exactly; a float sum from +0 is never −0).
     */
    private final boolean[] stillZero;

    public CodebookStatistics(int numCodebooks, int size, int dim) {
        this(numCodebooks, size, dim, new float[numCodebooks * size], new float[numCodebooks * size * dim]);
        java.util.Arrays.fill(stillZero, true);
    }

    public CodebookStatistics(int numCodebooks, int size, int dim, float[] counts, float[] sums) {
        if (counts.length != numCodebooks * size || sums.length != numCodebooks * size * dim) {
            throw new IllegalArgumentException("statistics arrays do not match (" + numCodebooks + ", " + size + ", " + dim + ")");
        }
        this.numCodebooks = numCodebooks;
        this.size = size;
        this.dim = dim;
        this.counts = counts;
        this.sums = sums;
        this.stillZero = new boolean[numCodebooks];
    }

    /** Per thread, the statistics of the last step's shape, handed out again zeroed by {@link #scratch}. */
    private static final ThreadLocal<CodebookStatistics> SCRATCH = new ThreadLocal<>();

    /**
     * Zeroed statistics of this shape for a step that uses them up before it returns (not kept,
     * not handed to the caller): the calling thread's, reused from its last such step, so that a
     * learning quantizer does not allocate its K×D sums anew at every batch.
     */
    static CodebookStatistics scratch(int numCodebooks, int size, int dim) {
        CodebookStatistics s = SCRATCH.get();
        if (s == null || s.numCodebooks != numCodebooks || s.size != size || s.dim != dim) {
            s = new CodebookStatistics(numCodebooks, size, dim);
            SCRATCH.set(s);
            return s;
        }
        java.util.Arrays.fill(s.counts, 0f);
        java.util.Arrays.fill(s.sums, 0f);
        java.util.Arrays.fill(s.stillZero, true);
        return s;
    }

    public int numCodebooks() {
        return numCodebooks;
    }

    public int size() {
        return size;
    }

    public int dim() {
        return dim;
    }

    /** Hit counts {@code (numCodebooks, size)}, row-major; live array. */
    public float[] counts() {
        java.util.Arrays.fill(stillZero, false); // the caller may write into the live array
        return counts;
    }

    /** Vector sums {@code (numCodebooks, size, dim)}, row-major; live array. */
    public float[] sums() {
        java.util.Arrays.fill(stillZero, false);
        return sums;
    }

    /**
     * Adds the rows {@code x (m, dim)} of codebook {@code k} with their codes {@code idx};
     * a negative code (masked token) contributes nothing.
     */
    public void collect(int k, float[] x, int m, int[] idx, ComputeBackend be) {
        if (stillZero[k]) {
            stillZero[k] = false;
            if (k == 0) {
                be.accumulateStatistics(x, m, dim, idx, counts, sums);
                return;
            }
        }
        float[] c = new float[size];
        float[] s = new float[size * dim];
        be.accumulateStatistics(x, m, dim, idx, c, s);
        addInto(k, c, s);
    }

    /**
     * {@link #collect} fused with the gather of the rows' codes from {@code codebook} (codebook
     * {@code k} from {@code cbOff}) into {@code out}, one pass over the rows; returns their
     * squared error to the codes, {@code Σ_t ‖x_t − c_{idx_t}‖²} (see
     * {@link ComputeBackend#gatherStatistics}). The statistics equal {@link #collect}'s.
     */
    public double collectGathered(int k, float[] x, int m, int[] idx, float[] codebook, int cbOff, float[] out, ComputeBackend be) {
        if (stillZero[k]) {
            stillZero[k] = false;
            return be.gatherStatistics(codebook, cbOff, size, dim, idx, x, m, out, counts, k * size, sums, k * size * dim);
        }
        float[] c = new float[size];
        float[] s = new float[size * dim];
        double err = be.gatherStatistics(codebook, cbOff, size, dim, idx, x, m, out, c, 0, s, 0);
        addInto(k, c, s);
        return err;
    }

    private void addInto(int k, float[] c, float[] s) {
        int co = k * size;
        for (int j = 0; j < size; j++) {
            counts[co + j] += c[j];
        }
        int so = k * size * dim;
        for (int i = 0; i < s.length; i++) {
            sums[so + i] += s[i];
        }
    }

    /** {@code this += other} (float32, element by element, as the reference's {@code add_}). */
    public void add(CodebookStatistics other) {
        if (other.numCodebooks != numCodebooks || other.size != size || other.dim != dim) {
            throw new IllegalArgumentException("cannot add statistics of a different codebook shape");
        }
        java.util.Arrays.fill(stillZero, false);
        for (int i = 0; i < counts.length; i++) {
            counts[i] += other.counts[i];
        }
        for (int i = 0; i < sums.length; i++) {
            sums[i] += other.sums[i];
        }
    }

    public CodebookStatistics copy() {
        return new CodebookStatistics(numCodebooks, size, dim, counts.clone(), sums.clone());
    }
}

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
     * Codebook 0's statistics are the zeros of the constructor: a collect may then scatter
     * straight into them (0 + s = s exactly; a float sum from +0 is never −0).
     */
    private boolean firstStillZero;

    public CodebookStatistics(int numCodebooks, int size, int dim) {
        this(numCodebooks, size, dim, new float[numCodebooks * size], new float[numCodebooks * size * dim]);
        firstStillZero = true;
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
        firstStillZero = false; // the caller may write into the live array
        return counts;
    }

    /** Vector sums {@code (numCodebooks, size, dim)}, row-major; live array. */
    public float[] sums() {
        firstStillZero = false;
        return sums;
    }

    /**
     * Adds the rows {@code x (m, dim)} of codebook {@code k} with their codes {@code idx};
     * a negative code (masked token) contributes nothing.
     */
    public void collect(int k, float[] x, int m, int[] idx, ComputeBackend be) {
        if (k == 0 && firstStillZero) {
            firstStillZero = false;
            be.accumulateStatistics(x, m, dim, idx, counts, sums);
            return;
        }
        if (k == 0) {
            firstStillZero = false;
        }
        float[] c = new float[size];
        float[] s = new float[size * dim];
        be.accumulateStatistics(x, m, dim, idx, c, s);
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
        firstStillZero = false;
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

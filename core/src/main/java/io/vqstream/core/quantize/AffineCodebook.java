package io.vqstream.core.quantize;

import java.util.Arrays;
import java.util.List;

/**
 * The reference's {@code affine_param} re-parametrisation of a euclidean codebook: running
 * means and (biased) variances of the batch and of the codebook, per codebook {@code (C, 1, d)},
 * kept under {@code _codebook.batch_mean}, {@code batch_variance}, {@code codebook_mean},
 * {@code codebook_variance}. Codes are compared and emitted in the batch's statistics:
 *
 * <pre>
 * v ← new                          on the first call (buffer unset: NaN here)
 * v ← v·decay + new·(1 − decay)    later (batch decay for batch_*, codebook decay for codebook_*)
 * E' = (E − μ_c) · σ_b / σ_c + μ_b,        σ = √max(var, 1e-5)
 * x' = (x − μ_b) · σ_c / σ_b + μ_c         (the EMA statistics use x', i.e. codebook statistics)
 * </pre>
 * The batch statistics are updated in evaluation too, the codebook statistics only in
 * training (the codebook's running mean before this step's EMA update). The reference leaves
 * the codebook statistics uninitialised ({@code torch.empty}) until the first training call;
 * here a first evaluation call initialises them from the codebook instead.
 */
final class AffineCodebook {
    private final String prefix;
    private final int numCodebooks;
    private final int size;
    private final int dim;
    private final float batchDecay;
    private final float codebookDecay;

    AffineCodebook(String prefix, int numCodebooks, int size, int dim, double batchDecay, double codebookDecay) {
        this.prefix = prefix;
        this.numCodebooks = numCodebooks;
        this.size = size;
        this.dim = dim;
        this.batchDecay = (float) batchDecay;
        this.codebookDecay = (float) codebookDecay;
    }

    private String name(String field) {
        return prefix + "_codebook." + field;
    }

    List<String> names() {
        return List.of(name("batch_mean"), name("batch_variance"), name("codebook_mean"), name("codebook_variance"));
    }

    List<ParamSpec> specs() {
        return names().stream().map(n -> new ParamSpec(n, new int[] {numCodebooks, 1, dim}, ParamSpec.Kind.EMA_STATE)).toList();
    }

    /** Unset buffers (NaN until the first call). */
    void init(Params p) {
        for (String n : names()) {
            Tensor0.fillNaN(p, n, numCodebooks, dim);
        }
    }

    /** Updates the running statistics from this call's (unmasked) rows and the codebook {@code embed}. */
    void update(Params p, float[][] rows, int[] counts, float[] embed, boolean train) {
        if (train || isUnset(p.get(name("codebook_mean")).data())) {
            float[] mean = new float[numCodebooks * dim];
            float[] var = new float[numCodebooks * dim];
            for (int k = 0; k < numCodebooks; k++) {
                moments(embed, k * size * dim, size, mean, var, k * dim);
            }
            decayInto(p.get(name("codebook_mean")).data(), mean, codebookDecay);
            decayInto(p.get(name("codebook_variance")).data(), var, codebookDecay);
        }
        float[] mean = new float[numCodebooks * dim];
        float[] var = new float[numCodebooks * dim];
        for (int k = 0; k < numCodebooks; k++) {
            moments(rows[k], 0, counts[k], mean, var, k * dim);
        }
        decayInto(p.get(name("batch_mean")).data(), mean, batchDecay);
        decayInto(p.get(name("batch_variance")).data(), var, batchDecay);
    }

    /** The codebook in batch statistics, {@code E'} above; a fresh array. */
    float[] transformCodebook(Params p, float[] embed) {
        float[] out = new float[embed.length];
        float[] bm = p.get(name("batch_mean")).data();
        float[] bv = p.get(name("batch_variance")).data();
        float[] cm = p.get(name("codebook_mean")).data();
        float[] cv = p.get(name("codebook_variance")).data();
        for (int k = 0; k < numCodebooks; k++) {
            for (int e = 0; e < dim; e++) {
                int s = k * dim + e;
                float ratio = std(bv[s]) / std(cv[s]);
                for (int j = 0; j < size; j++) {
                    int o = (k * size + j) * dim + e;
                    out[o] = (embed[o] - cm[s]) * ratio + bm[s];
                }
            }
        }
        return out;
    }

    /** Rows of codebook {@code k} moved into codebook statistics, {@code x'} above; a fresh array. */
    float[] inverseTransformRows(Params p, int k, float[] x, int m) {
        float[] out = new float[m * dim];
        float[] bm = p.get(name("batch_mean")).data();
        float[] bv = p.get(name("batch_variance")).data();
        float[] cm = p.get(name("codebook_mean")).data();
        float[] cv = p.get(name("codebook_variance")).data();
        for (int e = 0; e < dim; e++) {
            int s = k * dim + e;
            float ratio = std(cv[s]) / std(bv[s]);
            for (int r = 0; r < m; r++) {
                out[r * dim + e] = (x[r * dim + e] - bm[s]) * ratio + cm[s];
            }
        }
        return out;
    }

    private static float std(float variance) {
        return (float) Math.sqrt(Math.max(variance, 1e-5f));
    }

    private static boolean isUnset(float[] v) {
        return v.length > 0 && Float.isNaN(v[0]);
    }

    private static void decayInto(float[] buffer, float[] fresh, float decay) {
        if (isUnset(buffer)) {
            System.arraycopy(fresh, 0, buffer, 0, buffer.length);
            return;
        }
        float keep = (float) (1.0 - (double) decay);
        for (int i = 0; i < buffer.length; i++) {
            buffer[i] = buffer[i] * decay + fresh[i] * keep;
        }
    }

    /** Mean and biased variance over {@code m} rows of {@code dim} at {@code off}. */
    private void moments(float[] x, int off, int m, float[] mean, float[] var, int outOff) {
        if (m == 0) {
            System.arraycopy(new float[dim], 0, mean, outOff, dim);
            return;
        }
        for (int e = 0; e < dim; e++) {
            double s = 0;
            for (int r = 0; r < m; r++) {
                s += x[off + r * dim + e];
            }
            double mu = s / m;
            double q = 0;
            for (int r = 0; r < m; r++) {
                double dlt = x[off + r * dim + e] - mu;
                q += dlt * dlt;
            }
            mean[outOff + e] = (float) mu;
            var[outOff + e] = (float) (q / m);
        }
    }

    /** Unset-buffer helper. */
    private static final class Tensor0 {
        static void fillNaN(Params p, String n, int c, int d) {
            io.vqstream.core.tensor.Tensor t = io.vqstream.core.tensor.Tensor.zeros(c, 1, d);
            Arrays.fill(t.data(), Float.NaN);
            p.put(n, t);
        }
    }
}

package io.vqstream.core.quantize;

import io.vqstream.core.backend.CodebookVersions;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.Metric;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;

/**
 * The EMA codebook of VectorQuantize (van den Oord et al. 2017, appendix A.1; Razavi et al.
 * 2019): {@code C} codebooks of {@code c} codes of size {@code d}, with EMA cluster sizes and
 * vector sums, kept in a {@link Params} under {@code <prefix>_codebook.*}.
 *
 * <pre>
 * cluster_size ← lerp(cluster_size, counts, 1 − decay)
 * embed_avg    ← lerp(embed_avg, sums, 1 − decay)
 * embed[j]     ← embed_avg[j] / ((cluster_size[j] + ε) / (N + c·ε) · N),   N = Σ cluster_size
 * </pre>
 * with an l2 normalisation of {@code embed} for the cosine variant.
 */
final class EmaCodebook {
    final String prefix;
    final int numCodebooks;
    final int size;
    final int dim;
    final boolean cosine;
    final float decay;
    final float eps;
    final float threshold;
    final float resetClusterSize;
    final int kmeansIters;

    EmaCodebook(String prefix, int numCodebooks, int size, int dim, boolean cosine, double decay, double eps,
                double threshold, double resetClusterSize, int kmeansIters) {
        this.prefix = prefix;
        this.numCodebooks = numCodebooks;
        this.size = size;
        this.dim = dim;
        this.cosine = cosine;
        this.decay = (float) decay;
        this.eps = (float) eps;
        this.threshold = (float) threshold;
        this.resetClusterSize = (float) resetClusterSize;
        this.kmeansIters = kmeansIters;
    }

    String embedName() {
        return prefix + "_codebook.embed";
    }

    String embedAvgName() {
        return prefix + "_codebook.embed_avg";
    }

    String clusterSizeName() {
        return prefix + "_codebook.cluster_size";
    }

    String inittedName() {
        return prefix + "_codebook.initted";
    }

    float[] embed(Params p) {
        return p.get(embedName()).data();
    }

    boolean initted(Params p) {
        Tensor t = p.getOrNull(inittedName());
        return t == null || t.data()[0] != 0f;
    }

    Metric metric() {
        return cosine ? Metric.DOT : Metric.L2;
    }

    /** Reference init: Kaiming-uniform {@code ±√(6/(c·d))} (zeros when kmeans init is pending). */
    void init(Params p, java.util.SplittableRandom rng, boolean kmeansPending) {
        Tensor embed = kmeansPending ? Tensor.zeros(numCodebooks, size, dim)
                : Nn.uniform(rng, (float) Math.sqrt(6.0 / ((double) size * dim)), numCodebooks, size, dim);
        if (cosine && !kmeansPending) {
            Nn.l2normRows(embed.data(), 0, numCodebooks * size, dim, 1e-6f);
        }
        p.put(inittedName(), Tensor.scalar(kmeansPending ? 0f : 1f).reshape());
        Tensor cs = Tensor.zeros(numCodebooks, size);
        Arrays.fill(cs.data(), 1f);
        p.put(clusterSizeName(), cs);
        p.put(embedAvgName(), embed.copy());
        p.put(embedName(), embed);
    }

    /**
     * kmeans on the batch rows of each codebook (Lloyd's algorithm seeded with sampled rows),
     * then {@code embed_avg = means·bins}, {@code cluster_size = bins} and a re-normalisation.
     * Empty clusters therefore end as zero codes, as in the reference.
     */
    void kmeansInit(Params p, float[][] rows, int[] counts, ComputeBackend be, RandomSource random, QuantizerOutput trace) {
        float[] embed = embed(p);
        float[] embedAvg = p.get(embedAvgName()).data();
        float[] clusterSize = p.get(clusterSizeName()).data();
        float[] initial = trace != null ? new float[numCodebooks * size * dim] : null;
        long[] binsOut = new long[numCodebooks * size];
        float[] meansOut = new float[numCodebooks * size * dim];
        for (int k = 0; k < numCodebooks; k++) {
            int m = counts[k];
            float[] x = rows[k];
            float[] means = new float[size * dim];
            int[] seed = random.kmeansSeedRows(m, size);
            for (int j = 0; j < size; j++) {
                System.arraycopy(x, seed[j] * dim, means, j * dim, dim);
            }
            if (initial != null) {
                System.arraycopy(means, 0, initial, k * size * dim, size * dim);
            }
            int[] assign = new int[m];
            float[] bins = new float[size];
            for (int it = 0; it < kmeansIters; it++) {
                be.assign(x, m, dim, means, 0, size, metric(), assign, null);
                float[] sums = new float[size * dim];
                Arrays.fill(bins, 0f);
                be.accumulateStatistics(x, m, dim, assign, bins, sums);
                for (int j = 0; j < size; j++) {
                    if (bins[j] == 0f) {
                        continue;
                    }
                    float div = bins[j];
                    for (int e = 0; e < dim; e++) {
                        sums[j * dim + e] /= div;
                    }
                    if (cosine) {
                        Nn.l2normRows(sums, j * dim, 1, dim, 1e-6f);
                    }
                    System.arraycopy(sums, j * dim, means, j * dim, dim);
                }
            }
            int off = k * size * dim;
            for (int j = 0; j < size; j++) {
                binsOut[k * size + j] = (long) bins[j];
                clusterSize[k * size + j] = bins[j];
                for (int e = 0; e < dim; e++) {
                    embedAvg[off + j * dim + e] = means[j * dim + e] * bins[j];
                }
            }
            System.arraycopy(means, 0, meansOut, off, size * dim);
        }
        renormalize(p);
        p.get(inittedName()).data()[0] = 1f;
        if (trace != null) {
            trace.put("kmeans.initial_means", new Tensor(initial, numCodebooks, size, dim));
            trace.put("kmeans.means", new Tensor(meansOut, numCodebooks, size, dim));
            trace.put("kmeans.bins", new LongTensor(binsOut, numCodebooks, size));
            trace.put("after_init.embed", new Tensor(embed.clone(), numCodebooks, size, dim));
            trace.put("after_init.embed_avg", new Tensor(embedAvg.clone(), numCodebooks, size, dim));
            trace.put("after_init.cluster_size", new Tensor(clusterSize.clone(), numCodebooks, size));
        }
    }

    /** One lerp of the EMA statistics of codebook {@code k} toward this batch's counts and sums. */
    void track(Params p, int k, float[] x, int m, int[] idx, ComputeBackend be) {
        CodebookStatistics st = new CodebookStatistics(numCodebooks, size, dim);
        st.collect(k, x, m, idx, be);
        apply(p, st, null, k, k + 1);
    }

    String accumClusterSizeName() {
        return prefix + "_codebook.accum.cluster_size";
    }

    String accumEmbedAvgName() {
        return prefix + "_codebook.accum.embed_avg";
    }

    /**
     * Adds {@code stats} to the pending statistics (the reference's {@code accum_ema_update}:
     * it keeps them in the buffers' {@code .grad}); the state itself is unchanged.
     */
    void accumulate(Params p, CodebookStatistics stats) {
        Tensor cs = p.getOrNull(accumClusterSizeName());
        Tensor avg = p.getOrNull(accumEmbedAvgName());
        if (cs == null || avg == null) {
            p.put(accumClusterSizeName(), new Tensor(stats.counts().clone(), numCodebooks, size));
            p.put(accumEmbedAvgName(), new Tensor(stats.sums().clone(), numCodebooks, size, dim));
            return;
        }
        new CodebookStatistics(numCodebooks, size, dim, cs.data(), avg.data()).add(stats);
    }

    /** The pending accumulated statistics, or null when there are none. */
    CodebookStatistics pending(Params p) {
        Tensor cs = p.getOrNull(accumClusterSizeName());
        Tensor avg = p.getOrNull(accumEmbedAvgName());
        return cs == null || avg == null ? null : new CodebookStatistics(numCodebooks, size, dim, cs.data(), avg.data());
    }

    /**
     * The EMA step: pending accumulated statistics are added to {@code stats} and cleared, then
     * for codebooks {@code [from, to)}
     * <pre>
     * cluster_size ← lerp(cluster_size, counts, r_j)    embed_avg ← lerp(embed_avg, sums, r_j)
     * r_j = (1 − decay) · w_j                           (w = ema_update_weight, default 1)
     * </pre>
     */
    void apply(Params p, CodebookStatistics stats, float[] weight, int from, int to) {
        takePending(p, stats, weight);
        float base = (float) (1.0 - (double) decay);
        float[] counts = stats.counts();
        float[] sums = stats.sums();
        float[] cs = p.get(clusterSizeName()).data();
        float[] avg = p.get(embedAvgName()).data();
        for (int k = from; k < to; k++) {
            int co = k * size;
            for (int j = 0; j < size; j++) {
                float w = weight == null ? base : base * weight[j];
                cs[co + j] = Nn.lerp(cs[co + j], counts[co + j], w);
                int ao = (co + j) * dim;
                for (int e = 0; e < dim; e++) {
                    avg[ao + e] = Nn.lerp(avg[ao + e], sums[ao + e], w);
                }
            }
        }
    }

    /** Folds pending accumulated statistics into {@code stats} (and clears them); checks the weights' length. */
    private void takePending(Params p, CodebookStatistics stats, float[] weight) {
        CodebookStatistics pend = pending(p);
        if (pend != null) {
            stats.add(pend);
            p.remove(accumClusterSizeName());
            p.remove(accumEmbedAvgName());
        }
        if (weight != null && weight.length != size) {
            throw new IllegalArgumentException("ema_update_weight has " + weight.length + " entries, the codebook " + size + " codes");
        }
    }

    /**
     * {@link #apply} over every codebook, then {@link #renormalize}, in one pass over the codes:
     * each code's {@code embed_avg} row is lerped and divided into {@code embed} while it is in
     * cache. The same floats as the two steps one after the other (the cluster sizes, and so the
     * smoothing totals, are all lerped before the first row).
     */
    void applyAndRenormalize(Params p, CodebookStatistics stats, float[] weight) {
        takePending(p, stats, weight);
        float base = (float) (1.0 - (double) decay);
        float[] counts = stats.counts();
        float[] sums = stats.sums();
        float[] cs = p.get(clusterSizeName()).data();
        float[] avg = p.get(embedAvgName()).data();
        float[] embed = embed(p);
        float ceps = (float) (size * (double) eps);
        for (int k = 0; k < numCodebooks; k++) {
            int co = k * size;
            float total = 0f;
            for (int j = 0; j < size; j++) {
                float w = weight == null ? base : base * weight[j];
                cs[co + j] = Nn.lerp(cs[co + j], counts[co + j], w);
                total += cs[co + j];
            }
            float denom = total + ceps;
            for (int j = 0; j < size; j++) {
                float w = weight == null ? base : base * weight[j];
                float smoothed = (cs[co + j] + eps) / denom * total;
                if (counts[co + j] == 0f) {
                    // a code no row chose has a sum of exactly +0 (nothing was added): the same
                    // floats without reading it, which is most codes of a small batch
                    lerpZeroAndDivide(avg, embed, (co + j) * dim, dim, w, smoothed);
                } else {
                    lerpAndDivide(avg, sums, embed, (co + j) * dim, dim, w, smoothed);
                }
            }
        }
        if (cosine) {
            Nn.l2normRows(embed, 0, numCodebooks * size, dim, 1e-6f);
        }
        CodebookVersions.modified(embed);
    }

    /** {@code avg ← lerp(avg, sums, w)} ({@link Nn#lerp}'s two forms), {@code embed = avg / smoothed}, for one row. */
    private static void lerpAndDivide(float[] avg, float[] sums, float[] embed, int o, int d, float w, float smoothed) {
        if (Math.abs(w) < 0.5f) {
            for (int e = o; e < o + d; e++) {
                float a = avg[e] + w * (sums[e] - avg[e]);
                avg[e] = a;
                embed[e] = a / smoothed;
            }
        } else {
            float v = 1f - w;
            for (int e = o; e < o + d; e++) {
                float a = sums[e] - (sums[e] - avg[e]) * v;
                avg[e] = a;
                embed[e] = a / smoothed;
            }
        }
    }

    /** {@link #lerpAndDivide} where every sum is +0: {@code 0f − a} is what {@code sums[e] − a} gives then. */
    private static void lerpZeroAndDivide(float[] avg, float[] embed, int o, int d, float w, float smoothed) {
        if (Math.abs(w) < 0.5f) {
            for (int e = o; e < o + d; e++) {
                float a = avg[e] + w * (0f - avg[e]);
                avg[e] = a;
                embed[e] = a / smoothed;
            }
        } else {
            float v = 1f - w;
            for (int e = o; e < o + d; e++) {
                float a = 0f - (0f - avg[e]) * v;
                avg[e] = a;
                embed[e] = a / smoothed;
            }
        }
    }

    /** {@code embed = embed_avg / laplace-smoothed cluster size} (then l2-normalised for cosine). */
    void renormalize(Params p) {
        float[] cs = p.get(clusterSizeName()).data();
        float[] avg = p.get(embedAvgName()).data();
        float[] embed = embed(p);
        float ceps = (float) (size * (double) eps);
        for (int k = 0; k < numCodebooks; k++) {
            int co = k * size;
            float total = 0f;
            for (int j = 0; j < size; j++) {
                total += cs[co + j];
            }
            float denom = total + ceps;
            for (int j = 0; j < size; j++) {
                float smoothed = (cs[co + j] + eps) / denom * total;
                int o = (co + j) * dim;
                for (int e = 0; e < dim; e++) {
                    embed[o + e] = avg[o + e] / smoothed;
                }
            }
        }
        if (cosine) {
            Nn.l2normRows(embed, 0, numCodebooks * size, dim, 1e-6f);
        }
        CodebookVersions.modified(embed);
    }

    /**
     * Dead-code expiry: every code whose EMA cluster size fell below the threshold is replaced
     * by a row of this batch (codebook space), with cluster size reset.
     */
    /** Returns the number of codes replaced. */
    int expire(Params p, float[][] rows, int[] counts, RandomSource random, QuantizerOutput trace) {
        if (threshold <= 0f) {
            return 0;
        }
        int replaced = 0;
        float[] cs = p.get(clusterSizeName()).data();
        float[] avg = p.get(embedAvgName()).data();
        float[] embed = embed(p);
        long[] expiredOut = new long[numCodebooks * size];
        if (trace != null) {
            trace.put("pre_expiry.embed", new Tensor(embed.clone(), numCodebooks, size, dim));
            trace.put("pre_expiry.embed_avg", new Tensor(avg.clone(), numCodebooks, size, dim));
            trace.put("pre_expiry.cluster_size", new Tensor(cs.clone(), numCodebooks, size));
        }
        for (int k = 0; k < numCodebooks; k++) {
            int co = k * size;
            int m = 0;
            for (int j = 0; j < size; j++) {
                if (cs[co + j] < threshold) {
                    expiredOut[co + j] = 1;
                    m++;
                }
            }
            if (m == 0 || counts[k] == 0) {
                continue;
            }
            float[] x = rows[k];
            if (cosine) {
                x = x.clone();
                Nn.l2normRows(x, 0, counts[k], dim, 1e-6f);
            }
            int[] drawn = random.deadCodeRows(counts[k], m);
            int r = 0;
            for (int j = 0; j < size; j++) {
                if (expiredOut[co + j] == 0) {
                    continue;
                }
                int src = drawn[r++] * dim;
                int o = (co + j) * dim;
                for (int e = 0; e < dim; e++) {
                    embed[o + e] = x[src + e];
                    avg[o + e] = x[src + e] * resetClusterSize;
                }
                cs[co + j] = resetClusterSize;
                replaced++;
            }
        }
        if (replaced > 0) {
            CodebookVersions.modified(embed);
        }
        if (trace != null) {
            trace.put("expired", new LongTensor(expiredOut, numCodebooks, size));
        }
        return replaced;
    }

    /** Copies of the state under the golden names {@code embed}, {@code embed_avg}, {@code cluster_size}. */
    void traceState(Params p, QuantizerOutput trace) {
        trace.put("embed", new Tensor(embed(p).clone(), numCodebooks, size, dim));
        trace.put("embed_avg", new Tensor(p.get(embedAvgName()).data().clone(), numCodebooks, size, dim));
        trace.put("cluster_size", new Tensor(p.get(clusterSizeName()).data().clone(), numCodebooks, size));
    }
}

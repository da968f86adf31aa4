package io.vqstream.bench;

import io.vqstream.core.backend.CodebookVersions;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.Metric;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.quantize.RandomSource;
import io.vqstream.core.quantize.VectorQuantize;
import io.vqstream.core.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The timed calls, shared by the JMH benchmarks and {@link BenchCli} so that both measure the
 * same thing as the Python anchors ({@code ../shared/anchors/kernels.py}, {@code bench_vq_ops.py}):
 * Gaussian inputs, one micro-batch per call, buffers reused across calls.
 */
public final class Workloads {
    private Workloads() {}

    /** One timed call and the vectors it handles. */
    public interface Call {
        void run();

        int vectors();
    }

    static float[] gaussian(SplittableRandom rnd, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    /**
     * {@code dst_i = src_i / max(‖src_i‖, 1e-12)} (torch's F.normalize), rows of d floats.
     */
    static void normalizeRows(float[] src, float[] dst, int n, int d) {
        for (int i = 0; i < n; i++) {
            int o = i * d;
            double s = 0;
            for (int e = 0; e < d; e++) {
                s += (double) src[o + e] * src[o + e];
            }
            float inv = (float) (1.0 / Math.max(Math.sqrt(s), 1e-12));
            for (int e = 0; e < d; e++) {
                dst[o + e] = src[o + e] * inv;
            }
        }
    }

    /**
     * Nearest code for N vectors. L2: as {@code onednn_l2}/{@code faiss_l2} (codebook norms
     * recomputed per call). Cosine: as {@code onednn_cos}, the queries are normalised inside the
     * call and the codebook once outside (an EMA cosine codebook is kept normalised).
     */
    public static final class Assign implements Call {
        final ComputeBackend backend;
        final int n;
        final int d;
        final int k;
        final boolean cosine;
        final float[] x;
        final float[] xn;
        final float[] codebook;
        final int[] idx;

        public Assign(ComputeBackend backend, int d, int k, int n, boolean cosine, long seed) {
            this.backend = backend;
            this.n = n;
            this.d = d;
            this.k = k;
            this.cosine = cosine;
            SplittableRandom rnd = new SplittableRandom(seed);
            this.x = gaussian(rnd, n * d);
            this.codebook = gaussian(new SplittableRandom(1), k * d);
            if (cosine) {
                normalizeRows(codebook, codebook, k, d);
            }
            this.xn = cosine ? new float[n * d] : null;
            this.idx = new int[n];
            // a frozen quantizer's codebook: versioned, so it is packed once (as VectorQuantize does)
            CodebookVersions.track(codebook);
        }

        @Override
        public void run() {
            if (cosine) {
                normalizeRows(x, xn, n, d);
                backend.assign(xn, n, d, codebook, 0, k, Metric.DOT, idx, null);
            } else {
                backend.assign(x, n, d, codebook, 0, k, Metric.L2, idx, null);
            }
        }

        @Override
        public int vectors() {
            return n;
        }

        public int[] indices() {
            return idx;
        }
    }

    /**
     * One training step of {@link VectorQuantize} (euclidean, EMA decay 0.8): assignment,
     * gather, scatter-add of counts and sums, the EMA lerps, renormalisation, commitment loss.
     */
    public static final class EmaStep implements Call {
        final Quantizer vq;
        final Params params;
        final Tensor tokens;
        final ForwardOptions options;
        final int n;

        public EmaStep(ComputeBackend backend, int d, int k, int n, long seed) {
            this.vq = new VectorQuantize(Map.of("dim", d, "codebook_size", k));
            this.params = vq.initParams(seed);
            this.tokens = new Tensor(gaussian(new SplittableRandom(seed), n * d), 1, n, d);
            this.options = ForwardOptions.train(RandomSource.seeded(1)).toBuilder().backend(backend).build();
            this.n = n;
        }

        @Override
        public void run() {
            vq.forward(params, tokens, options);
        }

        @Override
        public int vectors() {
            return n;
        }
    }

    /** Residual VQ in evaluation: {@code stages} codebooks of k codes, as {@code rvq_torch}. */
    public static final class Rvq implements Call {
        final ComputeBackend backend;
        final int n;
        final int d;
        final int k;
        final float[] x;
        final float[][] codebooks;
        final int[] offsets;
        final int[] idx;
        final float[] residual;
        final float[] quantized;

        public Rvq(ComputeBackend backend, int d, int k, int n, int stages, long seed) {
            this.backend = backend;
            this.n = n;
            this.d = d;
            this.k = k;
            SplittableRandom rnd = new SplittableRandom(seed);
            this.x = gaussian(rnd, n * d);
            this.codebooks = new float[stages][];
            SplittableRandom crnd = new SplittableRandom(1);
            for (int q = 0; q < stages; q++) {
                codebooks[q] = gaussian(crnd, k * d);
            }
            this.offsets = new int[stages];
            this.idx = new int[n * stages];
            this.residual = new float[n * d];
            this.quantized = new float[n * d];
        }

        @Override
        public void run() {
            backend.residualAssign(x, n, d, codebooks, offsets, k, Metric.L2, idx, residual, quantized);
        }

        @Override
        public int vectors() {
            return n;
        }
    }

    /** A quantizer's evaluation forward over N tokens (FSQ, LFQ): elementwise, bandwidth-bound. */
    public static final class Forward implements Call {
        final Quantizer q;
        final Params params;
        final Tensor tokens;
        final ForwardOptions options;
        final int n;
        /** Minimum bytes per vector as the anchors count them: input + codes + a 4-byte index. */
        public final int bytesPerVector;

        Forward(Quantizer q, ComputeBackend backend, int n, long seed) {
            this.q = q;
            this.params = q.initParams(seed);
            this.tokens = new Tensor(gaussian(new SplittableRandom(seed), n * q.dim()), 1, n, q.dim());
            this.options = ForwardOptions.eval().toBuilder().backend(backend).build();
            this.n = n;
            this.bytesPerVector = 4 * q.dim() + 4 * q.dim() + 4;
        }

        /** FSQ with these levels; {@code dim} other than levels.size() adds the projections. */
        public static Forward fsq(ComputeBackend backend, List<Integer> levels, int dim, int n, long seed) {
            Map<String, Object> kw = dim == levels.size() ? Map.of("levels", levels) : Map.of("levels", levels, "dim", dim);
            return new Forward(Quantizers.create("FSQ", kw), backend, n, seed);
        }

        /** LFQ with a codebook of 2^bits (dim = bits, no projection). */
        public static Forward lfq(ComputeBackend backend, int bits, int n, long seed) {
            return new Forward(Quantizers.create("LFQ", Map.of("codebook_size", 1 << bits)), backend, n, seed);
        }

        @Override
        public void run() {
            q.forward(params, tokens, options);
        }

        @Override
        public int vectors() {
            return n;
        }
    }
}

package io.vqstream.core.quantize;

import io.vqstream.core.backend.ComputeBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * QINCo implicit neural codebooks (Huijben et al., "Residual Quantization with Implicit Neural
 * Codebooks", 2024), as ResidualVQ's {@code implicit_neural_codebook}: layer {@code l ≥ 1} turns
 * each code {@code c_j} of its codebook into a code conditioned on the running quantized sum
 * {@code s} of the layers before it, by MLP {@code mlps.{l−1}}:
 *
 * <pre>
 * h = proj_in(cat(s, c_j))                          (Linear 2d → d)
 * h = h + layers.{i}.2(silu(layers.{i}.0(h)))       for i &lt; depth (Linear d → hidden → d)
 * h = l2norm(h)                                      with cosine codebooks
 * </pre>
 * A token then picks {@code argmin_j ‖r − h_j + 1e-6‖} ({@code F.pairwise_distance}), or the
 * largest {@code r̂·h_j} for cosine codebooks. The codebooks and MLPs are learnt by gradient in
 * the reference (no EMA), so they are fixed parameters here.
 */
final class ImplicitNeuralCodebook {
    private static final int CHUNK_ROWS = 1 << 16;

    final String prefix;
    final int dim;
    final int hidden;
    final int depth;
    final boolean l2normOutput;

    ImplicitNeuralCodebook(String prefix, int dim, int hidden, int depth, boolean l2normOutput) {
        if (hidden < 1 || depth < 0) {
            throw new IllegalArgumentException("ResidualVQ: mlp_kwargs needs dim_hidden ≥ 1 and depth ≥ 0");
        }
        this.prefix = prefix;
        this.dim = dim;
        this.hidden = hidden;
        this.depth = depth;
        this.l2normOutput = l2normOutput;
    }

    private String mlp(int m) {
        return prefix + "mlps." + m + ".";
    }

    List<ParamSpec> specs(int numMlps) {
        List<ParamSpec> l = new ArrayList<>();
        for (int m = 0; m < numMlps; m++) {
            l.addAll(ParamSpec.linear(mlp(m) + "proj_in.", 2 * dim, dim, true));
            for (int i = 0; i < depth; i++) {
                l.addAll(ParamSpec.linear(mlp(m) + "layers." + i + ".0.", dim, hidden, true));
                l.addAll(ParamSpec.linear(mlp(m) + "layers." + i + ".2.", hidden, dim, true));
            }
        }
        return l;
    }

    void init(Params p, int numMlps, SplittableRandom rng) {
        for (int m = 0; m < numMlps; m++) {
            Nn.initLinear(p, mlp(m) + "proj_in.", 2 * dim, dim, true, rng);
            for (int i = 0; i < depth; i++) {
                Nn.initLinear(p, mlp(m) + "layers." + i + ".0.", dim, hidden, true, rng);
                Nn.initLinear(p, mlp(m) + "layers." + i + ".2.", hidden, dim, true, rng);
            }
        }
    }

    /** MLP {@code m} on {@code rows} pairs: {@code cond (rows, d)}, {@code codes (rows, d)} → {@code (rows, d)}. */
    float[] apply(Params p, int m, float[] cond, float[] codes, int rows, ComputeBackend be) {
        int d = dim;
        float[] in = new float[rows * 2 * d];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(cond, r * d, in, r * 2 * d, d);
            System.arraycopy(codes, r * d, in, r * 2 * d + d, d);
        }
        float[] h = Nn.linear(be, p, mlp(m) + "proj_in.", in, rows, 2 * d, d);
        for (int i = 0; i < depth; i++) {
            float[] a = Nn.linear(be, p, mlp(m) + "layers." + i + ".0.", h, rows, d, hidden);
            for (int e = 0; e < a.length; e++) {
                a[e] = a[e] / (1f + (float) Math.exp(-a[e]));
            }
            float[] o = Nn.linear(be, p, mlp(m) + "layers." + i + ".2.", a, rows, hidden, d);
            for (int e = 0; e < h.length; e++) {
                h[e] = o[e] + h[e];
            }
        }
        if (l2normOutput) {
            Nn.l2normRows(h, 0, rows, d, 1e-12f);
        }
        return h;
    }

    /**
     * Scores of every code of {@code codebook (c, d)} for each of {@code rows} residuals with
     * their conditions: {@code −‖r − h_j + 1e-6‖}, or {@code r̂·h_j} for cosine. Returns
     * {@code (rows, c)}; when {@code codesOut} is not null the transformed codes
     * {@code (rows, c, d)} are written there.
     */
    float[] scores(Params p, int m, float[] residual, float[] cond, int rows, float[] codebook, int c, boolean cosine,
                   ComputeBackend be, float[] codesOut) {
        int d = dim;
        float[] out = new float[rows * c];
        int chunk = Math.max(1, CHUNK_ROWS / Math.max(c, 1));
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int nr = Math.min(chunk, rows - r0);
            float[] condRep = new float[nr * c * d];
            float[] codesRep = new float[nr * c * d];
            for (int r = 0; r < nr; r++) {
                for (int j = 0; j < c; j++) {
                    System.arraycopy(cond, (r0 + r) * d, condRep, (r * c + j) * d, d);
                }
                System.arraycopy(codebook, 0, codesRep, r * c * d, c * d);
            }
            float[] h = apply(p, m, condRep, codesRep, nr * c, be);
            if (codesOut != null) {
                System.arraycopy(h, 0, codesOut, r0 * c * d, nr * c * d);
            }
            for (int r = 0; r < nr; r++) {
                int ro = (r0 + r) * d;
                float[] x = residual;
                float[] xn = null;
                if (cosine) {
                    xn = new float[d];
                    System.arraycopy(residual, ro, xn, 0, d);
                    Nn.l2normRows(xn, 0, 1, d, 1e-6f);
                }
                for (int j = 0; j < c; j++) {
                    int ho = (r * c + j) * d;
                    double s = 0;
                    if (cosine) {
                        for (int e = 0; e < d; e++) {
                            s += (double) xn[e] * h[ho + e];
                        }
                        out[(r0 + r) * c + j] = (float) s;
                    } else {
                        for (int e = 0; e < d; e++) {
                            double diff = (double) x[ro + e] - h[ho + e] + 1e-6;
                            s += diff * diff;
                        }
                        out[(r0 + r) * c + j] = (float) -Math.sqrt(s);
                    }
                }
            }
        }
        return out;
    }
}

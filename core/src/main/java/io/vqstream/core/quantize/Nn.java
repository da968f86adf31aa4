package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.backend.ComputeBackend;
import java.util.SplittableRandom;

/** Small numeric building blocks shared by the quantizers (float32 semantics as in torch). */
@Internal
public final class Nn {
    private Nn() {}

    /**
     * Row-wise l2 normalisation in place, as {@code F.normalize(x, eps)}:
     * <pre>x ← x / max(‖x‖₂, eps)</pre>
     */
    public static void l2normRows(float[] x, int off, int rows, int d, float eps) {
        for (int r = 0; r < rows; r++) {
            int o = off + r * d;
            double s = 0;
            for (int e = 0; e < d; e++) {
                s += (double) x[o + e] * x[o + e];
            }
            float norm = Math.max((float) Math.sqrt(s), eps);
            for (int e = 0; e < d; e++) {
                x[o + e] = x[o + e] / norm;
            }
        }
    }

    /** Mean of squared differences over {@code len} elements. */
    public static float mse(float[] a, int ao, float[] b, int bo, int len) {
        double s = 0;
        for (int i = 0; i < len; i++) {
            double diff = (double) a[ao + i] - b[bo + i];
            s += diff * diff;
        }
        return (float) (s / len);
    }

    public static float mse(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("mse of arrays of length " + a.length + " and " + b.length);
        }
        return mse(a, 0, b, 0, a.length);
    }

    /**
     * {@code y = x·Wᵀ + b} with the torch Linear layout read from {@code params}:
     * {@code prefix + "weight"} of shape (out, in) and optional {@code prefix + "bias"}.
     */
    public static float[] linear(ComputeBackend be, Params params, String prefix, float[] x, int n, int in, int out) {
        float[] w = params.require(prefix + "weight", out, in).data();
        float[] b = params.has(prefix + "bias") ? params.require(prefix + "bias", out).data() : null;
        float[] y = new float[n * out];
        be.linear(x, n, in, w, b, out, y);
        return y;
    }

    /** LayerNorm over the last axis (biased variance); affine when {@code gamma} is not null. */
    public static void layerNorm(float[] x, int rows, int d, float eps, float[] gamma, float[] beta) {
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            double mean = 0;
            for (int e = 0; e < d; e++) {
                mean += x[o + e];
            }
            mean /= d;
            double var = 0;
            for (int e = 0; e < d; e++) {
                double c = x[o + e] - mean;
                var += c * c;
            }
            var /= d;
            double inv = 1.0 / Math.sqrt(var + eps);
            for (int e = 0; e < d; e++) {
                float v = (float) ((x[o + e] - mean) * inv);
                if (gamma != null) {
                    v = v * gamma[e] + (beta == null ? 0f : beta[e]);
                }
                x[o + e] = v;
            }
        }
    }

    /** torch's default Linear init: weight and bias uniform in ±1/√in. */
    public static void initLinear(Params p, String prefix, int in, int out, boolean bias, SplittableRandom rng) {
        float bound = (float) (1.0 / Math.sqrt(in));
        p.put(prefix + "weight", uniform(rng, bound, out, in));
        if (bias) {
            p.put(prefix + "bias", uniform(rng, bound, out));
        }
    }

    public static io.vqstream.core.tensor.Tensor uniform(SplittableRandom rng, float bound, int... shape) {
        io.vqstream.core.tensor.Tensor t = io.vqstream.core.tensor.Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        return t;
    }

    public static io.vqstream.core.tensor.Tensor normal(SplittableRandom rng, double std, int... shape) {
        io.vqstream.core.tensor.Tensor t = io.vqstream.core.tensor.Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i += 2) {
            double u1 = Math.max(rng.nextDouble(), 1e-300);
            double u2 = rng.nextDouble();
            double r = Math.sqrt(-2 * Math.log(u1));
            d[i] = (float) (r * Math.cos(2 * Math.PI * u2) * std);
            if (i + 1 < d.length) {
                d[i + 1] = (float) (r * Math.sin(2 * Math.PI * u2) * std);
            }
        }
        return t;
    }

    /**
     * torch's {@code lerp_(end, w)} for one float: {@code a + w(b−a)} for |w| &lt; 0.5, else
     * {@code b − (b−a)(1−w)}, each step rounded to float32.
     */
    public static float lerp(float a, float b, float w) {
        return Math.abs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * (1f - w);
    }

    /** Entropy {@code −Σ p·log(max(p, eps))} of {@code len} probabilities. */
    public static double entropy(double[] p, int off, int len, double eps) {
        double h = 0;
        for (int i = 0; i < len; i++) {
            double v = p[off + i];
            h -= v * Math.log(Math.max(v, eps));
        }
        return h;
    }

    /** Numerically stable softmax of {@code len} logits into {@code out} (double). */
    public static void softmax(float[] logits, int off, int len, double scale, double[] out, int outOff) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) {
            max = Math.max(max, logits[off + i] * scale);
        }
        double sum = 0;
        for (int i = 0; i < len; i++) {
            double e = Math.exp(logits[off + i] * scale - max);
            out[outOff + i] = e;
            sum += e;
        }
        for (int i = 0; i < len; i++) {
            out[outOff + i] /= sum;
        }
    }
}

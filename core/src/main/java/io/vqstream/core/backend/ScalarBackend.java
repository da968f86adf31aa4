package io.vqstream.core.backend;

/**
 * Plain loops, accumulating in double: the reference every other backend is compared with,
 * and the fallback where the Vector API is not available.
 */
public final class ScalarBackend implements ComputeBackend {
    public static final ScalarBackend INSTANCE = new ScalarBackend();

    @Override
    public String name() {
        return "jvm-scalar";
    }

    @Override
    public void assign(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, int[] outIdx, float[] outScore) {
        float[] norms = metric == Metric.L2 ? rowNorms(codebook, cbOff, k, d) : null;
        for (int i = 0; i < n; i++) {
            int xo = i * d;
            float xx = metric == Metric.L2 ? dot(x, xo, x, xo, d) : 0f;
            int best = 0;
            float bestScore = 0f;
            for (int j = 0; j < k; j++) {
                float dp = dot(x, xo, codebook, cbOff + j * d, d);
                if (metric == Metric.L2) {
                    float s = Math.max(xx + norms[j] - 2f * dp, 1e-8f);
                    if (j == 0 || s < bestScore) {
                        bestScore = s;
                        best = j;
                    }
                } else if (j == 0 || dp > bestScore) {
                    bestScore = dp;
                    best = j;
                }
            }
            outIdx[i] = best;
            if (outScore != null) {
                outScore[i] = bestScore;
            }
        }
    }

    @Override
    public void scores(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, float[] out) {
        float[] norms = metric == Metric.L2 ? rowNorms(codebook, cbOff, k, d) : null;
        for (int i = 0; i < n; i++) {
            int xo = i * d;
            float xx = metric == Metric.L2 ? dot(x, xo, x, xo, d) : 0f;
            for (int j = 0; j < k; j++) {
                float dp = dot(x, xo, codebook, cbOff + j * d, d);
                out[i * k + j] = metric == Metric.L2 ? (float) -Math.sqrt(Math.max(xx + norms[j] - 2f * dp, 1e-8f)) : dp;
            }
        }
    }

    @Override
    public void linear(float[] x, int n, int in, float[] w, float[] bias, int out, float[] y) {
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0.0 : bias[o];
                int wo = o * in;
                int xo = i * in;
                for (int e = 0; e < in; e++) {
                    s += (double) x[xo + e] * w[wo + e];
                }
                y[i * out + o] = (float) s;
            }
        }
    }

    static float dot(float[] a, int ao, float[] b, int bo, int d) {
        double s = 0;
        for (int e = 0; e < d; e++) {
            s += (double) a[ao + e] * b[bo + e];
        }
        return (float) s;
    }

    static float[] rowNorms(float[] c, int off, int k, int d) {
        float[] norms = new float[k];
        for (int j = 0; j < k; j++) {
            norms[j] = dot(c, off + j * d, c, off + j * d, d);
        }
        return norms;
    }
}

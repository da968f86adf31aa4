package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
/**
 * Plain loops, accumulating in double: the reference every other backend is compared with.
 * The faster backends find their winner in float and settle every near tie with the static
 * helpers here ({@link #dot}, {@link #l2}), so their indices and winning scores are this
 * class's bit for bit.
 */
@Internal
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
            int best = nearest(x, i * d, d, codebook, cbOff, k, metric, norms);
            outIdx[i] = best;
            if (outScore != null) {
                outScore[i] = score(x, i * d, d, codebook, cbOff + best * d, metric);
            }
        }
    }

    /**
     * The reference's row loop: the code with the best score for the row at {@code xo}, the
     * lowest index on ties, code 0 when every comparison fails (a NaN row).
     *
     * @param norms the codes' ‖c‖² from {@link #rowNorms} (L2), or null to compute each here
     */
    static int nearest(float[] x, int xo, int d, float[] codebook, int cbOff, int k, Metric metric, float[] norms) {
        float xx = metric == Metric.L2 ? dot(x, xo, x, xo, d) : 0f;
        int best = 0;
        float bestScore = 0f;
        for (int j = 0; j < k; j++) {
            int co = cbOff + j * d;
            float dp = dot(x, xo, codebook, co, d);
            if (metric == Metric.L2) {
                float s = l2(xx, norms != null ? norms[j] : dot(codebook, co, codebook, co, d), dp);
                if (j == 0 || s < bestScore) {
                    bestScore = s;
                    best = j;
                }
            } else if (j == 0 || dp > bestScore) {
                bestScore = dp;
                best = j;
            }
        }
        return best;
    }

    @Override
    public void scores(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, float[] out) {
        float[] norms = metric == Metric.L2 ? rowNorms(codebook, cbOff, k, d) : null;
        for (int i = 0; i < n; i++) {
            int xo = i * d;
            float xx = metric == Metric.L2 ? dot(x, xo, x, xo, d) : 0f;
            for (int j = 0; j < k; j++) {
                float dp = dot(x, xo, codebook, cbOff + j * d, d);
                out[i * k + j] = metric == Metric.L2 ? (float) -Math.sqrt(l2(xx, norms[j], dp)) : dp;
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

    /**
     * The reference score of one row against one code: the clamped squared distance for L2,
     * the dot product for DOT. Fast backends call this for their winners.
     */
    static float score(float[] x, int xo, int d, float[] codebook, int co, Metric metric) {
        float dp = dot(x, xo, codebook, co, d);
        return metric == Metric.L2 ? l2(dot(x, xo, x, xo, d), dot(codebook, co, codebook, co, d), dp) : dp;
    }

    /**
     * The reference's clamped squared distance from float-rounded parts:
     * <pre>max(‖x‖² + ‖c‖² − 2·x·c, 1e-8)</pre>
     */
    static float l2(float xx, float cc, float dp) {
        return Math.max(xx + cc - 2f * dp, 1e-8f);
    }

    /**
     * Dot product in double, rounded once to float. Products of floats are exact in double;
     * four partial sums keep the adds independent.
     */
    static float dot(float[] a, int ao, float[] b, int bo, int d) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int e = 0;
        for (; e + 4 <= d; e += 4) {
            s0 += (double) a[ao + e] * b[bo + e];
            s1 += (double) a[ao + e + 1] * b[bo + e + 1];
            s2 += (double) a[ao + e + 2] * b[bo + e + 2];
            s3 += (double) a[ao + e + 3] * b[bo + e + 3];
        }
        for (; e < d; e++) {
            s0 += (double) a[ao + e] * b[bo + e];
        }
        return (float) ((s0 + s1) + (s2 + s3));
    }

    static float[] rowNorms(float[] c, int off, int k, int d) {
        float[] norms = new float[k];
        for (int j = 0; j < k; j++) {
            norms[j] = dot(c, off + j * d, c, off + j * d, d);
        }
        return norms;
    }
}

package io.vqstream.core.backend;

/**
 * {@link FloatKernels} in plain Java, for JVMs without {@code jdk.incubator.vector}: float
 * accumulation, four codes per pass over a row so that four independent sums are in flight.
 */
final class PlainKernels implements FloatKernels {
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    @Override
    public void releaseThreadScratch() {
        ROW.remove();
    }

    @Override
    public String describe() {
        return "plain loops";
    }

    @Override
    public void sumSquares(float[] a, int off, int rows, int d, float[] out, int outOff) {
        for (int r = 0; r < rows; r++) {
            int o = off + r * d;
            float s = 0f;
            for (int e = 0; e < d; e++) {
                s += a[o + e] * a[o + e];
            }
            out[outOff + r] = s;
        }
    }

    @Override
    public void argmax(float[] x, int n, int d, float[] cb, int cbOff, int k, boolean l2, float[] norms,
                       float[] best, float[] second, int[] bestIdx) {
        float[] h = ROW.get();
        if (h.length < 2 * k) {
            h = new float[2 * k];
            ROW.set(h);
        }
        sumSquares(cb, cbOff, k, d, norms, 0);
        float[] bias = new float[k];
        if (l2) {
            for (int j = 0; j < k; j++) {
                bias[j] = -0.5f * norms[j];
            }
        }
        for (int i = 0; i < n; i++) {
            dots(x, i * d, 1, d, cb, cbOff, k, bias, h, 0);
            float b = Float.NEGATIVE_INFINITY;
            float s = Float.NEGATIVE_INFINITY;
            int bi = 0;
            for (int j = 0; j < k; j++) {
                float v = h[j];
                if (v > b) {
                    s = b;
                    b = v;
                    bi = j;
                } else if (v > s) {
                    s = v;
                }
            }
            best[i] = b;
            second[i] = s;
            bestIdx[i] = bi;
        }
    }

    @Override
    public void dots(float[] x, int xOff, int n, int d, float[] cb, int cbOff, int k, float[] bias, float[] out, int outOff) {
        for (int i = 0; i < n; i++) {
            int xo = xOff + i * d;
            int oo = outOff + i * k;
            int j = 0;
            for (; j + 4 <= k; j += 4) {
                int c0 = cbOff + j * d;
                int c1 = c0 + d;
                int c2 = c1 + d;
                int c3 = c2 + d;
                float s0 = bias[j];
                float s1 = bias[j + 1];
                float s2 = bias[j + 2];
                float s3 = bias[j + 3];
                for (int e = 0; e < d; e++) {
                    float xe = x[xo + e];
                    s0 += xe * cb[c0 + e];
                    s1 += xe * cb[c1 + e];
                    s2 += xe * cb[c2 + e];
                    s3 += xe * cb[c3 + e];
                }
                out[oo + j] = s0;
                out[oo + j + 1] = s1;
                out[oo + j + 2] = s2;
                out[oo + j + 3] = s3;
            }
            for (; j < k; j++) {
                int c0 = cbOff + j * d;
                float s0 = bias[j];
                for (int e = 0; e < d; e++) {
                    s0 += x[xo + e] * cb[c0 + e];
                }
                out[oo + j] = s0;
            }
        }
    }

    @Override
    public void scatterAdd(float[] x, int n, int d, int[] idx, float[] counts, float[] sums) {
        for (int i = 0; i < n; i++) {
            int j = idx[i];
            if (j < 0) {
                continue;
            }
            counts[j] += 1f;
            int so = j * d;
            int xo = i * d;
            for (int e = 0; e < d; e++) {
                sums[so + e] += x[xo + e];
            }
        }
    }

    @Override
    public double gatherScatter(float[] cb, int cbOff, int d, int[] idx, float[] x, int n, float[] out, float[] counts, int cOff,
                                float[] sums, int sOff) {
        return gatherScatterRows(cb, cbOff, d, idx, x, n, out, counts, cOff, sums, sOff);
    }

    /** {@link FloatKernels#gatherScatter} in plain loops: the default of {@link ComputeBackend#gatherStatistics} too. */
    static double gatherScatterRows(float[] cb, int cbOff, int d, int[] idx, float[] x, int n, float[] out, float[] counts, int cOff,
                                    float[] sums, int sOff) {
        double err = 0;
        for (int i = 0; i < n; i++) {
            int j = idx[i];
            int o = i * d;
            if (j < 0) {
                java.util.Arrays.fill(out, o, o + d, 0f);
                continue;
            }
            int c = cbOff + j * d;
            float rowErr = 0f;
            for (int e = 0; e < d; e++) {
                float v = cb[c + e];
                out[o + e] = v;
                float diff = x[o + e] - v;
                rowErr += diff * diff;
            }
            err += rowErr;
            if (counts != null) {
                counts[cOff + j] += 1f;
                int so = sOff + j * d;
                for (int e = 0; e < d; e++) {
                    sums[so + e] += x[o + e];
                }
            }
        }
        return err;
    }

    /** Refuses a code outside a codebook of {@code k} codes before anything is written. */
    static void checkCodes(int[] idx, int n, int k) {
        for (int i = 0; i < n; i++) {
            if (idx[i] >= k) {
                throw new IndexOutOfBoundsException("code " + idx[i] + " of a codebook of size " + k);
            }
        }
    }
}

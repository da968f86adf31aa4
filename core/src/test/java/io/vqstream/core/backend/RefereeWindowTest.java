package io.vqstream.core.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The referee's window is sized per row (its norm, its winner's distance) and per code pair,
 * not by the codebook's longest code: features far from the origin with one very long code
 * in the codebook must be settled by the arg-max alone unless they really are near a tie.
 */
class RefereeWindowTest {
    private static final int D = 16;
    private static final int K = 48;
    /** Index of the code at 30× the features' mean (‖c‖² ≈ 1.3e7 against ‖x‖² ≈ 1.4e4). */
    private static final int LONG_CODE = 7;
    /** Code LOW is a copy of HIGH with one element moved a little (see {@link #codebook()}). */
    private static final int LOW = 3;
    private static final int HIGH = 20;

    private static float[] codebook() {
        return codebook(0);
    }

    /**
     * The codebook; with {@code rows > 0}, LOW is chosen so that a row equal to HIGH is a
     * reference tie (both distances round to 0 beside ‖x‖² + ‖c‖² ≈ 2.9e4, ulp 0.002, and clamp
     * to 1e-8, so the lower index LOW wins) while the kernels' float arg-max over a batch of
     * {@code rows} rows prefers HIGH: the first such shift of one of LOW's elements.
     */
    private static float[] codebook(int rows) {
        SplittableRandom rnd = new SplittableRandom(11);
        float[] cb = new float[K * D];
        for (int j = 0; j < K; j++) {
            for (int e = 0; e < D; e++) {
                cb[j * D + e] = 30f + (float) rnd.nextGaussian();
            }
        }
        for (int e = 0; e < D; e++) {
            cb[LONG_CODE * D + e] = 900f;
        }
        System.arraycopy(cb, HIGH * D, cb, LOW * D, D);
        if (rows == 0) {
            return cb;
        }
        float base = cb[LOW * D + 4];
        float[] x = new float[rows * D];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(cb, HIGH * D, x, i * D, D);
        }
        FloatKernels kernels = JvmBackend.get().kernelsForTest();
        int[] fast = new int[rows];
        for (int m = 1; m <= 400; m++) {
            cb[LOW * D + 4] = base + m * 0.0005f;
            kernels.argmax(x, rows, D, cb, 0, K, true, new float[K], new float[rows], new float[rows], fast);
            if (ScalarBackend.nearest(x, 0, D, cb, 0, K, Metric.L2, null) == LOW && fast[0] == HIGH) {
                return cb;
            }
        }
        throw new AssertionError("no shift gives a reference tie that the float arg-max misses");
    }

    @Test
    void rowsFarFromATieAreNotRescoredDespiteALongCode() {
        float[] cb = codebook();
        int n = 200;
        SplittableRandom rnd = new SplittableRandom(5);
        float[] x = new float[n * D];
        for (int i = 0; i < n; i++) {
            int j = rnd.nextInt(K);
            if (j == LONG_CODE || j == LOW || j == HIGH) {
                j = 0;
            }
            for (int e = 0; e < D; e++) {
                x[i * D + e] = cb[j * D + e] + (float) (0.05 * rnd.nextGaussian());
            }
        }
        // the codebook-wide window (longest code) would put these rows in doubt: ĥ gap < M(c_max)
        Referee referee = new Referee(Metric.L2, D, 900.0 * 900.0 * D);
        float[] norms = ScalarBackend.rowNorms(cb, 0, K, D);
        int inOldWindow = 0;
        for (int i = 0; i < n; i++) {
            float[] h = fastScores(x, i, cb, norms);
            float[] top = top2(h);
            double xx = ScalarBackend.dot(x, i * D, x, i * D, D);
            double gamma = (D + 2) * 0x1p-24;
            double cmax = 900.0 * 4 * 1.01;
            double mOld = 2 * gamma * (cmax * cmax + Math.sqrt(xx) * cmax) + 4 * 0x1p-24 * Math.pow(Math.sqrt(xx) + cmax, 2);
            if (top[0] - top[1] <= mOld) {
                inOldWindow++;
            }
            assertTrue(referee.certain(xx, top[0], top[1]), "row " + i + " in doubt");
        }
        assertTrue(inOldWindow > n / 2, "rows inside the longest-code window: " + inOldWindow);
        int[] got = assign(x, n, cb, 0L);
        int[] want = new int[n];
        ScalarBackend.INSTANCE.assign(x, n, D, cb, 0, K, Metric.L2, want, null);
        assertArrayEquals(want, got);
    }

    @Test
    void nearTiesAreRescoredAndOnlyThey() {
        int far = 60;
        int ties = 5;
        int n = far + ties;
        float[] cb = codebook(n);
        SplittableRandom rnd = new SplittableRandom(9);
        float[] x = new float[n * D];
        for (int i = 0; i < far; i++) {
            int j = 8 + rnd.nextInt(10);
            for (int e = 0; e < D; e++) {
                x[i * D + e] = cb[j * D + e] + (float) (0.05 * rnd.nextGaussian());
            }
        }
        // rows equal to code HIGH: a reference tie with LOW (see codebook()) that the float
        // arg-max decides for HIGH
        for (int i = far; i < n; i++) {
            System.arraycopy(cb, HIGH * D, x, i * D, D);
        }
        int[] want = new int[n];
        ScalarBackend.INSTANCE.assign(x, n, D, cb, 0, K, Metric.L2, want, null);
        for (int i = far; i < n; i++) {
            assertEquals(LOW, want[i]);
        }
        JvmBackend b = new JvmBackend(JvmBackend.get().kernelsForTest());
        float[] norms = new float[K];
        float[] best = new float[n];
        float[] second = new float[n];
        int[] fast = new int[n];
        b.kernelsForTest().argmax(x, n, D, cb, 0, K, true, norms, best, second, fast);
        for (int i = far; i < n; i++) {
            assertNotEquals(want[i], fast[i], "the float arg-max alone would be right here");
        }
        int[] got = assign(x, n, cb, ties);
        assertArrayEquals(want, got);
        // plain loops: same decisions, same count
        JvmBackend plain = JvmBackend.plainLoops();
        int[] gotPlain = new int[n];
        plain.assign(x, n, D, cb, 0, K, Metric.L2, gotPlain, null);
        assertArrayEquals(want, gotPlain);
        assertEquals(ties, plain.refereeCounts()[1]);
    }

    /** Assigns on a fresh Vector API backend and checks how many rows it rescored. */
    private static int[] assign(float[] x, int n, float[] cb, long rescored) {
        JvmBackend b = new JvmBackend(JvmBackend.get().kernelsForTest());
        int[] got = new int[n];
        b.assign(x, n, D, cb, 0, K, Metric.L2, got, null);
        assertArrayEquals(new long[] {n, rescored}, b.refereeCounts());
        return got;
    }

    private static float[] fastScores(float[] x, int i, float[] cb, float[] norms) {
        float[] h = new float[K];
        for (int j = 0; j < K; j++) {
            float s = -0.5f * norms[j];
            for (int e = 0; e < D; e++) {
                s = Math.fma(x[i * D + e], cb[j * D + e], s);
            }
            h[j] = s;
        }
        return h;
    }

    private static float[] top2(float[] h) {
        float a = Float.NEGATIVE_INFINITY;
        float b = Float.NEGATIVE_INFINITY;
        for (float v : h) {
            if (v > a) {
                b = a;
                a = v;
            } else if (v > b) {
                b = v;
            }
        }
        return new float[] {a, b};
    }
}

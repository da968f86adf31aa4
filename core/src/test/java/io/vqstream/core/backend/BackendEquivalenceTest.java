package io.vqstream.core.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backend against the reference: equal indices (ties and near ties included), equal
 * winning scores, and dense outputs within 1e-5 relative.
 */
class BackendEquivalenceTest {

    static List<ComputeBackend> fastBackends() {
        List<ComputeBackend> l = new ArrayList<>();
        l.add(JvmBackend.get());
        l.add(JvmBackend.plainLoops());
        ComputeBackend nd4j = Backends.nd4jOrNull();
        if (nd4j != null) {
            l.add(nd4j);
        }
        l.add(Backends.byName("auto"));
        // auto with a threshold low enough that the larger cases of this test go to ND4J
        l.add(new AutoBackend(JvmBackend.get(), Backends::nd4jOrNull, new AutoBackend.Rule(40, 0, 1), new AutoBackend.Rule(40, 0, 1)));
        return l;
    }

    static Stream<Arguments> cases() {
        List<Arguments> l = new ArrayList<>();
        int[][] shapes = {
            {1, 1, 1}, {1, 7, 3}, {3, 5, 17}, {7, 16, 64}, {8, 32, 128}, {23, 9, 33}, {24, 12, 1024},
            {25, 64, 1}, {50, 3, 257}, {13, 40, 1000}, {16, 24, 50}, {64, 130, 203}, {97, 128, 1024}, {200, 256, 96}, {300, 20, 130}, {120, 300, 37}, {100, 600, 21},
        };
        for (ComputeBackend b : fastBackends()) {
            for (int[] s : shapes) {
                for (Metric m : Metric.values()) {
                    l.add(Arguments.of(b, s[0], s[1], s[2], m));
                }
            }
        }
        return l.stream();
    }

    @ParameterizedTest(name = "{0} n={1} d={2} k={3} {4}")
    @MethodSource("cases")
    void assignMatchesReferenceOnHardData(ComputeBackend backend, int n, int d, int k, Metric metric) {
        SplittableRandom rnd = new SplittableRandom(31L * n + 7L * d + k);
        int cbOff = 5 * d;
        float[] cb = new float[cbOff + k * d];
        for (int i = 0; i < cb.length; i++) {
            cb[i] = (float) rnd.nextGaussian();
        }
        // duplicated codes (exact ties) and codes one ulp apart (near ties)
        for (int j = 1; j < k; j += 3) {
            System.arraycopy(cb, cbOff + (j - 1) * d, cb, cbOff + j * d, d);
            if (j % 2 == 0) {
                int e = cbOff + j * d + rnd.nextInt(d);
                cb[e] = Math.nextUp(cb[e]);
            }
        }
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) {
            int kind = i % 4;
            int src = cbOff + rnd.nextInt(k) * d;
            for (int e = 0; e < d; e++) {
                float v = (float) rnd.nextGaussian();
                x[i * d + e] = switch (kind) {
                    case 0 -> v;                                   // generic
                    case 1 -> cb[src + e];                         // exactly a code (clamped distance)
                    case 2 -> cb[src + e] + 1e-4f * v;             // very close to a code
                    default -> 0.5f * (cb[src + e] + cb[cbOff + ((src - cbOff) / d + 1) % k * d + e]); // equidistant
                };
            }
        }
        int[] want = new int[n];
        float[] wantScore = new float[n];
        ScalarBackend.INSTANCE.assign(x, n, d, cb, cbOff, k, metric, want, wantScore);
        int[] got = new int[n];
        float[] gotScore = new float[n];
        backend.assign(x, n, d, cb, cbOff, k, metric, got, gotScore);
        assertArrayEquals(want, got, backend.name() + " indices");
        assertArrayEquals(wantScore, gotScore, backend.name() + " winning scores");
        int[] noScore = new int[n];
        backend.assign(x, n, d, cb, cbOff, k, metric, noScore, null);
        assertArrayEquals(want, noScore);

        // a versioned codebook: its panels and norms come from the cache, also after a change
        CodebookVersions.track(cb);
        int[] cached = new int[n];
        backend.assign(x, n, d, cb, cbOff, k, metric, cached, null);
        assertArrayEquals(want, cached, backend.name() + " indices, versioned codebook");
        backend.assign(x, n, d, cb, cbOff, k, metric, cached, null);
        assertArrayEquals(want, cached, backend.name() + " indices, versioned codebook, second call");
        for (int j = 0; j < k; j += 2) {
            for (int e = 0; e < d; e++) {
                cb[cbOff + j * d + e] = -1.5f * cb[cbOff + j * d + e] + 0.25f;
            }
        }
        CodebookVersions.modified(cb);
        ScalarBackend.INSTANCE.assign(x, n, d, cb, cbOff, k, metric, want, wantScore);
        backend.assign(x, n, d, cb, cbOff, k, metric, cached, gotScore);
        assertArrayEquals(want, cached, backend.name() + " indices after the codebook changed");
        assertArrayEquals(wantScore, gotScore, backend.name() + " winning scores after the codebook changed");
        // a few rows use a new version as it lies on the first call and its panels on the second
        backend.assign(x, n, d, cb, cbOff, k, metric, cached, gotScore);
        assertArrayEquals(want, cached, backend.name() + " indices, second call after the change");
        assertArrayEquals(wantScore, gotScore, backend.name() + " winning scores, second call after the change");

        // the small-batch layout of this version too, then a third version built into both arrays of the second
        int few = Math.min(n, 3);
        int[] wantFew = new int[few];
        int[] gotFew = new int[few];
        ScalarBackend.INSTANCE.assign(x, few, d, cb, cbOff, k, metric, wantFew, null);
        backend.assign(x, few, d, cb, cbOff, k, metric, gotFew, null);
        assertArrayEquals(wantFew, gotFew, backend.name() + " first rows after the change");
        for (int j = 1; j < k; j += 3) {
            for (int e = 0; e < d; e++) {
                cb[cbOff + j * d + e] = 0.5f * cb[cbOff + j * d + e] - 0.125f * e / d;
            }
        }
        CodebookVersions.modified(cb);
        ScalarBackend.INSTANCE.assign(x, few, d, cb, cbOff, k, metric, wantFew, null);
        backend.assign(x, few, d, cb, cbOff, k, metric, gotFew, null);
        assertArrayEquals(wantFew, gotFew, backend.name() + " first rows after a second change");
        ScalarBackend.INSTANCE.assign(x, n, d, cb, cbOff, k, metric, want, null);
        backend.assign(x, n, d, cb, cbOff, k, metric, cached, null);
        assertArrayEquals(want, cached, backend.name() + " indices after a second change");
    }

    /**
     * A codebook of 4 MiB (k·d = 2²⁰ floats), at which the arg-max tile switches to its large row
     * blocks (1,024 rows at d=256), with more rows than one block, many of them exact or near ties
     * (so the referee scores them in groups): the reference's indices and scores, untracked and
     * versioned.
     */
    @Test
    void aCodebookLargerThanTheCachesGivesTheReferenceIndices() {
        int n = 1100;
        int d = 256;
        int k = 4096;
        SplittableRandom rnd = new SplittableRandom(2026);
        float[] cb = new float[k * d];
        for (int i = 0; i < cb.length; i++) {
            cb[i] = (float) rnd.nextGaussian();
        }
        for (int j = 1; j < k; j += 5) {
            System.arraycopy(cb, (j - 1) * d, cb, j * d, d); // exact ties
        }
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) {
            int a = rnd.nextInt(k);
            int b = (a + 1) % k;
            for (int e = 0; e < d; e++) {
                float v = (float) rnd.nextGaussian();
                x[i * d + e] = switch (i % 3) {
                    case 0 -> v;
                    case 1 -> cb[a * d + e] + 1e-4f * v;
                    default -> 0.5f * (cb[a * d + e] + cb[b * d + e]);
                };
            }
        }
        int[] want = new int[n];
        float[] wantScore = new float[n];
        ScalarBackend.INSTANCE.assign(x, n, d, cb, 0, k, Metric.L2, want, wantScore);
        JvmBackend jvm = new JvmBackend(JvmBackend.get().kernelsForTest());
        int[] got = new int[n];
        float[] gotScore = new float[n];
        jvm.assign(x, n, d, cb, 0, k, Metric.L2, got, gotScore);
        assertArrayEquals(want, got, "indices, untracked codebook");
        assertArrayEquals(wantScore, gotScore, "winning scores, untracked codebook");
        // most equidistant rows need the exact pass, scored in groups
        assertEquals(true, jvm.refereeCounts()[1] >= 100, "rows rescored: " + jvm.refereeCounts()[1]);
        CodebookVersions.track(cb);
        jvm.assign(x, n, d, cb, 0, k, Metric.L2, got, null);
        assertArrayEquals(want, got, "indices, versioned codebook");
    }

    @ParameterizedTest(name = "{0} n={1} d={2} k={3} {4}")
    @MethodSource("cases")
    void denseOutputsWithinTolerance(ComputeBackend backend, int n, int d, int k, Metric metric) {
        SplittableRandom rnd = new SplittableRandom(17L * n + d + 3L * k);
        float[] x = gaussian(rnd, n * d);
        float[] cb = gaussian(rnd, 2 * d + k * d);
        float[] want = new float[n * k];
        float[] got = new float[n * k];
        ScalarBackend.INSTANCE.scores(x, n, d, cb, 2 * d, k, metric, want);
        backend.scores(x, n, d, cb, 2 * d, k, metric, got);
        // a dot product is as exact as the sum of its |terms| allows; distances are sums of squares
        float[] scale = metric == Metric.DOT ? absDots(x, n, d, cb, 2 * d, k, null) : want;
        assertClose(want, got, scale, backend.name() + " scores");

        float[] w = gaussian(rnd, k * d);
        float[] bias = gaussian(rnd, k);
        ScalarBackend.INSTANCE.linear(x, n, d, w, bias, k, want);
        backend.linear(x, n, d, w, bias, k, got);
        assertClose(want, got, absDots(x, n, d, w, 0, k, bias), backend.name() + " linear");
        ScalarBackend.INSTANCE.linear(x, n, d, w, null, k, want);
        backend.linear(x, n, d, w, null, k, got);
        assertClose(want, got, absDots(x, n, d, w, 0, k, null), backend.name() + " linear without bias");

        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i % 5 == 4 ? -1 : rnd.nextInt(k);
        }
        float[] c1 = new float[k];
        float[] s1 = new float[k * d];
        float[] c2 = new float[k];
        float[] s2 = new float[k * d];
        ScalarBackend.INSTANCE.accumulateStatistics(x, n, d, idx, c1, s1);
        backend.accumulateStatistics(x, n, d, idx, c2, s2);
        assertArrayEquals(c1, c2);
        assertArrayEquals(s1, s2, "scatter-add adds rows in the same order");
    }

    @ParameterizedTest(name = "{0} n={1} d={2} k={3} {4}")
    @MethodSource("cases")
    void fusedGatherAndStatisticsEqualTheSeparatePasses(ComputeBackend backend, int n, int d, int k, Metric metric) {
        SplittableRandom rnd = new SplittableRandom(5L * n + 11L * d + k + metric.ordinal());
        float[] x = gaussian(rnd, n * d);
        int cbOff = 3 * d;
        float[] cb = gaussian(rnd, cbOff + k * d);
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i % 7 == 3 ? -1 : rnd.nextInt(k);
        }
        float[] wantOut = new float[n * d];
        float[] wantCounts = new float[k];
        float[] wantSums = new float[k * d];
        if (k > 1) {
            // on top of earlier statistics
            wantCounts[1] = 2f;
            wantSums[d] = 0.25f;
        }
        ScalarBackend.INSTANCE.gather(cb, cbOff, k, d, idx, n, wantOut, 0);
        ScalarBackend.INSTANCE.accumulateStatistics(x, n, d, idx, wantCounts, wantSums);
        double wantErr = 0;
        for (int i = 0; i < n; i++) {
            for (int e = 0; idx[i] >= 0 && e < d; e++) {
                double diff = (double) x[i * d + e] - wantOut[i * d + e];
                wantErr += diff * diff;
            }
        }
        // statistics at an offset (codebook 1 of 2), into a dirty output
        float[] out = gaussian(rnd, n * d);
        float[] counts = new float[2 * k];
        float[] sums = new float[2 * k * d];
        if (k > 1) {
            counts[k + 1] = 2f;
            sums[(k + 1) * d] = 0.25f;
        }
        double err = backend.gatherStatistics(cb, cbOff, k, d, idx, x, n, out, counts, k, sums, k * d);
        assertArrayEquals(wantOut, out, backend.name() + " gathered codes (zero rows for −1)");
        assertArrayEquals(wantCounts, java.util.Arrays.copyOfRange(counts, k, 2 * k), backend.name() + " counts");
        assertArrayEquals(wantSums, java.util.Arrays.copyOfRange(sums, k * d, 2 * k * d), backend.name() + " sums, rows in order");
        assertEquals(0f, counts[0]);
        assertEquals(wantErr, err, 1e-5 * wantErr + 1e-9, backend.name() + " squared error");
        // no statistics: the gather and the error alone
        float[] out2 = new float[n * d];
        assertEquals(err, backend.gatherStatistics(cb, cbOff, k, d, idx, x, n, out2, null, 0, null, 0), 1e-9 * err + 1e-12);
        assertArrayEquals(wantOut, out2);
        int[] bad = idx.clone();
        bad[n - 1] = k;
        org.junit.jupiter.api.Assertions.assertThrows(IndexOutOfBoundsException.class,
                () -> backend.gatherStatistics(cb, cbOff, k, d, bad, x, n, new float[n * d], null, 0, null, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fastBackends")
    void residualAssignEqualsStagewiseReference(ComputeBackend backend) {
        SplittableRandom rnd = new SplittableRandom(5);
        int n = 61;
        int d = 24;
        int k = 40;
        int stages = 4;
        float[] x = gaussian(rnd, n * d);
        float[][] cbs = new float[stages][];
        int[] offs = new int[stages];
        for (int q = 0; q < stages; q++) {
            offs[q] = q * 3;
            cbs[q] = gaussian(rnd, offs[q] + k * d);
            for (int i = 0; i < cbs[q].length; i++) {
                cbs[q][i] *= (float) Math.pow(0.5, q + 1);
            }
        }
        int[] want = new int[n * stages];
        float[] wantR = new float[n * d];
        float[] wantQ = new float[n * d];
        ScalarBackend.INSTANCE.residualAssign(x, n, d, cbs, offs, k, Metric.L2, want, wantR, wantQ);
        int[] got = new int[n * stages];
        float[] gotR = new float[n * d];
        float[] gotQ = new float[n * d];
        backend.residualAssign(x, n, d, cbs, offs, k, Metric.L2, got, gotR, gotQ);
        assertArrayEquals(want, got);
        assertArrayEquals(wantR, gotR);
        assertArrayEquals(wantQ, gotQ);
        // the stages really subtract: the residual shrinks
        double before = 0;
        double after = 0;
        for (int i = 0; i < n * d; i++) {
            before += x[i] * x[i];
            after += gotR[i] * gotR[i];
            assertEquals(x[i], gotQ[i] + gotR[i], 1e-4);
        }
        assertTrue(after < before, "residual energy " + after + " vs input " + before);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fastBackends")
    void nonFiniteInputsFollowTheReference(ComputeBackend backend) {
        SplittableRandom rnd = new SplittableRandom(9);
        int n = 30;
        int d = 8;
        int k = 13;
        float[] x = gaussian(rnd, n * d);
        float[] cb = gaussian(rnd, k * d);
        x[3 * d + 2] = Float.NaN;
        x[7 * d] = Float.POSITIVE_INFINITY;
        for (Metric m : Metric.values()) {
            int[] want = new int[n];
            int[] got = new int[n];
            ScalarBackend.INSTANCE.assign(x, n, d, cb, 0, k, m, want, null);
            backend.assign(x, n, d, cb, 0, k, m, got, null);
            assertArrayEquals(want, got, m + " with non-finite rows");
            cb[4 * d + 1] = Float.NaN;
            ScalarBackend.INSTANCE.assign(x, n, d, cb, 0, k, m, want, null);
            backend.assign(x, n, d, cb, 0, k, m, got, null);
            assertArrayEquals(want, got, m + " with a non-finite code");
            cb[4 * d + 1] = 0.5f;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fastBackends")
    void threadsSharingABackendKeepTheirOwnScratch(ComputeBackend backend) throws Exception {
        int[][] shapes = {{3, 40, 70}, {9, 24, 300}, {130, 33, 65}, {400, 16, 512}};
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int[] s = shapes[t];
                long seed = t;
                fs.add(pool.submit(() -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    float[] x = gaussian(rnd, s[0] * s[1]);
                    float[] cb = gaussian(rnd, s[2] * s[1]);
                    int[] want = new int[s[0]];
                    int[] got = new int[s[0]];
                    ScalarBackend.INSTANCE.assign(x, s[0], s[1], cb, 0, s[2], Metric.L2, want, null);
                    for (int rep = 0; rep < 30; rep++) {
                        backend.assign(x, s[0], s[1], cb, 0, s[2], Metric.L2, got, null);
                        assertArrayEquals(want, got, "shape " + java.util.Arrays.toString(s) + " call " + rep);
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    static float[] gaussian(SplittableRandom rnd, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    /** {@code |b_j| + Σ_e |x_ie·c_je|}: the magnitude a float dot product is accurate relative to. */
    static float[] absDots(float[] x, int n, int d, float[] c, int cOff, int k, float[] bias) {
        float[] out = new float[n * k];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                double s = bias == null ? 0 : Math.abs(bias[j]);
                for (int e = 0; e < d; e++) {
                    s += Math.abs((double) x[i * d + e] * c[cOff + j * d + e]);
                }
                out[i * k + j] = (float) s;
            }
        }
        return out;
    }

    /** {@code |got − want| ≤ 1e-6 + 1e-5·|scale|} element-wise. */
    static void assertClose(float[] want, float[] got, float[] scale, String what) {
        for (int i = 0; i < want.length; i++) {
            double tol = 1e-6 + 1e-5 * Math.abs(scale[i]);
            if (!(Math.abs(want[i] - got[i]) <= tol)) {
                throw new AssertionError(what + " at " + i + ": expected " + want[i] + " got " + got[i]);
            }
        }
    }
}

package io.vqstream.core.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RefereeCountsTest {

    @Test
    void warmUpEndsAtTheFirstRealCall() throws Exception {
        JvmBackend b = JvmBackend.get();
        b.assign(new float[4], 1, 4, new float[8], 0, 2, Metric.L2, new int[1], null);
        Thread t = new Thread(() -> {
            try {
                JvmBackend.awaitWarmUp();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.start();
        // the warm-up would otherwise run for 4 s; one small batch in flight ends well before that
        t.join(3000);
        assertFalse(t.isAlive(), "warm-up still running after a real call");
    }

    @Test
    void aWarmUpThreadsRowsAreNotCountedAndReleasedScratchRegrows() throws Exception {
        JvmBackend b = new JvmBackend(JvmBackend.get().kernelsForTest());
        int d = 16;
        int k = 40;
        int n = 24;
        SplittableRandom rnd = new SplittableRandom(11);
        float[] cb = new float[k * d];
        for (int i = 0; i < cb.length; i++) {
            cb[i] = (float) rnd.nextGaussian();
        }
        System.arraycopy(cb, 0, cb, d, d); // codes 0 and 1 equal
        float[] x = new float[n * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        System.arraycopy(cb, 0, x, 0, d); // row 0 ties exactly: rescored
        int[] want = new int[n];
        ScalarBackend.INSTANCE.assign(x, n, d, cb, 0, k, Metric.L2, want, null);

        int[][] warmGot = new int[2][n];
        Thread warm = new WarmUpThread(() -> {
            b.assign(x, n, d, cb, 0, k, Metric.L2, warmGot[0], null);
            b.releaseThreadResources();
            b.assign(x, n, d, cb, 0, k, Metric.L2, warmGot[1], null);
        }, "test-warm-up");
        warm.start();
        warm.join();
        assertArrayEquals(want, warmGot[0]);
        assertArrayEquals(want, warmGot[1]);
        assertArrayEquals(new long[] {0, 0}, b.refereeCounts(), "a warm-up thread's rows are not the job's");

        int[] got = new int[n];
        b.assign(x, n, d, cb, 0, k, Metric.L2, got, null);
        assertArrayEquals(want, got);
        long[] once = b.refereeCounts();
        assertEquals(n, once[0]);
        assertEquals(true, once[1] >= 1, "the tied row is rescored: " + once[1]);
        // released buffers grow again; the counts keep going into the same totals
        b.releaseThreadResources();
        b.assign(x, n, d, cb, 0, k, Metric.L2, got, null);
        assertArrayEquals(want, got);
        assertArrayEquals(new long[] {2L * n, 2 * once[1]}, b.refereeCounts());
    }

    @Test
    void countsRowsAndTheTiedRowsItRescored() {
        JvmBackend b = new JvmBackend(JvmBackend.get().kernelsForTest());
        int d = 16;
        int k = 40;
        int n = 64;
        SplittableRandom rnd = new SplittableRandom(3);
        float[] cb = new float[k * d];
        for (int i = 0; i < cb.length; i++) {
            cb[i] = (float) rnd.nextGaussian();
        }
        System.arraycopy(cb, 0, cb, d, d); // codes 0 and 1 equal: a row at code 0 ties exactly
        float[] x = new float[n * d];
        for (int i = 0; i < n * d; i++) {
            x[i] = (float) rnd.nextGaussian() * 3;
        }
        int tied = 5;
        for (int i = 0; i < tied; i++) {
            System.arraycopy(cb, 0, x, i * d, d);
        }
        int[] want = new int[n];
        ScalarBackend.INSTANCE.assign(x, n, d, cb, 0, k, Metric.L2, want, null);
        int[] got = new int[n];
        b.assign(x, n, d, cb, 0, k, Metric.L2, got, null);
        assertArrayEquals(want, got);
        long[] c = b.refereeCounts();
        assertEquals(n, c[0]);
        // an untracked codebook in a batch below the packing size (copies are not looked for):
        // every exact tie needs the exact pass; Gaussian rows far from any tie rarely do
        assertEquals(true, c[1] >= tied && c[1] <= tied + n / 4, "rescored " + c[1]);
        b.resetRefereeCounts();
        assertArrayEquals(new long[] {0, 0}, b.refereeCounts());

        // an untracked codebook in a batch the tile packs: its copies are found per call
        int big = 3 * n; // above the kernels' packing size (96 rows)
        float[] xb = new float[big * d];
        for (int r = 0; r < big; r++) {
            System.arraycopy(x, (r % n) * d, xb, r * d, d);
        }
        int[] wantBig = new int[big];
        ScalarBackend.INSTANCE.assign(xb, big, d, cb, 0, k, Metric.L2, wantBig, null);
        int[] gotBig = new int[big];
        JvmBackend fresh = new JvmBackend(JvmBackend.get().kernelsForTest());
        fresh.assign(xb, big, d, cb, 0, k, Metric.L2, gotBig, null);
        assertArrayEquals(wantBig, gotBig);
        if (JvmBackend.vectorApiAvailable()) {
            long tiedBig = (long) tied * big / n;
            assertEquals(true, fresh.refereeCounts()[1] < tiedBig, "rescored " + fresh.refereeCounts()[1]);
        }

        // a versioned codebook: its packed entry knows that code 1 copies code 0 bit for bit; the
        // copy cannot win (the lower index keeps the tie in the reference), so the arg-max leaves
        // it out and the tied rows need no exact pass
        CodebookVersions.track(cb);
        int[] gotTracked = new int[n];
        b.assign(x, n, d, cb, 0, k, Metric.L2, gotTracked, null);
        assertArrayEquals(want, gotTracked);
        c = b.refereeCounts();
        assertEquals(n, c[0]);
        assertEquals(true, c[1] < tied, "rescored " + c[1]);
        // small batches take the codes-in-lanes kernel: the same
        b.resetRefereeCounts();
        int[] small = new int[tied];
        b.assign(x, tied, d, cb, 0, k, Metric.L2, small, null);
        assertArrayEquals(java.util.Arrays.copyOf(want, tied), small);
        assertArrayEquals(new long[] {tied, 0}, b.refereeCounts());
    }
}

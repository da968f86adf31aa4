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
        // every exact tie needs the exact pass; Gaussian rows far from any tie rarely do
        assertEquals(true, c[1] >= tied && c[1] <= tied + n / 4, "rescored " + c[1]);
        b.resetRefereeCounts();
        assertArrayEquals(new long[] {0, 0}, b.refereeCounts());
    }
}

package io.vqstream.core.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

/** The ND4J backend's per-thread workspace is created by a call and returned on request. */
class Nd4jWorkspaceReleaseTest {

    @Test
    void releaseDestroysTheThreadsWorkspaceAndLaterCallsStillWork() {
        ComputeBackend nd4j = Backends.byName("nd4j");
        SplittableRandom r = new SplittableRandom(1);
        float[] x = new float[64 * 16];
        float[] c = new float[32 * 16];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < c.length; i++) {
            c[i] = (float) r.nextGaussian();
        }
        int[] first = new int[64];
        nd4j.assign(x, 64, 16, c, 0, 32, Metric.L2, first, null);
        assertTrue(Nd4j.getWorkspaceManager().checkIfWorkspaceExists("vqstream-nd4j"));
        nd4j.releaseThreadResources();
        assertFalse(Nd4j.getWorkspaceManager().checkIfWorkspaceExists("vqstream-nd4j"));
        int[] again = new int[64];
        nd4j.assign(x, 64, 16, c, 0, 32, Metric.L2, again, null);
        assertArrayEquals(first, again);
        int[] scalar = new int[64];
        ScalarBackend.INSTANCE.assign(x, 64, 16, c, 0, 32, Metric.L2, scalar, null);
        assertArrayEquals(scalar, again);
    }
}

package io.vqstream.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VectorSupportTest {

    @Test
    void lanesFollowTheRequestWhereTheCpuHasThem() {
        assertEquals(16, VectorSupport.chooseLanes(16, 0));
        assertEquals(8, VectorSupport.chooseLanes(16, 8));
        assertEquals(8, VectorSupport.chooseLanes(8, 16));
        assertEquals(8, VectorSupport.chooseLanes(8, 0));
    }

    @Test
    void tileFitsTheRegisterFile() {
        VectorSupport.TileShape avx512 = VectorSupport.TileShape.pick(16, 32);
        assertEquals(32, avx512.rows());
        assertEquals(10, avx512.accumulators());
        VectorSupport.TileShape avx2 = VectorSupport.TileShape.pick(8, 16);
        assertEquals(16, avx2.rows());
        assertEquals(10, avx2.accumulators());
        assertEquals(16, VectorSupport.TileShape.pick(8, 32).rows());
    }

    @Test
    void badLaneRequestIsAnError() {
        String old = System.getProperty(VectorSupport.LANES_PROPERTY);
        try {
            System.setProperty(VectorSupport.LANES_PROPERTY, "12");
            assertThrows(IllegalArgumentException.class, VectorSupport::requestedLanes);
            System.setProperty(VectorSupport.LANES_PROPERTY, "8");
            assertEquals(8, VectorSupport.requestedLanes());
        } finally {
            if (old == null) {
                System.clearProperty(VectorSupport.LANES_PROPERTY);
            } else {
                System.setProperty(VectorSupport.LANES_PROPERTY, old);
            }
        }
    }

    /** Under -Dvqstream.lanes=8 (the CI's second execution) the kernels really run 8 lanes. */
    @Test
    void runningKernelsUseTheForcedWidth() {
        String forced = System.getProperty(VectorSupport.LANES_PROPERTY);
        if (VectorSupport.available() && forced != null) {
            String d = JvmBackend.get().describe();
            assertTrue(d.startsWith("Vector API, " + forced.trim() + " float lanes"), d);
        }
    }
}

package io.vqstream.operators.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.backend.JvmBackend;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KernelWarmUpTest {
    static Quantizer vq(int dim, int size) {
        return Quantizers.create("VectorQuantize", Map.of("dim", dim, "codebook_size", size));
    }

    @Test
    void warmsAShapeOnceWithinItsBudgetAndCountsNoRows() throws Exception {
        JvmBackend jvm = JvmBackend.get();
        long[] before = jvm.refereeCounts();
        KernelWarmUp.Report r = KernelWarmUp.warm(vq(24, 96), 32, jvm, 3000);
        assertNotNull(r);
        assertTrue(r.calls() > 0, r.toString());
        assertTrue(r.millis() < 3000 + 1000, "the budget bounds the warm-up: " + r);
        assertTrue(!r.settled() || r.calls() >= 8, "settling needs a full window of calls: " + r);
        assertArrayEquals(before, jvm.refereeCounts(), "rows of the warm-up are not the job's rows");
        assertNull(KernelWarmUp.warm(vq(24, 96), 32, jvm, 3000), "the same shape is warmed once per JVM");
        assertNotNull(KernelWarmUp.warm(vq(24, 96), 8, jvm, 200), "another batch size is another shape");
    }

    @Test
    void aZeroBudgetDoesNothing() throws Exception {
        assertNull(KernelWarmUp.warm(vq(8, 16), 4, JvmBackend.get(), 0));
    }

    @Test
    void theBudgetPropertyMustBeANumber() {
        String old = System.getProperty(KernelWarmUp.BUDGET_PROPERTY);
        try {
            System.setProperty(KernelWarmUp.BUDGET_PROPERTY, "soon");
            assertThrows(IllegalArgumentException.class, KernelWarmUp::budgetMillis);
            System.setProperty(KernelWarmUp.BUDGET_PROPERTY, "250");
            assertTrue(KernelWarmUp.budgetMillis() == 250);
        } finally {
            if (old == null) {
                System.clearProperty(KernelWarmUp.BUDGET_PROPERTY);
            } else {
                System.setProperty(KernelWarmUp.BUDGET_PROPERTY, old);
            }
        }
    }
}

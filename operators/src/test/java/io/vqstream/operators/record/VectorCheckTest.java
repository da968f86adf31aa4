package io.vqstream.operators.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VectorCheckTest {
    @Test
    void namesTheFirstProblemOfAVector() {
        assertNull(VectorCheck.problem(new float[] {1, -2, 3e10f}, 3));
        assertEquals("wrong dimension: vector has 2 values, the quantizer expects 3", VectorCheck.problem(new float[] {1, 2}, 3));
        assertEquals("non-finite value NaN at index 1", VectorCheck.problem(new float[] {1, Float.NaN, Float.POSITIVE_INFINITY}, 3));
        assertEquals(2, VectorCheck.firstNonFinite(new float[] {0, 1, Float.NEGATIVE_INFINITY}));
        assertEquals(-1, VectorCheck.firstNonFinite(new float[] {Float.MAX_VALUE, -Float.MAX_VALUE}));
        String huge = VectorCheck.problem(new float[] {1e30f, 1e30f}, 2);
        assertTrue(huge.startsWith("vector too large"), huge);
        assertNull(VectorCheck.problem(new float[] {1e18f, 1e18f}, 2), "a squared norm of 2e36 is within float32");
    }
}

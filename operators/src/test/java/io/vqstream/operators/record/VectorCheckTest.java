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

    /** The one-pass shortcut gives exactly the reasons of the full checks, also next to its bound. */
    @Test
    void givesTheFullChecksReasonsForEveryVector() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(9);
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7FC00001),
            Float.intBitsToFloat(0xFF800001), Float.MAX_VALUE, -Float.MAX_VALUE, 0f, -0f, Float.MIN_VALUE};
        for (int round = 0; round < 20_000; round++) {
            int n = rnd.nextInt(1, 200);
            float bound = VectorCheck.safeMagnitude(n);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = switch (rnd.nextInt(4)) {
                    case 0 -> (float) rnd.nextGaussian();
                    case 1 -> bound * (float) (rnd.nextDouble(0.5, 1.5) * (rnd.nextBoolean() ? 1 : -1));
                    case 2 -> Math.nextUp(bound) * (rnd.nextBoolean() ? 1 : -1);
                    default -> (float) (rnd.nextGaussian() * Math.sqrt(Float.MAX_VALUE / n) * rnd.nextDouble(0.5, 1.5));
                };
            }
            if (rnd.nextInt(4) == 0) {
                v[rnd.nextInt(n)] = special[rnd.nextInt(special.length)];
            }
            assertEquals(fullChecks(v), VectorCheck.problem(v, n), java.util.Arrays.toString(v));
        }
    }

    /** The checks without the shortcut. */
    static String fullChecks(float[] v) {
        int bad = VectorCheck.firstNonFinite(v);
        if (bad >= 0) {
            return "non-finite value " + v[bad] + " at index " + bad;
        }
        double squaredNorm = 0;
        for (float x : v) {
            squaredNorm += (double) x * x;
        }
        if (squaredNorm > Float.MAX_VALUE) {
            return "vector too large: its squared norm " + (float) Math.sqrt(squaredNorm) + "^2 exceeds the float32 range ("
                    + Float.MAX_VALUE + ")";
        }
        return null;
    }
}

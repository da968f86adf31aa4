package io.vqstream.operators.batch;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The one-pass finiteness test of a batch's quantized output. */
class CodeEmitterTest {

    @Test
    void findsEveryNonFiniteValueAndNoFiniteOne() {
        float[] extremes = {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 0f, -0f, 1f,
            Math.nextDown(Float.MAX_VALUE)};
        assertTrue(CodeEmitter.allFinite(extremes));
        assertTrue(CodeEmitter.allFinite(new float[0]));
        float[] bad = {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x7FC00001),
            Float.intBitsToFloat(0xFF800001), Float.intBitsToFloat(0x7F800001)};
        SplittableRandom rnd = new SplittableRandom(1);
        for (float x : bad) {
            for (int round = 0; round < 50; round++) {
                float[] q = new float[rnd.nextInt(1, 300)];
                for (int i = 0; i < q.length; i++) {
                    q[i] = extremes[rnd.nextInt(extremes.length)];
                }
                assertTrue(CodeEmitter.allFinite(q));
                q[rnd.nextInt(q.length)] = x;
                assertFalse(CodeEmitter.allFinite(q), "missed " + x);
            }
        }
    }
}

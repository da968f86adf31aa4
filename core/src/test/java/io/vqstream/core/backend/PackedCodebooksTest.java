package io.vqstream.core.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PackedCodebooksTest {

    private static float[] norms(float[] cb, int off, int k, int d) {
        float[] n = new float[k];
        for (int j = 0; j < k; j++) {
            for (int e = 0; e < d; e++) {
                n[j] += cb[off + j * d + e] * cb[off + j * d + e];
            }
        }
        return n;
    }

    @Test
    void peekBuildsNothingAndALayoutIsWantedFromItsSecondAsker() {
        float[] cb = new float[4 * 3];
        for (int i = 0; i < cb.length; i++) {
            cb[i] = i * 0.5f - 2f;
        }
        assertNull(PackedCodebooks.peek(cb, 0, 4, 3), "untracked");
        CodebookVersions.track(cb);
        assertNull(PackedCodebooks.peek(cb, 0, 4, 3), "nothing built yet");
        PackedCodebooks.Entry e = PackedCodebooks.get(cb, 0, 4, 3, PackedCodebooksTest::norms);
        assertSame(e, PackedCodebooks.peek(cb, 0, 4, 3));
        assertFalse(e.wantsLayout(1), "first asker: not worth building");
        assertTrue(e.wantsLayout(1), "second asker");
        assertFalse(e.wantsLayout(0), "per slot");
        e.layout(0, cb, 0, (c, o, k, d, spare) -> new float[k * d]);
        assertTrue(e.wantsLayout(0), "a built layout is always wanted");
        CodebookVersions.modified(cb);
        assertNull(PackedCodebooks.peek(cb, 0, 4, 3), "a new version has no entry until built");
    }

    /** {@code withoutCopies} by brute force: −∞ where a lower code has the same bits. */
    private static float[] copiesByPairs(float[] cb, int off, int k, int d, float[] bias) {
        float[] out = bias.clone();
        for (int j = 0; j < k; j++) {
            for (int i = 0; i < j; i++) {
                boolean same = true;
                for (int e = 0; e < d && same; e++) {
                    same = Float.floatToRawIntBits(cb[off + i * d + e]) == Float.floatToRawIntBits(cb[off + j * d + e]);
                }
                if (same) {
                    out[j] = Float.NEGATIVE_INFINITY;
                    break;
                }
            }
        }
        return out;
    }

    @Test
    void copiesAreFoundWhetherOrNotNormsRepeat() {
        int k = 300;
        int d = 7;
        int off = 5;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        float[] cb = new float[off + k * d];
        for (int i = 0; i < cb.length; i++) {
            cb[i] = (float) rnd.nextGaussian();
        }
        float[] bias = new float[k];
        for (int j = 0; j < k; j++) {
            bias[j] = -j;
        }
        float[] n = norms(cb, off, k, d);
        assertArrayEquals(bias, PackedCodebooks.withoutCopies(cb, off, k, d, bias, n), "distinct codes");

        // code 40 negated into 41: the same norm bits, different codes; 200 a copy of 7, 250 of 200
        for (int e = 0; e < d; e++) {
            cb[off + 41 * d + e] = -cb[off + 40 * d + e];
            cb[off + 200 * d + e] = cb[off + 7 * d + e];
            cb[off + 250 * d + e] = cb[off + 7 * d + e];
        }
        n = norms(cb, off, k, d);
        float[] got = PackedCodebooks.withoutCopies(cb, off, k, d, bias, n);
        assertArrayEquals(copiesByPairs(cb, off, k, d, bias), got);
        assertEquals(-41f, got[41], "a negated code is no copy");
        assertEquals(Float.NEGATIVE_INFINITY, got[200]);
        assertEquals(Float.NEGATIVE_INFINITY, got[250]);
        assertEquals(-7f, got[7], "the original keeps its bias");

        // an equal-norm pair that differs, and then many copies of one code next to other codes of its norm
        float[] only = {1f, 2f, -1f, -2f, 0f, 0f};
        float[] n2 = norms(only, 0, 3, 2);
        assertArrayEquals(new float[] {0f, -1f, -2f}, PackedCodebooks.withoutCopies(only, 0, 3, 2, new float[] {0f, -1f, -2f}, n2));
        float[] many = new float[60 * 2];
        for (int j = 0; j < 60; j++) {
            // codes (±1, ±2) in a repeating pattern of four: every norm is 5, codes 4.. copy codes 0..3
            many[2 * j] = (j & 1) == 0 ? 1f : -1f;
            many[2 * j + 1] = (j & 2) == 0 ? 2f : -2f;
        }
        float[] bias60 = new float[60];
        float[] got60 = PackedCodebooks.withoutCopies(many, 0, 60, 2, bias60, norms(many, 0, 60, 2));
        assertArrayEquals(copiesByPairs(many, 0, 60, 2, bias60), got60);
        assertEquals(0f, got60[3]);
        assertEquals(Float.NEGATIVE_INFINITY, got60[4]);
    }
}

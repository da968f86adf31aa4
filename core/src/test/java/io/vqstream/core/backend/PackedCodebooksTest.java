package io.vqstream.core.backend;

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
}

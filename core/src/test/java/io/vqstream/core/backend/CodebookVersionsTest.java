package io.vqstream.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CodebookVersionsTest {

    @Test
    void firstSightIsOncePerVersionOfATrackedCodebook() {
        float[] untracked = new float[8];
        assertFalse(CodebookVersions.firstSight(untracked), "untracked arrays are never cached, so never 'first'");
        assertEquals(CodebookVersions.UNTRACKED, CodebookVersions.of(untracked));

        float[] cb = new float[8];
        CodebookVersions.track(cb);
        assertTrue(CodebookVersions.firstSight(cb));
        assertFalse(CodebookVersions.firstSight(cb));
        assertFalse(CodebookVersions.firstSight(cb));
        CodebookVersions.modified(cb);
        assertEquals(1, CodebookVersions.of(cb));
        assertTrue(CodebookVersions.firstSight(cb), "a new version is seen for the first time");
        assertFalse(CodebookVersions.firstSight(cb));
        CodebookVersions.track(cb);
        assertFalse(CodebookVersions.firstSight(cb), "tracking again changes nothing");
    }
}

package io.vqstream.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every key maps to a distinct, writable file name; short names map back to their keys. */
class KeyFileNamesTest {
    @Test
    void plainKeysAreTheirOwnNames() {
        assertEquals("sensor-7", KeyFileNames.nameOf("sensor-7"));
        assertEquals("a.b_C", KeyFileNames.nameOf("a.b_C"));
        assertEquals("a%2Fb", KeyFileNames.nameOf("a/b"));
        assertEquals("%00", KeyFileNames.nameOf("\u0000"));
        assertEquals("%2E%2E", KeyFileNames.nameOf(".."));
        assertEquals("%2Ehidden", KeyFileNames.nameOf(".hidden"));
        assertEquals("~", KeyFileNames.nameOf(""));
    }

    @Test
    void anyKeyGetsADistinctWritableNameAndShortNamesRoundTrip(@TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(11);
        Map<String, String> seen = new HashMap<>();
        String[] fixed = {"", ".", "..", "a/b", "a%2Fb", "a\\b", "\u0000", "a b", "a+b", "~", "x".repeat(300), "é".repeat(200),
                "x".repeat(120), "x".repeat(121), "%".repeat(50), "CON", "a:b", "a*b?", "\uD83D\uDE00"};
        for (int i = 0; i < 3000; i++) {
            String key;
            if (i < fixed.length) {
                key = fixed[i];
            } else {
                int len = r.nextInt(i % 10 == 0 ? 400 : 12);
                StringBuilder b = new StringBuilder();
                for (int j = 0; j < len; j++) {
                    int kind = r.nextInt(4);
                    b.appendCodePoint(kind == 0 ? r.nextInt(0x20) : kind == 1 ? 'a' + r.nextInt(3) : kind == 2 ? "./%~-_ +\\:"
                            .charAt(r.nextInt(10)) : 0xA0 + r.nextInt(0x2000));
                }
                key = b.toString();
            }
            String name = KeyFileNames.nameOf(key);
            String other = seen.put(name, key);
            assertTrue(other == null || other.equals(key), "collision: '" + key + "' and '" + other + "' -> " + name);
            assertTrue(name.getBytes(StandardCharsets.UTF_8).length <= 128, name);
            assertFalse(name.contains("/") || name.contains("\\") || name.contains("\u0000") || name.equals(".") || name.equals(".."));
            String back = KeyFileNames.keyOf(name);
            if (name.contains("~") && !key.isEmpty()) {
                assertNull(back);
            } else {
                assertEquals(key, back, name);
            }
            if (i < 200) {
                Files.write(dir.resolve(name + "@12.safetensors"), new byte[] {1});
            }
        }
        assertNull(KeyFileNames.keyOf("a%2fb"), "only names nameOf makes are read back");
        assertNull(KeyFileNames.keyOf("a b"));
    }
}

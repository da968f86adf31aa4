package io.vqstream.core.io;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The one mapping from stream keys to file names, used wherever a key names a file (the per-key
 * codebook directory, {@code --codebooks-out}, savepoint export and bootstrap). Every key has a
 * name, two keys never share one, and a name is a safe single path element on every common file
 * system.
 *
 * <ul>
 *   <li>A key of letters, digits, {@code _ - .} (not starting with '.') of at most
 *       {@value #MAX_PLAIN} bytes is its own name: {@code sensor-7} → {@code sensor-7}.</li>
 *   <li>Any other key is escaped: each UTF-8 byte outside {@code [A-Za-z0-9_-]} (and a '.'
 *       anywhere, so no name is {@code .} or {@code ..}) becomes {@code %XX}:
 *       {@code a/b} → {@code a%2Fb}, {@code \u0000} → {@code %00}. Escaping is injective and
 *       leaves plain names alone only when they are plain keys, so names do not collide.</li>
 *   <li>An escaped name longer than {@value #MAX_PLAIN} bytes is cut to its first 80 bytes (not
 *       inside an escape), followed by {@code ~} and the first 32 hex digits of the key's SHA-256:
 *       {@code ~} never occurs otherwise, so a hashed name collides only if SHA-256 prefixes do.
 *       Such a name cannot be turned back into its key: {@link #keyOf} returns null and readers
 *       take the key from the file's metadata instead.</li>
 * </ul>
 * The empty key is named {@code ~}. Names stay under 128 bytes, with room for a suffix such as {@code @<version>.safetensors}
 * within the usual 255-byte limit.
 */
public final class KeyFileNames {
    /** Longest plain or escaped name kept as is, in bytes. */
    public static final int MAX_PLAIN = 120;
    private static final int HASHED_PREFIX = 80;
    /** The name of the empty key. */
    private static final String EMPTY = "~";

    private KeyFileNames() {}

    /** The file name (without extension) of a key. */
    public static String nameOf(String key) {
        if (key.isEmpty()) {
            return EMPTY;
        }
        byte[] utf8 = key.getBytes(StandardCharsets.UTF_8);
        if (isPlain(key, utf8)) {
            return key;
        }
        StringBuilder b = new StringBuilder(utf8.length * 3);
        for (byte x : utf8) {
            int c = x & 0xff;
            if (c < 0x80 && (Character.isLetterOrDigit(c) || c == '_' || c == '-')) {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        if (b.length() <= MAX_PLAIN) {
            return b.toString();
        }
        int cut = HASHED_PREFIX;
        // do not split an escape
        if (b.charAt(cut - 1) == '%') {
            cut -= 1;
        } else if (b.charAt(cut - 2) == '%') {
            cut -= 2;
        }
        return b.substring(0, cut) + "~" + sha256Hex(utf8).substring(0, 32);
    }

    /** The key of a name made by {@link #nameOf}; null for a hashed name, or a name {@link #nameOf} never makes. */
    public static String keyOf(String name) {
        if (name.equals(EMPTY)) {
            return "";
        }
        if (name.isEmpty() || name.indexOf('~') >= 0) {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '%') {
                if (i + 2 >= name.length()) {
                    return null;
                }
                int hi = Character.digit(name.charAt(i + 1), 16);
                int lo = Character.digit(name.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    return null;
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else if (c < 0x80) {
                out.write(c);
            } else {
                return null;
            }
        }
        String key = new String(out.toByteArray(), StandardCharsets.UTF_8);
        return nameOf(key).equals(name) ? key : null;
    }

    private static boolean isPlain(String key, byte[] utf8) {
        if (key.isEmpty() || utf8.length > MAX_PLAIN || key.charAt(0) == '.') {
            return false;
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!(c < 0x80 && (Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.'))) {
                return false;
            }
        }
        return true;
    }

    private static String sha256Hex(byte[] b) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(b);
            StringBuilder s = new StringBuilder(64);
            for (byte x : d) {
                s.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
            }
            return s.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

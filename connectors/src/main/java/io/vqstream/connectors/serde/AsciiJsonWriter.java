package io.vqstream.connectors.serde;

import java.util.Arrays;
import org.apache.flink.annotation.Internal;

/**
 * Writes compact JSON straight into a byte array, for the fields of the hot output records: plain
 * ASCII strings, 64-bit integers and finite floats (as {@link Float#toString}, which is how the
 * general Jackson writer prints them). It writes the same bytes the general writer would; a
 * caller checks with {@link #plainAscii} that a string needs no escaping before it uses this.
 */
@Internal
final class AsciiJsonWriter {
    private byte[] buf;
    private int n;

    AsciiJsonWriter(int capacity) {
        buf = new byte[Math.max(16, capacity)];
    }

    /** Whether {@code s} is printable ASCII without quote or backslash (written as it is). */
    static boolean plainAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
                return false;
            }
        }
        return true;
    }

    private void ensure(int more) {
        if (n + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, n + more));
        }
    }

    AsciiJsonWriter raw(char c) {
        ensure(1);
        buf[n++] = (byte) c;
        return this;
    }

    /** {@code "name":} with a leading comma unless first. */
    AsciiJsonWriter name(String name, boolean first) {
        ensure(name.length() + 4);
        if (!first) {
            buf[n++] = ',';
        }
        buf[n++] = '"';
        for (int i = 0; i < name.length(); i++) {
            buf[n++] = (byte) name.charAt(i);
        }
        buf[n++] = '"';
        buf[n++] = ':';
        return this;
    }

    /** A string that passed {@link #plainAscii}. */
    AsciiJsonWriter string(String s) {
        ensure(s.length() + 2);
        buf[n++] = '"';
        for (int i = 0; i < s.length(); i++) {
            buf[n++] = (byte) s.charAt(i);
        }
        buf[n++] = '"';
        return this;
    }

    AsciiJsonWriter number(long v) {
        ensure(20);
        if (v == Long.MIN_VALUE) {
            return ascii(Long.toString(v));
        }
        if (v < 0) {
            buf[n++] = '-';
            v = -v;
        }
        int digits = 1;
        for (long t = v; t >= 10; t /= 10) {
            digits++;
        }
        int end = n + digits;
        for (int i = end - 1; i >= n; i--) {
            buf[i] = (byte) ('0' + (v % 10));
            v /= 10;
        }
        n = end;
        return this;
    }

    AsciiJsonWriter number(float v) {
        return ascii(Float.toString(v));
    }

    private AsciiJsonWriter ascii(String s) {
        ensure(s.length());
        for (int i = 0; i < s.length(); i++) {
            buf[n++] = (byte) s.charAt(i);
        }
        return this;
    }

    byte[] toBytes() {
        return Arrays.copyOf(buf, n);
    }
}

package io.vqstream.connectors.serde;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Little-endian reads over a payload; running past its end is a {@link MalformedPayloadException}. */
final class BinaryReader {
    private final byte[] bytes;
    private final ByteBuffer buf;
    private final String what;

    BinaryReader(byte[] bytes, String what) {
        this.bytes = bytes;
        this.buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        this.what = what;
    }

    int position() {
        return buf.position();
    }

    private void need(int n, String field) {
        if (buf.remaining() < n) {
            throw new MalformedPayloadException(what + " of " + bytes.length + " bytes is truncated: " + field
                    + " needs " + n + " bytes at offset " + buf.position());
        }
    }

    /** Checks the leading format version byte. */
    void version(int expected) {
        need(1, "the format version");
        int v = buf.get() & 0xff;
        if (v != expected) {
            throw new MalformedPayloadException(what + " has format version byte " + v + ", expected " + expected);
        }
    }

    int u8(String field) {
        need(1, field);
        return buf.get() & 0xff;
    }

    int u16(String field) {
        need(2, field);
        return buf.getShort() & 0xffff;
    }

    long u32(String field) {
        need(4, field);
        return buf.getInt() & 0xffffffffL;
    }

    long i64(String field) {
        need(8, field);
        return buf.getLong();
    }

    float f32(String field) {
        need(4, field);
        return buf.getFloat();
    }

    /**
     * Fills {@code into} with consecutive f32 values in one bulk copy (the caller checked the
     * length with {@link #expectExactly}); a per-element read that names its element for an error
     * built a string per float.
     */
    void f32s(float[] into, String field) {
        need(4 * into.length, field);
        buf.asFloatBuffer().get(into);
        buf.position(buf.position() + 4 * into.length);
    }

    /** A u16 length then that many UTF-8 bytes: a non-empty stream key. */
    String key() {
        int len = u16("the key length");
        if (len == 0) {
            throw new MalformedPayloadException("key is empty");
        }
        if (len > StrictJson.MAX_KEY_BYTES) {
            throw new MalformedPayloadException("key of " + len + " UTF-8 bytes exceeds the limit of " + StrictJson.MAX_KEY_BYTES);
        }
        need(len, "the key");
        String key = Utf8.decodeOrNull(bytes, buf.position(), len);
        if (key == null) {
            throw new MalformedPayloadException("key is not valid UTF-8");
        }
        buf.position(buf.position() + len);
        return key;
    }

    /** Checks that exactly {@code count} elements of {@code size} bytes remain after {@code trailer} more. */
    void expectExactly(long count, int size, int trailer, String field) {
        long expected = (long) buf.position() + count * size + trailer;
        if (expected != bytes.length) {
            throw new MalformedPayloadException(what + " of " + bytes.length + " bytes does not match its header: "
                    + field + " needs a total of " + expected + " bytes");
        }
    }

    byte[] bytes(int n, String field) {
        need(n, field);
        byte[] out = new byte[n];
        buf.get(out);
        return out;
    }

    void expectEnd() {
        if (buf.hasRemaining()) {
            throw new MalformedPayloadException(what + " has " + buf.remaining() + " bytes after its last field");
        }
    }
}

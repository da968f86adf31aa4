package io.vqstream.connectors.serde;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.flink.annotation.Internal;

/**
 * A single-pass reader of the common shape of a JSON vector payload, straight from the bytes into
 * the record's float array: {@code key} (a plain ASCII string), {@code seq}, {@code ts},
 * {@code vector} and {@code mask}, in any order, with any JSON whitespace.
 *
 * <p>Why: the general path (Jackson's streaming parser, a token and a text buffer per number)
 * took more than half of a Kafka source thread's time at D=128. This reader accepts only what it
 * understands completely and then gives exactly the general path's record; for anything else —
 * escapes, non-ASCII keys, other fields, {@code null}s, malformed text, numbers it cannot round
 * with certainty — it returns {@code null}, and the caller runs the general path, which gives the
 * same record or the same error it always did. So errors and their wording stay where they are.
 *
 * <p>Numbers: the decimal significand {@code w} (at most 19 digits) and exponent {@code e} give
 * <pre>
 *   d = w · 10^e          (one or two double roundings; |e| ≤ 22, so 10^|e| is exact)
 *   f = (float) d
 * </pre>
 * which is the correctly rounded float of the decimal unless the exact value lies so close to a
 * midpoint between two floats that the double error (under 3 units in the last place of d, i.e.
 * 2^-29 of a float's) could put {@code d} on the other side. The 29 bits of {@code d} below float
 * precision measure that distance; within 8 units of the midpoint the number is read by
 * {@link Float#parseFloat} instead. (Clinger, "How to Read Floating Point Numbers Accurately",
 * PLDI 1990: the exact-operand fast path; Lemire, "Number Parsing at a Gigabyte per Second",
 * 2021: the same idea with a wider fallback test.)
 *
 * <p>Arrays: a number followed by a comma is read from two 8-byte words that also give the
 * comma's position ({@link #plainNumber}), without a loop over its bytes; the next number's start
 * then depends only on that comma search, so the processor overlaps the reading of consecutive
 * numbers (bench/README.md, JsonDecodeBenchmark). A number that reader does not take (an exponent,
 * more than 15 digits, a zero, the last one, other spacing than one blank after the comma) is
 * read by the one-number reader in its place.
 */
@Internal
final class FastVectorJson {
    private static final double[] POW10 = new double[23];
    private static final long MIDPOINT = 1L << 28;
    private static final long LOW29 = (1L << 29) - 1;
    /** How close (in units of the double's last place) to a float midpoint is too close to decide. */
    private static final long MARGIN = 8;
    /** 10^k for k = 0..8, the scale of the next k digits. */
    private static final long[] POW10_LONG = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000};
    /** Eight payload bytes as one little-endian long: the first byte is the lowest. */
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** {@link #plainNumber}'s answer for a text it leaves to {@link #number}. */
    static final long NOT_FAST = -1L;
    /** How many bytes from a number's end on must exist for {@link #plainNumber}, which reads 16 bytes from at most one past its start. */
    static final int FAST_ROOM = 16;

    static {
        double p = 1;
        for (int i = 0; i < POW10.length; i++) {
            POW10[i] = p;
            p *= 10;
        }
    }

    /** The fields read; {@code present} bits say which were there. */
    static final class Fields {
        String key;
        long seq;
        long ts;
        float[] vector;
        boolean mask = true;
        int present;
        static final int KEY = 1;
        static final int SEQ = 2;
        static final int TS = 4;
        static final int VECTOR = 8;
        static final int MASK = 16;
    }

    private final byte[] b;
    private int pos;
    private final int expectedDimension;

    private FastVectorJson(byte[] payload, int expectedDimension) {
        this.b = payload;
        this.expectedDimension = expectedDimension;
    }

    /**
     * The payload's fields, or null when this reader does not take the payload (the general path
     * must then read it). {@code expectedDimension} (0: any) only sizes the float array.
     */
    static Fields read(byte[] payload, int expectedDimension) {
        try {
            return new FastVectorJson(payload, expectedDimension).object();
        } catch (Bail e) {
            return null;
        }
    }

    /** Not this reader's payload: unwinds to {@link #read}. Stackless, since it is control flow. */
    private static final class Bail extends RuntimeException {
        static final Bail INSTANCE = new Bail();

        private Bail() {
            super(null, null, false, false);
        }
    }

    private static Bail bail() {
        return Bail.INSTANCE;
    }

    private Fields object() {
        Fields f = new Fields();
        skipSpace();
        expect('{');
        skipSpace();
        if (peek() == '}') {
            throw bail();
        }
        while (true) {
            int field = fieldName();
            if ((f.present & field) != 0) {
                throw bail(); // duplicate: the general path names it
            }
            f.present |= field;
            skipSpace();
            expect(':');
            skipSpace();
            switch (field) {
                case Fields.KEY -> f.key = key();
                case Fields.SEQ -> f.seq = int64();
                case Fields.TS -> f.ts = int64();
                case Fields.VECTOR -> f.vector = floats();
                case Fields.MASK -> f.mask = bool();
                default -> throw bail();
            }
            if (closedAfterMember('}')) {
                break;
            }
        }
        skipSpace();
        if (pos != b.length || (f.present & (Fields.KEY | Fields.VECTOR)) != (Fields.KEY | Fields.VECTOR)) {
            throw bail();
        }
        return f;
    }

    private int fieldName() {
        expect('"');
        int start = pos;
        while (pos < b.length && b[pos] != '"') {
            if (b[pos] == '\\') {
                throw bail();
            }
            pos++;
        }
        int len = pos - start;
        expect('"');
        if (len == 3 && b[start] == 'k' && b[start + 1] == 'e' && b[start + 2] == 'y') {
            return Fields.KEY;
        }
        if (len == 3 && b[start] == 's' && b[start + 1] == 'e' && b[start + 2] == 'q') {
            return Fields.SEQ;
        }
        if (len == 2 && b[start] == 't' && b[start + 1] == 's') {
            return Fields.TS;
        }
        if (len == 6 && b[start] == 'v' && b[start + 1] == 'e' && b[start + 2] == 'c' && b[start + 3] == 't' && b[start + 4] == 'o'
                && b[start + 5] == 'r') {
            return Fields.VECTOR;
        }
        if (len == 4 && b[start] == 'm' && b[start + 1] == 'a' && b[start + 2] == 's' && b[start + 3] == 'k') {
            return Fields.MASK;
        }
        throw bail();
    }

    /** A non-empty string of printable ASCII without escapes, within the key limit. */
    private String key() {
        expect('"');
        int start = pos;
        while (pos < b.length) {
            int c = b[pos];
            if (c == '"') {
                break;
            }
            if (c < 0x20 || c == '\\' || c >= 0x7f) {
                throw bail();
            }
            pos++;
        }
        int len = pos - start;
        expect('"');
        if (len == 0 || len > StrictJson.MAX_KEY_BYTES) {
            throw bail();
        }
        return new String(b, start, len, StandardCharsets.ISO_8859_1);
    }

    private boolean bool() {
        if (matches("true")) {
            return true;
        }
        if (matches("false")) {
            return false;
        }
        throw bail();
    }

    private boolean matches(String word) {
        if (pos + word.length() > b.length) {
            return false;
        }
        for (int i = 0; i < word.length(); i++) {
            if (b[pos + i] != word.charAt(i)) {
                return false;
            }
        }
        pos += word.length();
        return true;
    }

    /** A JSON integer of at most 18 digits (no fraction, no exponent). */
    private long int64() {
        boolean negative = false;
        if (peek() == '-') {
            negative = true;
            pos++;
        }
        int start = pos;
        long v = 0;
        while (pos < b.length && b[pos] >= '0' && b[pos] <= '9') {
            v = v * 10 + (b[pos] - '0');
            pos++;
        }
        int digits = pos - start;
        if (digits == 0 || digits > 18 || (digits > 1 && b[start] == '0')) {
            throw bail();
        }
        if (pos < b.length && (b[pos] == '.' || b[pos] == 'e' || b[pos] == 'E')) {
            throw bail();
        }
        return negative ? -v : v;
    }

    private float[] floats() {
        expect('[');
        skipSpace();
        if (peek() == ']') {
            throw bail();
        }
        final byte[] b = this.b;
        final int end = b.length;
        float[] v = new float[expectedDimension > 0 ? expectedDimension : 64];
        int n = 0;
        int p = pos;
        while (true) {
            if (n == v.length) {
                if (expectedDimension > 0) {
                    throw bail(); // too long: the general path reports the dimension
                }
                v = Arrays.copyOf(v, n * 2);
            }
            // A plain number followed by a comma: the comma is found in the two words the number
            // is read from, so the next number's start waits only for that search, not for the
            // reading.
            if (p + 15 + FAST_ROOM <= end) { // a comma within 16 bytes, then plainNumber
                long head = (long) LONG_LE.get(b, p);
                long tail = (long) LONG_LE.get(b, p + 8);
                long commas = zeroBytes(head ^ 0x2C2C2C2C2C2C2C2CL);
                long later = zeroBytes(tail ^ 0x2C2C2C2C2C2C2C2CL);
                int stop = p + (commas != 0 ? Long.numberOfTrailingZeros(commas) >>> 3 : 8 + (Long.numberOfTrailingZeros(later) >>> 3));
                long read = (commas | later) != 0 ? plainNumber(b, p, stop) : NOT_FAST;
                if (read != NOT_FAST) {
                    v[n++] = Float.intBitsToFloat((int) read);
                    p = stop + 1;
                    if (b[p] == ' ') {
                        p++;
                    }
                    continue;
                }
            }
            // anything else (the last number, an exponent, other spacing): one number and its separator
            pos = p;
            skipSpace();
            v[n++] = number();
            if (closedAfterMember(']')) {
                break;
            }
            p = pos;
        }
        return n == v.length ? v : Arrays.copyOf(v, n);
    }

    /** The high bit of every zero byte of {@code x}, exactly (no borrow between bytes). */
    private static long zeroBytes(long x) {
        long low7 = (x & 0x7F7F7F7F7F7F7F7FL) + 0x7F7F7F7F7F7F7F7FL; // high bit set where the low 7 bits are not all zero
        return ~(low7 | x | 0x7F7F7F7F7F7F7F7FL);
    }

    /**
     * The plain number text between {@code start} and {@code stop}: {@code [-]I.F} with the point
     * among its first 8 bytes after the sign, no leading zero, 2 to 15 digits in all, not zero —
     * what Java, Python and most JSON writers print for a float — read from two 8-byte words
     * without a loop over its bytes: the point is found and squeezed out, leaving the digits
     * {@code IF} in one word and (beyond 8 digits) the next, which {@link #digitsValue} joins:
     * <pre>
     *   w = IF as an integer          (w &lt; 10^15 &lt; 2^53: exact in a double)
     *   d = w / 10^|F|                (|F| ≤ 14: one correctly rounded division)
     *   f = (float) d                 unless d is within {@link #MARGIN} units of a float midpoint (class comment)
     * </pre>
     * Returns the float's bits, or {@link #NOT_FAST} for any other text, which {@link #number}
     * then reads. Reads the 16 bytes after the sign, so needs {@link #FAST_ROOM} bytes from {@code stop}.
     */
    static long plainNumber(byte[] b, int start, int stop) {
        int negative = b[start] == '-' ? 1 : 0;
        int s = start + negative;
        int len = stop - s;
        long head = (long) LONG_LE.get(b, s);
        long tail = (long) LONG_LE.get(b, s + 8);
        long points = zeroBytes(head ^ 0x2E2E2E2E2E2E2E2EL);
        int point = Long.numberOfTrailingZeros(points) >>> 3; // 8: none in the first word
        long before = ((points & -points) >>> 7) - 1; // the bytes before the point
        // the point squeezed out: the bytes after it move down one, the next word's first fills the top
        long first8 = (head & before) | ((head >>> 8) & ~before) | (tail << 56);
        long next7 = tail >>> 8;
        int digits = len - 1;
        int k1 = Math.min(digits, 8);
        int k2 = digits - k1;
        int fracDigits = digits - point;
        // at least one digit on each side of a point that lies in this number, at most 15 digits, all digits
        if (((fracDigits - 1) | (point - 1) | (7 - point) | (15 - digits) | (leadingDigits(first8) - k1) | (leadingDigits(next7) - k2)) < 0
                || (point > 1 && (byte) head == '0')) {
            return NOT_FAST;
        }
        long w = digitsValue(first8, k1) * POW10_LONG[k2] + (digitsValue(next7, k2) & -((k2 + 7) >>> 3));
        if (w == 0) {
            return NOT_FAST; // the general path gives zeros their sign
        }
        double d = (double) w / POW10[fracDigits];
        if (Math.abs((Double.doubleToRawLongBits(d) & LOW29) - MIDPOINT) <= MARGIN) {
            return NOT_FAST;
        }
        return (Float.floatToRawIntBits((float) d) | (negative << 31)) & 0xFFFF_FFFFL;
    }

    /**
     * How many of the 8 bytes of {@code word} (little-endian: its low byte comes first in the
     * text) are ASCII digits before the first other byte, 0 to 8. A byte is a digit when its high
     * nibble is 3 and adding 6 keeps it so:
     * <pre>
     *   other  = ((word &amp; 0xF0…) ^ 0x30…) | (((word + 0x06…) &amp; 0xF0…) ^ 0x30…)
     *   digits = trailingZeros(other) / 8
     * </pre>
     * (A carry out of one byte of the sum reaches only later bytes, after a byte already counted as other.)
     */
    static int leadingDigits(long word) {
        long highNibbles = word & 0xF0F0F0F0F0F0F0F0L;
        long afterSix = (word + 0x0606060606060606L) & 0xF0F0F0F0F0F0F0F0L;
        long other = (highNibbles ^ 0x3030303030303030L) | (afterSix ^ 0x3030303030303030L);
        return Long.numberOfTrailingZeros(other) >>> 3;
    }

    /**
     * The decimal value of the first {@code k} (1 to 8) digit bytes of {@code word}: the digits
     * are moved to the top bytes (zeros before them), joined into pairs {@code P0..P3} (in bytes 0,
     * 2, 4, 6), and two multiplications place the pairs' scales in the upper half:
     * <pre>
     *   x = (word − 0x30…) &lt;&lt; 8·(8 − k)
     *   x = 10·x + (x &gt;&gt; 8)                                   byte 2i: P_i = 10·d_2i + d_2i+1 ≤ 99
     *   v = ((x &amp; 0xFF000000FF)·(100 + 10^6·2^32) + ((x &gt;&gt; 16) &amp; 0xFF000000FF)·(1 + 10^4·2^32)) &gt;&gt; 32
     *     = 10^6·P0 + 10^4·P1 + 100·P2 + P3
     * </pre>
     * (For k = 0 the shift is by 64, i.e. none, and the result is garbage: callers mask it.)
     */
    static long digitsValue(long word, int k) {
        long x = (word - 0x3030303030303030L) << (64 - 8 * k); // borrows run only into the bytes shifted out
        x = x * 10 + (x >>> 8);
        return ((x & 0x000000FF000000FFL) * (100 + (1_000_000L << 32)) + ((x >>> 16) & 0x000000FF000000FFL) * (1 + (10_000L << 32))) >>> 32;
    }

    /**
     * One JSON number as the correctly rounded finite float32. The common text (at most 18
     * digits) is scanned in one tight loop per part; longer texts take {@link #numberCareful}.
     */
    private float number() {
        final byte[] b = this.b;
        final int end = b.length;
        int start = pos;
        int p = pos;
        boolean negative = p < end && b[p] == '-';
        if (negative) {
            p++;
        }
        int intStart = p;
        long w = 0;
        while (p < end) {
            int d = b[p] - '0';
            if (d < 0 || d > 9) {
                break;
            }
            w = w * 10 + d;
            p++;
        }
        int intDigits = p - intStart;
        if (intDigits == 0 || (intDigits > 1 && b[intStart] == '0')) {
            throw bail();
        }
        int fracDigits = 0;
        boolean integer = true;
        if (p < end && b[p] == '.') {
            integer = false;
            int fracStart = ++p;
            while (p < end) {
                int d = b[p] - '0';
                if (d < 0 || d > 9) {
                    break;
                }
                w = w * 10 + d;
                p++;
            }
            fracDigits = p - fracStart;
            if (fracDigits == 0) {
                throw bail();
            }
        }
        if (intDigits + fracDigits > 18) {
            pos = start; // w may have overflowed: read the text again, carefully
            return numberCareful();
        }
        pos = p;
        int exponent = -fracDigits;
        if (p < end && (b[p] == 'e' || b[p] == 'E')) {
            integer = false;
            exponent += exponentPart();
        }
        return toFloat(w, exponent, negative, integer, start);
    }

    /** {@link #number()} for texts of more than 18 digits: leading zeros skipped, digits past 19 significant ones must be zeros. */
    private float numberCareful() {
        int start = pos;
        boolean negative = false;
        if (peek() == '-') {
            negative = true;
            pos++;
        }
        long w = 0;
        int significant = 0;
        int dropped = 0; // digits of the integer part beyond 19 significant ones
        int intStart = pos;
        while (pos < b.length && b[pos] >= '0' && b[pos] <= '9') {
            int d = b[pos] - '0';
            if (significant < 19) {
                if (w != 0 || d != 0) {
                    w = w * 10 + d;
                    significant++;
                }
            } else {
                dropped++;
                if (d != 0) {
                    throw bail();
                }
            }
            pos++;
        }
        int intDigits = pos - intStart;
        if (intDigits == 0 || (intDigits > 1 && b[intStart] == '0')) {
            throw bail();
        }
        int exponent = dropped;
        boolean integer = true;
        if (pos < b.length && b[pos] == '.') {
            integer = false;
            pos++;
            int fracStart = pos;
            while (pos < b.length && b[pos] >= '0' && b[pos] <= '9') {
                int d = b[pos] - '0';
                if (significant < 19) {
                    if (w != 0 || d != 0) {
                        w = w * 10 + d;
                        significant++;
                    }
                    exponent--;
                } else if (d != 0) {
                    throw bail();
                }
                pos++;
            }
            if (pos == fracStart) {
                throw bail();
            }
        }
        if (pos < b.length && (b[pos] == 'e' || b[pos] == 'E')) {
            integer = false;
            exponent += exponentPart();
        }
        return toFloat(w, exponent, negative, integer, start);
    }

    /** The exponent after the {@code e} at {@link #pos} (capped far beyond float range), advancing past it. */
    private int exponentPart() {
        int p = pos + 1;
        boolean negative = false;
        if (p < b.length && (b[p] == '+' || b[p] == '-')) {
            negative = b[p] == '-';
            p++;
        }
        int start = p;
        int e = 0;
        while (p < b.length && b[p] >= '0' && b[p] <= '9') {
            if (e < 10_000) {
                e = e * 10 + (b[p] - '0');
            }
            p++;
        }
        if (p == start) {
            throw bail();
        }
        pos = p;
        return negative ? -e : e;
    }

    /** The float of {@code ±w·10^exponent} (the text from {@code start} to {@link #pos}), or a bail. */
    private float toFloat(long w, int exponent, boolean negative, boolean integer, int start) {
        if (w == 0) {
            // the general path reads an integer token as a long, so "-0" is +0 there
            return negative && !integer ? -0.0f : 0.0f;
        }
        float f = Float.NaN;
        if (exponent >= -22 && exponent <= 22) {
            double d = exponent >= 0 ? (double) w * POW10[exponent] : (double) w / POW10[-exponent];
            if (d >= Float.MIN_NORMAL && d < Float.MAX_VALUE) {
                long low = Double.doubleToRawLongBits(d) & LOW29;
                if (Math.abs(low - MIDPOINT) > MARGIN) {
                    f = (float) d;
                }
            }
        }
        if (Float.isNaN(f)) {
            f = Float.parseFloat(new String(b, negative ? start + 1 : start, pos - (negative ? start + 1 : start), StandardCharsets.ISO_8859_1));
        }
        if (!Float.isFinite(f) || f == 0.0f) {
            throw bail(); // overflow is an error, underflow to zero is rare: the general path decides both
        }
        return negative ? -f : f;
    }

    /** After a member: true at {@code close}, false after a comma (and the space after it); anything else bails. */
    private boolean closedAfterMember(char close) {
        skipSpace();
        int c = next();
        if (c == close) {
            return true;
        }
        if (c != ',') {
            throw bail();
        }
        skipSpace();
        return false;
    }

    private void skipSpace() {
        while (pos < b.length) {
            byte c = b[pos];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                return;
            }
            pos++;
        }
    }

    private int peek() {
        if (pos >= b.length) {
            throw bail();
        }
        return b[pos];
    }

    private int next() {
        if (pos >= b.length) {
            throw bail();
        }
        return b[pos++];
    }

    private void expect(char c) {
        if (pos >= b.length || b[pos] != c) {
            throw bail();
        }
        pos++;
    }
}

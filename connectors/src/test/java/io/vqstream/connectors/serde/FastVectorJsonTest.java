package io.vqstream.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.vqstream.operators.record.VectorRecord;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The fast reader against the general (Jackson) reader: wherever the fast one takes a payload it
 * must give the general one's record bit for bit, and the payloads it leaves must be exactly the
 * ones the general path has to see (errors) or that it cannot decide.
 */
class FastVectorJsonTest {
    static final Origin ORIGIN = new Origin("kafka-key".getBytes(StandardCharsets.UTF_8), 4711, 1_700_000_000_000L);

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Both readers on one payload: null when the fast one left it, else the record both agree on. */
    static VectorRecord both(String json) throws Exception {
        byte[] payload = utf8(json);
        FastVectorJson.Fields f = FastVectorJson.read(payload, 0);
        if (f == null) {
            return null;
        }
        VectorRecord general;
        try {
            general = VectorCodec.parseJson(payload, ORIGIN, new PayloadCodec.Partial());
        } catch (Exception e) {
            fail("the fast reader took a payload the general one refuses (" + e.getMessage() + "): " + json);
            return null;
        }
        VectorRecord fast = VectorCodec.json().decode(payload, ORIGIN).value();
        // with the dimension known the reader stops at it: it must agree too
        FastVectorJson.Fields known = FastVectorJson.read(payload, general.vector().length);
        assertNotNull(known, "taken without a dimension but not with it: " + json);
        VectorRecord fastKnown = VectorCodec.json().withExpectedDimension(general.vector().length).decode(payload, ORIGIN).value();
        for (int i = 0; i < general.vector().length; i++) {
            if (Float.floatToRawIntBits(general.vector()[i]) != Float.floatToRawIntBits(known.vector[i])
                    || Float.floatToRawIntBits(general.vector()[i]) != Float.floatToRawIntBits(fastKnown.vector()[i])) {
                fail("element " + i + " with the dimension known: general " + general.vector()[i] + ", fast " + known.vector[i] + " in " + json);
            }
        }
        assertEquals(general.key(), fast.key(), json);
        assertEquals(general.seq(), fast.seq(), json);
        assertEquals(general.eventTime(), fast.eventTime(), json);
        assertEquals(general.mask(), fast.mask(), json);
        assertEquals(general.attributes(), fast.attributes(), json);
        assertEquals(general.vector().length, fast.vector().length, json);
        for (int i = 0; i < general.vector().length; i++) {
            if (Float.floatToRawIntBits(general.vector()[i]) != Float.floatToRawIntBits(fast.vector()[i])) {
                fail("element " + i + ": general " + general.vector()[i] + ", fast " + fast.vector()[i] + " in " + json);
            }
        }
        return fast;
    }

    static String vectorJson(List<String> numbers) {
        return "{\"key\":\"k\",\"seq\":3,\"ts\":5,\"vector\":[" + String.join(",", numbers) + "]}";
    }

    @Test
    void readsTheCommonShapesLikeTheGeneralReader() throws Exception {
        VectorRecord r = both("{\"key\":\"tenant-7\",\"seq\":17,\"ts\":1700000000000,\"vector\":[0.1,-2,3.5e-3]}");
        assertNotNull(r, "the common shape is the fast reader's");
        assertEquals("tenant-7", r.key());
        assertEquals(17, r.seq());
        assertEquals(1700000000000L, r.eventTime());
        assertEquals(0.1f, r.vector()[0]);
        assertEquals(-2f, r.vector()[1]);
        assertEquals(3.5e-3f, r.vector()[2]);
        // any order, whitespace, mask, missing seq/ts (the Kafka offset and timestamp)
        VectorRecord s = both(" {\n\t\"vector\" : [ 1 , 2.5E+1 ] ,\"mask\":false, \"key\":\"a b\" }\r\n");
        assertNotNull(s);
        assertEquals(4711, s.seq());
        assertEquals(1_700_000_000_000L, s.eventTime());
        assertEquals(false, s.mask());
        assertEquals(25f, s.vector()[1]);
        assertNotNull(both("{\"key\":\"k\",\"vector\":[-0,-0.0,0,0.0,0e5,-0E-3]}"), "zeros of both signs");
    }

    @Test
    void leavesEveryPayloadItCannotTakeToTheGeneralReader() throws Exception {
        String[] left = {
            "{\"key\":\"k\\u0041\",\"vector\":[1]}", // escape in the key
            "{\"key\":\"ké\",\"vector\":[1]}", // non-ASCII key
            "{\"key\":\"k\",\"vector\":[1],\"attributes\":{\"a\":\"b\"}}", // attributes
            "{\"key\":\"k\",\"vector\":[1],\"other\":1}", // another field
            "{\"key\":\"k\",\"key\":\"j\",\"vector\":[1]}", // duplicate
            "{\"key\":\"k\",\"vector\":[1]} x", // trailing content
            "{\"key\":\"k\",\"vector\":[01]}", "{\"key\":\"k\",\"vector\":[1.]}", "{\"key\":\"k\",\"vector\":[.5]}",
            "{\"key\":\"k\",\"vector\":[+1]}", "{\"key\":\"k\",\"vector\":[1e]}", "{\"key\":\"k\",\"vector\":[NaN]}",
            "{\"key\":\"k\",\"vector\":[\"1\"]}", "{\"key\":\"k\",\"vector\":[1,]}", "{\"key\":\"k\",\"vector\":[]}",
            "{\"key\":\"k\",\"vector\":[1e39]}", "{\"key\":\"k\",\"vector\":[1e-50]}", "{\"key\":\"k\",\"vector\":[null]}",
            "{\"key\":\"\",\"vector\":[1]}", "{\"key\":null,\"vector\":[1]}", "{\"vector\":[1]}", "{\"key\":\"k\"}",
            "{\"key\":\"k\",\"seq\":1.0,\"vector\":[1]}", "{\"key\":\"k\",\"seq\":null,\"vector\":[1]}",
            "{\"key\":\"k\",\"seq\":12345678901234567890,\"vector\":[1]}", "{\"key\":\"k\",\"mask\":1,\"vector\":[1]}",
            "[1,2]", "", "{", "{\"key\":\"k\",\"vector\":[1]", "\uFEFF{\"key\":\"k\",\"vector\":[1]}",
        };
        for (String json : left) {
            assertNull(FastVectorJson.read(utf8(json), 0), json);
        }
        assertNull(FastVectorJson.read(utf8("{\"key\":\"k\",\"vector\":[1,2,3]}"), 2), "longer than the expected dimension");
    }

    @Test
    void roundsEveryNumberOnceToTheNearestFloatLikeTheGeneralReader() throws Exception {
        SplittableRandom rnd = new SplittableRandom(20261207);
        int taken = 0;
        for (int round = 0; round < 400; round++) {
            List<String> numbers = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                numbers.add(randomNumber(rnd));
            }
            if (both(vectorJson(numbers)) != null) {
                taken++;
            }
        }
        // most random records must go the fast way, or this test would compare nothing
        assertEquals(true, taken > 300, "fast reader took " + taken + " of 400");
    }

    @Test
    void readsArraysWithSpacesAndLineBreaksLikeTheGeneralReader() throws Exception {
        SplittableRandom rnd = new SplittableRandom(11);
        String[] separators = {",", ", ", ",\n  ", " , ", ",\t"};
        for (int round = 0; round < 200; round++) {
            StringBuilder sb = new StringBuilder("{\"key\":\"k\",\"vector\":[");
            if (rnd.nextBoolean()) {
                sb.append(' ');
            }
            int n = rnd.nextInt(1, 40);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    sb.append(separators[rnd.nextInt(separators.length)]);
                }
                sb.append(randomNumber(rnd));
            }
            sb.append(rnd.nextBoolean() ? "]" : " ]").append(rnd.nextBoolean() ? ",\"mask\":true}" : "}");
            assertNotNull(both(sb.toString()), sb.toString());
        }
    }

    @Test
    void refusesArraysOfAnotherLengthThanExpectedAndOddNumbersInThemAsBefore() throws Exception {
        String head = "{\"key\":\"k\",\"vector\":[";
        String numbers = "0.12345678,-1.2345678,2.5E-4,-0.5,1234567.8,0.75,3.0,-2.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8";
        assertNotNull(FastVectorJson.read(utf8(head + numbers + "]}"), 16));
        assertNull(FastVectorJson.read(utf8(head + numbers + ",0.9]}"), 16), "one more than expected");
        assertNull(FastVectorJson.read(utf8(head + numbers + ",0.9],\"mask\":true}"), 16), "one more, then more members");
        FastVectorJson.Fields shorter = FastVectorJson.read(utf8(head + numbers + "],\"mask\":false,\"seq\":1}"), 17);
        assertNotNull(shorter, "fewer than expected: read, the codec reports the length");
        assertEquals(16, shorter.vector.length);
        assertEquals(false, shorter.mask);
        for (String odd : new String[] {"1.5.5", "1..5", "01.5", "-.5", "1.", "--1.5", "1.5e", "1.5]", "[1.5", "\"1.5\"", "1 5", "1e5e5",
            "1.5x", "0x15"}) {
            String json = head + "0.25," + odd + ",0.123456789012345678]}";
            assertNull(FastVectorJson.read(utf8(json), 3), json);
            assertNull(FastVectorJson.read(utf8(json), 0), json);
        }
        // valid texts that the word-at-a-time reader leaves to the one-number reader
        for (String valid : new String[] {"12345678901.5", "1234567890", "123456789012345678", "0.0", "-0.0", "0", "1e5", "-1.5E-5",
            "123456.78901234567", "0.00000000000000001"}) {
            String json = head + "0.25," + valid + ",0.123456789012345678,0.5,0.5,0.5,0.5]}";
            assertNotNull(both(json), json);
        }
    }

    /** The word-at-a-time digit helpers against a plain loop, for every count of digits before a non-digit. */
    @Test
    void countsAndReadsTheDigitsOfAWord() {
        SplittableRandom rnd = new SplittableRandom(3);
        byte[] others = utf8(".,]eE-+ /:\"\u00e9");
        for (int round = 0; round < 20_000; round++) {
            byte[] bytes = new byte[8];
            int k = rnd.nextInt(0, 9);
            long value = 0;
            for (int i = 0; i < 8; i++) {
                bytes[i] = i < k ? (byte) ('0' + rnd.nextInt(10)) : rnd.nextBoolean() ? others[rnd.nextInt(others.length)] : (byte) rnd.nextInt(256);
                if (i < k) {
                    value = value * 10 + (bytes[i] - '0');
                }
            }
            if (k < 8 && bytes[k] >= '0' && bytes[k] <= '9') {
                continue; // a random byte that is a digit after all
            }
            long word = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(k, FastVectorJson.leadingDigits(word), java.util.Arrays.toString(bytes));
            if (k > 0) {
                assertEquals(value, FastVectorJson.digitsValue(word, k), java.util.Arrays.toString(bytes));
            }
        }
    }

    /** Decimal texts near the midpoint between two floats, where a sloppy double-to-float step rounds wrong. */
    @Test
    void decidesNumbersNextToAFloatMidpointExactly() throws Exception {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int round = 0; round < 300; round++) {
            List<String> numbers = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                float f = Float.intBitsToFloat(0x00800000 + rnd.nextInt(0x7E000000));
                BigDecimal lo = new BigDecimal((double) f);
                BigDecimal mid = lo.add(new BigDecimal((double) Math.nextUp(f))).divide(BigDecimal.valueOf(2));
                // the midpoint itself rounds to even; a hair above or below must go up or down
                BigDecimal hair = new BigDecimal(Math.ulp((double) f)).multiply(BigDecimal.valueOf(rnd.nextInt(1, 6)));
                BigDecimal x = switch (rnd.nextInt(4)) {
                    case 0 -> mid.round(new MathContext(19));
                    case 3 -> mid.round(new MathContext(rnd.nextInt(9, 16))); // short enough for the word-at-a-time reader
                    case 1 -> mid.add(hair).round(new MathContext(18));
                    default -> mid.subtract(hair).round(new MathContext(17));
                };
                String s = x.toString();
                numbers.add(s);
                assertEquals(Float.parseFloat(s), new BigDecimal(s).floatValue(), s);
            }
            both(vectorJson(numbers));
        }
    }

    /**
     * The word-at-a-time number reader by itself on 15-digit texts whose nearest double is
     * exactly the midpoint between two floats while the text is not: the division lands on the
     * midpoint, and only the margin test keeps the float from rounding half to even, the wrong
     * way for about half of them. (Inside an array that reader sees at most 14 digits, where such
     * texts are rare.)
     */
    @Test
    void plainNumberDecidesTextsWhoseDoubleIsAFloatMidpoint() {
        SplittableRandom rnd = new SplittableRandom(13);
        int onMidpoint = 0;
        int wrongByHalfEven = 0;
        for (int i = 0; i < 20_000; i++) {
            float f = Math.scalb(1f + rnd.nextInt(1 << 23) / (float) (1 << 23), rnd.nextInt(-3, 20));
            BigDecimal mid = new BigDecimal((double) f).add(new BigDecimal((double) Math.nextUp(f))).divide(BigDecimal.valueOf(2));
            String text = (rnd.nextBoolean() ? "-" : "") + mid.round(new MathContext(15)).toPlainString();
            byte[] padded = utf8(text + ",0000000000000000");
            double d = Double.parseDouble(text);
            if (Math.abs(d) == mid.doubleValue() && new BigDecimal(text).abs().compareTo(mid) != 0) {
                onMidpoint++;
                wrongByHalfEven += (float) d != Float.parseFloat(text) ? 1 : 0;
            }
            long read = FastVectorJson.plainNumber(padded, 0, text.length());
            if (read != FastVectorJson.NOT_FAST) {
                assertEquals(Float.floatToRawIntBits(Float.parseFloat(text)), (int) read, text);
            }
        }
        assertEquals(true, wrongByHalfEven > 50, "texts that a plain double-to-float step rounds wrongly: " + wrongByHalfEven
                + " of " + onMidpoint + " on a midpoint");
    }

    static String randomNumber(SplittableRandom rnd) {
        float f = Float.intBitsToFloat(rnd.nextInt()) ;
        while (!Float.isFinite(f) || Math.abs(f) < 1e-30f) {
            f = Float.intBitsToFloat(rnd.nextInt());
        }
        double g = rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-8, 9));
        return switch (rnd.nextInt(8)) {
            case 0 -> Float.toString(f).replace("E", rnd.nextBoolean() ? "e" : "E");
            case 1 -> Double.toString((double) f); // a float32 printed as a double, as json.dumps of tolist() does
            case 2 -> Double.toString(g);
            case 3 -> String.format(Locale.ROOT, "%." + rnd.nextInt(1, 12) + "f", g);
            case 4 -> String.format(Locale.ROOT, "%." + rnd.nextInt(1, 17) + "e", g).replace("e+0", "e+").replace("e-0", "e-");
            case 5 -> Long.toString(rnd.nextLong(-100_000_000_000L, 100_000_000_000L));
            case 6 -> new BigDecimal(g).round(new MathContext(rnd.nextInt(1, 20))).toString();
            default -> String.format(Locale.ROOT, "%.6f", (float) g);
        };
    }
}

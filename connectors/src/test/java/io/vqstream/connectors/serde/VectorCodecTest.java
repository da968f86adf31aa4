package io.vqstream.connectors.serde;

import static io.vqstream.connectors.serde.DeadLetters.KAFKA;
import static io.vqstream.connectors.serde.DeadLetters.accepts;
import static io.vqstream.connectors.serde.DeadLetters.rejects;
import static io.vqstream.connectors.serde.DeadLetters.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VectorCodecTest {
    private static final VectorCodec JSON = VectorCodec.json();
    private static final VectorCodec BIN = VectorCodec.binary();

    @Test
    void jsonWritesTheDocumentedLayout() {
        VectorRecord r = new VectorRecord("k1", 17, 1_700_000_000_000L, new float[] {0.1f, -2f, 3.5e-4f}, Map.of("lang", "en"));
        assertEquals("{\"key\":\"k1\",\"seq\":17,\"ts\":1700000000000,\"vector\":[0.1,-2.0,3.5E-4],\"attributes\":{\"lang\":\"en\"}}",
                new String(JSON.value(r), StandardCharsets.UTF_8));
        assertArrayEquals(utf8("k1"), JSON.key(r));
    }

    @Test
    void jsonReadsTheDocumentedExample() {
        VectorRecord r = accepts(JSON, "{\"key\":\"k1\",\"seq\":17,\"ts\":1700000000000,\"vector\":[0.1,-2,3.5e-3],\"attributes\":{\"lang\":\"en\"}}");
        assertEquals("k1", r.key());
        assertEquals(17, r.seq());
        assertEquals(1_700_000_000_000L, r.eventTime());
        assertArrayEquals(new float[] {0.1f, -2f, 3.5e-3f}, r.vector());
        assertEquals(Map.of("lang", "en"), r.attributes());
    }

    @Test
    void jsonRoundTripsEveryFloatBitForBit() {
        float[] v = {0.1f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 1e-38f, 123456.79f, (float) Math.PI, 16777217f};
        VectorRecord r = new VectorRecord("k", -5, 0, v, Map.of("a", "b\nc"));
        VectorRecord back = accepts(JSON, JSON.value(r), Origin.NONE);
        assertEquals(r, back);
        for (int i = 0; i < v.length; i++) {
            assertEquals(Float.floatToRawIntBits(v[i]), Float.floatToRawIntBits(back.vector()[i]), "element " + i);
        }
    }

    @Test
    void decimalsParseAsFloatParseFloatDoes() {
        // random bit patterns (subnormals and extreme exponents included), each written three ways:
        // shortest (Float.toString), 9 significant digits, and 25 (near-midpoint decimals)
        java.util.SplittableRandom rng = new java.util.SplittableRandom(11);
        for (int round = 0; round < 200; round++) {
            StringBuilder json = new StringBuilder("{\"key\":\"k\",\"seq\":1,\"ts\":2,\"vector\":[");
            float[] expected = new float[3 * 64];
            int n = 0;
            while (n < expected.length) {
                float f = Float.intBitsToFloat(rng.nextInt());
                if (!Float.isFinite(f)) {
                    continue;
                }
                for (String text : new String[] {Float.toString(f), String.format(java.util.Locale.ROOT, "%.8e", (double) f),
                        new java.math.BigDecimal((double) f).add(new java.math.BigDecimal(Math.ulp(f) / 2))
                                .round(new java.math.MathContext(25)).toString()}) {
                    json.append(n == 0 ? "" : ",").append(text);
                    expected[n++] = Float.parseFloat(text);
                }
            }
            VectorRecord r = accepts(JSON, json.append("]}").toString());
            for (int i = 0; i < expected.length; i++) {
                assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(r.vector()[i]), "element " + i + " of " + json);
            }
        }
    }

    @Test
    void decimalsRoundOnceToFloat() {
        // just above the midpoint between 1 and 1 + 2^-23: via double it would tie and round down to 1
        VectorRecord r = accepts(JSON, "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"vector\":[1.0000000596046447753906251]}");
        assertEquals(Math.nextUp(1f), r.vector()[0]);
    }

    @Test
    void missingSeqAndTsComeFromKafka() {
        VectorRecord r = accepts(JSON, "{\"key\":\"k\",\"vector\":[1]}");
        assertEquals(42, r.seq());
        assertEquals(1_700_000_000_123L, r.eventTime());
        VectorRecord n = accepts(JSON, "{\"key\":\"k\",\"seq\":null,\"ts\":null,\"vector\":[1]}");
        assertEquals(42, n.seq());
        assertEquals(1_700_000_000_123L, n.eventTime());
    }

    @Test
    void missingSeqWithoutKafkaIsRejected() {
        Decoded<VectorRecord> d = JSON.decode(utf8("{\"key\":\"k\",\"ts\":5,\"vector\":[1]}"), Origin.NONE);
        assertEquals("seq is missing and there is no Kafka offset to use instead", d.deadLetter().reason());
        assertEquals(5, d.deadLetter().eventTime());
    }

    @Test
    void unknownFieldsAreIgnored() {
        VectorRecord r = accepts(JSON, "{\"extra\":{\"deep\":[1,{\"x\":null}]},\"key\":\"k\",\"vector\":[2.5],\"more\":\"s\"}");
        assertArrayEquals(new float[] {2.5f}, r.vector());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "{\"key\":\"k1\",\"vector\":[1,2                       | broken JSON",
        "[1,2]                                                  | payload is an array, expected a JSON object",
        "\"text\"                                               | payload is a string, expected a JSON object",
        "{\"vector\":[1]}                                       | key is missing",
        "{\"key\":null,\"vector\":[1]}                          | key is null",
        "{\"key\":\"\",\"vector\":[1]}                          | key is empty",
        "{\"key\":7,\"vector\":[1]}                             | key is an integer, expected a string",
        "{\"key\":\"k\"}                                        | vector is missing",
        "{\"key\":\"k\",\"vector\":null}                        | vector is null, expected an array of numbers",
        "{\"key\":\"k\",\"vector\":[]}                          | vector is empty",
        "{\"key\":\"k\",\"vector\":\"1,2\"}                     | vector is a string, expected an array of numbers",
        "{\"key\":\"k\",\"vector\":{\"0\":1}}                   | vector is an object, expected an array of numbers",
        "{\"key\":\"k\",\"vector\":[1,\"a\"]}                   | vector[1] is the string \"a\", expected a number",
        "{\"key\":\"k\",\"vector\":[1,\"NaN\"]}                 | vector[1] is the string \"NaN\", expected a number",
        "{\"key\":\"k\",\"vector\":[\"Infinity\"]}              | vector[0] is the string \"Infinity\", expected a number",
        "{\"key\":\"k\",\"vector\":[0,0,\"-Infinity\"]}         | vector[2] is the string \"-Infinity\", expected a number",
        "{\"key\":\"k\",\"vector\":[NaN]}                       | broken JSON: Non-standard token 'NaN'",
        "{\"key\":\"k\",\"vector\":[-Infinity]}                 | broken JSON",
        "{\"key\":\"k\",\"vector\":[1,null]}                    | vector[1] is null, expected a number",
        "{\"key\":\"k\",\"vector\":[true]}                      | vector[0] is a boolean, expected a number",
        "{\"key\":\"k\",\"vector\":[[1]]}                       | vector[0] is an array, expected a number",
        "{\"key\":\"k\",\"vector\":[1e39]}                      | vector[0] 1e39 overflows float32",
        "{\"key\":\"k\",\"vector\":[1,-3.5e38]}                 | vector[1] -3.5e38 overflows float32",
        "{\"key\":\"k\",\"vector\":[1e400]}                     | vector[0] 1e400 overflows float32",
        "{\"key\":\"k\",\"vector\":[1000000000000000000000000000000000000000] } | overflows float32",
        "{\"key\":\"k\",\"vector\":[01]}                        | broken JSON",
        "{\"key\":\"k\",\"seq\":\"3\",\"vector\":[1]}           | seq is a string, expected an integer",
        "{\"key\":\"k\",\"seq\":1.5,\"vector\":[1]}             | seq is a decimal number, expected an integer",
        "{\"key\":\"k\",\"seq\":99999999999999999999,\"vector\":[1]} | seq 99999999999999999999 does not fit in 64 bits",
        "{\"key\":\"k\",\"ts\":true,\"vector\":[1]}             | ts is a boolean, expected an integer",
        "{\"key\":\"k\",\"key\":\"j\",\"vector\":[1]}           | broken JSON: Duplicate field 'key'",
        "{\"key\":\"k\",\"vector\":[1]} {}                      | trailing content after the JSON object",
        "{\"key\":\"k\",\"vector\":[1]}]                        | broken JSON",
        "{\"key\":\"k\",\"vector\":[1],\"attributes\":{\"a\":1}} | attributes.a is an integer, expected a string",
        "{\"key\":\"k\",\"vector\":[1],\"attributes\":[]}       | attributes is an array, expected an object of strings",
        "{\"key\":\"k\",/*c*/\"vector\":[1]}                    | broken JSON",
    })
    void rejectsMalformedJson(String json, String reason) {
        rejects(JSON, json.strip(), reason.strip());
    }

    @Test
    void deadLetterKeepsWhatWasReadAndTheKafkaKeyOtherwise() {
        DeadLetter a = rejects(JSON, "{\"key\":\"k9\",\"ts\":77,\"vector\":[]}", "vector is empty");
        assertEquals("k9", a.key());
        assertEquals(77, a.eventTime());
        DeadLetter b = rejects(JSON, "{\"vector\":", "broken JSON");
        assertEquals("kafka-key", b.key());
        assertEquals(KAFKA.timestamp(), b.eventTime());
        Decoded<VectorRecord> c = JSON.decode(utf8("{"), Origin.NONE);
        assertNull(c.deadLetter().key());
    }

    @Test
    void rejectsInvalidUtf8EmptyNullAndOversizedPayloads() {
        byte[] bad = utf8("{\"key\":\"k\",\"vector\":[1]}");
        bad[9] = (byte) 0xC3;
        rejects(JSON, bad, "broken JSON");
        rejects(JSON, "{\"key\":\"k\",\"vector\":[1]}".getBytes(StandardCharsets.UTF_16LE), "payload is not UTF-8 JSON (byte 0x0 at offset 1)");
        rejects(JSON, "{\"key\":\"k\",\"vector\":[1]}".getBytes(StandardCharsets.UTF_16), "payload is not UTF-8 JSON (byte 0xfe at offset 0)");
        rejects(JSON, new byte[0], "empty payload");
        rejects(JSON, (byte[]) null, "record has no value (null payload)");
        byte[] big = utf8("{\"key\":\"k\",\"vector\":[" + "1,".repeat(40) + "1]}");
        VectorCodec small = JSON.withMaxPayloadBytes(64);
        assertEquals(64, small.maxPayloadBytes());
        DeadLetter d = rejects(small, big, "payload of " + big.length + " bytes exceeds the limit of 64 bytes");
        assertEquals("kafka-key", d.key(), "not parsed: the key comes from Kafka");
        rejects(JSON, utf8("{\"key\":\"" + "x".repeat(4097) + "\",\"vector\":[1]}"), "key of 4097 UTF-8 bytes exceeds the limit of 4096");
    }

    @Test
    void defaultLimitIs16MiB() {
        assertEquals(16 * 1024 * 1024, JSON.maxPayloadBytes());
    }

    @Test
    void binaryWritesTheDocumentedLayoutByteForByte() {
        VectorRecord r = new VectorRecord("ab", 0x0102030405060708L, 1_700_000_000_000L, new float[] {1f, -2.5f}, Map.of("dropped", "yes"));
        byte[] expected = {
            1,                                  // format version
            2, 0,                               // key length
            'a', 'b',                           // key
            8, 7, 6, 5, 4, 3, 2, 1,             // seq
            0x00, 0x68, (byte) 0xE5, (byte) 0xCF, (byte) 0x8B, 0x01, 0, 0, // ts = 0x18BCFE56800
            2, 0, 0, 0,                         // dim
            0, 0, (byte) 0x80, 0x3F,            // 1.0f
            0, 0, 0x20, (byte) 0xC0,            // -2.5f
        };
        assertEquals(0x18BCFE56800L, 1_700_000_000_000L);
        assertArrayEquals(expected, BIN.value(r));
        VectorRecord back = accepts(BIN, expected, Origin.NONE);
        assertEquals(new VectorRecord("ab", 0x0102030405060708L, 1_700_000_000_000L, new float[] {1f, -2.5f}), back);
    }

    @Test
    void binaryRoundTrips() {
        float[] v = new float[300];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i) * 1e3f;
        }
        VectorRecord r = new VectorRecord("sensör-7", -1, Long.MAX_VALUE, v);
        assertEquals(r, accepts(BIN, BIN.value(r), Origin.NONE));
        assertEquals(23 + "sensör-7".getBytes(StandardCharsets.UTF_8).length + 4 * 300, BIN.value(r).length);
    }

    private static byte[] binary(String key, int dim, float... values) {
        byte[] k = utf8(key);
        ByteBuffer b = ByteBuffer.allocate(23 + k.length + 4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 1).putShort((short) k.length).put(k).putLong(3).putLong(4).putInt(dim);
        for (float f : values) {
            b.putFloat(f);
        }
        return b.array();
    }

    @Test
    void rejectsMalformedBinary() {
        byte[] good = binary("k", 2, 1f, 2f);
        accepts(BIN, good, Origin.NONE);
        byte[] v3 = good.clone();
        v3[0] = 3;
        rejects(BIN, v3, "binary vector has format version byte 3, expected 1 or 2");
        byte[] v2 = good.clone();
        v2[0] = 2;
        rejects(BIN, v2, "dimension 2 needs a total of 33 bytes");
        rejects(BIN, Arrays.copyOf(good, good.length - 1), "binary vector of 31 bytes does not match its header: dimension 2 needs a total of 32 bytes");
        rejects(BIN, Arrays.copyOf(good, good.length + 3), "does not match its header");
        rejects(BIN, binary("k", 3, 1f, 2f), "dimension 3 needs a total of 36 bytes");
        rejects(BIN, binary("k", 0), "vector is empty");
        rejects(BIN, binary("", 1, 1f), "key is empty");
        rejects(BIN, binary("k", 2, 1f, Float.NaN), "vector[1] is NaN, expected a finite number");
        rejects(BIN, binary("k", 1, Float.NEGATIVE_INFINITY), "vector[0] is -Infinity");
        rejects(BIN, new byte[] {1}, "binary vector of 1 bytes is truncated: the key length needs 2 bytes at offset 1");
        rejects(BIN, new byte[] {1, 9, 0, 'a'}, "truncated: the key needs 9 bytes at offset 3");
        byte[] badKey = binary("kk", 1, 1f);
        badKey[3] = (byte) 0xFF;
        rejects(BIN, badKey, "key is not valid UTF-8");
        rejects(BIN, utf8("{\"key\":\"k\",\"vector\":[1]}"), "format version byte 123, expected 1");
    }

    @Test
    void encodingRefusesWhatTheFormatsCannotCarry() {
        VectorRecord nan = new VectorRecord("k", 1, 1, new float[] {Float.NaN});
        assertEquals("vector[0] is NaN: JSON carries finite numbers only",
                assertThrows(IllegalArgumentException.class, () -> JSON.value(nan)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> BIN.value(nan));
        assertThrows(IllegalArgumentException.class, () -> JSON.value(new VectorRecord(null, 1, 1, new float[] {1})));
        assertThrows(IllegalArgumentException.class, () -> BIN.value(new VectorRecord("k", 1, 1, new float[0])));
    }
}

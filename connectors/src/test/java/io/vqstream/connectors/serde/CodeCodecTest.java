package io.vqstream.connectors.serde;

import static io.vqstream.connectors.serde.DeadLetters.accepts;
import static io.vqstream.connectors.serde.DeadLetters.rejects;
import static io.vqstream.connectors.serde.DeadLetters.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vqstream.operators.record.CodeRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CodeCodecTest {
    private static final CodeCodec JSON = CodeCodec.json();
    private static final CodeCodec BIN = CodeCodec.binary();

    private static final CodeRecord PLAIN = new CodeRecord("k1", 17, 1_700_000_000_000L, new long[] {5, -1, 12}, 3);
    private static final CodeRecord FULL = new CodeRecord("k1", 17, 1_700_000_000_000L, new long[] {5, -1, 12}, 3,
            new float[] {0.5f, 1f}, 0.012f, Map.of("lang", "en"));

    @Test
    void jsonWritesTheDocumentedLayout() {
        assertEquals("{\"key\":\"k1\",\"seq\":17,\"ts\":1700000000000,\"codes\":[5,-1,12],\"codebook_version\":3}",
                new String(JSON.value(PLAIN), StandardCharsets.UTF_8));
        assertEquals("{\"key\":\"k1\",\"seq\":17,\"ts\":1700000000000,\"codes\":[5,-1,12],\"codebook_version\":3,"
                        + "\"quantized\":[0.5,1.0],\"error\":0.012,\"attributes\":{\"lang\":\"en\"}}",
                new String(JSON.value(FULL), StandardCharsets.UTF_8));
        assertArrayEquals(utf8("k1"), JSON.key(FULL));
    }

    @Test
    void jsonRoundTrips() {
        assertEquals(PLAIN, accepts(JSON, JSON.value(PLAIN), Origin.NONE));
        assertEquals(FULL, accepts(JSON, JSON.value(FULL), Origin.NONE));
        CodeRecord big = new CodeRecord("k", Long.MIN_VALUE, -1, new long[] {Long.MAX_VALUE, Long.MIN_VALUE}, Long.MAX_VALUE);
        assertEquals(big, accepts(JSON, JSON.value(big), Origin.NONE));
    }

    @Test
    void binaryWritesTheDocumentedLayoutByteForByte() {
        CodeRecord r = new CodeRecord("k", 1, 2, new long[] {7, -1}, 3, new float[] {1f}, 0.5f, Map.of());
        byte[] expected = {
            1,                          // format version
            3,                          // flags: quantized + error
            1, 0,                       // key length
            'k',
            1, 0, 0, 0, 0, 0, 0, 0,     // seq
            2, 0, 0, 0, 0, 0, 0, 0,     // ts
            3, 0, 0, 0, 0, 0, 0, 0,     // codebook_version
            2, 0, 0, 0,                 // N
            7, 0, 0, 0, 0, 0, 0, 0,     // codes[0]
            -1, -1, -1, -1, -1, -1, -1, -1, // codes[1] = -1
            1, 0, 0, 0,                 // Q
            0, 0, (byte) 0x80, 0x3F,    // 1.0f
            0, 0, 0, 0x3F,              // error 0.5f
        };
        assertArrayEquals(expected, BIN.value(r));
        assertEquals(r, accepts(BIN, expected, Origin.NONE));
        byte[] plain = BIN.value(PLAIN);
        assertEquals(32 + 2 + 8 * 3, plain.length);
        assertEquals(0, plain[1], "no flags without quantized and error");
    }

    @Test
    void binaryRoundTripsEveryFlagCombination() {
        for (float[] q : new float[][] {null, {0.25f, -3f, 7f}}) {
            for (float err : new float[] {Float.NaN, 2.5f}) {
                CodeRecord r = new CodeRecord("key", 9, 10, new long[] {1, 2, 3, 4}, 11, q, err, Map.of());
                assertEquals(r, accepts(BIN, BIN.value(r), Origin.NONE), "quantized " + Arrays.toString(q) + ", error " + err);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"codebook_version\":3}                          | codes is missing",
        "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"codes\":[],\"codebook_version\":3}              | codes is empty",
        "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"codes\":[1.5],\"codebook_version\":3}           | codes[0] is a decimal number, expected an integer",
        "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"codes\":[[1,2]],\"codebook_version\":3}         | codes[0] is an array, expected an integer",
        "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"codes\":\"1\",\"codebook_version\":3}           | codes is a string, expected an array of integers",
        "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"codes\":[1]}                                   | codebook_version is missing",
        "{\"key\":\"k\",\"ts\":2,\"codes\":[1],\"codebook_version\":3}                      | seq is missing",
        "{\"key\":\"k\",\"seq\":1,\"codes\":[1],\"codebook_version\":3}                     | ts is missing",
        "{\"seq\":1,\"ts\":2,\"codes\":[1],\"codebook_version\":3}                          | key is missing",
        "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"codes\":[1],\"codebook_version\":3,\"error\":\"NaN\"} | error is the string \"NaN\", expected a number",
        "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"codes\":[1],\"codebook_version\":3,\"quantized\":[1e39]} | quantized[0] 1e39 overflows float32",
    })
    void rejectsMalformedJson(String json, String reason) {
        rejects(JSON, json.strip(), reason.strip());
    }

    @Test
    void rejectsMalformedBinary() {
        byte[] good = BIN.value(PLAIN);
        byte[] flags = good.clone();
        flags[1] = 4;
        rejects(BIN, flags, "binary code record has unknown flag bits 0x4");
        byte[] version = good.clone();
        version[0] = 0;
        rejects(BIN, version, "format version byte 0, expected 1");
        rejects(BIN, Arrays.copyOf(good, good.length - 8), "does not match its header: 3 codes needs a total of 58 bytes");
        rejects(BIN, Arrays.copyOf(good, good.length + 1), "does not match its header");
        byte[] claimsQuantized = good.clone();
        claimsQuantized[1] = 1;
        rejects(BIN, claimsQuantized, "truncated: the quantized length needs 4 bytes at offset 58");
        byte[] nanError = BIN.value(new CodeRecord("k1", 17, 1, new long[] {5}, 3, null, 1f, Map.of()));
        ByteBuffer.wrap(nanError).order(ByteOrder.LITTLE_ENDIAN).putFloat(nanError.length - 4, Float.POSITIVE_INFINITY);
        rejects(BIN, nanError, "error is Infinity, expected a finite number");
        byte[] zero = ByteBuffer.allocate(33).order(ByteOrder.LITTLE_ENDIAN).put((byte) 1).put((byte) 0).putShort((short) 1)
                .put((byte) 'k').putLong(1).putLong(2).putLong(3).putInt(0).array();
        rejects(BIN, zero, "codes is empty");
    }

    @Test
    void encodingRefusesWhatTheFormatsCannotCarry() {
        assertThrows(IllegalArgumentException.class, () -> JSON.value(new CodeRecord("k", 1, 1, new long[0], 1)));
        assertThrows(IllegalArgumentException.class, () -> BIN.value(new CodeRecord("", 1, 1, new long[] {1}, 1)));
        assertThrows(IllegalArgumentException.class,
                () -> BIN.value(new CodeRecord("k", 1, 1, new long[] {1}, 1, new float[] {Float.NaN}, Float.NaN, Map.of())));
    }
}

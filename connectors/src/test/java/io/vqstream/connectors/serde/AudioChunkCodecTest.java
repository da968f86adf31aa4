package io.vqstream.connectors.serde;

import static io.vqstream.connectors.serde.DeadLetters.accepts;
import static io.vqstream.connectors.serde.DeadLetters.rejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vqstream.connectors.audio.AudioChunk;
import io.vqstream.connectors.audio.PcmCodec;
import io.vqstream.connectors.audio.PcmEncoding;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AudioChunkCodecTest {
    private static final AudioChunkCodec JSON = AudioChunkCodec.json();
    private static final AudioChunkCodec BIN = AudioChunkCodec.binary();

    /** Two stereo s16le frames: (0, 32767), (-32768, 1). */
    private static final byte[] STEREO = {0, 0, (byte) 0xFF, 0x7F, 0, (byte) 0x80, 1, 0};

    @Test
    void jsonWritesAndReadsTheDocumentedExample() {
        AudioChunk c = new AudioChunk("mic-1", 0, 1_700_000_000_000L, 16000, 1, PcmEncoding.S16LE, new byte[] {0, 0, (byte) 0xFF, 0x7F});
        String json = "{\"key\":\"mic-1\",\"seq\":0,\"ts\":1700000000000,\"sample_rate\":16000,\"channels\":1,\"encoding\":\"s16le\",\"data\":\"AAD/fw==\"}";
        assertEquals(json, new String(JSON.value(c), StandardCharsets.UTF_8));
        AudioChunk back = accepts(JSON, json);
        assertEquals(c, back);
        assertArrayEquals(new float[] {0f, 32767f / 32768f}, PcmCodec.toMono(back.encoding(), back.channels(), back.pcm()));
    }

    @Test
    void jsonRoundTripsFloatStereo() {
        byte[] pcm = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.5f).putFloat(-0.25f).putFloat(1f).putFloat(0f).array();
        AudioChunk c = new AudioChunk("k", 5, 6, 44100, 2, PcmEncoding.F32LE, pcm);
        assertEquals(c, accepts(JSON, JSON.value(c), Origin.NONE));
        AudioChunk empty = new AudioChunk("k", 6, 7, 8000, 1, PcmEncoding.S16LE, new byte[0]);
        assertEquals(empty, accepts(JSON, JSON.value(empty), Origin.NONE));
    }

    @Test
    void missingSeqAndTsComeFromKafka() {
        AudioChunk c = accepts(JSON, "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":1,\"encoding\":\"f32le\",\"data\":\"\"}");
        assertEquals(42, c.seq());
        assertEquals(1_700_000_000_123L, c.eventTime());
    }

    @Test
    void binaryWritesTheDocumentedLayoutByteForByte() {
        AudioChunk c = new AudioChunk("ab", 1, 2, 48000, 2, PcmEncoding.S16LE, STEREO);
        byte[] expected = {
            1,                              // format version
            2, 0, 'a', 'b',                 // key
            1, 0, 0, 0, 0, 0, 0, 0,         // seq
            2, 0, 0, 0, 0, 0, 0, 0,         // ts
            (byte) 0x80, (byte) 0xBB, 0, 0, // 48000 Hz
            2, 0,                           // channels
            1,                              // s16le
            8, 0, 0, 0,                     // PCM length
            0, 0, (byte) 0xFF, 0x7F, 0, (byte) 0x80, 1, 0,
        };
        assertArrayEquals(expected, BIN.value(c));
        assertEquals(c, accepts(BIN, expected, Origin.NONE));
        AudioChunk f = new AudioChunk("ab", 1, 2, 48000, 1, PcmEncoding.F32LE, STEREO);
        assertEquals(2, BIN.value(f)[3 + 2 + 16 + 4 + 2], "f32le is encoding code 2");
        assertEquals(f, accepts(BIN, BIN.value(f), Origin.NONE));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":1,\"encoding\":\"s24le\",\"data\":\"\"}       | unknown encoding \"s24le\", expected \"s16le\" or \"f32le\"",
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":1,\"encoding\":\"S16LE\",\"data\":\"\"}       | unknown encoding \"S16LE\"",
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":1,\"encoding\":\"s16le\",\"data\":\"AAAA\"}   | PCM payload of 3 bytes is not a whole number of 2-byte frames (s16le, 1 channel(s))",
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":3,\"encoding\":\"f32le\",\"data\":\"AAAAAAAAAAA=\"} | PCM payload of 8 bytes is not a whole number of 12-byte frames (f32le, 3 channel(s))",
        "{\"key\":\"k\",\"sample_rate\":0,\"channels\":1,\"encoding\":\"s16le\",\"data\":\"\"}          | sample_rate 0 is not positive",
        "{\"key\":\"k\",\"sample_rate\":-16000,\"channels\":1,\"encoding\":\"s16le\",\"data\":\"\"}     | sample_rate -16000 is not positive",
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":0,\"encoding\":\"s16le\",\"data\":\"\"}       | channels 0 is out of range 1..65535",
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":-2,\"encoding\":\"s16le\",\"data\":\"\"}      | channels -2 is out of range",
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":1,\"encoding\":\"s16le\",\"data\":\"AA$A\"}   | data is not valid base64",
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":1,\"encoding\":\"s16le\",\"data\":3}         | data is an integer, expected a string",
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":1,\"encoding\":\"s16le\"}                   | data is missing",
        "{\"key\":\"k\",\"channels\":1,\"encoding\":\"s16le\",\"data\":\"\"}                          | sample_rate is missing",
        "{\"key\":\"k\",\"sample_rate\":8000,\"encoding\":\"s16le\",\"data\":\"\"}                    | channels is missing",
        "{\"key\":\"k\",\"sample_rate\":8000,\"channels\":1,\"data\":\"\"}                            | encoding is missing",
        "{\"sample_rate\":8000,\"channels\":1,\"encoding\":\"s16le\",\"data\":\"\"}                   | key is missing",
        "{\"key\":\"k\",\"sample_rate\":1e4,\"channels\":1,\"encoding\":\"s16le\",\"data\":\"\"}       | sample_rate is a decimal number, expected an integer",
        "{\"key\":\"k\",\"sample_rate\":4294967296,\"channels\":1,\"encoding\":\"s16le\",\"data\":\"\"} | sample_rate 4294967296 does not fit in 32 bits",
    })
    void rejectsMalformedJson(String json, String reason) {
        rejects(JSON, json.strip(), reason.strip());
    }

    private static byte[] binary(long rate, int channels, int encoding, int declaredLength, byte[] pcm) {
        return ByteBuffer.allocate(31 + pcm.length).order(ByteOrder.LITTLE_ENDIAN).put((byte) 1).putShort((short) 1).put((byte) 'k')
                .putLong(0).putLong(0).putInt((int) rate).putShort((short) channels).put((byte) encoding).putInt(declaredLength).put(pcm).array();
    }

    @Test
    void rejectsMalformedBinary() {
        accepts(BIN, binary(16000, 2, 1, 8, STEREO), Origin.NONE);
        rejects(BIN, binary(16000, 2, 3, 8, STEREO), "unknown encoding code 3, expected 1 (s16le) or 2 (f32le)");
        rejects(BIN, binary(16000, 0, 1, 8, STEREO), "channels 0 is out of range 1..65535");
        rejects(BIN, binary(0, 1, 1, 8, STEREO), "sample_rate 0 is out of range");
        rejects(BIN, binary(0x80000000L, 1, 1, 8, STEREO), "sample_rate 2147483648 is out of range 1..2147483647");
        rejects(BIN, binary(16000, 3, 1, 8, STEREO), "PCM payload of 8 bytes is not a whole number of 6-byte frames (s16le, 3 channel(s))");
        rejects(BIN, binary(16000, 1, 1, 9, STEREO), "binary audio chunk of 39 bytes does not match its header: PCM length 9 needs a total of 40 bytes");
        rejects(BIN, Arrays.copyOf(binary(16000, 1, 1, 8, STEREO), 38), "binary audio chunk of 38 bytes does not match its header");
        byte[] v = binary(16000, 1, 1, 8, STEREO);
        v[0] = 7;
        rejects(BIN, v, "binary audio chunk has format version byte 7, expected 1");
    }

    @Test
    void encodingRefusesInvalidChunks() {
        assertThrows(IllegalArgumentException.class, () -> BIN.value(new AudioChunk("k", 0, 0, 8000, 1, PcmEncoding.S16LE, new byte[3])));
        assertThrows(IllegalArgumentException.class, () -> JSON.value(new AudioChunk("k", 0, 0, 0, 1, PcmEncoding.S16LE, new byte[2])));
        assertThrows(IllegalArgumentException.class, () -> JSON.value(new AudioChunk(null, 0, 0, 8000, 1, PcmEncoding.S16LE, new byte[2])));
        assertThrows(IllegalArgumentException.class, () -> BIN.value(new AudioChunk("k", 0, 0, 8000, 1, PcmEncoding.S16LE, null)));
    }
}

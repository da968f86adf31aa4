package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class PcmCodecTest {
    @Test
    void decodesS16leAndAveragesChannels() {
        byte[] mono = {0x00, 0x40, 0x00, (byte) 0x80, (byte) 0xFF, 0x7F};
        assertArrayEquals(new float[] {0.5f, -1f, 32767f / 32768}, PcmCodec.toMono(PcmEncoding.S16LE, 1, mono));

        byte[] stereo = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) 16384).putShort((short) 0).putShort((short) -100).putShort((short) 300).array();
        assertArrayEquals(new float[] {0.25f, (float) (200 / 65536.0)}, PcmCodec.toMono(PcmEncoding.S16LE, 2, stereo));
        assertArrayEquals(new float[] {(float) (200 / 65536.0)}, PcmCodec.toMono(PcmEncoding.S16LE, 2, stereo, 4, 4));
    }

    @Test
    void decodesF32leAndAveragesChannels() {
        byte[] b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(0.5f).putFloat(-0.25f).putFloat(1f).putFloat(0.1f).putFloat(0.2f).putFloat(0.3f).array();
        assertArrayEquals(new float[] {0.5f, -0.25f, 1f, 0.1f, 0.2f, 0.3f}, PcmCodec.toMono(PcmEncoding.F32LE, 1, b));
        assertArrayEquals(new float[] {0.125f, 0.55f, 0.25f}, PcmCodec.toMono(PcmEncoding.F32LE, 2, b));
        assertArrayEquals(new float[] {(float) ((0.5 + -0.25 + 1) / 3), (float) ((0.1f + 0.2f + (double) 0.3f) / 3)},
                PcmCodec.toMono(PcmEncoding.F32LE, 3, b));
    }

    @Test
    void encodeIsTheInverseOnTheGrid() {
        float[] x = {0f, 0.5f, -1f, 32767f / 32768, -3f / 32768};
        assertArrayEquals(x, PcmCodec.toMono(PcmEncoding.S16LE, 1, PcmCodec.encode(PcmEncoding.S16LE, x)));
        assertArrayEquals(x, PcmCodec.toMono(PcmEncoding.F32LE, 1, PcmCodec.encode(PcmEncoding.F32LE, x)));
        assertArrayEquals(new float[] {32767f / 32768, -1f},
                PcmCodec.toMono(PcmEncoding.S16LE, 1, PcmCodec.encode(PcmEncoding.S16LE, new float[] {2f, -2f})));
    }

    @Test
    void mixesDownInterleavedFloats() {
        assertArrayEquals(new float[] {0.5f, -0.5f}, PcmCodec.mixdown(new float[] {1f, 0f, -1f, 0f}, 2));
        AudioFormatException e = assertThrows(AudioFormatException.class, () -> PcmCodec.mixdown(new float[5], 2));
        assertEquals("5 float samples are not a whole number of 2-channel frames", e.getMessage());
    }

    @Test
    void rejectsPayloadsThatAreNotWholeFrames() {
        AudioFormatException e = assertThrows(AudioFormatException.class,
                () -> PcmCodec.toMono(PcmEncoding.S16LE, 2, new byte[1001]));
        assertEquals("PCM payload of 1001 bytes is not a whole number of frames (s16le, 2 channel(s): 4 bytes per frame)",
                e.getMessage());
        e = assertThrows(AudioFormatException.class, () -> PcmCodec.toMono(PcmEncoding.F32LE, 1, new byte[6]));
        assertEquals("PCM payload of 6 bytes is not a whole number of frames (f32le, 1 channel(s): 4 bytes per frame)",
                e.getMessage());
    }

    @Test
    void rejectsBadChannelCountsAndNonFiniteFloats() {
        AudioFormatException e = assertThrows(AudioFormatException.class,
                () -> PcmCodec.toMono(PcmEncoding.S16LE, 0, new byte[4]));
        assertEquals("channel count 0 is outside 1..65535", e.getMessage());
        byte[] inf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0f).putFloat(Float.POSITIVE_INFINITY)
                .array();
        e = assertThrows(AudioFormatException.class, () -> PcmCodec.toMono(PcmEncoding.F32LE, 2, inf));
        assertEquals("non-finite sample Infinity at frame 0, channel 1", e.getMessage());
    }
}

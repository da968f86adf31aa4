package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WavRoundTripTest {

    static Stream<Arguments> formats() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (SampleEncoding e : SampleEncoding.values()) {
            for (boolean extensible : new boolean[] {false, true}) {
                for (int channels : new int[] {1, 2, 3}) {
                    for (int rate : new int[] {8_000, 22_050, 48_000}) {
                        b.add(Arguments.of(e, extensible, channels, rate));
                    }
                }
            }
        }
        return b.build();
    }

    /** What one written sample reads back as: the writer's quantiser, restated here. */
    private static double quantised(SampleEncoding e, float x) {
        if (e == SampleEncoding.FLOAT32) {
            return x;
        }
        if (e == SampleEncoding.FLOAT64) {
            return (double) x;
        }
        double full = Math.pow(2, e.bitsPerSample() - 1);
        double s = Math.max(-full, Math.min(full - 1, Math.round(x * full)));
        return s / full;
    }

    @ParameterizedTest(name = "{0} extensible={1} channels={2} rate={3}")
    @MethodSource("formats")
    void writesAndReadsBackEveryFormat(SampleEncoding encoding, boolean extensible, int channels, int rate) {
        int frames = 1001; // odd, so 8-bit mono has an odd data length and a pad byte
        float[] interleaved = Signals.noise(42 + channels, frames * channels, 1.0);
        interleaved[0] = 1.0f; // clips to full scale - 1 step in integer encodings
        interleaved[channels] = -1.0f;
        byte[] file = WavWriter.toBytes(encoding, rate, channels, interleaved, extensible);
        WavAudio audio = WavReader.read(file, "roundtrip.wav", WavReader.Truncation.REJECT);

        assertEquals(rate, audio.sampleRate());
        assertEquals(channels, audio.channels());
        assertEquals(encoding, audio.encoding());
        assertEquals(extensible, audio.extensible());
        assertEquals(frames, audio.frames());
        assertEquals(frames, audio.declaredFrames());
        assertFalse(audio.truncated());
        for (int n = 0; n < frames; n++) {
            double sum = 0;
            for (int c = 0; c < channels; c++) {
                sum += quantised(encoding, interleaved[n * channels + c]);
            }
            assertEquals((float) (sum / channels), audio.samples()[n], 1e-7, "frame " + n);
        }
        // Below the clipping point the quantisation error stays within half a step.
        if (channels == 1 && !encoding.isFloatingPoint()) {
            double full = Math.pow(2, encoding.bitsPerSample() - 1);
            for (int n = 1; n < frames; n++) {
                if (interleaved[n] * full < full - 0.5) {
                    assertEquals(interleaved[n], audio.samples()[n], 0.5 / full + 1e-7, "frame " + n);
                }
            }
        }
    }

    @Test
    void monoWritersRoundTripThroughFiles(@TempDir Path dir) throws Exception {
        float[] x = Signals.sine(440, 0.5, 16_000, 16_000);
        Path pcm = dir.resolve("a.wav");
        Path flt = dir.resolve("b.wav");
        WavWriter.writePcm16(pcm, 16_000, x);
        WavWriter.writeFloat32(flt, 16_000, x);

        WavAudio a = WavReader.read(pcm);
        assertEquals(SampleEncoding.PCM_S16, a.encoding());
        assertEquals(44 + 2 * x.length, pcm.toFile().length());
        for (int i = 0; i < x.length; i++) {
            assertEquals(x[i], a.samples()[i], 0.5 / 32768 + 1e-7);
        }
        WavAudio b = WavReader.read(flt);
        assertEquals(SampleEncoding.FLOAT32, b.encoding());
        assertArrayEquals(x, b.samples());
        assertEquals(1.0, b.durationSeconds(), 1e-12);
    }

    @Test
    void decodesHandBuiltSamplesOfEachSize() {
        // 8-bit unsigned: 0 -> -1, 128 -> 0, 255 -> 127/128
        WavAudio u8 = read(1, 1, 1, 8, new byte[] {0, (byte) 128, (byte) 255});
        assertArrayEquals(new float[] {-1f, 0f, 127f / 128}, u8.samples());

        // 24-bit little-endian: 0x800000 = -2^23, 0x7FFFFF = 2^23 - 1, 0x000001 = 1, 0xFFFFFF = -1
        WavAudio s24 = read(1, 1, 3, 24, new byte[] {0, 0, (byte) 0x80, (byte) 0xFF, (byte) 0xFF, 0x7F, 1, 0, 0,
            (byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
        assertArrayEquals(new float[] {-1f, (float) (8388607 / 8388608.0), (float) (1 / 8388608.0),
            (float) (-1 / 8388608.0)}, s24.samples());

        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(Integer.MIN_VALUE).putInt(1 << 30);
        assertArrayEquals(new float[] {-1f, 0.5f}, read(1, 1, 4, 32, b.array()).samples());

        ByteBuffer d = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.25).putDouble(-2.5);
        assertArrayEquals(new float[] {0.25f, -2.5f}, read(3, 1, 8, 64, d.array()).samples());
    }

    @Test
    void averagesStereoChannelsToMono() {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) 16384).putShort((short) -8192)   // 0.5, -0.25
                .putShort((short) -32768).putShort((short) 32767); // -1, 32767/32768
        WavAudio a = read(1, 2, 4, 16, b.array());
        assertEquals(2, a.channels());
        assertArrayEquals(new float[] {0.125f, (float) (-1 / 65536.0)}, a.samples());

        float[] lr = {0.5f, -0.25f, 1f, 1f, -0.75f, 0.25f};
        WavAudio f = WavReader.read(WavWriter.toBytes(SampleEncoding.FLOAT32, 8_000, 2, lr, true), "s.wav",
                WavReader.Truncation.REJECT);
        assertArrayEquals(new float[] {0.125f, 1f, -0.25f}, f.samples());
    }

    @Test
    void skipsUnknownChunksAndReadsFmtAfterData() {
        byte[] data = {1, 2, 3}; // 8-bit mono, odd length: padded
        byte[] fmt = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 1).putShort((short) 1)
                .putInt(8000).putInt(8000).putShort((short) 1).putShort((short) 8).array();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Signals.write(out, "RIFF", 0);
        out.writeBytes("WAVE".getBytes());
        Signals.chunk(out, "LIST", new byte[] {9, 9, 9, 9, 9}); // odd: pad byte follows
        Signals.chunk(out, "data", data);
        Signals.chunk(out, "fmt ", fmt);
        WavAudio a = WavReader.read(out.toByteArray(), "order.wav", WavReader.Truncation.REJECT);
        assertArrayEquals(new float[] {-127f / 128, -126f / 128, -125f / 128}, a.samples());
    }

    @Test
    void readsTheWholeFramesOfATruncatedDataChunkAndSaysSo() {
        byte[] data = new byte[10]; // 5 mono s16 frames, but the header declares 100 bytes
        for (int i = 0; i < 5; i++) {
            data[2 * i] = (byte) (i + 1);
        }
        byte[] file = Signals.wav(1, 1, 16_000, 2, 16, new byte[0], Signals.concat(data, new byte[] {7}), 100);
        WavAudio a = WavReader.read(file, "cut.wav", WavReader.Truncation.READ_AVAILABLE);
        assertTrue(a.truncated());
        assertEquals(5, a.frames()); // the dangling 11th byte is not a whole frame
        assertEquals(50, a.declaredFrames());
        assertEquals(3 / 32768f, a.samples()[2]);
    }

    private static WavAudio read(int tag, int channels, int blockAlign, int bits, byte[] data) {
        byte[] extra = tag == 3 ? new byte[] {0, 0} : new byte[0];
        byte[] file = Signals.wav(tag, channels, 8_000, blockAlign, bits, extra, data, data.length);
        return WavReader.read(file, "hand.wav", WavReader.Truncation.REJECT);
    }
}

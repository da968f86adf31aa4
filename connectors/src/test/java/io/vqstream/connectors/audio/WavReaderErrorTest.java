package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WavReaderErrorTest {
    private static final byte[] FMT_PCM16_MONO = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
            .putShort((short) 1).putShort((short) 1).putInt(16_000).putInt(32_000).putShort((short) 2)
            .putShort((short) 16).array();

    private static AudioFormatException rejects(byte[] file, String expectedFragment) {
        AudioFormatException e = assertThrows(AudioFormatException.class,
                () -> WavReader.read(file, "bad.wav", WavReader.Truncation.REJECT));
        assertTrue(e.getMessage().startsWith("bad.wav: "), e.getMessage());
        assertTrue(e.getMessage().contains(expectedFragment), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    private static byte[] header(String riff, String wave) {
        return Signals.concat(riff.getBytes(), new byte[] {0, 0, 0, 0}, wave.getBytes());
    }

    @Test
    void rejectsFilesThatAreNotRiffWave() {
        rejects(new byte[0], "0 bytes, shorter than the 12-byte RIFF header");
        rejects("RIFF".getBytes(), "4 bytes");
        rejects(header("OggS", "WAVE"), "not a RIFF/WAVE file: starts with 'OggS'");
        rejects(Signals.concat(new byte[] {(byte) 0xFF, (byte) 0xFB, 0, 1}, new byte[8]), "starts with 0xFFFB0001");
        rejects(header("RIFX", "WAVE"), "big-endian RIFX");
        rejects(header("RF64", "WAVE"), "RF64");
        rejects(header("RIFF", "AVI "), "form type is 'AVI '");
    }

    @Test
    void rejectsMissingOrBrokenChunks() {
        rejects(header("RIFF", "WAVE"), "no 'fmt ' chunk");
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(header("RIFF", "WAVE"));
        Signals.chunk(out, "fmt ", FMT_PCM16_MONO);
        rejects(out.toByteArray(), "no 'data' chunk");

        out = new java.io.ByteArrayOutputStream();
        out.writeBytes(header("RIFF", "WAVE"));
        Signals.chunk(out, "fmt ", Arrays.copyOf(FMT_PCM16_MONO, 14));
        rejects(out.toByteArray(), "'fmt ' chunk of 14 bytes is shorter than the required 16");

        out = new java.io.ByteArrayOutputStream();
        out.writeBytes(header("RIFF", "WAVE"));
        Signals.write(out, "fmt ", 16);
        out.writeBytes(new byte[6]);
        rejects(out.toByteArray(), "truncated 'fmt ' chunk: declares 16 bytes, 6 remain");
    }

    @Test
    void boundsBogusChunkSizesByTheFileSize() {
        // A LIST chunk before the audio claiming ~4 GiB: no allocation, no skip past the end.
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(header("RIFF", "WAVE"));
        Signals.chunk(out, "fmt ", FMT_PCM16_MONO);
        Signals.write(out, "LIST", 0xFFFFFFF0L);
        out.writeBytes(new byte[20]);
        byte[] file = out.toByteArray();
        assertTimeoutPreemptively(Duration.ofSeconds(2),
                () -> rejects(file, "chunk 'LIST' at offset 36 declares 4294967280 bytes but only 20 remain"));

        // A streaming writer's data size of 0xFFFFFFFF: read what is there, or reject on request.
        byte[] streamed = Signals.wav(1, 1, 16_000, 2, 16, new byte[0], new byte[] {0, 64, 0, (byte) 192},
                0xFFFFFFFFL);
        WavAudio a = assertTimeoutPreemptively(Duration.ofSeconds(2),
                () -> WavReader.read(streamed, "s.wav", WavReader.Truncation.READ_AVAILABLE));
        assertTrue(a.truncated());
        assertEquals(2, a.frames());
        assertEquals(0.5f, a.samples()[0]);
        assertEquals(-0.5f, a.samples()[1]);
        rejects(streamed, "truncated data chunk: declares 4294967295 bytes, file holds 4");
    }

    @Test
    void rejectsUnsupportedOrInconsistentFormats() {
        rejects(Signals.wav(7, 1, 8_000, 1, 8, new byte[] {0, 0}, new byte[4], 4),
                "unsupported WAVE format tag 0x0007 (mu-law)");
        rejects(Signals.wav(0x55, 1, 8_000, 1, 0, new byte[] {0, 0}, new byte[4], 4), "(MPEG Layer 3)");
        rejects(Signals.wav(1, 1, 8_000, 2, 12, new byte[0], new byte[4], 4), "unsupported sample size: 12-bit PCM");
        rejects(Signals.wav(3, 1, 8_000, 2, 16, new byte[] {0, 0}, new byte[4], 4), "16-bit float");
        rejects(Signals.wav(1, 0, 8_000, 2, 16, new byte[0], new byte[4], 4), "declares 0 channels");
        rejects(Signals.wav(1, 1, 0, 2, 16, new byte[0], new byte[4], 4), "sample rate 0 Hz is outside 1000..384000 Hz");
        rejects(Signals.wav(1, 1, 10_000_000, 2, 16, new byte[0], new byte[4], 4), "sample rate 10000000 Hz");
        rejects(Signals.wav(1, 2, 8_000, 2, 16, new byte[0], new byte[4], 4),
                "block align 2 does not match 2 channel(s) of 2 bytes (4)");
        rejects(Signals.wav(1, 1, 8_000, 2, 16, new byte[0], new byte[5], 5),
                "data chunk of 5 bytes is not a whole number of 2-byte frames");

        byte[] ext = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 22).putShort((short) 16)
                .putInt(4).putInt(2).putShort((short) 0).putShort((short) 0x10).put(new byte[] {(byte) 0x80, 0, 0,
                    (byte) 0xAA, 0, 0x38, (byte) 0x9B, 0x71}).array();
        rejects(Signals.wav(0xFFFE, 1, 8_000, 2, 16, ext, new byte[4], 4),
                "unsupported WAVE format tag 0x0002 (Microsoft ADPCM)");
        ext[23] = 0x70; // a GUID outside the KSDATAFORMAT family
        rejects(Signals.wav(0xFFFE, 1, 8_000, 2, 16, ext, new byte[4], 4), "subformat GUID {00000002-0000-0010-8000-00AA00389B70}");
        rejects(Signals.wav(0xFFFE, 1, 8_000, 2, 16, new byte[] {0, 0}, new byte[4], 4),
                "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk of 18 bytes is shorter than the required 40");

        byte[] nan = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.5f).putFloat(Float.NaN).array();
        rejects(Signals.wav(3, 1, 8_000, 4, 32, new byte[] {0, 0}, nan, 8), "non-finite sample NaN at frame 1, channel 0");
    }

    @Test
    void everyTruncationOfAValidFileFailsCleanlyOrReadsAPrefix() {
        float[] x = Signals.noise(7, 300, 0.9);
        for (SampleEncoding e : SampleEncoding.values()) {
            byte[] full = WavWriter.toBytes(e, 16_000, 2, x, e == SampleEncoding.PCM_S24);
            WavAudio whole = WavReader.read(full, "full.wav", WavReader.Truncation.REJECT);
            assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
                for (int len = 0; len < full.length; len++) {
                    byte[] cut = Arrays.copyOf(full, len);
                    try {
                        WavAudio a = WavReader.read(cut, "cut.wav", WavReader.Truncation.READ_AVAILABLE);
                        assertTrue(a.truncated(), e + " length " + len);
                        assertTrue(a.frames() < whole.frames());
                        assertArrayEqualsPrefix(whole.samples(), a.samples());
                    } catch (AudioFormatException ex) {
                        assertTrue(ex.getMessage().startsWith("cut.wav: "), ex.getMessage());
                    }
                }
            });
        }
    }

    @Test
    void randomGarbageAndCorruptedHeadersOnlyEverGiveAudioFormatException() {
        Random r = new Random(20240611);
        byte[] valid = WavWriter.toBytes(SampleEncoding.FLOAT32, 8_000, 1, Signals.noise(1, 64, 0.5), true);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            for (int trial = 0; trial < 5_000; trial++) {
                byte[] b;
                if (trial % 2 == 0) {
                    b = new byte[r.nextInt(200)];
                    r.nextBytes(b);
                    if (trial % 4 == 0 && b.length >= 12) { // a valid preamble, garbage chunks
                        System.arraycopy(header("RIFF", "WAVE"), 0, b, 0, 12);
                    }
                } else {
                    b = valid.clone();
                    for (int k = 0; k < 1 + r.nextInt(4); k++) {
                        b[r.nextInt(80)] = (byte) r.nextInt(256); // corrupt the header region
                    }
                }
                try {
                    WavAudio a = WavReader.read(b, "fuzz.wav", WavReader.Truncation.READ_AVAILABLE);
                    assertTrue(a.frames() <= b.length, "frames are bounded by the bytes present");
                } catch (AudioFormatException expected) {
                    assertTrue(expected.getMessage().startsWith("fuzz.wav: "), expected.getMessage());
                }
            }
        });
    }

    @Test
    void namesTheFileInMessagesAndReportsMissingFilesAsIoErrors(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("speech.wav");
        Files.write(p, new byte[] {'R', 'I', 'F', 'F'});
        AudioFormatException e = assertThrows(AudioFormatException.class, () -> WavReader.read(p));
        assertEquals(p + ": not a WAV file: 4 bytes, shorter than the 12-byte RIFF header", e.getMessage());
        assertThrows(NoSuchFileException.class, () -> WavReader.read(dir.resolve("absent.wav")));
    }

    @Test
    void inspectFindsWhatReadFindsAndRejectsWhatReadRejects(@TempDir Path dir) throws Exception {
        float[] x = Signals.noise(11, 3 * 40_000, 0.9); // more than one 64 KiB read block in every encoding
        for (SampleEncoding e : SampleEncoding.values()) {
            for (int channels : new int[] {1, 3}) {
                byte[] bytes = WavWriter.toBytes(e, 24_000, channels, Arrays.copyOf(x, channels * 40_000), false);
                Path p = dir.resolve(e + "-" + channels + ".wav");
                Files.write(p, bytes);
                WavAudio read = WavReader.read(p, WavReader.Truncation.REJECT);
                WavReader.WavInfo info = WavReader.inspect(p, WavReader.Truncation.REJECT);
                assertEquals(new WavReader.WavInfo(p.toString(), 24_000, channels, e, 40_000, 40_000, false), info);
                assertEquals(read.frames(), info.frames());
                // a cut-off file: rejected alike, or read alike as its whole frames
                Path cut = dir.resolve("cut-" + e + "-" + channels + ".wav");
                Files.write(cut, Arrays.copyOf(bytes, bytes.length - 1));
                AudioFormatException byRead = assertThrows(AudioFormatException.class, () -> WavReader.read(cut, WavReader.Truncation.REJECT));
                AudioFormatException byInspect = assertThrows(AudioFormatException.class, () -> WavReader.inspect(cut, WavReader.Truncation.REJECT));
                assertEquals(byRead.getMessage(), byInspect.getMessage());
                WavReader.WavInfo partial = WavReader.inspect(cut, WavReader.Truncation.READ_AVAILABLE);
                assertEquals(WavReader.read(cut).frames(), partial.frames());
                assertTrue(partial.truncated() && partial.frames() == 39_999, e + " " + partial);
            }
        }
        // a non-finite float far into the file, past the first read block: the same frame and channel named
        float[] y = Signals.noise(12, 2 * 30_000, 0.5);
        y[2 * 21_345 + 1] = Float.POSITIVE_INFINITY;
        for (SampleEncoding e : new SampleEncoding[] {SampleEncoding.FLOAT32, SampleEncoding.FLOAT64}) {
            Path p = dir.resolve("inf-" + e + ".wav");
            Files.write(p, WavWriter.toBytes(e, 16_000, 2, y, false));
            AudioFormatException byRead = assertThrows(AudioFormatException.class, () -> WavReader.read(p));
            AudioFormatException byInspect = assertThrows(AudioFormatException.class, () -> WavReader.inspect(p, WavReader.Truncation.REJECT));
            assertEquals(p + ": non-finite sample Infinity at frame 21345, channel 1", byRead.getMessage());
            assertEquals(byRead.getMessage(), byInspect.getMessage());
        }
    }

    private static void assertArrayEqualsPrefix(float[] whole, float[] prefix) {
        for (int i = 0; i < prefix.length; i++) {
            assertEquals(whole[i], prefix[i], "sample " + i);
        }
    }
}

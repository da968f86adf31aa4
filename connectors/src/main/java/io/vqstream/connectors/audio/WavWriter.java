package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Writes RIFF/WAVE files in any {@link SampleEncoding}, plain or WAVE_FORMAT_EXTENSIBLE, for
 * tests and fixtures.
 *
 * <p>Integer encodings quantise by rounding to the nearest step and clipping to the
 * representable range, the inverse of {@link WavReader}'s scaling:
 *
 * <pre>
 *   s = clamp(round(x * 2^(bits-1)), -2^(bits-1), 2^(bits-1) - 1)    (u8 then adds 128)
 * </pre>
 *
 * Float files carry an 18-byte 'fmt ' chunk and a 'fact' chunk, as the RIFF specification asks
 * of non-PCM formats.
 */
@Internal
public final class WavWriter {
    private WavWriter() {}

    /** Writes mono samples as 16-bit PCM. */
    public static void writePcm16(Path path, int sampleRate, float[] mono) throws IOException {
        write(path, SampleEncoding.PCM_S16, sampleRate, 1, mono, false);
    }

    /** Writes mono samples as 32-bit IEEE float. */
    public static void writeFloat32(Path path, int sampleRate, float[] mono) throws IOException {
        write(path, SampleEncoding.FLOAT32, sampleRate, 1, mono, false);
    }

    /** Writes interleaved samples ({@code frames * channels} values) to a file. */
    public static void write(Path path, SampleEncoding encoding, int sampleRate, int channels,
            float[] interleaved, boolean extensible) throws IOException {
        Files.write(path, toBytes(encoding, sampleRate, channels, interleaved, extensible));
    }

    /** Encodes interleaved samples ({@code frames * channels} values) as a complete WAV file. */
    public static byte[] toBytes(SampleEncoding encoding, int sampleRate, int channels,
            float[] interleaved, boolean extensible) {
        Objects.requireNonNull(encoding, "encoding");
        Objects.requireNonNull(interleaved, "interleaved");
        if (channels < 1 || channels > 0xFFFF) {
            throw new IllegalArgumentException("channels must be in 1..65535, got " + channels);
        }
        if (sampleRate < 1) {
            throw new IllegalArgumentException("sample rate must be positive, got " + sampleRate);
        }
        if (interleaved.length % channels != 0) {
            throw new IllegalArgumentException(interleaved.length + " samples are not a whole number of "
                    + channels + "-channel frames");
        }
        int bytesPerSample = encoding.bytesPerSample();
        int blockAlign = channels * bytesPerSample;
        if (blockAlign > 0xFFFF) {
            throw new IllegalArgumentException("block align " + blockAlign + " exceeds 65535 bytes");
        }
        long dataBytes = (long) interleaved.length * bytesPerSample;
        int fmtBytes = extensible ? 40 : encoding.isFloatingPoint() ? 18 : 16;
        boolean fact = encoding.isFloatingPoint() || extensible;
        long total = 12 + 8 + fmtBytes + (fact ? 12 : 0) + 8 + dataBytes + (dataBytes & 1);
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("WAV of " + total + " bytes is too large to build in memory");
        }
        ByteBuffer b = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt((int) (total - 8));
        b.put("WAVE".getBytes(StandardCharsets.US_ASCII));

        b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(fmtBytes);
        b.putShort((short) (extensible ? 0xFFFE : encoding.formatTag()));
        b.putShort((short) channels);
        b.putInt(sampleRate);
        b.putInt(sampleRate * blockAlign);
        b.putShort((short) blockAlign);
        b.putShort((short) encoding.bitsPerSample());
        if (fmtBytes >= 18) {
            b.putShort((short) (fmtBytes - 18)); // cbSize: bytes of extension that follow
        }
        if (extensible) {
            b.putShort((short) encoding.bitsPerSample()); // valid bits
            b.putInt(channels == 1 ? 0x4 : channels == 2 ? 0x3 : 0); // speaker mask: FC, FL|FR, or unassigned
            // KSDATAFORMAT_SUBTYPE_{PCM,IEEE_FLOAT}: {0000000t-0000-0010-8000-00AA00389B71}
            b.putInt(encoding.formatTag()).putShort((short) 0).putShort((short) 0x0010);
            b.put(new byte[] {(byte) 0x80, 0x00, 0x00, (byte) 0xAA, 0x00, 0x38, (byte) 0x9B, 0x71});
        }
        if (fact) {
            b.put("fact".getBytes(StandardCharsets.US_ASCII)).putInt(4).putInt(interleaved.length / channels);
        }

        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt((int) dataBytes);
        double scale = encoding.isFloatingPoint() ? 1.0 : encoding.integerScale();
        long max = (long) scale - 1;
        long min = -(long) scale;
        for (float x : interleaved) {
            switch (encoding) {
                case FLOAT32 -> b.putFloat(x);
                case FLOAT64 -> b.putDouble(x);
                default -> {
                    long s = Math.max(min, Math.min(max, Math.round(x * scale)));
                    switch (encoding) {
                        case PCM_U8 -> b.put((byte) (s + 128));
                        case PCM_S16 -> b.putShort((short) s);
                        case PCM_S24 -> b.put((byte) s).put((byte) (s >> 8)).put((byte) (s >> 16));
                        case PCM_S32 -> b.putInt((int) s);
                        default -> throw new AssertionError(encoding);
                    }
                }
            }
        }
        return b.array(); // an odd-length data chunk keeps its zero pad byte from allocate()
    }
}

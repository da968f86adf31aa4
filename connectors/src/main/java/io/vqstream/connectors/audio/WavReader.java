package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * Reads RIFF/WAVE files: integer PCM of 8 (unsigned), 16, 24 and 32 bits, IEEE float of 32 and
 * 64 bits, plain or as WAVE_FORMAT_EXTENSIBLE (format tag 0xFFFE with the KSDATAFORMAT PCM or
 * IEEE_FLOAT subformat GUID), any channel count, mixed down to mono by averaging channels:
 *
 * <pre>
 *   mono[n] = (1 / C) * sum_c x[n, c]
 * </pre>
 *
 * Sample rates outside {@link SampleRates} are rejected as corrupt.
 *
 * <p>Every chunk size is checked against the real number of bytes left in the file before
 * anything is allocated or skipped, so a bogus size can neither exhaust memory nor loop. The
 * RIFF header's own size field is ignored (streaming writers leave it 0 or 0xFFFFFFFF); the
 * chunk walk is bounded by the file length.
 *
 * <p>Truncated data: when the data chunk declares more bytes than the file holds, the default
 * policy {@link Truncation#READ_AVAILABLE} returns the whole frames that are present and sets
 * {@link WavAudio#truncated()} (a recording cut off mid-write is still usable audio);
 * {@link Truncation#REJECT} throws instead. A declared data size that is not a whole number of
 * frames is always rejected, as are non-finite float samples.
 */
@Internal
public final class WavReader {
    /** What to do when the data chunk is shorter than its header declares. */
    public enum Truncation {
        /** Read the whole frames present and mark the result {@code truncated}. */
        READ_AVAILABLE,
        /** Throw an {@link AudioFormatException}. */
        REJECT
    }

    private static final int FORMAT_PCM = 1;
    private static final int FORMAT_IEEE_FLOAT = 3;
    private static final int FORMAT_EXTENSIBLE = 0xFFFE;
    /** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE GUID {0000xxxx-0000-0010-8000-00AA00389B71}. */
    private static final byte[] KSDATAFORMAT_GUID_TAIL = {
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00, (byte) 0xAA, 0x00, 0x38, (byte) 0x9B, 0x71
    };
    private static final int READ_BLOCK_BYTES = 1 << 16;
    private static final int MAX_FRAMES = Integer.MAX_VALUE - 8;

    private WavReader() {}

    /** Reads a WAV file, accepting a truncated data chunk (see class comment). */
    public static WavAudio read(Path path) throws IOException {
        return read(path, Truncation.READ_AVAILABLE);
    }

    /** Reads a WAV file with the given truncation policy. */
    public static WavAudio read(Path path, Truncation truncation) throws IOException {
        Objects.requireNonNull(path, "path");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return parse(new ChannelInput(ch), path.toString(), truncation);
        }
    }

    /** Reads a WAV file held in memory; {@code source} names it in error messages. */
    public static WavAudio read(byte[] bytes, String source, Truncation truncation) {
        Objects.requireNonNull(bytes, "bytes");
        try {
            return parse(new ArrayInput(bytes), source, truncation);
        } catch (IOException e) {
            throw new AssertionError("in-memory read cannot fail", e);
        }
    }

    /**
     * Checks a WAV file as {@link #read(Path, Truncation)} would and returns what it holds, without
     * keeping its samples: the header and chunk walk always, and for float encodings a scan for
     * non-finite samples (integer PCM has none). Cheaper than a read for a job client that only
     * plans chunks: an 86 MB file costs a few header reads instead of a full decode.
     */
    public static WavInfo inspect(Path path, Truncation truncation) throws IOException {
        Objects.requireNonNull(path, "path");
        String source = path.toString();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            Input in = new ChannelInput(ch);
            Layout l = layout(in, source, truncation);
            if (l.format.encoding.isFloatingPoint()) {
                decode(in, l.dataOffset, l.frames, l.format, source, false);
            }
            return new WavInfo(source, l.format.sampleRate, l.format.channels, l.format.encoding, l.frames,
                    l.declaredData / l.format.blockAlign, l.truncated);
        }
    }

    /** What a WAV file holds, as {@link #inspect} finds it (the samples left unread). */
    public record WavInfo(String source, int sampleRate, int channels, SampleEncoding encoding, int frames,
            long declaredFrames, boolean truncated) {}

    private record Format(SampleEncoding encoding, boolean extensible, int channels, int sampleRate, int blockAlign) {}

    /** Where the samples lie and how they are stored. */
    private record Layout(Format format, long dataOffset, long declaredData, int frames, boolean truncated) {}

    private static WavAudio parse(Input in, String source, Truncation truncation) throws IOException {
        Layout l = layout(in, source, truncation);
        float[] mono = decode(in, l.dataOffset, l.frames, l.format, source, true);
        return new WavAudio(source, l.format.sampleRate, l.format.channels, l.format.encoding, l.format.extensible, mono,
                l.declaredData / l.format.blockAlign, l.truncated);
    }

    private static Layout layout(Input in, String source, Truncation truncation) throws IOException {
        long size = in.size();
        if (size < 12) {
            throw fail(source, "not a WAV file: " + size + " bytes, shorter than the 12-byte RIFF header");
        }
        ByteBuffer head = in.read(0, 12);
        String riff = fourCc(head, 0);
        String wave = fourCc(head, 8);
        switch (riff) {
            case "RIFF" -> { }
            case "RIFX" -> throw fail(source, "big-endian RIFX files are not supported");
            case "RF64" -> throw fail(source, "RF64 (64-bit RIFF) files are not supported");
            default -> throw fail(source, "not a RIFF/WAVE file: starts with " + printable(riff));
        }
        if (!"WAVE".equals(wave)) {
            throw fail(source, "RIFF form type is " + printable(wave) + ", not 'WAVE'");
        }

        Format format = null;
        long dataOffset = -1;
        long declaredData = -1;
        long availableData = -1;
        long pos = 12;
        // Each step advances by at least 8 bytes, so the walk ends within size / 8 steps.
        while (pos + 8 <= size) {
            ByteBuffer ch = in.read(pos, 8);
            String id = fourCc(ch, 0);
            long chunkSize = Integer.toUnsignedLong(ch.getInt(4));
            long body = pos + 8;
            long remaining = size - body;
            if (id.equals("fmt ")) {
                if (format != null) {
                    throw fail(source, "second 'fmt ' chunk at offset " + pos);
                }
                if (chunkSize > remaining) {
                    throw fail(source, "truncated 'fmt ' chunk: declares " + chunkSize + " bytes, " + remaining + " remain");
                }
                format = parseFormat(in.read(body, (int) Math.min(chunkSize, 40)), chunkSize, source);
            } else if (id.equals("data")) {
                if (dataOffset >= 0) {
                    throw fail(source, "second 'data' chunk at offset " + pos);
                }
                dataOffset = body;
                declaredData = chunkSize;
                availableData = Math.min(chunkSize, remaining);
                if (chunkSize > remaining) {
                    break; // the data runs to the end of the file: nothing follows it
                }
            } else if (chunkSize > remaining) {
                if (format != null && dataOffset >= 0) {
                    break; // a cut-off trailing chunk (LIST, id3, ...) after the audio: ignore it
                }
                throw fail(source, "chunk " + printable(id) + " at offset " + pos + " declares " + chunkSize
                        + " bytes but only " + remaining + " remain");
            }
            if (format != null && dataOffset >= 0) {
                break;
            }
            pos = body + chunkSize + (chunkSize & 1); // chunks are padded to an even length
        }
        if (format == null) {
            throw fail(source, "no 'fmt ' chunk" + (dataOffset >= 0 ? " before the end of the file" : ""));
        }
        if (dataOffset < 0) {
            throw fail(source, "no 'data' chunk");
        }
        boolean truncated = availableData < declaredData;
        if (truncated && truncation == Truncation.REJECT) {
            throw fail(source, "truncated data chunk: declares " + declaredData + " bytes, file holds " + availableData);
        }
        if (!truncated && declaredData % format.blockAlign != 0) {
            throw fail(source, "data chunk of " + declaredData + " bytes is not a whole number of "
                    + format.blockAlign + "-byte frames");
        }
        long frames = availableData / format.blockAlign;
        if (frames > MAX_FRAMES) {
            throw fail(source, "too long to read at once: " + frames + " frames (limit " + MAX_FRAMES + ")");
        }
        return new Layout(format, dataOffset, declaredData, (int) frames, truncated);
    }

    private static Format parseFormat(ByteBuffer b, long chunkSize, String source) {
        if (chunkSize < 16) {
            throw fail(source, "'fmt ' chunk of " + chunkSize + " bytes is shorter than the required 16");
        }
        int tag = Short.toUnsignedInt(b.getShort(0));
        int channels = Short.toUnsignedInt(b.getShort(2));
        long sampleRate = Integer.toUnsignedLong(b.getInt(4));
        int blockAlign = Short.toUnsignedInt(b.getShort(12));
        int bits = Short.toUnsignedInt(b.getShort(14));
        boolean extensible = tag == FORMAT_EXTENSIBLE;
        int effectiveTag = tag;
        if (extensible) {
            if (chunkSize < 40) {
                throw fail(source, "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk of " + chunkSize + " bytes is shorter than the required 40");
            }
            int validBits = Short.toUnsignedInt(b.getShort(18));
            int subFormatHigh = Short.toUnsignedInt(b.getShort(26));
            for (int i = 0; i < KSDATAFORMAT_GUID_TAIL.length; i++) {
                if (b.get(26 + i) != KSDATAFORMAT_GUID_TAIL[i]) {
                    throw fail(source, "unsupported WAVE_FORMAT_EXTENSIBLE subformat GUID " + guid(b, 24));
                }
            }
            if (subFormatHigh != 0) {
                throw fail(source, "unsupported WAVE_FORMAT_EXTENSIBLE subformat GUID " + guid(b, 24));
            }
            effectiveTag = Short.toUnsignedInt(b.getShort(24));
            if (validBits > bits) {
                throw fail(source, "valid bits per sample " + validBits + " exceed the container size " + bits);
            }
        }
        if (effectiveTag != FORMAT_PCM && effectiveTag != FORMAT_IEEE_FLOAT) {
            throw fail(source, "unsupported WAVE format " + formatName(effectiveTag)
                    + "; only PCM (1), IEEE float (3) and WAVE_FORMAT_EXTENSIBLE with those subformats are read");
        }
        SampleEncoding encoding = SampleEncoding.of(effectiveTag, bits);
        if (encoding == null) {
            throw fail(source, "unsupported sample size: " + bits + "-bit "
                    + (effectiveTag == FORMAT_PCM ? "PCM (8, 16, 24 or 32 are read)" : "float (32 or 64 are read)"));
        }
        if (channels == 0) {
            throw fail(source, "'fmt ' chunk declares 0 channels");
        }
        if (!SampleRates.isValid(sampleRate)) {
            throw fail(source, SampleRates.outOfRange("sample rate", sampleRate));
        }
        int expectedAlign = channels * encoding.bytesPerSample();
        if (blockAlign != expectedAlign) {
            throw fail(source, "block align " + blockAlign + " does not match " + channels + " channel(s) of "
                    + encoding.bytesPerSample() + " bytes (" + expectedAlign + ")");
        }
        return new Format(encoding, extensible, channels, (int) sampleRate, blockAlign);
    }

    /**
     * Decodes {@code frames} frames from {@code offset} into mono floats: into a new array when
     * {@code keep}, else through one block-sized buffer, only to find non-finite samples.
     */
    private static float[] decode(Input in, long offset, int frames, Format f, String source, boolean keep) throws IOException {
        int framesPerBlock = Math.max(1, READ_BLOCK_BYTES / f.blockAlign);
        float[] mono = new float[keep ? frames : Math.min(frames, framesPerBlock)];
        int channels = f.channels;
        int bytes = f.encoding.bytesPerSample();
        double scale = f.encoding.isFloatingPoint() ? 1.0 : f.encoding.integerScale();
        int frame = 0;
        while (frame < frames) {
            int n = Math.min(framesPerBlock, frames - frame);
            ByteBuffer b = in.read(offset + (long) frame * f.blockAlign, n * f.blockAlign);
            int at = keep ? frame : 0;
            int p = 0;
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (int c = 0; c < channels; c++, p += bytes) {
                    double v = switch (f.encoding) {
                        case PCM_U8 -> Byte.toUnsignedInt(b.get(p)) - 128;
                        case PCM_S16 -> b.getShort(p);
                        case PCM_S24 -> (b.get(p) & 0xFF) | ((b.get(p + 1) & 0xFF) << 8) | (b.get(p + 2) << 16);
                        case PCM_S32 -> b.getInt(p);
                        case FLOAT32 -> b.getFloat(p);
                        case FLOAT64 -> b.getDouble(p);
                    };
                    if (!Double.isFinite(v)) {
                        throw fail(source, "non-finite sample " + v + " at frame " + (frame + i) + ", channel " + c);
                    }
                    sum += v;
                }
                mono[at + i] = (float) (sum / (scale * channels));
            }
            frame += n;
        }
        return mono;
    }

    private static AudioFormatException fail(String source, String what) {
        return new AudioFormatException(source + ": " + what);
    }

    private static String fourCc(ByteBuffer b, int at) {
        byte[] id = new byte[4];
        for (int i = 0; i < 4; i++) {
            id[i] = b.get(at + i);
        }
        return new String(id, StandardCharsets.ISO_8859_1);
    }

    /** The four-character code quoted if printable ASCII, else as hex bytes. */
    private static String printable(String id) {
        boolean ascii = id.chars().allMatch(c -> c >= 0x20 && c < 0x7F);
        if (ascii) {
            return "'" + id + "'";
        }
        StringBuilder hex = new StringBuilder("0x");
        for (char c : id.toCharArray()) {
            hex.append(String.format("%02X", (int) c));
        }
        return hex.toString();
    }

    private static String guid(ByteBuffer b, int at) {
        return String.format("{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
                b.getInt(at), b.getShort(at + 4), b.getShort(at + 6),
                b.get(at + 8), b.get(at + 9), b.get(at + 10), b.get(at + 11),
                b.get(at + 12), b.get(at + 13), b.get(at + 14), b.get(at + 15));
    }

    private static String formatName(int tag) {
        String name = switch (tag) {
            case 0x0002 -> " (Microsoft ADPCM)";
            case 0x0006 -> " (A-law)";
            case 0x0007 -> " (mu-law)";
            case 0x0011 -> " (IMA ADPCM)";
            case 0x0050 -> " (MPEG)";
            case 0x0055 -> " (MPEG Layer 3)";
            default -> "";
        };
        return String.format("tag 0x%04X", tag) + name;
    }

    /** Positional reads of an exact number of bytes, little-endian. */
    private interface Input {
        long size() throws IOException;

        ByteBuffer read(long position, int length) throws IOException;
    }

    private record ChannelInput(FileChannel channel) implements Input {
        @Override
        public long size() throws IOException {
            return channel.size();
        }

        @Override
        public ByteBuffer read(long position, int length) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                int n = channel.read(b, position + b.position());
                if (n < 0) {
                    throw new IOException("file shrank while being read at offset " + (position + b.position()));
                }
            }
            return b.flip();
        }
    }

    private record ArrayInput(byte[] bytes) implements Input {
        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public ByteBuffer read(long position, int length) {
            return ByteBuffer.wrap(bytes, (int) position, length).slice().order(ByteOrder.LITTLE_ENDIAN);
        }
    }
}

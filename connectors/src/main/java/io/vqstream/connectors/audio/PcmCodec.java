package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Decodes interleaved PCM payloads to mono float samples, averaging the channels:
 *
 * <pre>
 *   s16le: mono[n] = (sum_c s[n, c]) / (32768 * C)
 *   f32le: mono[n] = (sum_c x[n, c]) / C
 * </pre>
 *
 * Sums are taken in double precision and rounded to float once, so a mono payload decodes
 * exactly. A payload that is not a whole number of frames, or a float payload holding NaN or
 * infinity, is rejected with an {@link AudioFormatException}.
 */
@Internal
public final class PcmCodec {
    /** Most channels accepted, the WAV format's own limit. */
    public static final int MAX_CHANNELS = 0xFFFF;

    private PcmCodec() {}

    /** Decodes a whole payload. */
    public static float[] toMono(PcmEncoding encoding, int channels, byte[] payload) {
        Objects.requireNonNull(payload, "payload");
        return toMono(encoding, channels, payload, 0, payload.length);
    }

    /** Decodes {@code length} bytes of {@code payload} starting at {@code offset}. */
    public static float[] toMono(PcmEncoding encoding, int channels, byte[] payload, int offset, int length) {
        Objects.requireNonNull(encoding, "encoding");
        Objects.requireNonNull(payload, "payload");
        checkChannels(channels);
        Objects.checkFromIndexSize(offset, length, payload.length);
        int frameBytes = channels * encoding.bytesPerSample();
        if (length % frameBytes != 0) {
            throw new AudioFormatException("PCM payload of " + length + " bytes is not a whole number of frames ("
                    + encoding.name().toLowerCase() + ", " + channels + " channel(s): " + frameBytes + " bytes per frame)");
        }
        int frames = length / frameBytes;
        ByteBuffer b = ByteBuffer.wrap(payload, offset, length).slice().order(ByteOrder.LITTLE_ENDIAN);
        float[] mono = new float[frames];
        int p = 0;
        if (encoding == PcmEncoding.S16LE) {
            double scale = 32768.0 * channels;
            for (int n = 0; n < frames; n++) {
                long sum = 0;
                for (int c = 0; c < channels; c++, p += 2) {
                    sum += b.getShort(p);
                }
                mono[n] = (float) (sum / scale);
            }
        } else {
            for (int n = 0; n < frames; n++) {
                double sum = 0;
                for (int c = 0; c < channels; c++, p += 4) {
                    float x = b.getFloat(p);
                    if (!Float.isFinite(x)) {
                        throw nonFinite(x, n, c);
                    }
                    sum += x;
                }
                mono[n] = (float) (sum / channels);
            }
        }
        return mono;
    }

    /** Averages interleaved float samples ({@code frames * channels} values) to mono. */
    public static float[] mixdown(float[] interleaved, int channels) {
        Objects.requireNonNull(interleaved, "interleaved");
        checkChannels(channels);
        if (interleaved.length % channels != 0) {
            throw new AudioFormatException(interleaved.length + " float samples are not a whole number of "
                    + channels + "-channel frames");
        }
        int frames = interleaved.length / channels;
        float[] mono = new float[frames];
        int p = 0;
        for (int n = 0; n < frames; n++) {
            double sum = 0;
            for (int c = 0; c < channels; c++, p++) {
                float x = interleaved[p];
                if (!Float.isFinite(x)) {
                    throw nonFinite(x, n, c);
                }
                sum += x;
            }
            mono[n] = (float) (sum / channels);
        }
        return mono;
    }

    /** Encodes mono or interleaved samples as s16le (rounded, clipped) or f32le bytes. */
    public static byte[] encode(PcmEncoding encoding, float[] samples) {
        Objects.requireNonNull(encoding, "encoding");
        ByteBuffer b = ByteBuffer.allocate(samples.length * encoding.bytesPerSample()).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : samples) {
            if (encoding == PcmEncoding.S16LE) {
                b.putShort((short) Math.max(-32768, Math.min(32767, Math.round(x * 32768.0))));
            } else {
                b.putFloat(x);
            }
        }
        return b.array();
    }

    private static void checkChannels(int channels) {
        if (channels < 1 || channels > MAX_CHANNELS) {
            throw new AudioFormatException("channel count " + channels + " is outside 1.." + MAX_CHANNELS);
        }
    }

    private static AudioFormatException nonFinite(float x, int frame, int channel) {
        return new AudioFormatException("non-finite sample " + x + " at frame " + frame + ", channel " + channel);
    }
}

package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/**
 * How one sample is stored in a WAV data chunk (always little-endian).
 *
 * <p>Integer samples are scaled to floats by dividing by 2<sup>bits-1</sup> (8-bit PCM is
 * unsigned with 128 as zero, per the RIFF WAVE specification), so full scale maps to
 * [-1, 1):
 *
 * <pre>
 *   u8:  x = (b - 128) / 128
 *   s16: x = s / 32768
 *   s24: x = s / 8388608
 *   s32: x = s / 2147483648
 * </pre>
 */
@Internal
public enum SampleEncoding {
    PCM_U8(8, false),
    PCM_S16(16, false),
    PCM_S24(24, false),
    PCM_S32(32, false),
    FLOAT32(32, true),
    FLOAT64(64, true);

    private final int bits;
    private final boolean floatingPoint;

    SampleEncoding(int bits, boolean floatingPoint) {
        this.bits = bits;
        this.floatingPoint = floatingPoint;
    }

    public int bitsPerSample() {
        return bits;
    }

    public int bytesPerSample() {
        return bits / 8;
    }

    /** True for IEEE float encodings (WAVE format tag 3), false for integer PCM (tag 1). */
    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /** The WAVE format tag of this encoding: 1 (PCM) or 3 (IEEE float). */
    public int formatTag() {
        return floatingPoint ? 3 : 1;
    }

    /** The encoding with this format tag (1 or 3) and sample size, or null if none matches. */
    static SampleEncoding of(int formatTag, int bits) {
        for (SampleEncoding e : values()) {
            if (e.formatTag() == formatTag && e.bits == bits) {
                return e;
            }
        }
        return null;
    }

    /** Full-scale divisor for integer encodings: 2^(bits-1). */
    double integerScale() {
        return Math.scalb(1.0, bits - 1);
    }
}

package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/** Sample layout of a raw interleaved PCM payload (no header). */
@Internal
public enum PcmEncoding {
    /** Signed 16-bit little-endian integers, scaled by 1/32768. */
    S16LE(2),
    /** 32-bit little-endian IEEE floats, taken as they are. */
    F32LE(4);

    private final int bytesPerSample;

    PcmEncoding(int bytesPerSample) {
        this.bytesPerSample = bytesPerSample;
    }

    public int bytesPerSample() {
        return bytesPerSample;
    }
}

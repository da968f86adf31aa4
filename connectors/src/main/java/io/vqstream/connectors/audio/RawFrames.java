package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.Objects;

/** The identity feature: each frame's samples, copied, with no window applied. */
@Internal
public final class RawFrames implements FeatureExtractor {
    private final int frameLength;

    public RawFrames(int frameLength) {
        if (frameLength < 1) {
            throw new IllegalArgumentException("frame length must be at least 1, got " + frameLength);
        }
        this.frameLength = frameLength;
    }

    @Override
    public int frameLength() {
        return frameLength;
    }

    @Override
    public int dimension() {
        return frameLength;
    }

    @Override
    public float[] extract(float[] frame) {
        Objects.requireNonNull(frame, "frame");
        if (frame.length != frameLength) {
            throw new IllegalArgumentException("frame has " + frame.length + " samples, expected " + frameLength);
        }
        return frame.clone();
    }
}

package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/** Which features {@link AudioFrontEnd} emits per frame. */
@Internal
public enum FeatureKind {
    /** The frame's samples as they are ({@link RawFrames}). */
    RAW_FRAMES,
    /** The log-mel spectrum of the frame ({@link LogMelSpectrogram}). */
    LOG_MEL
}

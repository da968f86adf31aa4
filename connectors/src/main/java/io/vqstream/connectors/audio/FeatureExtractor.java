package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/**
 * Turns one frame of {@link #frameLength()} samples into a feature vector of
 * {@link #dimension()} values. Implementations hold no stream state, only configuration and
 * scratch buffers, so they are not thread-safe but need no snapshot.
 */
@Internal
public interface FeatureExtractor {
    /** Samples per input frame (win_length). */
    int frameLength();

    /** Values per feature vector. */
    int dimension();

    /** The features of one frame; {@code frame.length} must equal {@link #frameLength()}. */
    float[] extract(float[] frame);

    /** The extractor a configuration asks for. */
    static FeatureExtractor of(AudioFrontEndConfig config) {
        return switch (config.featureKind()) {
            case RAW_FRAMES -> new RawFrames(config.winLength());
            case LOG_MEL -> new LogMelSpectrogram(config.targetSampleRate(), config.winLength(), config.nFft(),
                    config.nMels(), config.fmin(), config.fmax(), config.melScale(), config.melNorm());
        };
    }
}

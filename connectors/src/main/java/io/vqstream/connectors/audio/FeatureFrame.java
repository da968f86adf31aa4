package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/**
 * The features of one frame.
 *
 * @param frameIndex  k, counting from 0 at the start of the stream
 * @param startSample index of the frame's first sample at the target rate, {@code k * hop}
 * @param features    the feature vector (raw samples or log-mel energies); owned by the caller
 */
@Internal
public record FeatureFrame(long frameIndex, long startSample, float[] features) {}

package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/**
 * The features of one frame.
 *
 * @param frameIndex  k, counting from 0 at the start of the stream
 * @param startSample index of the frame's first sample at the target rate, {@code k * hop}
 * @param features    the feature vector (raw samples or log-mel energies); owned by the caller
 * @param energyDb    the frame's mean power in dB full scale, {@code 10·log10(mean(s²) + 1e-10)}
 *                    over its samples at the target rate (for the {@code audio.gate-db} energy gate)
 */
@Internal
public record FeatureFrame(long frameIndex, long startSample, float[] features, double energyDb) {

    public FeatureFrame(long frameIndex, long startSample, float[] features) {
        this(frameIndex, startSample, features, Double.NaN);
    }

    /** {@code 10·log10(mean(s²) + 1e-10)}: −100 dB for digital silence, 0 dB for a full-scale square wave. */
    public static double energyDb(float[] samples) {
        double s = 0;
        for (float v : samples) {
            s += (double) v * v;
        }
        return 10 * Math.log10(s / Math.max(samples.length, 1) + 1e-10);
    }
}

package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/** Normalisation of the mel filters (torchaudio's {@code norm} argument of {@code melscale_fbanks}). */
@Internal
public enum MelNorm {
    /** Peak 1 per triangle (torchaudio's default). */
    NONE,
    /** Each triangle scaled by {@code 2 / (f[m+2] - f[m])}: equal area (Slaney, librosa's default). */
    SLANEY
}

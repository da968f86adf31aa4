package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/**
 * Hz-to-mel conversions, as in torchaudio's {@code _hz_to_mel} / {@code _mel_to_hz}.
 *
 * <pre>
 *   HTK    (Young et al., The HTK Book; torchaudio's default):
 *          mel = 2595 log10(1 + f / 700)
 *   SLANEY (Slaney, Auditory Toolbox, 1998; librosa's default):
 *          mel = 3 f / 200                           for f &lt; 1000 Hz
 *          mel = 15 + ln(f / 1000) / (ln(6.4) / 27)    for f &gt;= 1000 Hz
 * </pre>
 */
@Internal
public enum MelScale {
    HTK,
    SLANEY;

    private static final double SLANEY_F_SP = 200.0 / 3;
    private static final double SLANEY_MIN_LOG_HZ = 1000.0;
    private static final double SLANEY_MIN_LOG_MEL = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;
    private static final double SLANEY_LOG_STEP = Math.log(6.4) / 27.0;

    public double hzToMel(double hz) {
        if (this == HTK) {
            return 2595.0 * Math.log10(1.0 + hz / 700.0);
        }
        return hz >= SLANEY_MIN_LOG_HZ
                ? SLANEY_MIN_LOG_MEL + Math.log(hz / SLANEY_MIN_LOG_HZ) / SLANEY_LOG_STEP
                : hz / SLANEY_F_SP;
    }

    public double melToHz(double mel) {
        if (this == HTK) {
            return 700.0 * (Math.pow(10.0, mel / 2595.0) - 1.0);
        }
        return mel >= SLANEY_MIN_LOG_MEL
                ? SLANEY_MIN_LOG_HZ * Math.exp(SLANEY_LOG_STEP * (mel - SLANEY_MIN_LOG_MEL))
                : SLANEY_F_SP * mel;
    }
}

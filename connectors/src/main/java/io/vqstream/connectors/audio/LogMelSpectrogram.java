package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.Arrays;
import java.util.Objects;
import org.jtransforms.fft.FloatFFT_1D;

/**
 * Log-mel features of one frame, following torchaudio's {@code MelSpectrogram} (power 2, no
 * normalisation) on a frame that is already cut out ({@code center=False}):
 *
 * <pre>
 *   w[i]   = 0.5 - 0.5 cos(2 pi i / winLength)        periodic Hann (torch.hann_window default)
 *   X[k]   = sum_{i &lt; winLength} w[i] x[i] e^{-2 pi j i k / nFft},  k = 0 .. nFft/2
 *   P[k]   = |X[k]|^2
 *   mel[m] = sum_k fb[m, k] P[k]                       ({@link MelFilterbank})
 *   out[m] = ln(max(mel[m], 1e-10))
 * </pre>
 *
 * The windowed frame is zero-padded at its end to {@code nFft}; torch.stft instead centres a
 * shorter window in the FFT frame, which shifts the frame and so changes only the phase of
 * {@code X}, not {@code P}. The floor 1e-10 (about -23.03 after the log) is the clamp OpenAI
 * Whisper's {@code log_mel_spectrogram} applies before its log; it keeps silence finite.
 *
 * <p>Not thread-safe (scratch buffers); it holds no stream state.
 */
@Internal
public final class LogMelSpectrogram implements FeatureExtractor {
    /** Power below which mel energies are clamped before the log. */
    public static final double LOG_FLOOR = 1e-10;

    private final int winLength;
    private final int nFft;
    private final float[] window;
    private final MelFilterbank filterbank;
    private final FloatFFT_1D fft;
    private final float[] fftBuffer;
    private final float[] power;
    private final double[] mel;

    public LogMelSpectrogram(int sampleRate, int winLength, int nFft, int nMels, double fmin, double fmax,
            MelScale scale, MelNorm norm) {
        if (winLength < 1) {
            throw new IllegalArgumentException("win_length must be at least 1, got " + winLength);
        }
        if (nFft < winLength) {
            throw new IllegalArgumentException("n_fft " + nFft + " is smaller than win_length " + winLength);
        }
        this.filterbank = new MelFilterbank(sampleRate, nFft, nMels, fmin, fmax, scale, norm);
        this.winLength = winLength;
        this.nFft = nFft;
        this.window = periodicHann(winLength);
        this.fft = new FloatFFT_1D(nFft);
        this.fftBuffer = new float[nFft];
        this.power = new float[nFft / 2 + 1];
        this.mel = new double[nMels];
    }

    /** {@code w[i] = 0.5 - 0.5 cos(2 pi i / n)}, i = 0 .. n-1 (torch.hann_window, periodic=True). */
    public static float[] periodicHann(int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (0.5 - 0.5 * Math.cos(2 * Math.PI * i / n));
        }
        return w;
    }

    @Override
    public int frameLength() {
        return winLength;
    }

    @Override
    public int dimension() {
        return filterbank.nMels();
    }

    public MelFilterbank filterbank() {
        return filterbank;
    }

    @Override
    public float[] extract(float[] frame) {
        powerSpectrum(frame, power);
        filterbank.apply(power, mel);
        float[] out = new float[mel.length];
        for (int m = 0; m < mel.length; m++) {
            out[m] = (float) Math.log(Math.max(mel[m], LOG_FLOOR));
        }
        return out;
    }

    /** The power spectrum {@code P[0 .. nFft/2]} of the Hann-windowed frame. */
    public float[] powerSpectrum(float[] frame) {
        float[] p = new float[nFft / 2 + 1];
        powerSpectrum(frame, p);
        return p;
    }

    private void powerSpectrum(float[] frame, float[] p) {
        Objects.requireNonNull(frame, "frame");
        if (frame.length != winLength) {
            throw new IllegalArgumentException("frame has " + frame.length + " samples, expected " + winLength);
        }
        float[] a = fftBuffer;
        for (int i = 0; i < winLength; i++) {
            a[i] = frame[i] * window[i];
        }
        Arrays.fill(a, winLength, nFft, 0f);
        fft.realForward(a);
        // JTransforms packs the half spectrum in place: a[2k] = Re X[k], a[2k+1] = Im X[k] for
        // 0 < k < n/2; a[0] = X[0] (real); a[1] = Re X[n/2] for even n, Im X[(n-1)/2] for odd n.
        p[0] = a[0] * a[0];
        int half = nFft / 2;
        if (nFft % 2 == 0) {
            for (int k = 1; k < half; k++) {
                p[k] = a[2 * k] * a[2 * k] + a[2 * k + 1] * a[2 * k + 1];
            }
            if (half > 0) {
                p[half] = a[1] * a[1];
            }
        } else {
            for (int k = 1; k < half; k++) {
                p[k] = a[2 * k] * a[2 * k] + a[2 * k + 1] * a[2 * k + 1];
            }
            if (half > 0) {
                p[half] = a[2 * half] * a[2 * half] + a[1] * a[1];
            }
        }
    }
}

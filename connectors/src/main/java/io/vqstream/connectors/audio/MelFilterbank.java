package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.Arrays;
import java.util.Objects;

/**
 * Triangular mel filters over the {@code nFft / 2 + 1} bins of a real FFT, built as
 * torchaudio's {@code melscale_fbanks}: {@code nMels + 2} points equally spaced on the mel scale
 * between {@code fmin} and {@code fmax} are mapped back to Hz as {@code f[0..nMels+1]}, and
 * filter {@code m} rises from {@code f[m]} to a peak of 1 at {@code f[m+1]} and falls to zero at
 * {@code f[m+2]}:
 *
 * <pre>
 *   w[m, k] = max(0, min((fk - f[m]) / (f[m+1] - f[m]), (f[m+2] - fk) / (f[m+2] - f[m+1])))
 *   fk = k * sampleRate / nFft                                         (bin centre frequency)
 *   SLANEY norm: w[m, k] *= 2 / (f[m+2] - f[m])
 * </pre>
 *
 * torchaudio spaces the bins as {@code linspace(0, sampleRate // 2, nFft // 2 + 1)}, which is
 * the same for an even {@code nFft} and an even rate; here the true bin frequency is used in
 * every case. A filter narrower than the bin spacing may cover no bin and stay all zero (see
 * {@link #emptyFilters()}), as in torchaudio, which only warns about it.
 */
@Internal
public final class MelFilterbank {
    private final int nFreqs;
    private final double[] points;
    private final int[] firstBin;
    private final float[][] weights;

    public MelFilterbank(int sampleRate, int nFft, int nMels, double fmin, double fmax, MelScale scale, MelNorm norm) {
        Objects.requireNonNull(scale, "scale");
        Objects.requireNonNull(norm, "norm");
        if (sampleRate < 1) {
            throw new IllegalArgumentException("sample rate must be positive, got " + sampleRate);
        }
        if (nFft < 1) {
            throw new IllegalArgumentException("n_fft must be at least 1, got " + nFft);
        }
        if (nMels < 1) {
            throw new IllegalArgumentException("n_mels must be at least 1, got " + nMels);
        }
        if (!(fmin >= 0 && fmin < fmax && fmax <= sampleRate / 2.0)) {
            throw new IllegalArgumentException("need 0 <= fmin < fmax <= sampleRate / 2 = " + sampleRate / 2.0
                    + " Hz, got fmin " + fmin + " Hz, fmax " + fmax + " Hz");
        }
        nFreqs = nFft / 2 + 1;
        double melMin = scale.hzToMel(fmin);
        double melMax = scale.hzToMel(fmax);
        points = new double[nMels + 2];
        for (int i = 0; i < points.length; i++) {
            points[i] = scale.melToHz(melMin + i * (melMax - melMin) / (nMels + 1));
        }
        firstBin = new int[nMels];
        weights = new float[nMels][];
        float[] row = new float[nFreqs];
        for (int m = 0; m < nMels; m++) {
            double lo = points[m];
            double mid = points[m + 1];
            double hi = points[m + 2];
            double gain = norm == MelNorm.SLANEY ? 2.0 / (hi - lo) : 1.0;
            int first = -1;
            int last = -1;
            for (int k = 0; k < nFreqs; k++) {
                double fk = (double) k * sampleRate / nFft;
                double w = Math.max(0.0, Math.min((fk - lo) / (mid - lo), (hi - fk) / (hi - mid)));
                row[k] = (float) (w * gain);
                if (row[k] != 0f) {
                    if (first < 0) {
                        first = k;
                    }
                    last = k;
                }
            }
            if (first < 0) {
                firstBin[m] = 0;
                weights[m] = new float[0];
            } else {
                firstBin[m] = first;
                weights[m] = Arrays.copyOfRange(row, first, last + 1);
            }
        }
    }

    /** Number of filters. */
    public int nMels() {
        return weights.length;
    }

    /** Number of FFT bins the filters span ({@code nFft / 2 + 1}). */
    public int nFreqs() {
        return nFreqs;
    }

    /** Peak frequency of each filter in Hz, {@code f[m+1]}. */
    public double[] centreFrequencies() {
        return Arrays.copyOfRange(points, 1, points.length - 1);
    }

    /** Filters that cover no FFT bin. */
    public int emptyFilters() {
        int n = 0;
        for (float[] w : weights) {
            if (w.length == 0) {
                n++;
            }
        }
        return n;
    }

    /** The filters as a dense {@code [nMels][nFreqs]} matrix. */
    public float[][] toDense() {
        float[][] dense = new float[weights.length][nFreqs];
        for (int m = 0; m < weights.length; m++) {
            System.arraycopy(weights[m], 0, dense[m], firstBin[m], weights[m].length);
        }
        return dense;
    }

    /** {@code out[m] = sum_k w[m, k] * power[k]}, summed in double precision. */
    void apply(float[] power, double[] out) {
        for (int m = 0; m < weights.length; m++) {
            float[] w = weights[m];
            int k0 = firstBin[m];
            double acc = 0;
            for (int i = 0; i < w.length; i++) {
                acc += w[i] * (double) power[k0 + i];
            }
            out[m] = acc;
        }
    }
}

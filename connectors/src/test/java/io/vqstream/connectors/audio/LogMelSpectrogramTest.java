package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LogMelSpectrogramTest {

    private static LogMelSpectrogram htk(int rate, int win, int nFft, int nMels, double fmin, double fmax) {
        return new LogMelSpectrogram(rate, win, nFft, nMels, fmin, fmax, MelScale.HTK, MelNorm.NONE);
    }

    /** |sum_i w[i] x[i] e^{-2 pi j i k / n}|^2 by the definition, in double precision. */
    private static double[] naivePower(float[] frame, int nFft) {
        int win = frame.length;
        double[] p = new double[nFft / 2 + 1];
        for (int k = 0; k < p.length; k++) {
            double re = 0;
            double im = 0;
            for (int i = 0; i < win; i++) {
                double w = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / win);
                double a = -2 * Math.PI * (double) i * k / nFft;
                re += w * frame[i] * Math.cos(a);
                im += w * frame[i] * Math.sin(a);
            }
            p[k] = re * re + im * im;
        }
        return p;
    }

    @ParameterizedTest(name = "win {0} n_fft {1}")
    @CsvSource({"400, 400", "400, 512", "256, 256", "255, 255", "300, 401", "1, 2", "1, 1"})
    void powerSpectrumMatchesTheDftDefinition(int win, int nFft) {
        float[] frame = Signals.noise(win + nFft, win, 1.0);
        LogMelSpectrogram lm = htk(16_000, win, nFft, 1, 0, 8_000);
        float[] p = lm.powerSpectrum(frame);
        double[] ref = naivePower(frame, nFft);
        assertEquals(ref.length, p.length);
        double scale = 0;
        for (double v : ref) {
            scale = Math.max(scale, v);
        }
        for (int k = 0; k < ref.length; k++) {
            assertEquals(ref[k], p[k], 1e-5 * scale + 1e-9, "bin " + k);
        }
    }

    @Test
    void aToneAtABinCentreHasTheExpectedPower() {
        // 1 kHz at 16 kHz with n_fft 400 is bin 25; Hann's coherent gain is 1/2, so |X| = A * win / 4.
        float[] frame = Signals.sine(1000, 0.5, 16_000, 400);
        float[] p = htk(16_000, 400, 400, 80, 0, 8_000).powerSpectrum(frame);
        double expected = Math.pow(0.5 * 400 / 4, 2);
        assertEquals(expected, p[25], expected * 1e-5);
        assertEquals(expected / 4, p[24], expected * 1e-5, "Hann's neighbouring bin holds a quarter");
        assertTrue(p[30] < expected * 1e-9, "no leakage beyond the main lobe");
    }

    @ParameterizedTest(name = "{0} Hz")
    @CsvSource({"300", "1000", "2500", "3130", "5000", "7200"})
    void aPureToneEnergyPeaksInTheFilterWhoseCentreIsNearest(double hz) {
        LogMelSpectrogram lm = htk(16_000, 400, 512, 40, 0, 8_000);
        double[] centres = lm.filterbank().centreFrequencies();
        float[] features = lm.extract(Signals.sine(hz, 0.3, 16_000, 400));
        int peak = 0;
        for (int m = 1; m < features.length; m++) {
            if (features[m] > features[peak]) {
                peak = m;
            }
        }
        int nearest = 0;
        for (int m = 1; m < centres.length; m++) {
            if (Math.abs(centres[m] - hz) < Math.abs(centres[nearest] - hz)) {
                nearest = m;
            }
        }
        assertEquals(nearest, peak, "tone " + hz + " Hz, nearest centre " + centres[nearest] + " Hz");
    }

    @Test
    void silenceHitsTheLogFloor() {
        float[] features = htk(16_000, 400, 400, 80, 0, 8_000).extract(new float[400]);
        for (float v : features) {
            assertEquals((float) Math.log(1e-10), v);
        }
        assertEquals(-23.02585, Math.log(LogMelSpectrogram.LOG_FLOOR), 1e-5);
    }

    @Test
    void logMelIsTheLogOfFilterbankTimesPower() {
        LogMelSpectrogram lm = htk(16_000, 400, 512, 64, 20, 7_600);
        float[] frame = Signals.noise(77, 400, 0.5);
        float[] p = lm.powerSpectrum(frame);
        float[][] fb = lm.filterbank().toDense();
        float[] features = lm.extract(frame);
        for (int m = 0; m < fb.length; m++) {
            double mel = 0;
            for (int k = 0; k < p.length; k++) {
                mel += fb[m][k] * (double) p[k];
            }
            assertEquals(Math.log(Math.max(mel, 1e-10)), features[m], 1e-5, "mel " + m);
        }
    }

    @Test
    void melScalesFollowTheirPublishedFormulas() {
        assertEquals(2595 * Math.log10(2), MelScale.HTK.hzToMel(700), 1e-9);
        assertEquals(999.9855, MelScale.HTK.hzToMel(1000), 1e-4);
        assertEquals(15.0, MelScale.SLANEY.hzToMel(1000), 1e-12);
        assertEquals(7.5, MelScale.SLANEY.hzToMel(500), 1e-12);
        assertEquals(15 + 27.0, MelScale.SLANEY.hzToMel(6400), 1e-9); // 27 log-steps span a factor 6.4
        for (MelScale s : MelScale.values()) {
            for (double hz : new double[] {0, 60, 999, 1000, 4321, 8000}) {
                assertEquals(hz, s.melToHz(s.hzToMel(hz)), 1e-9, s + " " + hz);
            }
        }
    }

    @Test
    void filtersAreTrianglesBetweenNeighbouringMelPoints() {
        // 16 kHz, n_fft 512: bin spacing 31.25 Hz.
        MelFilterbank fb = new MelFilterbank(16_000, 512, 20, 0, 8_000, MelScale.HTK, MelNorm.NONE);
        float[][] w = fb.toDense();
        double[] c = fb.centreFrequencies();
        assertEquals(20, c.length);
        assertEquals(0, fb.emptyFilters());
        double lowEdge = MelScale.HTK.melToHz(MelScale.HTK.hzToMel(8_000) / 21);
        assertEquals(lowEdge, c[0], 1e-9, "first centre one mel step above fmin");
        for (int m = 0; m < 20; m++) {
            double left = m == 0 ? 0 : c[m - 1];
            double right = m == 19 ? 8_000 : c[m + 1];
            for (int k = 0; k < fb.nFreqs(); k++) {
                double f = k * 31.25;
                double expected = f <= left || f >= right ? 0
                        : f <= c[m] ? (f - left) / (c[m] - left) : (right - f) / (right - c[m]);
                assertEquals(expected, w[m][k], 1e-6, "filter " + m + " bin " + k);
            }
        }
        MelFilterbank slaney = new MelFilterbank(16_000, 512, 20, 0, 8_000, MelScale.SLANEY, MelNorm.SLANEY);
        double[] s = slaney.centreFrequencies();
        float[][] ws = slaney.toDense();
        // Slaney norm: peak height 2 / (right edge - left edge), so every triangle has unit area.
        int k = (int) Math.round(s[10] / 31.25);
        double height = 2 / (s[11] - s[9]);
        double tri = Math.min((k * 31.25 - s[9]) / (s[10] - s[9]), (s[11] - k * 31.25) / (s[11] - s[10]));
        assertEquals(height * tri, ws[10][k], 1e-9);
    }

    @Test
    void reportsFiltersNarrowerThanABin() {
        MelFilterbank fb = new MelFilterbank(16_000, 64, 32, 0, 8_000, MelScale.HTK, MelNorm.NONE);
        assertTrue(fb.emptyFilters() > 0, "250 Hz bins cannot feed 32 HTK filters below 1 kHz");
    }

    @Test
    void rejectsBadParameters() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> htk(16_000, 400, 256, 80, 0, 8_000));
        assertEquals("n_fft 256 is smaller than win_length 400", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> htk(16_000, 400, 512, 80, 0, 9_000));
        assertEquals("need 0 <= fmin < fmax <= sampleRate / 2 = 8000.0 Hz, got fmin 0.0 Hz, fmax 9000.0 Hz", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> htk(16_000, 400, 512, 80, 0, 8_000).extract(new float[399]));
        assertEquals("frame has 399 samples, expected 400", e.getMessage());
    }

    @Test
    void rawFramesCopyTheFrame() {
        float[] frame = Signals.noise(1, 16, 1.0);
        RawFrames raw = new RawFrames(16);
        float[] out = raw.extract(frame);
        org.junit.jupiter.api.Assertions.assertArrayEquals(frame, out);
        out[0] = 99f;
        assertTrue(frame[0] != 99f, "a copy, not the caller's array");
        assertEquals(16, raw.dimension());
    }
}

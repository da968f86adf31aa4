package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class StreamingResamplerTest {

    private static float[] concat(float[] a, float[] b) {
        float[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static float[] oneShot(float[] x, int from, int to, ResamplerFilter f) {
        StreamingResampler r = new StreamingResampler(from, to, f);
        return concat(r.process(x), r.flush());
    }

    private static ResamplerFilter filter(String name) {
        return switch (name) {
            case "torchaudio" -> ResamplerFilter.TORCHAUDIO_DEFAULT;
            case "kaiser_fast" -> ResamplerFilter.KAISER_FAST;
            case "kaiser_best" -> ResamplerFilter.KAISER_BEST;
            default -> throw new IllegalArgumentException(name);
        };
    }

    /**
     * A 1 kHz sine keeps its frequency and amplitude. Measured amplitude ratios (1 s of signal,
     * edges excluded): torchaudio kernel 0.99960 (44.1k, 48k to 16k) and 1.00014 (8k to 16k);
     * Kaiser kernels within 2e-5. Tolerances: 0.2 % and 0.01 %.
     */
    @ParameterizedTest(name = "{0} Hz -> {1} Hz, {2}")
    @CsvSource({
        "44100, 16000, torchaudio, 0.002", "8000, 16000, torchaudio, 0.002", "48000, 16000, torchaudio, 0.002",
        "44100, 16000, kaiser_best, 0.0001", "8000, 16000, kaiser_best, 0.0001", "22050, 16000, kaiser_fast, 0.0001"
    })
    void keepsTheFrequencyAndAmplitudeOfASine(int from, int to, String filterName, double tolerance) {
        float[] in = Signals.sine(1000, 0.5, from, from); // 1 s
        float[] out = oneShot(in, from, to, filter(filterName));
        assertEquals(to, out.length, "ceil(inputs * to / from) outputs");

        int lo = 1000;
        int hi = out.length - 1000;
        assertEquals(1.0, Signals.amplitudeAt(out, lo, hi, 1000, to) / 0.5, tolerance, "amplitude ratio");

        double peakHz = 0;
        double peak = 0;
        for (double hz = 950; hz <= 1050; hz += 0.5) {
            double a = Signals.amplitudeAt(out, lo, hi, hz, to);
            if (a > peak) {
                peak = a;
                peakHz = hz;
            }
        }
        assertEquals(1000.0, peakHz, 0.5, "spectral peak");
        // (hi - lo) samples at `to` Hz span 1000 * (hi - lo) / to periods of the tone.
        assertEquals(1000.0 * (hi - lo) / to, Signals.upwardZeroCrossings(out, lo, hi), 1.0, "zero crossings");
    }

    /** Measured gains for 44.1 kHz to 16 kHz: torchaudio -7.3 dB at 8.1 kHz, -55 dB at 12 kHz; kaiser_best -101 dB, -154 dB. */
    @Test
    void attenuatesWhatWouldAliasWhenDownsampling() {
        assertTrue(toneGainDb(12_000, ResamplerFilter.TORCHAUDIO_DEFAULT) < -50);
        assertTrue(toneGainDb(20_000, ResamplerFilter.TORCHAUDIO_DEFAULT) < -75);
        assertTrue(toneGainDb(8_100, ResamplerFilter.KAISER_BEST) < -90);
        assertTrue(toneGainDb(12_000, ResamplerFilter.KAISER_BEST) < -120);
        assertTrue(toneGainDb(7_000, ResamplerFilter.KAISER_BEST) > -0.1, "passband at 7 kHz");
        // The reason the front end does not default to torchaudio's kernel: little rejection just above Nyquist.
        assertTrue(toneGainDb(8_100, ResamplerFilter.TORCHAUDIO_DEFAULT) > -10);
    }

    private static double toneGainDb(double hz, ResamplerFilter f) {
        float[] out = oneShot(Signals.sine(hz, 0.5, 44_100, 44_100), 44_100, 16_000, f);
        return 20 * Math.log10(Signals.rms(out, 1000, out.length - 1000) / (0.5 / Math.sqrt(2)));
    }

    /**
     * torchaudio.functional.resample written out as in torchaudio: the full kernel matrix over
     * [-width, width + orig) with t clamped to +-W, the input padded by width zeros on the left and
     * width + orig on the right, a strided correlation, and the output cut to
     * ceil(new * length / orig). Independent of the streaming polyphase code.
     */
    private static double[] torchaudioReference(float[] x, int fromRate, int toRate, ResamplerFilter f) {
        int g = PolyphaseTable.gcd(fromRate, toRate);
        int orig = fromRate / g;
        int neu = toRate / g;
        double w = f.lowpassFilterWidth();
        double base = Math.min(orig, neu) * f.rolloff();
        int width = (int) Math.ceil(w * orig / base);
        int taps = 2 * width + orig;
        double[][] kernel = new double[neu][taps];
        for (int j = 0; j < neu; j++) {
            for (int m = 0; m < taps; m++) {
                double t = (-(double) j / neu + (double) (m - width) / orig) * base;
                t = Math.max(-w, Math.min(w, t));
                double window = f.window() == ResamplerFilter.Window.HANN
                        ? Math.pow(Math.cos(t * Math.PI / w / 2), 2)
                        : ResamplerFilter.besselI0(f.beta() * Math.sqrt(1 - (t / w) * (t / w)))
                                / ResamplerFilter.besselI0(f.beta());
                double tp = t * Math.PI;
                double sinc = tp == 0 ? 1.0 : Math.sin(tp) / tp;
                kernel[j][m] = sinc * window * base / orig;
            }
        }
        double[] padded = new double[width + x.length + width + orig];
        for (int i = 0; i < x.length; i++) {
            padded[width + i] = x[i];
        }
        int frames = (padded.length - taps) / orig + 1;
        int target = (int) Math.ceil((double) neu * x.length / orig);
        double[] y = new double[target];
        for (int fr = 0; fr < frames; fr++) {
            for (int j = 0; j < neu; j++) {
                int n = fr * neu + j;
                if (n >= target) {
                    continue;
                }
                double acc = 0;
                for (int m = 0; m < taps; m++) {
                    acc += kernel[j][m] * padded[fr * orig + m];
                }
                y[n] = acc;
            }
        }
        return y;
    }

    @ParameterizedTest(name = "{0} Hz -> {1} Hz, {2}")
    @CsvSource({
        "44100, 16000, torchaudio", "8000, 16000, torchaudio", "48000, 16000, torchaudio", "11025, 16000, torchaudio",
        "16000, 22050, torchaudio", "16000, 8000, torchaudio", "44100, 16000, kaiser_fast", "8000, 16000, kaiser_best"
    })
    void matchesTorchaudioResampleOnTheWholeSignal(int from, int to, String filterName) {
        ResamplerFilter f = filter(filterName);
        float[] x = Signals.noise(11, from / 10 + 37, 0.8); // 0.1 s of white noise plus a ragged end
        float[] streamed = oneShot(x, from, to, f);
        double[] reference = torchaudioReference(x, from, to, f);
        assertEquals(reference.length, streamed.length);
        for (int n = 0; n < reference.length; n++) {
            assertEquals(reference[n], streamed[n], 2e-6, "output " + n);
        }
    }

    @ParameterizedTest(name = "{0} Hz -> {1} Hz")
    @CsvSource({"44100, 16000", "8000, 16000", "16000, 16000", "22050, 16000", "16000, 44100"})
    void randomChunkBoundariesGiveBitIdenticalOutput(int from, int to) {
        float[] x = Signals.noise(5, from / 4, 0.9);
        float[] whole = oneShot(x, from, to, ResamplerFilter.KAISER_FAST);
        for (long seed = 1; seed <= 3; seed++) {
            StreamingResampler r = new StreamingResampler(from, to, ResamplerFilter.KAISER_FAST);
            float[] out = new float[0];
            for (int[] p : Signals.randomPieces(seed, x.length, seed == 1 ? 3 : 700)) {
                out = concat(out, r.process(x, p[0], p[1]));
            }
            out = concat(out, r.flush());
            assertArrayEquals(whole, out, "seed " + seed);
        }
    }

    @ParameterizedTest(name = "{0} Hz -> {1} Hz")
    @CsvSource({"44100, 16000", "8000, 16000", "16000, 16000"})
    void snapshotAndRestoreMidStreamGiveBitIdenticalOutput(int from, int to) {
        float[] x = Signals.noise(9, from / 5, 0.9);
        float[] whole = oneShot(x, from, to, ResamplerFilter.TORCHAUDIO_DEFAULT);
        for (int cut : new int[] {0, 1, 7, 441, 1000, x.length / 2, x.length - 1, x.length}) {
            StreamingResampler first = new StreamingResampler(from, to);
            float[] out = first.process(x, 0, cut);
            ResamplerState state = first.snapshot();
            first.process(new float[] {1f, 2f, 3f}); // the snapshot must not see later changes
            StreamingResampler resumed = StreamingResampler.restore(state);
            assertEquals(state, resumed.snapshot());
            out = concat(out, resumed.process(x, cut, x.length - cut));
            out = concat(out, resumed.flush());
            assertArrayEquals(whole, out, "cut at " + cut);
        }
    }

    @Test
    void passesSamplesThroughWhenRatesAreEqual() {
        float[] x = Signals.noise(3, 1000, 1.0);
        StreamingResampler r = new StreamingResampler(16_000, 16_000);
        assertArrayEquals(Arrays.copyOfRange(x, 10, 510), r.process(x, 10, 500));
        assertEquals(0, r.flush().length);
        assertEquals(500, r.outputsEmitted());
    }

    @Test
    void holdsOnlyTheHistoryItsKernelNeeds() {
        StreamingResampler r = new StreamingResampler(44_100, 16_000, ResamplerFilter.KAISER_BEST);
        r.process(Signals.noise(1, 44_100, 0.5));
        int held = r.snapshot().history().length;
        // KAISER_BEST reads about 2 * 64 * 441 / (160 * 0.9476) = 372 inputs per output.
        assertTrue(held > 300 && held < 900, "history " + held);
    }

    @Test
    void refusesBadRatesAndUseAfterFlush() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new StreamingResampler(0, 16_000));
        assertEquals("source sample rate 0 Hz is outside 1000..384000 Hz", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new StreamingResampler(383_999, 16_000));
        assertTrue(e.getMessage().startsWith("resampling 383999 Hz to 16000 Hz needs about"), e.getMessage());
        StreamingResampler r = new StreamingResampler(8_000, 16_000);
        r.flush();
        assertThrows(IllegalStateException.class, () -> r.process(new float[1]));
        assertEquals(0, r.flush().length);
    }

    @Test
    void rejectsInconsistentSnapshots() {
        ResamplerFilter f = ResamplerFilter.TORCHAUDIO_DEFAULT;
        assertThrows(IllegalArgumentException.class,
                () -> new ResamplerState(44_100, 16_000, f, 100, 0, 50, new float[10], false));
        // History that starts after inputs the next output still reads.
        ResamplerState gap = new ResamplerState(44_100, 16_000, f, 10_000, 100, 9_000, new float[1_000], false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StreamingResampler.restore(gap));
        assertTrue(e.getMessage().contains("lacks input"), e.getMessage());
        List.of(0.0, 1.5, Double.NaN).forEach(bad -> assertThrows(IllegalArgumentException.class,
                () -> new ResamplerFilter(ResamplerFilter.Window.HANN, 6, bad, 0)));
    }

    @Test
    void besselI0MatchesTabulatedValues() {
        // Abramowitz and Stegun, Table 9.8: I0(1) = 1.266065878, e^-5 I0(5) = 0.1835408126
        assertEquals(1.0, ResamplerFilter.besselI0(0), 0);
        assertEquals(1.266065878, ResamplerFilter.besselI0(1), 1e-9);
        assertEquals(0.1835408126, Math.exp(-5) * ResamplerFilter.besselI0(5), 1e-10);
    }
}

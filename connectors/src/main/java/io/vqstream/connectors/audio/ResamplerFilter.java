package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.Objects;

/**
 * The band-limited interpolation kernel of {@link StreamingResampler}: a windowed sinc with the
 * parameters and formula of {@code torchaudio.functional.resample} (torchaudio's
 * {@code _get_sinc_resample_kernel}). With both rates divided by their gcd into {@code orig}
 * and {@code new}, output sample {@code n} is
 *
 * <pre>
 *   y[n] = sum_i x[i] * k((i / orig - n / new) * base)
 *   base = rolloff * min(orig, new)                       (cutoff, in units of gcd Hz)
 *   k(t) = sinc(t) * w(t) * base / orig     for |t| &lt; W, else 0      (W = lowpassFilterWidth)
 *   sinc(t) = sin(pi t) / (pi t)
 *   w(t) = cos(pi t / (2 W))^2                             (HANN, torchaudio "sinc_interp_hann")
 *   w(t) = I0(beta sqrt(1 - (t/W)^2)) / I0(beta)          (KAISER, torchaudio "sinc_interp_kaiser")
 * </pre>
 *
 * So the low-pass cutoff is {@code rolloff * min(sourceRate, targetRate) / 2} Hz, which removes
 * what would alias when downsampling, and each output reads about
 * {@code 2 W sourceRate / (rolloff min(sourceRate, targetRate))} input samples (34 for
 * 44.1 kHz to 16 kHz with the default, 13 for 8 kHz to 16 kHz).
 *
 * @param window             window shape
 * @param lowpassFilterWidth W, the number of sinc zero crossings kept on each side
 * @param rolloff            cutoff as a fraction of the lower Nyquist frequency, in (0, 1]
 * @param beta               Kaiser shape parameter (ignored for HANN)
 */
@Internal
public record ResamplerFilter(Window window, int lowpassFilterWidth, double rolloff, double beta) {
    /** Window shapes. */
    public enum Window {
        HANN,
        KAISER
    }

    /** torchaudio's default: Hann window, 6 zero crossings, rolloff 0.99. */
    public static final ResamplerFilter TORCHAUDIO_DEFAULT = new ResamplerFilter(Window.HANN, 6, 0.99, 0.0);
    /** torchaudio tutorial's "kaiser_best" (librosa/resampy): 64 zero crossings, rolloff 0.9476, beta 14.77. */
    public static final ResamplerFilter KAISER_BEST =
            new ResamplerFilter(Window.KAISER, 64, 0.9475937167399596, 14.769656459379492);
    /** torchaudio tutorial's "kaiser_fast" (librosa/resampy): 16 zero crossings, rolloff 0.85, beta 8.555. */
    public static final ResamplerFilter KAISER_FAST = new ResamplerFilter(Window.KAISER, 16, 0.85, 8.555);

    public ResamplerFilter {
        Objects.requireNonNull(window, "window");
        if (lowpassFilterWidth < 1 || lowpassFilterWidth > 1024) {
            throw new IllegalArgumentException("lowpassFilterWidth must be in 1..1024, got " + lowpassFilterWidth);
        }
        if (!(rolloff > 0 && rolloff <= 1)) {
            throw new IllegalArgumentException("rolloff must be in (0, 1], got " + rolloff);
        }
        if (window == Window.KAISER && !(beta > 0 && beta <= 100)) {
            throw new IllegalArgumentException("Kaiser beta must be in (0, 100], got " + beta);
        }
    }

    /** Kernel value at offset {@code t} (in cutoff periods), without the {@code base / orig} gain. */
    double unscaledKernel(double t) {
        double w = lowpassFilterWidth;
        if (Math.abs(t) >= w) {
            return 0.0;
        }
        double win = switch (window) {
            case HANN -> {
                double c = Math.cos(t * Math.PI / w / 2);
                yield c * c;
            }
            case KAISER -> besselI0(beta * Math.sqrt(1 - (t / w) * (t / w))) / besselI0(beta);
        };
        double sinc = t == 0 ? 1.0 : Math.sin(Math.PI * t) / (Math.PI * t);
        return sinc * win;
    }

    /**
     * Modified Bessel function of the first kind, order 0, by its power series
     * (Abramowitz and Stegun 9.6.12): I0(x) = sum_k ((x/2)^k / k!)^2. For x &lt;= 100 the terms
     * fall below double precision well before k = 500.
     */
    static double besselI0(double x) {
        double term = 1.0;
        double sum = 1.0;
        double half = x / 2;
        for (int k = 1; k < 500; k++) {
            term *= (half / k) * (half / k);
            sum += term;
            if (term < sum * 1e-17) {
                break;
            }
        }
        return sum;
    }

    @Override
    public String toString() {
        return window.name().toLowerCase() + "-windowed sinc, " + lowpassFilterWidth + " zero crossings, rolloff "
                + rolloff + (window == Window.KAISER ? ", beta " + beta : "");
    }
}

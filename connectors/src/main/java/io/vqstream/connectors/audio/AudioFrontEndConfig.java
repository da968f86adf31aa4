package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.Objects;

/**
 * Settings of an {@link AudioFrontEnd}. Every field is validated on construction, including
 * those the chosen feature kind does not use, so a configuration is either wholly valid or
 * refused with a message naming the offending value.
 *
 * @param targetSampleRate  rate the stream is resampled to, Hz ({@link SampleRates} range)
 * @param winLength         frame length in samples at the target rate
 * @param hop               frame step in samples at the target rate
 * @param nFft              FFT size, at least {@code winLength}
 * @param nMels             number of mel filters, at most {@code nFft / 2 + 1}
 * @param fmin              lowest mel filter edge, Hz
 * @param fmax              highest mel filter edge, Hz, at most {@code targetSampleRate / 2}
 * @param featureKind       raw frames or log-mel
 * @param maxBufferedChunks most out-of-order chunks held back ({@link ChunkReassembler})
 * @param melScale          HTK (torchaudio default) or Slaney
 * @param melNorm           filter normalisation
 * @param tail              end-of-stream framing policy
 * @param resamplerFilter   interpolation kernel for the rate conversion
 */
@Internal
public record AudioFrontEndConfig(
        int targetSampleRate,
        int winLength,
        int hop,
        int nFft,
        int nMels,
        double fmin,
        double fmax,
        FeatureKind featureKind,
        int maxBufferedChunks,
        MelScale melScale,
        MelNorm melNorm,
        TailPolicy tail,
        ResamplerFilter resamplerFilter) {

    /** Largest frame or FFT accepted (2^20 samples). */
    public static final int MAX_FRAME = 1 << 20;
    /** Largest reassembly buffer accepted. */
    public static final int MAX_BUFFERED_CHUNKS = 1 << 16;

    public AudioFrontEndConfig {
        Objects.requireNonNull(featureKind, "featureKind");
        Objects.requireNonNull(melScale, "melScale");
        Objects.requireNonNull(melNorm, "melNorm");
        Objects.requireNonNull(tail, "tail");
        Objects.requireNonNull(resamplerFilter, "resamplerFilter");
        if (!SampleRates.isValid(targetSampleRate)) {
            throw new IllegalArgumentException(SampleRates.outOfRange("target sample rate", targetSampleRate));
        }
        if (winLength < 1 || winLength > MAX_FRAME) {
            throw new IllegalArgumentException("win_length must be in 1.." + MAX_FRAME + ", got " + winLength);
        }
        if (hop < 1 || hop > MAX_FRAME) {
            throw new IllegalArgumentException("hop must be in 1.." + MAX_FRAME + ", got " + hop);
        }
        if (nFft < winLength || nFft > MAX_FRAME) {
            throw new IllegalArgumentException("n_fft must be in win_length (" + winLength + ").." + MAX_FRAME
                    + ", got " + nFft);
        }
        if (nMels < 1 || nMels > nFft / 2 + 1) {
            throw new IllegalArgumentException("n_mels must be in 1..n_fft/2+1 (" + (nFft / 2 + 1) + "), got " + nMels);
        }
        double nyquist = targetSampleRate / 2.0;
        if (!(fmin >= 0 && fmin < nyquist)) {
            throw new IllegalArgumentException("fmin must be in [0, " + nyquist + ") Hz, got " + fmin);
        }
        if (!(fmax > fmin && fmax <= nyquist)) {
            throw new IllegalArgumentException("fmax must be in (fmin " + fmin + ", Nyquist " + nyquist + "] Hz at "
                    + targetSampleRate + " Hz, got " + fmax);
        }
        if (maxBufferedChunks < 0 || maxBufferedChunks > MAX_BUFFERED_CHUNKS) {
            throw new IllegalArgumentException("maxBufferedChunks must be in 0.." + MAX_BUFFERED_CHUNKS + ", got "
                    + maxBufferedChunks);
        }
    }

    /**
     * A configuration with these defaults for the rest: HTK mel scale without normalisation
     * (torchaudio's default), partial tail frames dropped, and the {@link ResamplerFilter#KAISER_BEST}
     * kernel. The resampling default departs from torchaudio's because torchaudio's Hann kernel
     * (6 zero crossings) attenuates a tone just above the new Nyquist frequency by only about
     * 7 dB when going from 44.1 kHz to 16 kHz, so it folds back into the top mel bands;
     * KAISER_BEST attenuates it by about 100 dB (both measured in StreamingResamplerTest).
     */
    public static AudioFrontEndConfig of(int targetSampleRate, int winLength, int hop, int nFft, int nMels,
            double fmin, double fmax, FeatureKind featureKind, int maxBufferedChunks) {
        return new AudioFrontEndConfig(targetSampleRate, winLength, hop, nFft, nMels, fmin, fmax, featureKind,
                maxBufferedChunks, MelScale.HTK, MelNorm.NONE, TailPolicy.DROP, ResamplerFilter.KAISER_BEST);
    }

    /** 16 kHz, 25 ms frames every 10 ms (400 / 160 samples), n_fft 400, 80 mels over 0..8 kHz, 64 chunks held. */
    public static AudioFrontEndConfig speech16k() {
        return of(16_000, 400, 160, 400, 80, 0.0, 8_000.0, FeatureKind.LOG_MEL, 64);
    }

    public AudioFrontEndConfig withFeatureKind(FeatureKind kind) {
        return new AudioFrontEndConfig(targetSampleRate, winLength, hop, nFft, nMels, fmin, fmax, kind,
                maxBufferedChunks, melScale, melNorm, tail, resamplerFilter);
    }

    public AudioFrontEndConfig withTail(TailPolicy policy) {
        return new AudioFrontEndConfig(targetSampleRate, winLength, hop, nFft, nMels, fmin, fmax, featureKind,
                maxBufferedChunks, melScale, melNorm, policy, resamplerFilter);
    }

    public AudioFrontEndConfig withMel(MelScale scale, MelNorm norm) {
        return new AudioFrontEndConfig(targetSampleRate, winLength, hop, nFft, nMels, fmin, fmax, featureKind,
                maxBufferedChunks, scale, norm, tail, resamplerFilter);
    }

    public AudioFrontEndConfig withResamplerFilter(ResamplerFilter filter) {
        return new AudioFrontEndConfig(targetSampleRate, winLength, hop, nFft, nMels, fmin, fmax, featureKind,
                maxBufferedChunks, melScale, melNorm, tail, filter);
    }

    public AudioFrontEndConfig withMaxBufferedChunks(int max) {
        return new AudioFrontEndConfig(targetSampleRate, winLength, hop, nFft, nMels, fmin, fmax, featureKind,
                max, melScale, melNorm, tail, resamplerFilter);
    }

    /** Length of each feature vector. */
    public int featureDimension() {
        return featureKind == FeatureKind.RAW_FRAMES ? winLength : nMels;
    }
}

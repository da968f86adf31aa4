package io.vqstream.jobs.config;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.config.Check;
import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionType;
import java.util.List;

/**
 * The {@code audio} section: the front end of {@code tokenize-audio} and {@code demo}. Checks
 * across keys (fmin below fmax below Nyquist, n-fft against win-length) are the front end's own.
 */
@Internal
public final class AudioOptions {
    private AudioOptions() {}

    /** Largest audio chunk: 2^24 samples (64 MiB of float32). */
    public static final int MAX_CHUNK_SAMPLES = 1 << 24;

    public static final ConfigOption<Integer> SAMPLE_RATE = ConfigOption.key("audio.sample-rate", OptionType.INT)
            .defaultValue(16000).check(Check.inRange(1, 1_000_000))
            .description("Sample rate (Hz) of the front end; streams at other rates are resampled.");

    public static final ConfigOption<Integer> WIN_LENGTH = ConfigOption.key("audio.win-length", OptionType.INT)
            .defaultValue(400).check(Check.atLeast(1))
            .description("Samples per analysis window (the feature size with `features: raw`).");

    public static final ConfigOption<Integer> HOP = ConfigOption.key("audio.hop", OptionType.INT)
            .defaultValue(160).check(Check.atLeast(1))
            .description("Samples between the starts of two frames.");

    public static final ConfigOption<Integer> N_FFT = ConfigOption.key("audio.n-fft", OptionType.INT)
            .defaultValue(512).check(Check.atLeast(1))
            .description("FFT size (at least win-length).");

    public static final ConfigOption<Integer> N_MELS = ConfigOption.key("audio.n-mels", OptionType.INT)
            .defaultValue(80).check(Check.atLeast(1))
            .description("Mel bands (the feature size with `features: log-mel`).");

    public static final ConfigOption<Double> FMIN = ConfigOption.key("audio.fmin", OptionType.DOUBLE)
            .defaultValue(0.0).check(Check.finite())
            .description("Lowest mel band edge (Hz).");

    public static final ConfigOption<Double> FMAX = ConfigOption.key("audio.fmax", OptionType.DOUBLE)
            .defaultDescription("sample-rate / 2").check(Check.finite())
            .description("Highest mel band edge (Hz).");

    public static final ConfigOption<JobConfig.Features> FEATURES = ConfigOption.key("audio.features",
                    OptionType.enumType(JobConfig.Features.class))
            .defaultValue(JobConfig.Features.LOG_MEL)
            .description("log-mel: log mel spectrogram frames; raw: the windowed samples.");

    public static final ConfigOption<Integer> CHUNK_SAMPLES = ConfigOption.key("audio.chunk-samples", OptionType.INT)
            .defaultValue(1600).check(Check.inRange(1, MAX_CHUNK_SAMPLES))
            .description("Chunk size when reading WAV files.");

    public static final ConfigOption<Integer> MAX_BUFFERED_CHUNKS = ConfigOption.key("audio.max-buffered-chunks", OptionType.INT)
            .defaultValue(64).check(Check.inRange(1, 1 << 20))
            .description("Reassembly bound for out-of-order chunks of one stream.");

    public static final ConfigOption<Double> GATE_DB = ConfigOption.key("audio.gate-db", OptionType.DOUBLE)
            .defaultDescription("no gate").check(Check.finite()).check(Check.atMost(0.0, "a level in dB full scale"))
            .description("Energy gate (dBFS): quieter frames are masked (code -1, no part in learning).");

    public static final List<ConfigOption<?>> ALL = List.of(SAMPLE_RATE, WIN_LENGTH, HOP, N_FFT, N_MELS, FMIN, FMAX, FEATURES,
            CHUNK_SAMPLES, MAX_BUFFERED_CHUNKS, GATE_DB);
}

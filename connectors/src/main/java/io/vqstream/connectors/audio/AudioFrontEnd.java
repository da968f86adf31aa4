package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The streaming audio front end of one stream: chunks in, feature vectors out.
 *
 * <pre>
 *   chunk(seq, rate, channels, PCM) -> ChunkReassembler (seq order, bounded)
 *                                   -> PcmCodec (mono)
 *                                   -> StreamingResampler (to the target rate)
 *                                   -> Framer (win_length every hop, first frame at sample 0)
 *                                   -> FeatureExtractor (raw frames or log-mel)
 * </pre>
 *
 * Each call returns the feature frames that chunk completed, in frame order. The output is the
 * same whatever the chunk boundaries or arrival order (within the reassembly bound), and a
 * {@link #restore restored} front end continues exactly where the {@link #snapshot() snapshot}
 * was taken.
 *
 * <p>Chunks are decoded and checked when they arrive, before any state changes, so a rejected
 * chunk ({@link AudioFormatException}) leaves the front end as it was and can be dead-lettered.
 * The stream's source rate is fixed by the first accepted chunk; a later chunk with another rate
 * is refused with a {@link SampleRateMismatchException}. A chunk whose seq was already seen is
 * counted and dropped without being decoded.
 *
 * <p>Not thread-safe: one instance per stream key.
 */
@Internal
public final class AudioFrontEnd {
    private static final float[] NO_SAMPLES = new float[0];

    private final AudioFrontEndConfig config;
    private final FeatureExtractor features;
    private final ChunkReassembler<float[]> reassembler;
    private final Framer framer;
    private StreamingResampler resampler;
    private int sourceRate;
    private boolean flushed;

    public AudioFrontEnd(AudioFrontEndConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.features = FeatureExtractor.of(config);
        this.reassembler = new ChunkReassembler<>(config.maxBufferedChunks());
        this.framer = new Framer(config.winLength(), config.hop(), config.tail());
    }

    private AudioFrontEnd(AudioFrontEndConfig config, AudioFrontEndState s) {
        this.config = Objects.requireNonNull(config, "config");
        FramerState fs = s.framer();
        if (fs.winLength() != config.winLength() || fs.hop() != config.hop() || fs.tail() != config.tail()) {
            throw new IllegalArgumentException("snapshot framing (win_length " + fs.winLength() + ", hop " + fs.hop()
                    + ", tail " + fs.tail() + ") differs from the config's (" + config.winLength() + ", "
                    + config.hop() + ", " + config.tail() + ")");
        }
        ResamplerState rs = s.resampler();
        if (rs != null && (rs.targetRate() != config.targetSampleRate() || !rs.filter().equals(config.resamplerFilter()))) {
            throw new IllegalArgumentException("snapshot resampler (" + rs.targetRate() + " Hz, " + rs.filter()
                    + ") differs from the config's (" + config.targetSampleRate() + " Hz, " + config.resamplerFilter() + ")");
        }
        long[] seqs = s.bufferedSeqs();
        if (seqs.length > config.maxBufferedChunks()) {
            throw new IllegalArgumentException("snapshot holds " + seqs.length + " chunks, more than the config's bound "
                    + config.maxBufferedChunks());
        }
        this.features = FeatureExtractor.of(config);
        this.reassembler = ChunkReassembler.restore(new ReassemblerState<>(config.maxBufferedChunks(), s.nextSeq(),
                seqs, List.of(s.bufferedSamples()), s.duplicatesDropped(), s.seqsSkipped(), s.chunksEmitted()));
        this.framer = Framer.restore(fs);
        this.resampler = rs == null ? null : StreamingResampler.restore(rs);
        this.sourceRate = s.sourceRate();
        this.flushed = s.flushed();
    }

    /** Continues the stream a snapshot was taken of, under the same configuration. */
    public static AudioFrontEnd restore(AudioFrontEndConfig config, AudioFrontEndState state) {
        return new AudioFrontEnd(config, Objects.requireNonNull(state, "state"));
    }

    public AudioFrontEndState snapshot() {
        ReassemblerState<float[]> r = reassembler.snapshot();
        return new AudioFrontEndState(sourceRate, r.nextSeq(), r.bufferedSeqs(),
                r.bufferedPayloads().toArray(new float[0][]), r.duplicatesDropped(), r.seqsSkipped(),
                r.chunksEmitted(), resampler == null ? null : resampler.snapshot(), framer.snapshot(), flushed);
    }

    /** Takes a chunk of interleaved PCM bytes. */
    public List<FeatureFrame> acceptPcm(long seq, int sampleRate, int channels, PcmEncoding encoding, byte[] payload) {
        Objects.requireNonNull(encoding, "encoding");
        Objects.requireNonNull(payload, "payload");
        return accept(seq, sampleRate, () -> PcmCodec.toMono(encoding, channels, payload));
    }

    /** Takes a chunk of interleaved float samples ({@code frames * channels} values). */
    public List<FeatureFrame> acceptSamples(long seq, int sampleRate, int channels, float[] interleaved) {
        Objects.requireNonNull(interleaved, "interleaved");
        return accept(seq, sampleRate, () -> PcmCodec.mixdown(interleaved, channels));
    }

    private List<FeatureFrame> accept(long seq, int sampleRate, Supplier<float[]> decoder) {
        if (flushed) {
            throw new IllegalStateException("chunk seq " + seq + " after the end of the stream (flush() was called)");
        }
        if (seq < 0) {
            throw new AudioFormatException("chunk seq " + seq + ": seq must not be negative");
        }
        if (reassembler.isDuplicate(seq)) {
            reassembler.offer(seq, NO_SAMPLES); // counted and dropped
            return List.of();
        }
        if (!SampleRates.isValid(sampleRate)) {
            throw new AudioFormatException("chunk seq " + seq + ": " + SampleRates.outOfRange("sample rate", sampleRate));
        }
        if (sourceRate != 0 && sampleRate != sourceRate) {
            throw new SampleRateMismatchException(seq, sourceRate, sampleRate);
        }
        float[] mono;
        try {
            mono = decoder.get();
        } catch (AudioFormatException e) {
            throw new AudioFormatException("chunk seq " + seq + ": " + e.getMessage(), e);
        }
        if (resampler == null) {
            try {
                resampler = new StreamingResampler(sampleRate, config.targetSampleRate(), config.resamplerFilter());
            } catch (IllegalArgumentException e) {
                throw new AudioFormatException("chunk seq " + seq + ": " + e.getMessage(), e);
            }
            sourceRate = sampleRate;
        }
        List<FeatureFrame> out = new ArrayList<>();
        for (ChunkReassembler.Chunk<float[]> chunk : reassembler.offer(seq, mono)) {
            frame(resampler.process(chunk.payload()), out);
        }
        return out;
    }

    /**
     * Ends the stream: releases held chunks (skipping gaps), drains the resampler and the framer,
     * and returns the last feature frames. Later chunks are refused; a second call returns nothing.
     */
    public List<FeatureFrame> flush() {
        if (flushed) {
            return List.of();
        }
        List<FeatureFrame> out = new ArrayList<>();
        for (ChunkReassembler.Chunk<float[]> chunk : reassembler.flush()) {
            frame(resampler.process(chunk.payload()), out);
        }
        if (resampler != null) {
            frame(resampler.flush(), out);
        }
        for (Framer.Frame f : framer.flush()) {
            double energy = FeatureFrame.energyDb(f.samples());
            out.add(new FeatureFrame(f.index(), f.startSample(), features.extract(f.samples()), energy));
        }
        flushed = true;
        return out;
    }

    private void frame(float[] samples, List<FeatureFrame> out) {
        for (Framer.Frame f : framer.push(samples)) {
            double energy = FeatureFrame.energyDb(f.samples());
            out.add(new FeatureFrame(f.index(), f.startSample(), features.extract(f.samples()), energy));
        }
    }

    public AudioFrontEndConfig config() {
        return config;
    }

    /** The stream's sample rate, or 0 before its first accepted chunk. */
    public int sourceRate() {
        return sourceRate;
    }

    /** Chunks dropped as duplicates or stale. */
    public long duplicateChunks() {
        return reassembler.duplicatesDropped();
    }

    /** Seqs skipped as gaps. */
    public long skippedSeqs() {
        return reassembler.seqsSkipped();
    }

    /** Chunks held back waiting for a missing seq. */
    public int bufferedChunks() {
        return reassembler.buffered();
    }

    /** Chunks passed on in order. */
    public long chunksEmitted() {
        return reassembler.chunksEmitted();
    }

    /** Feature frames produced. */
    public long framesEmitted() {
        return framer.framesEmitted();
    }

    public boolean isFlushed() {
        return flushed;
    }
}

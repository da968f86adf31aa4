package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * The audio front end as a keyed operator: audio chunks in, one feature vector per frame out.
 * Each stream key's {@link AudioFrontEnd} lives in keyed state (its snapshot bytes), so frame
 * overlap, resampler history and out-of-order chunks survive a restore mid-stream. At end of
 * input every stream is flushed.
 *
 * <p>Output vectors carry the stream key, {@code seq} = frame index within the stream and
 * {@code eventTime} = the stream's first chunk time + the frame's start in milliseconds.
 * Chunks that cannot be used (bad payload, sample rate changing mid-stream) go to
 * {@link #DEAD_LETTERS} with the reason; the stream continues.
 */
@Internal
public class AudioFeaturesOperator extends AbstractStreamOperator<VectorRecord>
        implements OneInputStreamOperator<AudioChunk, VectorRecord>, BoundedOneInput {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("audio-dead-letters", DeadLetter.typeInfo());
    static final String FRONT_END_STATE = "vq-audio-front-end";

    private final int sampleRate;
    private final int winLength;
    private final int hop;
    private final int nFft;
    private final int nMels;
    private final double fmin;
    private final double fmax;
    private final FeatureKind kind;
    private final int maxBufferedChunks;
    /** Energy gate in dBFS ({@code audio.gate-db}): quieter frames are masked; NaN = no gate. */
    private final double gateDb;

    /** Live front ends of recently seen streams: restoring one (FFT plan, filterbank) costs more than a chunk. */
    static final int CACHED_STREAMS = 1024;

    private transient AudioFrontEndConfig config;
    private transient java.util.LinkedHashMap<String, AudioFrontEnd> live;
    private transient ValueState<byte[]> frontEnd;
    private transient ValueState<Long> firstChunkTime;
    private transient Counter frames;
    private transient Counter rejectedChunks;
    private transient Counter duplicateChunks;
    private transient Counter skippedSeqs;
    private transient Counter gatedFrames;

    public AudioFeaturesOperator(AudioFrontEndConfig config) {
        this(config, Double.NaN);
    }

    /**
     * With an energy gate: frames whose energy ({@link FeatureFrame#energyDb}) is below
     * {@code gateDb} go out masked ({@code mask = false}): the quantizer gives them code −1 and
     * does not learn from them, so silence neither trains the codebook nor spends bits.
     */
    public AudioFeaturesOperator(AudioFrontEndConfig config, double gateDb) {
        this.gateDb = gateDb;
        this.sampleRate = config.targetSampleRate();
        this.winLength = config.winLength();
        this.hop = config.hop();
        this.nFft = config.nFft();
        this.nMels = config.nMels();
        this.fmin = config.fmin();
        this.fmax = config.fmax();
        this.kind = config.featureKind();
        this.maxBufferedChunks = config.maxBufferedChunks();
    }

    AudioFrontEndConfig frontEndConfig() {
        return AudioFrontEndConfig.of(sampleRate, winLength, hop, nFft, nMels, fmin, fmax, kind, maxBufferedChunks);
    }

    @Override
    public void open() throws Exception {
        super.open();
        config = frontEndConfig();
        // the keyed state stays the source of truth (written after every chunk); this only saves
        // rebuilding a stream's front end from it, and starts empty after every restore
        live = new java.util.LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(java.util.Map.Entry<String, AudioFrontEnd> eldest) {
                return size() > CACHED_STREAMS;
            }
        };
        frontEnd = getRuntimeContext().getState(new ValueStateDescriptor<>(FRONT_END_STATE, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        firstChunkTime = getRuntimeContext().getState(new ValueStateDescriptor<>("vq-audio-start", Types.LONG));
        var g = getMetricGroup().addGroup("vqstream");
        frames = g.counter("audioFrames");
        rejectedChunks = g.counter("audioChunksRejected");
        duplicateChunks = g.counter("audioChunksDuplicate");
        skippedSeqs = g.counter("audioSeqsSkipped");
        gatedFrames = g.counter("audioFramesGated");
    }

    @Override
    public void processElement(StreamRecord<AudioChunk> element) throws Exception {
        AudioChunk c = element.getValue();
        AudioFrontEnd fe = current(c.key());
        long duplicatesBefore = fe.duplicateChunks();
        long skippedBefore = fe.skippedSeqs();
        List<FeatureFrame> out;
        try {
            out = fe.acceptPcm(c.seq(), c.sampleRate(), c.channels(), c.encoding(), c.pcm());
        } catch (AudioFormatException | IllegalArgumentException e) {
            rejectedChunks.inc();
            output.collect(DEAD_LETTERS, new StreamRecord<>(new DeadLetter(c.key(), DeadLetter.Stage.AUDIO,
                    "audio chunk seq " + c.seq() + " rejected: " + e.getMessage(), c.pcm(), c.eventTime())));
            return;
        }
        if (firstChunkTime.value() == null) {
            firstChunkTime.update(c.eventTime());
        }
        duplicateChunks.inc(fe.duplicateChunks() - duplicatesBefore);
        skippedSeqs.inc(fe.skippedSeqs() - skippedBefore);
        emit(c.key(), out);
        frontEnd.update(fe.snapshot().toBytes());
    }

    private AudioFrontEnd current(String key) throws Exception {
        AudioFrontEnd fe = live.get(key);
        if (fe == null) {
            byte[] s = frontEnd.value();
            fe = s == null ? new AudioFrontEnd(config) : AudioFrontEnd.restore(config, AudioFrontEndState.fromBytes(s));
            live.put(key, fe);
        }
        return fe;
    }

    private void emit(String key, List<FeatureFrame> out) throws Exception {
        Long start = firstChunkTime.value();
        long t0 = start == null ? 0 : start;
        for (FeatureFrame f : out) {
            long ts = t0 + f.startSample() * 1000 / sampleRate;
            boolean real = Double.isNaN(gateDb) || !(f.energyDb() < gateDb);
            if (!real) {
                gatedFrames.inc();
            }
            output.collect(new StreamRecord<>(new VectorRecord(key, f.frameIndex(), ts, f.features(), Map.of(), real), ts));
        }
        frames.inc(out.size());
    }

    @Override
    public void endInput() throws Exception {
        List<Object> keys;
        try (Stream<Object> s = getKeyedStateBackend().getKeys(FRONT_END_STATE, VoidNamespace.INSTANCE)) {
            keys = s.toList();
        }
        for (Object k : keys) {
            setCurrentKey(k);
            AudioFrontEnd fe = current((String) k);
            emit((String) k, fe.flush());
            frontEnd.update(fe.snapshot().toBytes());
        }
    }
}

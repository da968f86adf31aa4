package io.vqstream.jobs;

import io.vqstream.connectors.audio.AudioChunk;
import io.vqstream.connectors.audio.AudioFeaturesOperator;
import io.vqstream.connectors.audio.AudioFrontEndConfig;
import io.vqstream.connectors.audio.FeatureKind;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.QuantizeOperatorConfig;
import io.vqstream.operators.VqStreams;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/** Audio chunks → per-stream front end (frames, features) → keyed quantizer. */
final class AudioPipeline {
    private AudioPipeline() {}

    record Built(SingleOutputStreamOperator<VectorRecord> features, VqStreams.Quantized quantized, DataStream<DeadLetter> deadLetters) {}

    static AudioFrontEndConfig frontEnd(JobConfig c) {
        try {
            return AudioFrontEndConfig.of(c.sampleRate, c.winLength, c.hop, c.nFft, c.nMels, c.fmin, c.fmax,
                    c.features == JobConfig.Features.RAW ? FeatureKind.RAW_FRAMES : FeatureKind.LOG_MEL, c.maxBufferedChunks);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("audio: " + e.getMessage(), e);
        }
    }

    /** @param codebooksRead whether the job reads {@code quantized().codebooks()} (see {@link OperatorConfigs#quantize(JobConfig, boolean)}) */
    static Built build(JobConfig c, DataStream<AudioChunk> chunks, boolean codebooksRead) {
        AudioFrontEndConfig fe = frontEnd(c);
        int featureDim = fe.featureDimension();
        int quantizerDim = c.createQuantizer().dim();
        if (featureDim != quantizerDim) {
            throw new ConfigException("quantizer.dim is " + quantizerDim + " but the audio front end makes " + featureDim
                    + "-dimensional features (" + (c.features == JobConfig.Features.RAW ? "audio.win-length" : "audio.n-mels") + ")");
        }
        QuantizeOperatorConfig qc = OperatorConfigs.quantize(c, codebooksRead);
        SingleOutputStreamOperator<VectorRecord> features = chunks
                .keyBy(AudioChunk::key)
                .transform("vq-audio-features", VectorRecord.typeInfo(), new AudioFeaturesOperator(fe, c.gateDb))
                .uid("vq-audio-features");
        VqStreams.Quantized q = VqStreams.quantize(features, null, qc, "vq-quantize");
        DataStream<DeadLetter> dead = q.deadLetters().union(features.getSideOutput(AudioFeaturesOperator.DEAD_LETTERS));
        return new Built(features, q, dead);
    }
}

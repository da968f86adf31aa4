package io.vqstream.connectors.kafka;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.connectors.audio.AudioChunk;
import io.vqstream.connectors.serde.AudioChunkCodec;
import io.vqstream.connectors.serde.CodeCodec;
import io.vqstream.connectors.serde.CodebookSnapshotCodec;
import io.vqstream.connectors.serde.ControlMessageCodec;
import io.vqstream.connectors.serde.DeadLetterCodec;
import io.vqstream.connectors.serde.PayloadDecoder;
import io.vqstream.connectors.serde.PayloadEncoder;
import io.vqstream.connectors.serde.VectorCodec;
import io.vqstream.connectors.serde.WireFormat;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;

/**
 * Kafka sources and sinks for the vqstream records; the payload formats are those of the codecs
 * in {@code io.vqstream.connectors.serde}.
 * <pre>{@code
 * KafkaSource<Decoded<VectorRecord>> src = VqKafka.vectorSource("127.0.0.1:9092", "vectors", "vq", WireFormat.JSON).build();
 * DecodedStreams.Split<VectorRecord> in = DecodedStreams.split(
 *         env.fromSource(src, WatermarkStrategy.noWatermarks(), "vectors"), "decode-vectors");
 * VqStreams.Quantized q = VqStreams.quantize(in.values(), null, config, "vq");
 * q.codes().sinkTo(VqKafka.codeSink("127.0.0.1:9092", "codes", WireFormat.JSON).exactlyOnce("vq-codes").build());
 * q.deadLetters().union(in.deadLetters()).sinkTo(VqKafka.deadLetterSink("127.0.0.1:9092", "dead-letters").build());
 * }</pre>
 * Sources yield {@link io.vqstream.connectors.serde.Decoded} records: malformed payloads become
 * dead letters and never fail the job.
 */
@PublicEvolving
public final class VqKafka {
    /** Default producer {@code max.request.size} of the codebook snapshot sink: 16 MiB. */
    public static final int CODEBOOK_MAX_REQUEST_BYTES = 16 * 1024 * 1024;

    private VqKafka() {}

    public static VqSourceBuilder<VectorRecord> vectorSource(String bootstrapServers, String topic, String groupId, WireFormat format) {
        return new VqSourceBuilder<>(bootstrapServers, topic, groupId, new VectorCodec(format));
    }

    /** Vectors that must have {@code dimension} values: other lengths become dead letters with their raw payload. */
    public static VqSourceBuilder<VectorRecord> vectorSource(String bootstrapServers, String topic, String groupId, WireFormat format,
                                                             int dimension) {
        return new VqSourceBuilder<>(bootstrapServers, topic, groupId, new VectorCodec(format).withExpectedDimension(dimension));
    }

    public static VqSourceBuilder<AudioChunk> audioSource(String bootstrapServers, String topic, String groupId, WireFormat format) {
        return new VqSourceBuilder<>(bootstrapServers, topic, groupId, new AudioChunkCodec(format));
    }

    public static VqSourceBuilder<ControlMessage> controlSource(String bootstrapServers, String topic, String groupId) {
        return new VqSourceBuilder<>(bootstrapServers, topic, groupId, new ControlMessageCodec());
    }

    public static VqSourceBuilder<CodeRecord> codeSource(String bootstrapServers, String topic, String groupId, WireFormat format) {
        return new VqSourceBuilder<>(bootstrapServers, topic, groupId, new CodeCodec(format));
    }

    /** Codebook snapshots; compaction tombstones (null values) are skipped. */
    public static VqSourceBuilder<CodebookSnapshot> codebookSource(String bootstrapServers, String topic, String groupId) {
        return new VqSourceBuilder<>(bootstrapServers, topic, groupId, new CodebookSnapshotCodec());
    }

    /** A source with any decoder. */
    public static <T> VqSourceBuilder<T> source(String bootstrapServers, String topic, String groupId, PayloadDecoder<T> decoder) {
        return new VqSourceBuilder<>(bootstrapServers, topic, groupId, decoder);
    }

    public static VqSinkBuilder<CodeRecord> codeSink(String bootstrapServers, String topic, WireFormat format) {
        return new VqSinkBuilder<>(bootstrapServers, topic, new CodeCodec(format));
    }

    /** Dead letters as JSON envelopes with {@code vq-reason}/{@code vq-stage} headers ({@link DeadLetterCodec}). */
    public static VqSinkBuilder<DeadLetter> deadLetterSink(String bootstrapServers, String topic) {
        return new VqSinkBuilder<>(bootstrapServers, topic, new DeadLetterCodec());
    }

    /**
     * Codebook snapshots, record key = stream key (meant for a compacted topic). The producer's
     * {@code max.request.size} defaults to 16 MiB; the topic's {@code max.message.bytes} must admit
     * the largest snapshot.
     */
    public static VqSinkBuilder<CodebookSnapshot> codebookSink(String bootstrapServers, String topic) {
        return new VqSinkBuilder<>(bootstrapServers, topic, new CodebookSnapshotCodec())
                .defaultProperty("max.request.size", Integer.toString(CODEBOOK_MAX_REQUEST_BYTES));
    }

    public static VqSinkBuilder<VectorRecord> vectorSink(String bootstrapServers, String topic, WireFormat format) {
        return new VqSinkBuilder<>(bootstrapServers, topic, new VectorCodec(format));
    }

    public static VqSinkBuilder<AudioChunk> audioSink(String bootstrapServers, String topic, WireFormat format) {
        return new VqSinkBuilder<>(bootstrapServers, topic, new AudioChunkCodec(format));
    }

    public static VqSinkBuilder<ControlMessage> controlSink(String bootstrapServers, String topic) {
        return new VqSinkBuilder<>(bootstrapServers, topic, new ControlMessageCodec());
    }

    /** A sink with any encoder. */
    public static <T> VqSinkBuilder<T> sink(String bootstrapServers, String topic, PayloadEncoder<T> encoder) {
        return new VqSinkBuilder<>(bootstrapServers, topic, encoder);
    }
}

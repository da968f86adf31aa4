package io.vqstream.jobs;

import io.vqstream.connectors.audio.AudioChunk;
import io.vqstream.connectors.kafka.KafkaPreflight;
import io.vqstream.connectors.kafka.VqKafka;
import io.vqstream.connectors.kafka.VqSinkBuilder;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.DecodedStreams;
import io.vqstream.connectors.serde.WireFormat;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.QuantizeOperatorConfig;
import io.vqstream.operators.VqStreams;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;

/**
 * The Kafka pipelines: vectors → codes (quantize, learn), codes + codebooks → vectors
 * (decode), audio chunks → codes (tokenize-audio). Operator uids are fixed so a job restores
 * from its checkpoints and savepoints after an upgrade.
 */
final class StreamingJobs {
    static final Duration PREFLIGHT_TIMEOUT = Duration.ofSeconds(10);

    private StreamingJobs() {}

    static WireFormat format(JobConfig.Format f) {
        return f == JobConfig.Format.BINARY ? WireFormat.BINARY : WireFormat.JSON;
    }

    static void requireKafka(JobConfig c, String... topics) {
        if (c.bootstrapServers == null) {
            throw new ConfigException("--bootstrap-servers (or kafka.bootstrap-servers) is required");
        }
        for (String t : topics) {
            if (t == null) {
                throw new ConfigException("a Kafka topic is missing: give --input-topic and --output-topic (or kafka.input-topic/output-topic)");
            }
        }
    }

    /** Fails fast with a clear message when the brokers cannot be reached; creates missing topics. */
    static void prepareTopics(JobConfig c, List<String> plain, List<String> compacted) {
        KafkaPreflight.check(c.bootstrapServers, PREFLIGHT_TIMEOUT);
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, c.bootstrapServers);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) PREFLIGHT_TIMEOUT.toMillis());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) PREFLIGHT_TIMEOUT.toMillis());
        c.kafkaProperties.forEach(p::put);
        try (Admin admin = Admin.create(p)) {
            var existing = admin.listTopics().names().get(PREFLIGHT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            List<NewTopic> create = new ArrayList<>();
            for (String t : plain) {
                if (t != null && !existing.contains(t)) {
                    create.add(new NewTopic(t, java.util.Optional.empty(), java.util.Optional.empty()));
                }
            }
            for (String t : compacted) {
                if (t != null && !existing.contains(t)) {
                    Map<String, String> cfg = new HashMap<>();
                    cfg.put(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT);
                    cfg.put(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(VqKafka.CODEBOOK_MAX_REQUEST_BYTES));
                    create.add(new NewTopic(t, java.util.Optional.empty(), java.util.Optional.empty()).configs(cfg));
                }
            }
            if (!create.isEmpty()) {
                admin.createTopics(create).all().get(PREFLIGHT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (Exception e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof org.apache.kafka.common.errors.TopicExistsException) {
                return;
            }
            throw new ConfigException("cannot prepare Kafka topics at " + c.bootstrapServers + ": " + cause.getMessage(), e);
        }
    }

    private static <T> VqSinkBuilder<T> delivery(VqSinkBuilder<T> b, JobConfig c, String suffix) {
        c.kafkaProperties.forEach(b::property);
        return c.delivery == JobConfig.Delivery.EXACTLY_ONCE
                ? b.exactlyOnce(c.transactionalIdPrefix + "-" + suffix)
                : b.deliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE);
    }

    /** Vectors topic → quantizer → codes topic (+ codebook snapshots, + dead letters). */
    static void quantize(StreamExecutionEnvironment env, JobConfig c) {
        QuantizeOperatorConfig qc = OperatorConfigs.quantize(c, c.codebookTopic != null);
        var src = VqKafka.vectorSource(c.bootstrapServers, c.inputTopic, c.groupId, format(c.inputFormat), c.createQuantizer().dim())
                .unbounded();
        c.kafkaProperties.forEach(src::property);
        DataStream<Decoded<VectorRecord>> raw = env.fromSource(src.build(), WatermarkStrategy.noWatermarks(), "kafka-vectors")
                .uid("vq-kafka-vectors");
        DecodedStreams.Split<VectorRecord> vectors = DecodedStreams.split(raw, "vq-kafka-vectors-decode");

        DataStream<ControlMessage> control = null;
        List<DataStream<DeadLetter>> dead = new ArrayList<>();
        dead.add(vectors.deadLetters());
        if (c.controlTopic != null) {
            var csrc = VqKafka.controlSource(c.bootstrapServers, c.controlTopic, c.groupId + "-control").unbounded();
            c.kafkaProperties.forEach(csrc::property);
            DecodedStreams.Split<ControlMessage> ctl = DecodedStreams.split(
                    env.fromSource(csrc.build(), WatermarkStrategy.noWatermarks(), "kafka-control").uid("vq-kafka-control"),
                    "vq-kafka-control-decode");
            control = ctl.values();
            dead.add(ctl.deadLetters());
        }
        VqStreams.Quantized q = VqStreams.quantize(vectors.values(), control, qc, "vq-quantize");
        dead.add(q.deadLetters());
        sinks(c, q.codes(), q.codebooks(), dead);
    }

    private static void sinks(JobConfig c, DataStream<CodeRecord> codes, DataStream<CodebookSnapshot> codebooks,
                              List<DataStream<DeadLetter>> dead) {
        codes.sinkTo(delivery(VqKafka.codeSink(c.bootstrapServers, c.outputTopic, format(c.outputFormat)), c, "codes").build())
                .name("kafka-codes").uid("vq-sink-codes");
        DataStream<DeadLetter> allDead = dead.get(0);
        for (int i = 1; i < dead.size(); i++) {
            allDead = allDead.union(dead.get(i));
        }
        allDead.sinkTo(delivery(VqKafka.deadLetterSink(c.bootstrapServers, c.deadLetterTopic), c, "dead-letters").build())
                .name("kafka-dead-letters").uid("vq-sink-dead-letters");
        if (c.codebookTopic != null) {
            codebooks.sinkTo(delivery(VqKafka.codebookSink(c.bootstrapServers, c.codebookTopic), c, "codebooks").build())
                    .name("kafka-codebooks").uid("vq-sink-codebooks");
        }
    }

    /** Audio chunks topic → front end → quantizer → codes topic. */
    static void tokenizeAudio(StreamExecutionEnvironment env, JobConfig c) {
        var src = VqKafka.audioSource(c.bootstrapServers, c.inputTopic, c.groupId, format(c.inputFormat)).unbounded();
        c.kafkaProperties.forEach(src::property);
        DecodedStreams.Split<AudioChunk> chunks = DecodedStreams.split(
                env.fromSource(src.build(), WatermarkStrategy.noWatermarks(), "kafka-audio").uid("vq-kafka-audio"),
                "vq-kafka-audio-decode");
        AudioPipeline.Built p = AudioPipeline.build(c, chunks.values(), c.codebookTopic != null);
        List<DataStream<DeadLetter>> dead = new ArrayList<>();
        dead.add(chunks.deadLetters());
        dead.add(p.deadLetters());
        sinks(c, p.quantized().codes(), p.quantized().codebooks(), dead);
    }

    /** Codes topic + codebook topic → vectors topic, each code decoded with its own codebook version. */
    static void decode(StreamExecutionEnvironment env, JobConfig c, int maxVersions, int maxWaiting) {
        var codeSrc = VqKafka.codeSource(c.bootstrapServers, c.inputTopic, c.groupId, format(c.inputFormat)).unbounded();
        var cbSrc = VqKafka.codebookSource(c.bootstrapServers, c.codebookTopic, c.groupId + "-codebooks").unbounded();
        c.kafkaProperties.forEach(codeSrc::property);
        c.kafkaProperties.forEach(cbSrc::property);
        DecodedStreams.Split<CodeRecord> codes = DecodedStreams.split(
                env.fromSource(codeSrc.build(), WatermarkStrategy.noWatermarks(), "kafka-codes").uid("vq-kafka-codes"),
                "vq-kafka-codes-decode");
        DecodedStreams.Split<CodebookSnapshot> codebooks = DecodedStreams.split(
                env.fromSource(cbSrc.build(), WatermarkStrategy.noWatermarks(), "kafka-codebooks").uid("vq-kafka-codebooks"),
                "vq-kafka-codebooks-decode");
        VqStreams.Decoded d = VqStreams.decode(codes.values(), codebooks.values(), maxVersions, maxWaiting, "vq-decode");
        d.vectors().sinkTo(delivery(VqKafka.vectorSink(c.bootstrapServers, c.outputTopic, format(c.outputFormat)), c, "vectors").build())
                .name("kafka-vectors").uid("vq-sink-vectors");
        d.deadLetters().union(codes.deadLetters(), codebooks.deadLetters())
                .sinkTo(delivery(VqKafka.deadLetterSink(c.bootstrapServers, c.deadLetterTopic), c, "dead-letters").build())
                .name("kafka-dead-letters").uid("vq-sink-dead-letters");
    }
}

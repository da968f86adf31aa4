package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.PipelineTestSupport.CollectSink;
import io.vqstream.operators.PipelineTestSupport.Collected;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import io.vqstream.state.KeyMeta;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Nothing the operator emits or keeps falls back to Kryo. */
class NoGenericTypesITCase {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = OperatorTestSupport.miniCluster(2);

    @Test
    void recordTypesAndKeyMetaHaveTheirOwnTypeInformation() {
        for (Class<?> c : List.of(VectorRecord.class, CodeRecord.class, CodebookSnapshot.class, ControlMessage.class, DeadLetter.class)) {
            TypeInformation<?> ti = TypeInformation.of(c);
            assertFalse(ti instanceof GenericTypeInfo, c.getSimpleName() + " would go through Kryo");
            assertEquals(c, ti.getTypeClass());
        }
        TypeInformation<KeyMeta> meta = TypeInformation.of(KeyMeta.class);
        PojoTypeInfo<KeyMeta> pojo = assertInstanceOf(PojoTypeInfo.class, meta, "KeyMeta must stay a Flink POJO");
        for (int i = 0; i < pojo.getArity(); i++) {
            assertFalse(pojo.getTypeAt(i) instanceof GenericTypeInfo, "KeyMeta field " + pojo.getPojoFieldAt(i));
        }
        assertEquals(8, pojo.getArity(), "KeyMeta's fields are part of the savepoint format");
    }

    @Test
    void theSameSettingRejectsAJobWithAGenericType() {
        // proves the setting reaches jobs built this way, so the job below would fail on any Kryo fallback
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        Exception e = assertThrows(Exception.class, () -> {
            env.fromData(List.of(new java.util.concurrent.atomic.AtomicLong(1))).sinkTo(new CollectSink<>("generic"));
            env.execute("generic type");
        });
        Throwable t = e;
        while (t.getCause() != null && !(t instanceof UnsupportedOperationException)) {
            t = t.getCause();
        }
        assertTrue(String.valueOf(t.getMessage()).contains("Generic types have been disabled"), String.valueOf(t));
    }

    @Test
    void aJobWithGenericTypesDisabledRunsTheOperatorWithControlAndDeadLetters() throws Exception {
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("ResidualVQ", Map.of("dim", 8, "codebook_size", 16,
                        "num_quantizers", 2, "decay", 0.8))
                .source(CodebookSource.INIT).learn(true).batchSize(4).maxDelay(Duration.ofMillis(5)).emitQuantized(true).build();
        SplittableRandom rng = new SplittableRandom(41);
        List<VectorRecord> in = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            in.add(new VectorRecord("k" + (i % 4), i / 4, i, OperatorTestSupport.randomVector(rng, 8), Map.of("i", Integer.toString(i))));
        }
        float[] nan = OperatorTestSupport.randomVector(rng, 8);
        nan[2] = Float.NaN;
        in.add(new VectorRecord("k0", 100, 100, nan));
        in.add(new VectorRecord(null, 0, 0, OperatorTestSupport.randomVector(rng, 8)));
        var control = env.fromData(List.of(ControlMessage.of(ControlMessage.Kind.FREEZE, "k3"),
                ControlMessage.install("other", config.createQuantizer().initParams(5))), ControlMessage.typeInfo());
        VqStreams.Quantized out = VqStreams.quantize(env.fromData(in, VectorRecord.typeInfo()).setParallelism(1), control, config, "vq");
        out.codes().sinkTo(new CollectSink<>("no-kryo"));
        out.codebooks().sinkTo(new CollectSink<>("no-kryo"));
        out.deadLetters().sinkTo(new CollectSink<>("no-kryo"));
        env.execute("generic types disabled");

        Collected got = PipelineTestSupport.run("no-kryo");
        assertEquals(40, got.codes.size());
        got.codes.values().forEach(c -> {
            assertEquals(2, c.codes().length);
            assertEquals(8, c.quantized().length);
            assertEquals(Long.toString(c.seq() * 4 + Integer.parseInt(c.key().substring(1))), c.attributes().get("i"), "attributes pass through");
        });
        assertEquals(2, got.deadLetters.size(), "the NaN vector and the record without key");
        assertTrue(got.deadLetters.stream().anyMatch(d -> d.key() == null && d.reason().contains("missing key")));
        assertTrue(got.deadLetters.stream().anyMatch(d -> "k0".equals(d.key()) && d.reason().contains("NaN")));
        assertTrue(got.snapshots.values().stream().anyMatch(s -> s.key().equals("other")), "the installed key published its codebook");
        assertTrue(got.snapshots.values().stream().anyMatch(s -> s.key().equals("k0") && s.step() > 0), "k0 learned");
    }
}

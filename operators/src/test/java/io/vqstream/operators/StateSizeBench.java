package io.vqstream.operators;

import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.operators.PipelineTestSupport.CollectSink;
import io.vqstream.operators.record.VectorRecord;
import io.vqstream.state.CodebookState;
import io.vqstream.state.CodebookStateSerializer;
import io.vqstream.state.KeyMeta;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.core.execution.CheckpointType;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.checkpoint.AbstractCheckpointStats;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.util.MiniClusterWithClientResource;

/**
 * Measures, once, the serialized per-key state of large codebooks and the size and duration of a
 * HashMap checkpoint of 1 000 such keys. Not a test: run by hand with a large heap, e.g.
 * <pre>
 * java -Xmx8g --add-opens ... -cp target/test-classes:target/classes:$(test classpath) io.vqstream.operators.StateSizeBench
 * </pre>
 */
public final class StateSizeBench {
    private StateSizeBench() {}

    static long serializedBytes(Params p) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(1 << 20);
        new CodebookStateSerializer().serialize(new CodebookState(12, 11, p), out);
        return out.length();
    }

    public static void main(String[] args) throws Exception {
        Quantizer vq = Quantizers.create("VectorQuantize", Map.of("dim", 128, "codebook_size", 1024));
        Quantizer rvq = Quantizers.create("ResidualVQ", Map.of("dim", 128, "codebook_size", 1024, "num_quantizers", 8));
        long vqBytes = serializedBytes(vq.initParams(1));
        long rvqBytes = serializedBytes(rvq.initParams(1));
        TypeSerializer<KeyMeta> metaSer = TypeInformation.of(KeyMeta.class).createSerializer(new SerializerConfigImpl());
        DataOutputSerializer m = new DataOutputSerializer(64);
        metaSer.serialize(new KeyMeta(), m);
        System.out.printf("per-key codebook state, VectorQuantize K=1024 D=128: %d bytes (%s)%n", vqBytes, vq.initParams(1));
        System.out.printf("per-key codebook state, ResidualVQ 8x1024x128: %d bytes%n", rvqBytes);
        System.out.printf("per-key KeyMeta: %d bytes%n", m.length());

        int keys = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int parallelism = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        Path dir = Files.createTempDirectory("vq-bench-checkpoints");
        Configuration clusterConf = new Configuration();
        MiniClusterWithClientResource cluster = new MiniClusterWithClientResource(new MiniClusterResourceConfiguration.Builder()
                .setConfiguration(clusterConf).setNumberTaskManagers(1).setNumberSlotsPerTaskManager(parallelism).build());
        cluster.before();
        try {
            Configuration conf = new Configuration();
            conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
            conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.toUri().toString());
            // checkpoints only when triggered below
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofHours(1));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            env.setParallelism(1);
            env.setMaxParallelism(128);
            // one record per key gives every key its own seeded codebook; the source then waits for a checkpoint
            var source = new DataGeneratorSource<>(i -> {
                SplittableRandom rng = new SplittableRandom(i);
                float[] v = new float[128];
                for (int d = 0; d < 128; d++) {
                    v[d] = (float) rng.nextGaussian();
                }
                return new VectorRecord("key-" + (i % keys), i / keys, i, v);
            }, 2L * keys, RateLimiterStrategy.perCheckpoint(keys), VectorRecord.typeInfo());
            QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("VectorQuantize", Map.of("dim", 128, "codebook_size", 1024))
                    .source(CodebookSource.INIT).batchSize(1).maxDelay(Duration.ZERO).publishEvery(0).build();
            VqStreams.Quantized q = VqStreams.quantize(env.fromSource(source, WatermarkStrategy.noWatermarks(), "vectors"), null, config, "vq");
            q.codes().setParallelism(parallelism);
            q.codes().sinkTo(new CollectSink<>("bench"));
            JobClient job = env.executeAsync("state size bench");
            PipelineTestSupport.Collected c = PipelineTestSupport.run("bench");
            long t0 = System.nanoTime();
            while (c.codes.size() < keys) {
                Thread.sleep(50);
            }
            System.out.printf("%d keys initialised in %.1f s%n", keys, (System.nanoTime() - t0) / 1e9);
            MiniCluster mc = cluster.getMiniCluster();
            JobID id = job.getJobID();
            for (int round = 0; round < 2; round++) {
                long wall = System.nanoTime();
                long cp = mc.triggerCheckpoint(id, CheckpointType.FULL).get();
                long wallMs = (System.nanoTime() - wall) / 1_000_000;
                AbstractCheckpointStats s = mc.getExecutionGraph(id).get().getCheckpointStatsSnapshot().getHistory().getCheckpointById(cp);
                System.out.printf("checkpoint %d (full, hashmap, %d keys, operator parallelism %d): state size %d bytes (%.1f MiB), "
                                + "end-to-end %d ms, trigger-to-complete wall %d ms%n",
                        cp, keys, parallelism, s.getStateSize(), s.getStateSize() / 1048576.0, s.getEndToEndDuration(), wallMs);
                s.getAllTaskStateStats().forEach(t -> System.out.printf("   task %s: state %d bytes, max sync %d ms, max async %d ms%n",
                        t.getJobVertexId(), t.getStateSize(), t.getSummaryStats().getSyncCheckpointDurationStats().getMaximum(),
                        t.getSummaryStats().getAsyncCheckpointDurationStats().getMaximum()));
            }
            job.cancel().get();
        } finally {
            cluster.after();
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}

package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.PipelineTestSupport.CollectSink;
import io.vqstream.operators.PipelineTestSupport.Collected;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import io.vqstream.state.SavepointBootstrap;
import io.vqstream.state.SavepointExport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A savepoint bootstrapped from per-key files starts the operator with those codebooks, and exports back to the same tensors. */
class SavepointBootstrapITCase {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = OperatorTestSupport.miniCluster(2);

    private static final int DIM = 8;
    private static final Map<String, Object> VQ = Map.of("dim", DIM, "codebook_size", 16, "decay", 0.8);
    private static final List<String> KEYS = List.of("alice", "bob", "carol");
    private static final int PER_KEY = 10;

    private static List<VectorRecord> input() {
        SplittableRandom rng = new SplittableRandom(31);
        List<VectorRecord> l = new ArrayList<>();
        for (int i = 0; i < PER_KEY; i++) {
            for (String k : KEYS) {
                l.add(new VectorRecord(k, i, i, OperatorTestSupport.randomVector(rng, DIM)));
            }
        }
        l.add(new VectorRecord("dave", 0, 0, OperatorTestSupport.randomVector(rng, DIM)));
        return l;
    }

    @Test
    void jobStartedFromABootstrappedSavepointQuantizesWithTheFilesCodebooks(@TempDir Path tmp) throws Exception {
        QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.CONTROL)
                .batchSize(4).maxDelay(Duration.ZERO).build();
        Quantizer q = config.createQuantizer();
        Path files = Files.createDirectories(tmp.resolve("codebooks"));
        Map<String, Params> params = new java.util.HashMap<>();
        for (int i = 0; i < KEYS.size(); i++) {
            Params p = q.initParams(100 + i);
            params.put(KEYS.get(i), p);
            QuantizerFiles.save(p, files.resolve(KEYS.get(i) + ".safetensors"), Map.of());
        }
        Path sp = tmp.resolve("bootstrapped");
        assertEquals(KEYS, SavepointBootstrap.bootstrap(q, files, sp, PipelineTestSupport.UID, 128));

        // on RocksDB, to show the canonical savepoint is backend-independent
        Configuration conf = new Configuration();
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, sp.toUri().toString());
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        env.setMaxParallelism(128);
        List<VectorRecord> in = input();
        VqStreams.Quantized out = VqStreams.quantize(env.fromData(in, VectorRecord.typeInfo()).uid("vectors").setParallelism(1),
                null, config, PipelineTestSupport.UID);
        out.codes().sinkTo(new CollectSink<>("bootstrapped")).uid("codes-sink");
        out.codebooks().sinkTo(new CollectSink<>("bootstrapped")).uid("codebooks-sink");
        out.deadLetters().sinkTo(new CollectSink<>("bootstrapped")).uid("dead-sink");
        env.execute("from a bootstrapped savepoint");

        Collected got = PipelineTestSupport.run("bootstrapped");
        assertEquals(List.of(), got.conflicts);
        assertEquals(KEYS.size() * PER_KEY, got.codes.size());
        for (String key : KEYS) {
            float[] x = new float[PER_KEY * DIM];
            for (int i = 0; i < PER_KEY; i++) {
                System.arraycopy(in.get(i * KEYS.size() + KEYS.indexOf(key)).vector(), 0, x, i * DIM, DIM);
            }
            long[] expected = q.forwardTokens(params.get(key), new Tensor(x, PER_KEY, 1, DIM), ForwardOptions.eval()).indices().data();
            for (int i = 0; i < PER_KEY; i++) {
                CodeRecord c = got.codes.get(key + "/" + i);
                assertEquals(expected[i], c.codes()[0], key + " record " + i + " coded with its file's codebook");
                assertEquals(1, c.codebookVersion(), "the bootstrapped version");
            }
        }
        List<DeadLetter> dead = new ArrayList<>(got.deadLetters);
        assertEquals(1, dead.size(), "the key not in the savepoint has no codebook under the control source");
        assertEquals("dave", dead.get(0).key());
        assertTrue(got.snapshots.isEmpty(), "restored keys already have their codebook: nothing new to publish");

        Path exported = tmp.resolve("export");
        SavepointExport.Result r = SavepointExport.export(q, sp, exported, PipelineTestSupport.UID);
        assertEquals(KEYS, r.exported());
        for (String key : KEYS) {
            Params back = QuantizerFiles.load(q, exported.resolve(key + ".safetensors"));
            assertTrue(back.bitEquals(params.get(key)), key + ": export of the bootstrapped savepoint is bit-identical to the file");
        }
    }

    @Test
    void learningFromABootstrappedSavepointContinuesFromTheFilesCodebooks(@TempDir Path tmp) throws Exception {
        QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.CONTROL)
                .learn(true).batchSize(PER_KEY).maxDelay(Duration.ZERO).build();
        Quantizer q = config.createQuantizer();
        Path files = Files.createDirectories(tmp.resolve("codebooks"));
        Params p = q.initParams(7);
        QuantizerFiles.save(p, files.resolve("alice.safetensors"), Map.of());
        Path sp = tmp.resolve("bootstrapped");
        SavepointBootstrap.bootstrap(q, files, sp, PipelineTestSupport.UID, 128);

        Configuration conf = new Configuration();
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, sp.toUri().toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        env.setMaxParallelism(128);
        List<VectorRecord> in = input().stream().filter(r -> r.key().equals("alice")).toList();
        VqStreams.Quantized out = VqStreams.quantize(env.fromData(in, VectorRecord.typeInfo()).uid("vectors"), null, config,
                PipelineTestSupport.UID);
        out.codes().sinkTo(new CollectSink<>("bootstrapped-learning")).uid("codes-sink");
        out.codebooks().sinkTo(new CollectSink<>("bootstrapped-learning")).uid("codebooks-sink");
        env.execute("learning from a bootstrapped savepoint");

        float[] x = new float[PER_KEY * DIM];
        for (int i = 0; i < PER_KEY; i++) {
            System.arraycopy(in.get(i).vector(), 0, x, i * DIM, DIM);
        }
        Params expected = p.copy();
        q.forwardTokens(expected, new Tensor(x, PER_KEY, 1, DIM), ForwardOptions.train(RandomSourceFactory.seeded()
                .create(0, QuantizeOperator.keyHash("alice"), 0, RandomSourceFactory.Purpose.STEP)));
        CodebookSnapshot last = PipelineTestSupport.run("bootstrapped-learning").finalCodebooks().get("alice");
        assertEquals(2, last.version(), "bootstrapped version 1, then one EMA step");
        assertEquals(1, last.step());
        assertTrue(last.params().bitEquals(expected), "the EMA step started from the file's codebook and buffers");
    }

    @Test
    void exportListsKeysOnTheSharedDefaultOrWritesTheGivenDefaultForThem(@TempDir Path tmp) throws Exception {
        Quantizer q = io.vqstream.core.quantize.Quantizers.create("VectorQuantize", VQ);
        Params shared = q.initParams(200);
        Params own = q.initParams(201);
        QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.FILE)
                .sharedParams(shared).batchSize(1).maxDelay(Duration.ZERO).build();
        Path files = Files.createDirectories(tmp.resolve("codebooks"));
        QuantizerFiles.save(own, files.resolve("alice.safetensors"), Map.of());
        Path sp0 = tmp.resolve("bootstrapped");
        SavepointBootstrap.bootstrap(q, files, sp0, PipelineTestSupport.UID, 128);

        // alice (from the savepoint) and dave (new: the shared file) get two records each; the gated
        // source then waits, running, until the savepoint stops it
        Configuration conf = new Configuration();
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, sp0.toUri().toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        env.setMaxParallelism(128);
        var source = new org.apache.flink.connector.datagen.source.DataGeneratorSource<>(
                i -> new VectorRecord(i % 2 == 0 ? "alice" : "dave", i / 2, i, OperatorTestSupport.randomVector(new SplittableRandom(i), DIM)),
                8, org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy.perCheckpoint(4), VectorRecord.typeInfo());
        VqStreams.Quantized out = VqStreams.quantize(env.fromSource(source,
                org.apache.flink.api.common.eventtime.WatermarkStrategy.noWatermarks(), "vectors").uid("vectors"), null, config,
                PipelineTestSupport.UID);
        out.codes().sinkTo(new CollectSink<>("shared-default")).uid("codes-sink");
        org.apache.flink.core.execution.JobClient job = env.executeAsync("shared default");
        Collected got = PipelineTestSupport.run("shared-default");
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (got.codes.size() < 4) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + got.codes.size() + " of 4 records coded");
            }
            Thread.sleep(20);
        }
        String sp1 = job.stopWithSavepoint(false, tmp.resolve("savepoints").toUri().toString(),
                org.apache.flink.core.execution.SavepointFormatType.CANONICAL).get();
        Path sp1Dir = Path.of(java.net.URI.create(sp1));

        Path out1 = tmp.resolve("export-listing");
        SavepointExport.Result listing = SavepointExport.export(q, sp1Dir, out1, PipelineTestSupport.UID);
        assertEquals(List.of("alice"), listing.exported());
        assertEquals(List.of("dave"), listing.sharedDefault(), "dave has no codebook of its own in state");
        assertTrue(!Files.exists(out1.resolve("dave.safetensors")), "nothing written for a shared-default key");
        assertTrue(QuantizerFiles.load(q, out1.resolve("alice.safetensors")).bitEquals(own));

        Path out2 = tmp.resolve("export-with-default");
        SavepointExport.Result withDefault = SavepointExport.export(q, sp1Dir, out2, PipelineTestSupport.UID, shared);
        assertEquals(List.of("dave"), withDefault.sharedDefault());
        io.vqstream.core.io.SafeTensorsFile dave = io.vqstream.core.io.SafeTensors.read(out2.resolve("dave.safetensors"));
        assertEquals("true", dave.metadata("shared_default"));
        assertEquals("dave", dave.metadata("key"));
        assertTrue(QuantizerFiles.load(q, out2.resolve("dave.safetensors")).bitEquals(shared), "the given default, bit for bit");
        assertTrue(QuantizerFiles.load(q, out2.resolve("alice.safetensors")).bitEquals(own), "own codebooks are not replaced");
    }
}

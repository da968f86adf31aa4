package io.vqstream.operators;

import static io.vqstream.operators.PipelineTestSupport.assertSameResults;
import static io.vqstream.operators.PipelineTestSupport.pipeline;
import static io.vqstream.operators.PipelineTestSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.operators.PipelineTestSupport.Collected;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.state.SavepointExport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stop-with-savepoint of a running learning job at parallelism 2, restored at parallelism 3
 * (HashMap) and at 1 (RocksDB, from the same canonical savepoint): every key's codebook is
 * intact, so the restored runs finish the input exactly as an uninterrupted run does. The
 * savepoint also exports to per-key files holding the learned codebooks.
 */
class QuantizeSavepointRescaleITCase {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = OperatorTestSupport.miniCluster(4);

    static final int KEYS = QuantizeFailureRecoveryITCase.KEYS;
    static final long COUNT = QuantizeFailureRecoveryITCase.COUNT;
    /**
     * Records before the savepoint: 64 per key, which is the kmeans batch of 32 plus two batches
     * of 16, so every one of them is coded before the savepoint is taken.
     */
    static final int BEFORE = KEYS * 64;

    @TempDir
    static Path tmp;
    private static String savepoint;
    private static Collected phase1;
    private static Collected reference;

    @BeforeAll
    static void runUntilTheSavepoint() throws Exception {
        reference = PipelineTestSupport.reference(KEYS, COUNT);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        env.setParallelism(1);
        env.setMaxParallelism(128);
        // no checkpoints: the gated source emits its first BEFORE records, then waits, running, for a
        // checkpoint that never comes
        pipeline(env, "phase1", KEYS, COUNT, RateLimiterStrategy.perCheckpoint(BEFORE), null, 2);
        JobClient client = env.executeAsync("phase1");
        phase1 = run("phase1");
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (phase1.codes.size() < BEFORE) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("phase 1 coded only " + phase1.codes.size() + " of " + BEFORE + " records");
            }
            Thread.sleep(20);
        }
        savepoint = client.stopWithSavepoint(false, tmp.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL).get();
        assertEquals(BEFORE, phase1.codes.size(), "the source stopped at the gate: nothing beyond it was coded");
        assertEquals(java.util.List.of(), phase1.conflicts);
        for (Map.Entry<String, CodeRecord> e : phase1.codes.entrySet()) {
            assertEquals(reference.codes.get(e.getKey()), e.getValue(), "phase 1 code of " + e.getKey());
        }
    }

    private static Collected restore(String id, int parallelism, String backend) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        conf.set(StateBackendOptions.STATE_BACKEND, backend);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        env.setMaxParallelism(128);
        pipeline(env, id, KEYS, COUNT, RateLimiterStrategy.noOp(), null, parallelism);
        env.execute(id);
        return run(id);
    }

    /** The restored run codes exactly the records after the savepoint, as the uninterrupted run did, and ends with its codebooks. */
    private static void assertFinishesLikeTheUninterruptedRun(Collected restored, String what) {
        Collected expectedTail = new Collected();
        reference.codes.values().stream().filter(c -> c.eventTime() >= BEFORE).forEach(expectedTail::add);
        reference.snapshots.values().forEach(expectedTail::add);
        assertEquals(COUNT - BEFORE, restored.codes.size(), what + ": codes for the records after the savepoint only");
        assertSameResults(expectedTail, restored, what);
        for (CodeRecord c : restored.codes.values()) {
            assertTrue(c.codebookVersion() > 1, what + ": " + c + " was coded with a restored, learned codebook");
        }
    }

    @Test
    void restoresAtParallelism3OnHashMap() throws Exception {
        assertFinishesLikeTheUninterruptedRun(restore("restore-p3", 3, "hashmap"), "parallelism 3, hashmap");
    }

    @Test
    void restoresAtParallelism1OnRocksDb() throws Exception {
        assertFinishesLikeTheUninterruptedRun(restore("restore-p1", 1, "rocksdb"), "parallelism 1, rocksdb");
    }

    @Test
    void exportOfTheSavepointGivesTheLearnedCodebooks() throws Exception {
        Quantizer q = PipelineTestSupport.learningConfig().createQuantizer();
        Path out = tmp.resolve("export");
        SavepointExport.Result r = SavepointExport.export(q, Path.of(java.net.URI.create(savepoint)), out, PipelineTestSupport.UID);
        assertEquals(KEYS, r.exported().size(), "every key learned its own codebook: " + r);
        assertEquals(java.util.List.of(), r.sharedDefault());
        Map<String, CodebookSnapshot> published = new TreeMap<>();
        phase1.snapshots.values().forEach(s -> published.put(s.key() + "@" + s.version(), s));
        for (String key : r.exported()) {
            Path file = out.resolve(key + ".safetensors");
            SafeTensorsFile f = SafeTensors.read(file);
            long version = Long.parseLong(f.metadata("version"));
            CodebookSnapshot s = published.get(key + "@" + version);
            assertTrue(s != null, key + ": phase 1 published version " + version);
            assertEquals(phase1.finalCodebooks().get(key).version(), version, key + ": the savepoint holds the last codebook");
            assertEquals(Long.toString(s.step()), f.metadata("step"));
            assertEquals("VectorQuantize", f.metadata("quantizer_type"));
            assertEquals(key, f.metadata("key"));
            Params exported = QuantizerFiles.load(q, file);
            assertTrue(exported.bitEquals(s.params()), key + ": exported tensors equal the published learned codebook bit for bit");
            assertTrue(f.contains("_codebook.embed_avg") && f.contains("_codebook.cluster_size"), "EMA buffers exported");
        }
    }
}

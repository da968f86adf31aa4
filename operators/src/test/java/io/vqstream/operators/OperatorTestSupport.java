package io.vqstream.operators;

import io.vqstream.core.quantize.RandomSource;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.apache.flink.test.junit5.MiniClusterExtension;

/** Harness plumbing shared by the operator tests. */
final class OperatorTestSupport {
    private OperatorTestSupport() {}

    static KeyedTwoInputStreamOperatorTestHarness<String, VectorRecord, ControlMessage, CodeRecord> harness(QuantizeOperatorConfig config)
            throws Exception {
        return harness(config, 128, 1, 0);
    }

    static KeyedTwoInputStreamOperatorTestHarness<String, VectorRecord, ControlMessage, CodeRecord> harness(
            QuantizeOperatorConfig config, int maxParallelism, int parallelism, int subtask) throws Exception {
        return new KeyedTwoInputStreamOperatorTestHarness<>(new QuantizeOperator(config), VectorRecord::key, null, Types.STRING,
                maxParallelism, parallelism, subtask);
    }

    static List<CodeRecord> codes(KeyedTwoInputStreamOperatorTestHarness<String, VectorRecord, ControlMessage, CodeRecord> h) {
        return h.extractOutputValues();
    }

    static List<DeadLetter> deadLetters(KeyedTwoInputStreamOperatorTestHarness<String, VectorRecord, ControlMessage, CodeRecord> h) {
        var q = h.getSideOutput(QuantizeOperator.DEAD_LETTERS);
        return q == null ? List.of() : q.stream().map(StreamRecord::getValue).collect(Collectors.toList());
    }

    static List<CodebookSnapshot> snapshots(KeyedTwoInputStreamOperatorTestHarness<String, VectorRecord, ControlMessage, CodeRecord> h) {
        var q = h.getSideOutput(QuantizeOperator.CODEBOOKS);
        return q == null ? List.of() : q.stream().map(StreamRecord::getValue).collect(Collectors.toList());
    }

    static float[] randomVector(SplittableRandom rng, int dim) {
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = (float) (rng.nextGaussian());
        }
        return v;
    }

    static Path sharedDir() {
        String prop = System.getProperty("vqstream.shared.dir");
        if (prop != null && Files.isDirectory(Path.of(prop))) {
            return Path.of(prop);
        }
        return Path.of("").toAbsolutePath().getParent().resolve("../shared").normalize();
    }

    /** Kmeans seeded with the first rows (the golden cases' injected choice); other randomness seeded. */
    static RandomSourceFactory firstRowsKmeans() {
        return (seed, keyHash, step, purpose) -> RandomSource.seeded(RandomSource.mix(seed, keyHash, step)).withFirstRowsKmeans();
    }

    /** A Flink mini-cluster of one TaskManager with {@code slots} slots, for {@code @RegisterExtension} in the ITCases. */
    static MiniClusterExtension miniCluster(int slots) {
        return new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1)
                .setNumberSlotsPerTaskManager(slots).build());
    }
}

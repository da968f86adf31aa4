package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * A replayable keyed vector source, a map that fails once, and sinks that collect outputs by
 * (key, seq) / (key, version) and record every conflicting duplicate: the pieces of the
 * MiniCluster tests.
 */
final class PipelineTestSupport {
    private PipelineTestSupport() {}

    static final int DIM = 16;
    static final String UID = "vq-quantize";

    /** Learning VQ with kmeans init: exercises the pending-init path, EMA steps and timers across restores. */
    static QuantizeOperatorConfig learningConfig() {
        return QuantizeOperatorConfig.builder("VectorQuantize", Map.of("dim", DIM, "codebook_size", 32, "decay", 0.8,
                        "kmeans_init", true, "kmeans_iters", 5))
                .source(CodebookSource.INIT).seed(3).learn(true).batchSize(16).initMinVectors(32)
                .maxDelay(Duration.ofMillis(20)).publishEvery(1).build();
    }

    /** Record {@code i} of the input: key {@code i mod keys}, seq {@code i div keys}, a vector fixed by {@code i}. */
    static final class Vectors implements GeneratorFunction<Long, VectorRecord> {
        private final int keys;

        Vectors(int keys) {
            this.keys = keys;
        }

        @Override
        public VectorRecord map(Long i) {
            SplittableRandom rng = new SplittableRandom(0x5eedL * 31 + i);
            float[] v = new float[DIM];
            // a few clusters, so that learning has something to find
            int cluster = rng.nextInt(6);
            for (int d = 0; d < DIM; d++) {
                v[d] = (float) ((d % 6 == cluster ? 3.0 : 0.0) + 0.5 * rng.nextGaussian());
            }
            return new VectorRecord("key-" + (i % keys), i / keys, i, v);
        }
    }

    /** The input as a source of parallelism 1 (one upstream subtask keeps every key's order). */
    static DataStream<VectorRecord> vectors(StreamExecutionEnvironment env, int keys, long count, RateLimiterStrategy rate) {
        return env.fromSource(new DataGeneratorSource<>(new Vectors(keys), count, rate, VectorRecord.typeInfo()),
                        WatermarkStrategy.noWatermarks(), "vectors")
                .uid("vectors").setParallelism(1);
    }

    // ------------------------------------------------------------------ failure injection

    /** Per test run: whether the failure was injected, and on which attempts the map ran. */
    static final Map<String, AtomicInteger> FAILURES = new ConcurrentHashMap<>();
    static final Map<String, AtomicInteger> CHECKPOINTS_SEEN = new ConcurrentHashMap<>();
    /** The first record index the map saw after the restart: above 0 only when the source resumed from a checkpoint. */
    static final Map<String, java.util.concurrent.atomic.AtomicLong> FIRST_AFTER_RESTART = new ConcurrentHashMap<>();

    /**
     * Passes records through; on its first attempt, throws at the record whose index (event time)
     * is {@code failAt}, provided a checkpoint has completed (with a per-checkpoint rate limit on
     * the source, a late enough index guarantees that).
     */
    static final class FailOnce extends RichMapFunction<VectorRecord, VectorRecord> implements CheckpointListener {
        private final String run;
        private final long failAt;
        private transient boolean checkpointed;

        FailOnce(String run, long failAt) {
            this.run = run;
            this.failAt = failAt;
        }

        @Override
        public void open(OpenContext ctx) {
            FAILURES.computeIfAbsent(run, k -> new AtomicInteger());
            CHECKPOINTS_SEEN.computeIfAbsent(run, k -> new AtomicInteger());
            FIRST_AFTER_RESTART.computeIfAbsent(run, k -> new java.util.concurrent.atomic.AtomicLong(-1));
        }

        @Override
        public VectorRecord map(VectorRecord r) {
            if (getRuntimeContext().getTaskInfo().getAttemptNumber() > 0) {
                FIRST_AFTER_RESTART.get(run).compareAndSet(-1, r.eventTime());
            }
            if (r.eventTime() >= failAt && getRuntimeContext().getTaskInfo().getAttemptNumber() == 0 && FAILURES.get(run).get() == 0) {
                if (!checkpointed) {
                    throw new IllegalStateException("test setup: no checkpoint completed before record " + failAt
                            + "; the rate limit of the source must hold records back until checkpoints complete");
                }
                FAILURES.get(run).incrementAndGet();
                throw new RuntimeException("injected failure at record " + r.eventTime());
            }
            return r;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            checkpointed = true;
            CHECKPOINTS_SEEN.get(run).incrementAndGet();
        }
    }

    // ------------------------------------------------------------------ collecting sinks

    /** What one run emitted, keyed so that a replayed output must equal the first one. */
    static final class Collected {
        final Map<String, CodeRecord> codes = new ConcurrentHashMap<>();
        final Map<String, CodebookSnapshot> snapshots = new ConcurrentHashMap<>();
        final List<String> conflicts = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<DeadLetter> deadLetters = java.util.Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger duplicates = new AtomicInteger();

        void add(Object o) {
            if (o instanceof CodeRecord c) {
                put(codes, c.key() + "/" + c.seq(), c);
            } else if (o instanceof CodebookSnapshot s) {
                put(snapshots, s.key() + "@" + s.version(), s);
            } else if (o instanceof DeadLetter d) {
                deadLetters.add(d);
            } else {
                throw new IllegalArgumentException(String.valueOf(o));
            }
        }

        private <T> void put(Map<String, T> m, String id, T v) {
            T old = m.putIfAbsent(id, v);
            if (old != null) {
                duplicates.incrementAndGet();
                if (!old.equals(v)) {
                    conflicts.add(id + ": " + old + " vs " + v);
                }
            }
        }

        /** The highest-version codebook each key published. */
        Map<String, CodebookSnapshot> finalCodebooks() {
            Map<String, CodebookSnapshot> last = new TreeMap<>();
            for (CodebookSnapshot s : snapshots.values()) {
                last.merge(s.key(), s, (a, b) -> a.version() >= b.version() ? a : b);
            }
            return last;
        }
    }

    static final Map<String, Collected> RUNS = new ConcurrentHashMap<>();

    static Collected run(String id) {
        return RUNS.computeIfAbsent(id, k -> new Collected());
    }

    /** A sink that adds everything to {@link #RUNS}{@code [run]}. */
    static final class CollectSink<T> implements Sink<T> {
        private final String run;

        CollectSink(String run) {
            this.run = run;
        }

        @Override
        public SinkWriter<T> createWriter(WriterInitContext context) {
            Collected c = run(run);
            return new SinkWriter<>() {
                @Override
                public void write(T element, Context ctx) {
                    c.add(element);
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }

    /** Wires source → (optional failing map) → quantize → collecting sinks. */
    static void pipeline(StreamExecutionEnvironment env, String run, int keys, long count, RateLimiterStrategy rate, Long failAt,
                         int operatorParallelism) {
        DataStream<VectorRecord> in = vectors(env, keys, count, rate);
        if (failAt != null) {
            in = in.map(new FailOnce(run, failAt), VectorRecord.typeInfo()).uid("fail-once").setParallelism(1);
        }
        VqStreams.Quantized q = VqStreams.quantize(in, null, learningConfig(), UID);
        q.codes().setParallelism(operatorParallelism);
        q.codes().sinkTo(new CollectSink<>(run)).uid("codes-sink");
        q.codebooks().sinkTo(new CollectSink<>(run)).uid("codebooks-sink");
        q.deadLetters().sinkTo(new CollectSink<>(run)).uid("dead-sink");
    }

    private static final Map<String, Collected> REFERENCES = new ConcurrentHashMap<>();

    /**
     * The uninterrupted run over {@code count} records of {@code keys} keys (operator parallelism 2,
     * no checkpoints), computed once per JVM on the calling test's cluster.
     */
    static synchronized Collected reference(int keys, long count) throws Exception {
        String id = "reference-" + keys + "-" + count;
        Collected c = REFERENCES.get(id);
        if (c == null) {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new org.apache.flink.configuration.Configuration());
            env.setParallelism(1);
            env.setMaxParallelism(128);
            pipeline(env, id, keys, count, RateLimiterStrategy.noOp(), null, 2);
            env.execute(id);
            c = run(id);
            assertEquals(List.of(), c.conflicts);
            assertEquals(count, c.codes.size(), "every record coded");
            assertEquals(keys, c.finalCodebooks().size());
            REFERENCES.put(id, c);
        }
        return c;
    }

    /** Codes and final codebooks of {@code got} equal {@code expected}'s, bit for bit, and neither has conflicts. */
    static void assertSameResults(Collected expected, Collected got, String what) {
        assertEquals(List.of(), expected.conflicts, "reference run conflicts");
        assertEquals(List.of(), got.conflicts, what + ": conflicting duplicates");
        assertEquals(List.of(), got.deadLetters, what + ": dead letters");
        assertEquals(new TreeMap<>(expected.codes).keySet(), new TreeMap<>(got.codes).keySet(), what + ": coded records");
        for (Map.Entry<String, CodeRecord> e : expected.codes.entrySet()) {
            assertEquals(e.getValue(), got.codes.get(e.getKey()), what + ": code of " + e.getKey());
        }
        Map<String, CodebookSnapshot> a = expected.finalCodebooks();
        Map<String, CodebookSnapshot> b = got.finalCodebooks();
        assertEquals(a.keySet(), b.keySet(), what + ": keys with codebooks");
        for (String k : a.keySet()) {
            assertEquals(a.get(k).version(), b.get(k).version(), what + ": final version of " + k);
            assertEquals(a.get(k).step(), b.get(k).step(), what + ": final step of " + k);
            assertTrue(a.get(k).params().bitEquals(b.get(k).params()), what + ": final codebook of " + k + " differs");
        }
    }
}

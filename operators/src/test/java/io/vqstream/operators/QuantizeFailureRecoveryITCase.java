package io.vqstream.operators;

import static io.vqstream.operators.PipelineTestSupport.assertSameResults;
import static io.vqstream.operators.PipelineTestSupport.pipeline;
import static io.vqstream.operators.PipelineTestSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.PipelineTestSupport.Collected;
import java.time.Duration;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A learning job with checkpoints fails once mid-stream and recovers: the codes and the final
 * codebooks equal a failure-free run's bit for bit, on both state backends.
 */
class QuantizeFailureRecoveryITCase {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = OperatorTestSupport.miniCluster(4);

    static final int KEYS = 6;
    static final long COUNT = KEYS * 160;
    /** Records released per completed checkpoint: the failure at record 500 comes after at least four. */
    static final int PER_CHECKPOINT = 120;
    static final long FAIL_AT = 500;

    private static Collected reference;

    @BeforeAll
    static void failureFreeRun() throws Exception {
        reference = PipelineTestSupport.reference(KEYS, COUNT);
        reference.finalCodebooks().values().forEach(s -> assertTrue(s.step() >= 8, "each key learned: " + s));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void recoversFromAFailureWithTheSameCodesAndCodebooks(String backend) throws Exception {
        String id = "failure-" + backend;
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, backend);
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(100));
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        env.setMaxParallelism(128);
        pipeline(env, id, KEYS, COUNT, RateLimiterStrategy.perCheckpoint(PER_CHECKPOINT), FAIL_AT, 2);
        env.execute(id);

        assertEquals(1, PipelineTestSupport.FAILURES.get(id).get(), "the failure was injected once");
        assertTrue(PipelineTestSupport.CHECKPOINTS_SEEN.get(id).get() >= 4, "checkpoints completed before and after the failure");
        long resumedAt = PipelineTestSupport.FIRST_AFTER_RESTART.get(id).get();
        assertTrue(resumedAt > 0 && resumedAt <= FAIL_AT, "the source resumed from a checkpoint, not from the start: " + resumedAt);
        Collected got = run(id);
        assertSameResults(reference, got, backend + " with a failure");
    }
}

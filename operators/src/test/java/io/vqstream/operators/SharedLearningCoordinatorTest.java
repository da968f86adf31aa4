package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.EmaStatistics;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Mode;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.tensor.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.messages.Acknowledge;
import org.apache.flink.runtime.operators.coordination.MockOperatorCoordinatorContext;
import org.apache.flink.runtime.operators.coordination.OperatorCoordinator;
import org.apache.flink.runtime.operators.coordination.OperatorEvent;
import org.junit.jupiter.api.Test;

/** The coordinator's rounds, and how it continues from a codebook that a lone subtask learned on its own. */
class SharedLearningCoordinatorTest {
    static final int DIM = 8;

    static QuantizeOperatorConfig config() {
        return QuantizeOperatorConfig.builder("VectorQuantize", Map.of("dim", DIM, "codebook_size", 16, "decay", 0.8))
                .scope(CodebookScope.SHARED).source(CodebookSource.INIT).seed(5).learn(true).batchSize(8)
                .maxDelay(Duration.ZERO).roundTimeout(Duration.ofSeconds(30)).build();
    }

    /** Records what the coordinator sends to one subtask. */
    static final class Recorder implements OperatorCoordinator.SubtaskGateway {
        final int subtask;
        final List<OperatorEvent> events = new ArrayList<>();

        Recorder(int subtask) {
            this.subtask = subtask;
        }

        @Override
        public CompletableFuture<Acknowledge> sendEvent(OperatorEvent evt) {
            events.add(evt);
            return CompletableFuture.completedFuture(Acknowledge.get());
        }

        @Override
        public ExecutionAttemptID getExecution() {
            return ExecutionAttemptID.randomId();
        }

        @Override
        public int getSubtask() {
            return subtask;
        }
    }

    static EmaStatistics statistics(Quantizer q, Params p, long seed) {
        Random r = new Random(seed);
        float[] x = new float[8 * DIM];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        EmaStatistics s = new EmaStatistics();
        q.forwardTokens(p, new Tensor(x, 8, 1, DIM), ForwardOptions.builder().mode(Mode.TRAIN).emaStatistics(s).build());
        return s;
    }

    /** Steps of a lone subtask: what it holds after {@code steps} batches. */
    static SharedCodebook learnedAlone(QuantizeOperatorConfig config, Quantizer q, int steps) {
        SharedCodebook c = SharedScope.initialCodebook(config, q);
        for (int s = 0; s < steps; s++) {
            Params p = c.params().copy();
            statistics(q, c.params(), 100 + s).applyTo(q, p, SharedScope.random(config, c.step()));
            c = c.withParams(c.version() + 1, c.step() + 1, c.round() + 1, p);
        }
        return c;
    }

    @Test
    void continuesFromTheNewerCodebookASubtaskRestored() throws Exception {
        QuantizeOperatorConfig config = config();
        Quantizer q = config.createQuantizer();
        SharedLearningCoordinator coordinator = (SharedLearningCoordinator) new SharedLearningCoordinator.Provider(new OperatorID(), config)
                .create(new MockOperatorCoordinatorContext(new OperatorID(), 2));
        coordinator.start();
        // the coordinator's checkpoint is of round 0: the lone subtask closed its rounds itself
        CompletableFuture<byte[]> checkpoint = new CompletableFuture<>();
        coordinator.checkpointCoordinator(1, checkpoint);
        coordinator.resetToCheckpoint(1, checkpoint.get());
        Recorder g0 = new Recorder(0);
        Recorder g1 = new Recorder(1);
        coordinator.executionAttemptReady(0, 0, g0);
        coordinator.executionAttemptReady(1, 0, g1);
        assertTrue(g0.events.isEmpty(), "nothing to catch up at round 0");

        SharedCodebook restored = learnedAlone(config, q, 5);
        coordinator.handleEventFromOperator(1, 0, new SharedEvents.Restored(restored.toBytes()));
        coordinator.handleEventFromOperator(0, 0, new SharedEvents.Restored(restored.toBytes()));
        // an older codebook changes nothing
        coordinator.handleEventFromOperator(0, 0, new SharedEvents.Restored(learnedAlone(config, q, 2).toBytes()));

        EmaStatistics a = statistics(q, restored.params(), 7);
        EmaStatistics b = statistics(q, restored.params(), 8);
        coordinator.handleEventFromOperator(1, 0, new SharedEvents.RoundPart(6, 1, 8, b.toBytes()));
        assertTrue(g0.events.isEmpty(), "the round waits for subtask 0");
        coordinator.handleEventFromOperator(0, 0, new SharedEvents.RoundPart(6, 0, 8, a.toBytes()));

        Params expected = restored.params().copy();
        EmaStatistics.combine(List.of(a, b)).applyTo(q, expected, SharedScope.random(config, 5));
        for (Recorder g : List.of(g0, g1)) {
            assertEquals(1, g.events.size());
            SharedEvents.RoundClosed closed = (SharedEvents.RoundClosed) g.events.get(0);
            assertEquals(6, closed.round());
            assertEquals(6, closed.step());
            assertEquals(7, closed.version(), "version 1 was the initial codebook");
            assertTrue(SharedCodebook.paramsFromBytes(closed.params()).bitEquals(expected),
                    "round 6 is one step of the restored codebook by both parts, in subtask order");
        }
        // and its checkpoint holds the newer codebook
        CompletableFuture<byte[]> next = new CompletableFuture<>();
        coordinator.checkpointCoordinator(2, next);
        SharedLearningCoordinator again = (SharedLearningCoordinator) new SharedLearningCoordinator.Provider(new OperatorID(), config)
                .create(new MockOperatorCoordinatorContext(new OperatorID(), 2));
        again.resetToCheckpoint(2, next.get());
        Recorder late = new Recorder(0);
        again.executionAttemptReady(0, 0, late);
        SharedEvents.RoundClosed full = (SharedEvents.RoundClosed) late.events.get(0);
        assertEquals(6, full.round());
        assertTrue(SharedCodebook.paramsFromBytes(full.params()).bitEquals(expected));
    }

    @Test
    void withoutARestoredCodebookAPartOfALaterRoundIsNotApplied() throws Exception {
        QuantizeOperatorConfig config = config();
        Quantizer q = config.createQuantizer();
        SharedLearningCoordinator coordinator = (SharedLearningCoordinator) new SharedLearningCoordinator.Provider(new OperatorID(), config)
                .create(new MockOperatorCoordinatorContext(new OperatorID(), 1));
        coordinator.start();
        Recorder g0 = new Recorder(0);
        coordinator.executionAttemptReady(0, 0, g0);
        SharedCodebook initial = SharedScope.initialCodebook(config, q);
        coordinator.handleEventFromOperator(0, 0, new SharedEvents.RoundPart(6, 0, 8, statistics(q, initial.params(), 7).toBytes()));
        assertTrue(g0.events.isEmpty(), "round 6 cannot follow round 0");
        EmaStatistics a = statistics(q, initial.params(), 9);
        coordinator.handleEventFromOperator(0, 0, new SharedEvents.RoundPart(1, 0, 8, a.toBytes()));
        SharedEvents.RoundClosed closed = (SharedEvents.RoundClosed) g0.events.get(0);
        assertEquals(1, closed.round());
        Params expected = initial.params().copy();
        a.applyTo(q, expected, SharedScope.random(config, 0));
        assertTrue(SharedCodebook.paramsFromBytes(closed.params()).bitEquals(expected));
        assertFalse(expected.bitEquals(initial.params()), "the step changed the codebook");
    }
}

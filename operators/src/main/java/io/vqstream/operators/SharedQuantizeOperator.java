package io.vqstream.operators;

import org.apache.flink.annotation.Internal;

import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.quantize.EmaStatistics;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Mode;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.QuantizerOutput;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.batch.BatchCoder;
import io.vqstream.operators.batch.MicroBatch;
import io.vqstream.operators.metrics.QuantizerMetrics;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.runtime.operators.coordination.OperatorEvent;
import org.apache.flink.runtime.operators.coordination.OperatorEventGateway;
import org.apache.flink.runtime.operators.coordination.OperatorEventHandler;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;

/**
 * Quantizes a stream of vectors of any keys with one codebook shared by every key and subtask
 * ({@code codebook.scope: shared}).
 *
 * <h2>Batches</h2>
 * No key-by: the operator runs at its input's parallelism (chained to it when there is no control
 * stream) and each subtask cuts its records, whatever their keys, into micro-batches of
 * {@code batch.size}, or fewer when the oldest has waited {@code batch.max-delay} (one timer per
 * batch). One backend call codes a batch; codes leave in arrival order, so the records of a key
 * that reach one subtask in order leave it in order. Codes carry the key, seq, event time and the
 * codebook version that produced them.
 *
 * <h2>Frozen</h2>
 * The codebook comes from the file, the seeded initialisation (as a key scope would initialise
 * key {@value SharedScope#SCOPE_KEY}), or the control stream; it is held once per subtask and
 * checkpointed in union operator state. Before a checkpoint barrier the open batch is coded, so
 * no record waits in state. An all-keys INSTALL reaches every subtask (the control stream is
 * broadcast): records that arrived before it are coded with the old codebook, later ones with the
 * new version. Messages for one key are dead-lettered: the scope has one codebook.
 *
 * <h2>Learning</h2>
 * Each closed batch is coded with the current codebook and its EMA statistics ({@link EmaStatistics})
 * are sent to the {@link io.vqstream.operators.SharedLearningCoordinator} as this subtask's
 * part of the next round; the subtask then waits for the round's codebook before it codes the next
 * batch (records keep arriving into the open batch; a full one holds the input back). A subtask
 * without a full batch after {@code round timeout} sends what {@code batch.max-delay} allows, or an
 * empty part, so that an idle subtask never stalls the others. Determinism: with one subtask and
 * batches closed by size, rounds are exactly the key scope's batches (empty rounds change nothing),
 * so codes and codebooks equal a key scope's with a single key named {@value SharedScope#SCOPE_KEY};
 * with several subtasks or time-closed batches, which batches share a round depends on timing.
 * Unanswered parts and the open batch are checkpointed per subtask and re-sent after a restore.
 *
 * <p>At parallelism 1 a round is this subtask's batch alone, so the subtask applies the step
 * itself, exactly as the coordinator would (same combined statistics, same randomness from the
 * step), and codes the next batch at once instead of waiting for an answer: the same codes and
 * codebooks, without a round trip per batch. Its checkpointed codebook is the scope's; after a
 * restore, also at another parallelism, the coordinator continues from it
 * ({@link SharedEvents.Restored}).
 */
@Internal
public class SharedQuantizeOperator extends AbstractStreamOperator<CodeRecord>
        implements OneInputStreamOperator<VectorRecord, CodeRecord>, BoundedOneInput, OperatorEventHandler {

    private static final long serialVersionUID = 1L;

    static final String CODEBOOK_STATE = "vq-shared-codebook";
    static final String BUFFER_STATE = "vq-shared-buffer";
    static final String ROUND_STATE = "vq-shared-round";

    private final QuantizeOperatorConfig config;
    private final transient OperatorEventGateway coordinator;
    private final transient MailboxExecutor mailbox;

    private transient Quantizer quantizer;
    private transient BatchCoder coder;
    private transient QuantizerMetrics metrics;
    private transient SharedCodebook codebook;
    private transient SharedCodebook snapshotOf;
    private transient byte[] snapshotBytes;
    private transient boolean restored;
    private transient List<VectorRecord> open;
    private transient long openedAt;
    private transient ScheduledFuture<?> batchTimer;
    private transient ScheduledFuture<?> roundTimer;
    /** The round this subtask's part is waiting for, or −1. */
    private transient long pendingRound;
    private transient byte[] pendingPart;
    private transient boolean inputEnded;
    /** The only subtask of a learning scope: it closes its rounds itself (see below). */
    private transient boolean alone;
    private transient ListState<byte[]> codebookState;
    private transient ListState<VectorRecord> bufferState;
    private transient ListState<byte[]> roundState;

    SharedQuantizeOperator(StreamOperatorParameters<CodeRecord> parameters, QuantizeOperatorConfig config,
                           OperatorEventGateway coordinator) {
        super(parameters);
        this.config = config;
        this.coordinator = coordinator;
        // the operator's own executor yields only to mails of its priority or higher; operator
        // events arrive at the task's lowest priority, so waiting for a round needs that one
        this.mailbox = parameters.getContainingTask().getMailboxExecutorFactory().createExecutor(TaskMailbox.MIN_PRIORITY);
    }

    public QuantizeOperatorConfig config() {
        return config;
    }

    private boolean learning() {
        return config.learn();
    }

    private int subtask() {
        return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }

    // ------------------------------------------------------------------ state

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        codebookState = context.getOperatorStateStore().getUnionListState(
                new ListStateDescriptor<>(CODEBOOK_STATE, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        bufferState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>(BUFFER_STATE, VectorRecord.typeInfo()));
        roundState = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>(ROUND_STATE, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        open = new ArrayList<>();
        pendingRound = -1;
        if (context.isRestored()) {
            for (byte[] b : codebookState.get()) {
                SharedCodebook c = SharedCodebook.fromBytes(b);
                // every subtask wrote the same codebook; after a rescale any copy will do
                if (codebook == null || c.round() > codebook.round() || c.version() > codebook.version()) {
                    codebook = c;
                }
            }
            restored = codebook != null;
            for (VectorRecord r : bufferState.get()) {
                open.add(r);
            }
            for (byte[] b : roundState.get()) {
                try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
                    long round = in.readLong();
                    byte[] part = new byte[in.readInt()];
                    in.readFully(part);
                    if (codebook != null && round == codebook.round() + 1) {
                        pendingRound = round;
                        pendingPart = part;
                    }
                }
            }
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        quantizer = config.createQuantizer();
        metrics = new QuantizerMetrics(getMetricGroup(), config.metricsWindow(), quantizer.codebookSizes());
        coder = BatchCoder.open(quantizer, config.backend(), config.batchSize(), config.topk(), config.emitQuantized(), config.emitError(),
                metrics);
        if (codebook == null) {
            codebook = SharedScope.initialCodebook(config, quantizer);
            if (codebook.params() != null) {
                publish();
            }
        } else if (codebook.params() != null) {
            checked(codebook.params());
        }
        if (learning()) {
            alone = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks() == 1;
            if (restored) {
                // before any part: rounds closed by a lone subtask may be newer than the coordinator's
                coordinator.sendEventToCoordinator(new SharedEvents.Restored(codebookBytes()));
            }
            if (pendingRound >= 0) {
                coordinator.sendEventToCoordinator(new SharedEvents.RoundPart(pendingRound, subtask(), -1, pendingPart));
            }
            if (!alone) {
                // a lone subtask has no one to keep waiting
                scheduleRoundTimer();
            }
        }
        if (!open.isEmpty()) {
            openedAt = now();
            armBatchTimer();
        }
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        if (!learning() && codebook.params() != null && !open.isEmpty()) {
            // frozen: code the open batch now, so that no record waits in the checkpoint
            closeBatch(open.size());
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        codebookState.update(codebook == null ? List.of() : List.of(codebookBytes()));
        bufferState.update(new ArrayList<>(open));
        if (pendingRound >= 0) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeLong(pendingRound);
                out.writeInt(pendingPart.length);
                out.write(pendingPart);
            }
            roundState.update(List.of(bytes.toByteArray()));
        } else {
            roundState.update(List.of());
        }
    }

    /**
     * The codebook's snapshot bytes, serialized once per codebook: a frozen codebook is written
     * to every checkpoint unchanged, and a new version is always a new {@link SharedCodebook}.
     */
    private byte[] codebookBytes() {
        if (snapshotOf != codebook) {
            snapshotBytes = codebook.toBytes();
            snapshotOf = codebook;
        }
        return snapshotBytes;
    }

    @Override
    public void close() throws Exception {
        cancel(batchTimer);
        cancel(roundTimer);
        if (coder != null) {
            coder.close();
        }
        super.close();
    }

    // ------------------------------------------------------------------ data

    @Override
    public void processElement(StreamRecord<VectorRecord> element) throws Exception {
        VectorRecord r = element.getValue();
        String problem = MicroBatch.problem(r, quantizer.dim());
        if (problem != null) {
            deadLetter(r, problem);
            return;
        }
        if (codebook.params() == null) {
            deadLetter(r, "no shared codebook yet (codebook source control: install one through the control stream)");
            return;
        }
        if (open.isEmpty()) {
            openedAt = now();
            armBatchTimer();
        }
        // into the open batch first: a checkpoint taken while waiting below must hold the record
        open.add(r);
        int size = config.batchSize();
        if (learning()) {
            while (pendingRound >= 0 && open.size() >= size) {
                mailbox.yield();
            }
            if (pendingRound < 0 && open.size() >= size) {
                closeBatch(size);
            }
        } else if (open.size() >= size) {
            closeBatch(open.size());
        }
    }

    /**
     * Codes the first {@code n} records of the open batch with the current codebook; when learning,
     * sends their statistics as this subtask's part of the next round ({@code n} may be 0).
     */
    private void closeBatch(int n) throws Exception {
        List<VectorRecord> batch = n == open.size() ? open : new ArrayList<>(open.subList(0, n));
        Params p = codebook.params();
        if (!learning()) {
            // masked records (the reference's mask false) go out with code -1 and take no part
            coder.codeAndEmit(output, batch, p, codebook.version(), this::deadLetter);
        } else {
            EmaStatistics stats = new EmaStatistics();
            Tensor x = n > 0 ? coder.tokens(batch) : null;
            if (x != null) {
                // top-k with the codebook that selects this batch's codes (the round's step comes later)
                QuantizerOutput top = coder.topk(p, x);
                ForwardOptions train = ForwardOptions.builder().mode(Mode.TRAIN).backend(coder.backend())
                        .random(SharedScope.random(config, codebook.step())).emaStatistics(stats).build();
                QuantizerOutput out = coder.forward(p, x, train);
                metrics.trainingLoss(out.totalLoss());
                coder.emit(output, batch, 0, out, codebook.version(), top, this::deadLetter);
            } else if (n > 0) {
                coder.emit(output, batch, 0, null, codebook.version(), null, this::deadLetter);
            }
            if (alone && pendingRound < 0) {
                // the round's only part: closed here, as the coordinator would close it
                adopt(SharedScope.closeRound(codebook, stats, quantizer, config));
            } else {
                pendingRound = codebook.round() + 1;
                pendingPart = stats.toBytes();
                coordinator.sendEventToCoordinator(new SharedEvents.RoundPart(pendingRound, subtask(), n, pendingPart));
            }
        }
        if (n == open.size()) {
            open = new ArrayList<>();
            cancel(batchTimer);
            batchTimer = null;
        } else {
            open = new ArrayList<>(open.subList(n, open.size()));
            openedAt = now();
            cancel(batchTimer);
            batchTimer = null;
            armBatchTimer();
        }
    }

    // ------------------------------------------------------------------ rounds

    @Override
    public void handleOperatorEvent(OperatorEvent event) {
        if (!(event instanceof SharedEvents.RoundClosed closed)) {
            throw new IllegalArgumentException("unexpected event " + event);
        }
        if (closed.round() <= codebook.round()) {
            return; // this subtask is there already (a catch-up message after a restore)
        }
        Params p = closed.params() == null ? codebook.params() : checked(SharedCodebook.paramsFromBytes(closed.params()));
        pendingRound = -1;
        pendingPart = null;
        adopt(new SharedCodebook(closed.version(), closed.step(), closed.round(), p));
        try {
            if (open.size() >= config.batchSize()) {
                closeBatch(config.batchSize());
            } else if (!open.isEmpty() && (inputEnded || config.maxDelayMillis() > 0 && now() - openedAt >= config.maxDelayMillis())) {
                closeBatch(open.size());
            }
        } catch (Exception e) {
            throw new IllegalStateException("coding a batch after round " + closed.round() + " failed", e);
        }
    }

    /** The codebook of a closed round becomes this subtask's; a changed one is counted and published when due. */
    private void adopt(SharedCodebook next) {
        boolean changed = next.version() != codebook.version();
        codebook = next;
        if (changed) {
            metrics.emaSteps.inc();
            metrics.codebookChanges.inc();
            if (config.publishEvery() > 0 && codebook.step() % config.publishEvery() == 0) {
                publish();
            }
        }
    }

    private void scheduleRoundTimer() {
        roundTimer = getProcessingTimeService().registerTimer(now() + config.roundTimeoutMillis(), t -> onRoundTimer());
    }

    /** An idle or slow subtask hands in what it may (or nothing), so that the round closes. */
    private void onRoundTimer() throws Exception {
        if (inputEnded) {
            return;
        }
        if (pendingRound < 0) {
            boolean due = config.maxDelayMillis() > 0 && !open.isEmpty() && now() - openedAt >= config.maxDelayMillis();
            closeBatch(due ? Math.min(open.size(), config.batchSize()) : 0);
        }
        scheduleRoundTimer();
    }

    // ------------------------------------------------------------------ timers and end of input

    private void armBatchTimer() {
        if (config.maxDelayMillis() > 0 && batchTimer == null) {
            batchTimer = getProcessingTimeService().registerTimer(openedAt + config.maxDelayMillis(), t -> onBatchTimer());
        }
    }

    private void onBatchTimer() throws Exception {
        batchTimer = null;
        if (open.isEmpty()) {
            return;
        }
        metrics.batchLatencyMs.update(now() - openedAt);
        if (!learning()) {
            closeBatch(open.size());
        } else if (pendingRound < 0) {
            closeBatch(Math.min(open.size(), config.batchSize()));
        }
        // a learning subtask waiting for its round closes the batch when the round's codebook arrives
    }

    @Override
    public void endInput() throws Exception {
        if (!learning()) {
            if (!open.isEmpty() && codebook.params() != null) {
                closeBatch(open.size());
            }
            return;
        }
        inputEnded = true;
        while (pendingRound >= 0 || !open.isEmpty()) {
            while (pendingRound >= 0) {
                mailbox.yield();
            }
            if (!open.isEmpty()) {
                closeBatch(Math.min(open.size(), config.batchSize()));
            }
        }
        coordinator.sendEventToCoordinator(new SharedEvents.SubtaskFinished(subtask()));
    }

    // ------------------------------------------------------------------ control

    /** An all-keys control message, applied by every subtask (the control stream is broadcast). */
    void processControl(ControlMessage c) throws Exception {
        String refused = null;
        if (!c.allKeys()) {
            refused = "codebook.scope shared has one codebook for all keys; send the " + c.kind() + " message without a key";
        } else if (learning()) {
            refused = "control messages are not supported for a shared learning codebook";
        }
        if (refused != null) {
            output.collect(QuantizeOperator.DEAD_LETTERS, new StreamRecord<>(new DeadLetter(c.key(), DeadLetter.Stage.CONTROL,
                    "rejected " + c.kind() + " message: " + refused, QuantizeOperator.controlPayload(c), now())));
            metrics.deadLetters.inc();
            return;
        }
        switch (c.kind()) {
            case INSTALL -> {
                Params p;
                try {
                    p = QuantizerFiles.completeExact(quantizer, c.params(), "control message");
                    quantizer.validate(p);
                } catch (RuntimeException e) {
                    output.collect(QuantizeOperator.DEAD_LETTERS, new StreamRecord<>(new DeadLetter(null, DeadLetter.Stage.CONTROL,
                            "rejected INSTALL message: " + e.getMessage(), QuantizeOperator.controlPayload(c), now())));
                    metrics.deadLetters.inc();
                    return;
                }
                retireOpenBatch();
                codebook = new SharedCodebook(codebook.version() + 1, codebook.step(), codebook.round(), p);
                metrics.codebookChanges.inc();
                publish();
            }
            case RESET -> {
                retireOpenBatch();
                SharedCodebook initial = SharedScope.initialCodebook(config, quantizer);
                codebook = new SharedCodebook(codebook.version() + 1, 0, codebook.round(), initial.params());
                metrics.codebookChanges.inc();
                if (codebook.params() != null) {
                    publish();
                }
            }
            case FREEZE, UNFREEZE -> {
                // a frozen shared codebook has nothing to freeze
            }
            default -> throw new IllegalStateException(c.kind().toString());
        }
    }

    private void retireOpenBatch() throws Exception {
        if (!open.isEmpty() && codebook.params() != null) {
            closeBatch(open.size());
        }
    }

    // ------------------------------------------------------------------ helpers

    private Params checked(Params p) {
        try {
            quantizer.validate(p);
            return p;
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the shared codebook does not fit the configured " + quantizer.type() + ": "
                    + e.getMessage() + ". The quantizer configuration changed incompatibly since the checkpoint or savepoint was taken", e);
        }
    }

    /** Subtask 0 speaks for the scope: every subtask holds the same codebook. */
    private void publish() {
        if (subtask() == 0 && config.codebookSnapshots()) {
            output.collect(QuantizeOperator.CODEBOOKS, new StreamRecord<>(new CodebookSnapshot(SharedScope.SCOPE_KEY, codebook.version(),
                    codebook.step(), quantizer.type(), config.quantizerArgsJson(), codebook.params().copy())));
        }
    }

    private void deadLetter(VectorRecord r, String reason) {
        output.collect(QuantizeOperator.DEAD_LETTERS, new StreamRecord<>(new DeadLetter(r.key(), DeadLetter.Stage.QUANTIZE, reason, RecordJson.of(r),
                r.eventTime())));
        metrics.deadLetters.inc();
    }

    private long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }

    private static void cancel(ScheduledFuture<?> f) {
        if (f != null) {
            f.cancel(false);
        }
    }

    /** The same operator with the broadcast control stream as its second input. */
    public static final class WithControl extends SharedQuantizeOperator
            implements TwoInputStreamOperator<VectorRecord, ControlMessage, CodeRecord>, BoundedMultiInput {
        private static final long serialVersionUID = 1L;

        WithControl(StreamOperatorParameters<CodeRecord> parameters, QuantizeOperatorConfig config, OperatorEventGateway coordinator) {
            super(parameters, config, coordinator);
        }

        @Override
        public void processElement1(StreamRecord<VectorRecord> element) throws Exception {
            processElement(element);
        }

        @Override
        public void processElement2(StreamRecord<ControlMessage> element) throws Exception {
            processControl(element.getValue());
        }

        @Override
        public void endInput(int inputId) throws Exception {
            if (inputId == 1) {
                endInput();
            }
        }
    }
}

package io.vqstream.operators;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.io.KeyFileNames;
import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.ParamSpec;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.QuantizerOutput;
import io.vqstream.core.quantize.RandomSource;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.batch.BatchCoder;
import io.vqstream.operators.batch.MicroBatch;
import io.vqstream.operators.metrics.QuantizerMetrics;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import io.vqstream.state.CodebookState;
import io.vqstream.state.CodebookStateDescriptors;
import io.vqstream.state.KeyMeta;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.CheckpointableKeyedStateBackend;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * Quantizes a keyed stream of vectors in per-key micro-batches, with each key's codebook and
 * EMA statistics in checkpointed keyed state.
 *
 * <h2>Why a custom operator</h2>
 * A {@code KeyedProcessFunction} cannot flush at end of input (its timers are dropped there),
 * cannot iterate its keys when an all-keys control message arrives, and has no second input.
 * This operator is a two-input operator: input 1 is the keyed data, input 2 the broadcast
 * control stream; it implements {@link BoundedMultiInput} to flush every key at end of input.
 *
 * <h2>Micro-batches and determinism</h2>
 * Records of a key are buffered in keyed state, in arrival order. With learning on, exactly
 * {@code batch.size} records make one EMA step (the first step of a kmeans-initialised key
 * takes {@code max(batch.size, init.min-vectors)}), so the sequence of codebooks depends only
 * on the key's records, never on timing. {@code batch.max-delay} bounds only when codes are
 * emitted: a timer emits the codes of waiting records with the current codebook, which is the
 * codebook their EMA step will select with anyway, so the codes are the same as without the
 * timer. Without learning a timer flushes the buffer. Randomness (kmeans seeding, dead-code
 * rows) is seeded from (job seed, key, step). Replays after a restore therefore produce the
 * same codes and codebooks.
 *
 * <p>Keys that do not learn and use the shared default codebook (a file, or one installed for
 * all keys) are batched across keys instead: their records join one in-memory lane per subtask,
 * coded in one backend call when it holds {@code batch.size} records or its oldest has waited
 * {@code batch.max-delay}. With a thousand keys a key's own batch would hold about one record
 * per flush, one backend call each. The lane is coded before every checkpoint barrier, every
 * control message and the end of input, so it is never state, and codes do not depend on how
 * records were grouped.
 *
 * <h2>Control messages</h2>
 * Each subtask receives every control message; a message for one key is applied by the
 * subtask that owns the key, a message for all keys by every subtask to each of its keys (and
 * remembered in broadcast state for keys seen later). Records of the key that arrived at the
 * operator before the message are coded with the previous codebook (their pending codes are
 * emitted first); later records with the new one. Control and data are two inputs, so where a
 * message falls relative to the data depends on arrival; every code carries the codebook
 * version that produced it.
 */
@Internal
public class QuantizeOperator extends AbstractStreamOperator<CodeRecord>
        implements TwoInputStreamOperator<VectorRecord, ControlMessage, CodeRecord>, Triggerable<String, VoidNamespace>,
        BoundedMultiInput {

    private static final long serialVersionUID = 1L;

    public static final OutputTag<CodebookSnapshot> CODEBOOKS = new OutputTag<>("codebooks", CodebookSnapshot.typeInfo());
    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters", DeadLetter.typeInfo());

    static final String META_STATE = CodebookStateDescriptors.META_STATE;
    static final String BUFFER_STATE = "vq-buffer";
    static final MapStateDescriptor<String, ControlMessage> GLOBAL_CONTROL =
            new MapStateDescriptor<>("vq-global-control", Types.STRING, ControlMessage.typeInfo());
    private static final String GLOBAL_INSTALL = "install";
    private static final String GLOBAL_FREEZE = "freeze";

    private final QuantizeOperatorConfig config;

    private transient Quantizer quantizer;
    private transient BatchCoder coder;
    private transient Params configDefault;
    private transient Params controlDefault;
    private transient ValueState<KeyMeta> meta;
    private transient ValueState<CodebookState> codebook;
    private transient ListState<VectorRecord> buffer;
    private transient BroadcastState<String, ControlMessage> globalControl;
    private transient InternalTimerService<VoidNamespace> timers;
    private transient QuantizerMetrics metrics;
    /** Records of keys that are coded with the shared default codebook and do not learn, across keys (see class comment). */
    private transient List<VectorRecord> lane;
    /** The codebook version each record of {@link #lane} names. */
    private transient long[] laneVersions;
    private transient long laneOpenedAt;
    /** Counts lane batches, so that the timer of a lane already flushed leaves the next one alone. */
    private transient long laneGeneration;

    public QuantizeOperator(QuantizeOperatorConfig config) {
        this.config = config;
    }

    public QuantizeOperatorConfig config() {
        return config;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        globalControl = context.getOperatorStateStore().getBroadcastState(GLOBAL_CONTROL);
    }

    @Override
    public void open() throws Exception {
        super.open();
        quantizer = config.createQuantizer();
        configDefault = config.sharedParams(quantizer);
        ControlMessage installed = globalControl.get(GLOBAL_INSTALL);
        controlDefault = installed == null ? null : checked(installed.params());
        meta = getRuntimeContext().getState(CodebookStateDescriptors.meta());
        codebook = getRuntimeContext().getState(CodebookStateDescriptors.codebook());
        buffer = getRuntimeContext().getListState(new ListStateDescriptor<>(BUFFER_STATE, VectorRecord.typeInfo()));
        timers = getInternalTimerService("vq-batch-timers", VoidNamespaceSerializer.INSTANCE, this);
        metrics = new QuantizerMetrics(getMetricGroup(), config.metricsWindow(), quantizer.codebookSizes());
        coder = BatchCoder.open(quantizer, config.backend(), config.batchSize(), config.topk(), config.emitQuantized(), config.emitError(),
                metrics);
        lane = new ArrayList<>();
        laneVersions = new long[Math.max(16, Math.min(config.batchSize(), 1 << 16))];
    }

    @Override
    public void close() throws Exception {
        // ND4J keeps a native workspace per thread: give it back with the task, not with the thread
        if (coder != null) {
            coder.close();
        }
        super.close();
    }

    // ------------------------------------------------------------------ data

    @Override
    public void processElement1(StreamRecord<VectorRecord> element) throws Exception {
        VectorRecord r = element.getValue();
        String problem = validate(r);
        if (problem != null) {
            deadLetter(r, problem);
            return;
        }
        KeyMeta m = metaOf();
        boolean initialized;
        boolean known = m.hasCodebook;
        try {
            initialized = known || initializeKey(r.key(), m);
        } catch (KeyCodebookException e) {
            // the key's own codebook file is unreadable: that key's records are dead letters, the job goes on
            deadLetter(r, e.getMessage());
            return;
        }
        if (!initialized) {
            meta.update(m);
            deadLetter(r, "no codebook for key '" + r.key() + "' (codebook source " + config.source().name().toLowerCase()
                    + (config.source() == CodebookSource.PER_KEY
                            ? ": no " + KeyFileNames.nameOf(r.key()) + ".safetensors in " + config.perKeyDir() : "")
                    + "; install one through the control stream)");
            return;
        }
        if (!learning(m) && !m.initPending && m.buffered == 0) {
            CodebookState cs = codebook.value();
            if (cs.params() == null) {
                // the shared default codebook, frozen for this key: batched with the other keys that use it
                if (!known) {
                    meta.update(m);
                }
                toLane(r, cs.version());
                return;
            }
        }
        buffer.add(r);
        m.buffered++;
        if (m.oldestUnemittedAt < 0) {
            m.oldestUnemittedAt = now();
        }
        flushIfDue(m);
        armTimer(m);
        meta.update(m);
    }

    private void toLane(VectorRecord r, long version) {
        int i = lane.size();
        if (i == laneVersions.length) {
            laneVersions = java.util.Arrays.copyOf(laneVersions, 2 * i);
        }
        lane.add(r);
        laneVersions[i] = version;
        if (i == 0) {
            laneOpenedAt = now();
            if (config.maxDelayMillis() > 0) {
                long generation = laneGeneration;
                getProcessingTimeService().registerTimer(laneOpenedAt + config.maxDelayMillis(), t -> {
                    if (generation == laneGeneration && !lane.isEmpty()) {
                        metrics.batchLatencyMs.update(now() - laneOpenedAt);
                        flushLane();
                    }
                });
            }
        }
        if (lane.size() >= config.batchSize()) {
            flushLane();
        }
    }

    /**
     * Codes the lane in one backend call per codebook version it holds (keys count their versions
     * apart, but with the shared default every version of a lane is the same codebook; almost
     * always one call), records of one key in the order they came.
     */
    private void flushLane() {
        if (lane.isEmpty()) {
            return;
        }
        laneGeneration++;
        Params shared = sharedDefault();
        int n = lane.size();
        long v0 = laneVersions[0];
        boolean oneVersion = true;
        for (int i = 1; i < n && oneVersion; i++) {
            oneVersion = laneVersions[i] == v0;
        }
        if (oneVersion) {
            coder.codeAndEmit(output, lane, shared, v0, this::deadLetter);
        } else {
            java.util.Map<Long, List<VectorRecord>> byVersion = new java.util.LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                byVersion.computeIfAbsent(laneVersions[i], v -> new ArrayList<>()).add(lane.get(i));
            }
            byVersion.forEach((v, records) -> coder.codeAndEmit(output, records, shared, v, this::deadLetter));
        }
        lane.clear();
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        // the lane is never part of a checkpoint: its codes leave before the barrier
        flushLane();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    private String validate(VectorRecord r) {
        return MicroBatch.problem(r, quantizer.dim());
    }

    private boolean learning(KeyMeta m) {
        return config.learn() && !m.frozen;
    }

    private void flushIfDue(KeyMeta m) throws Exception {
        if (m.initPending) {
            int need = learning(m) ? Math.max(config.batchSize(), config.initMinVectors()) : config.initMinVectors();
            if (m.buffered >= need) {
                step(m, need);
            }
        } else if (learning(m)) {
            if (m.buffered >= config.batchSize()) {
                step(m, config.batchSize());
            }
        } else if (m.buffered >= config.batchSize()) {
            flushAll(m);
        }
    }

    /**
     * The first {@code n} buffered records as one call into the quantizer: a pending kmeans
     * initialisation, then (when learning) one EMA step; emits the codes not emitted yet.
     */
    private void step(KeyMeta m, int n) throws Exception {
        List<VectorRecord> all = bufferContents();
        List<VectorRecord> batch = all.subList(0, n);
        CodebookState cs = codebook.value();
        Params p = cs.params() != null ? checked(cs.params()) : sharedDefault().copy();
        long version = cs.version();
        long step = cs.step();
        long keyHash = keyHash(currentKey());
        // masked records ("mask": false, gated silence) pass through with code −1 and never learn
        Tensor x = coder.tokens(batch);
        QuantizerOutput codesOut = null;
        boolean changed = false;
        if (x == null) {
            // nothing to learn from: the masked records are emitted below
        } else if (m.initPending) {
            ForwardOptions init = ForwardOptions.builder().mode(io.vqstream.core.quantize.Mode.TRAIN).freezeCodebook(true)
                    .backend(coder.backend()).random(config.randomSources().create(config.seed(), keyHash, step, RandomSourceFactory.Purpose.INIT)).build();
            codesOut = coder.forward(p, x, init);
            version = nextVersion(m);
            m.initPending = false;
            changed = true;
            publish(version, step, p);
        }
        long codesVersion = version;
        // top-k with the codebook that selects this batch's codes (before its EMA step)
        QuantizerOutput top = x == null ? null : coder.topk(p, x);
        if (learning(m) && x != null) {
            // learn.accumulate N: micro-batches 1..N−1 of a cycle only add their statistics
            boolean accumulateOnly = config.accumulate() > 1 && (step + 1) % config.accumulate() != 0;
            ForwardOptions train = ForwardOptions.builder().mode(io.vqstream.core.quantize.Mode.TRAIN).backend(coder.backend())
                    .accumEmaUpdate(accumulateOnly)
                    .random(config.randomSources().create(config.seed(), keyHash, step, RandomSourceFactory.Purpose.STEP)).build();
            QuantizerOutput out = coder.forward(p, x, train);
            if (codesOut == null) {
                codesOut = out;
            }
            step++;
            changed = true;
            if (!accumulateOnly) {
                version = nextVersion(m);
                metrics.emaSteps.inc();
            }
            metrics.trainingLoss(out.totalLoss());
            long replaced = out.deadCodesReplaced();
            if (replaced > 0) {
                metrics.deadCodesReplaced.inc(replaced);
            }
            if (!accumulateOnly && config.publishEvery() > 0 && step % config.publishEvery() == 0) {
                publish(version, step, p);
            }
        }
        if (changed) {
            codebook.update(new CodebookState(version, step, p));
        }
        if (codesOut == null && x != null) {
            codesOut = coder.forward(p, x, null);
        }
        emit(batch, m.emitted, codesOut, codesVersion, top);
        List<VectorRecord> rest = new ArrayList<>(all.subList(n, all.size()));
        buffer.update(rest);
        m.buffered = rest.size();
        m.emitted = Math.max(0, m.emitted - n);
        m.oldestUnemittedAt = m.buffered > m.emitted ? now() : -1;
        if (m.buffered == m.emitted) {
            cancelTimer(m);
        }
    }

    /** Emits the codes of every buffered record not yet emitted; keeps them buffered when learning. */
    private void emitPending(KeyMeta m, boolean keepForLearning) throws Exception {
        List<VectorRecord> all = bufferContents();
        List<VectorRecord> pending = all.subList(m.emitted, all.size());
        if (!pending.isEmpty()) {
            CodebookState cs = codebook.value();
            Params p = cs.params() != null ? checked(cs.params()) : sharedDefault();
            coder.codeAndEmit(output, pending, p, cs.version(), this::deadLetter);
        }
        if (keepForLearning) {
            m.emitted = m.buffered;
        } else {
            buffer.clear();
            m.buffered = 0;
            m.emitted = 0;
        }
        m.oldestUnemittedAt = -1;
        cancelTimer(m);
    }

    private void flushAll(KeyMeta m) throws Exception {
        emitPending(m, false);
    }

    private void emit(List<VectorRecord> batch, int from, QuantizerOutput out, long version, QuantizerOutput top) {
        coder.emit(output, batch, from, out, version, top, this::deadLetter);
    }



    // ------------------------------------------------------------------ keys and codebooks

    /** Gives a key seen for the first time (or after a reset) its codebook; false if there is none. */
    private boolean initializeKey(String key, KeyMeta m) throws Exception {
        Params own;
        if (controlDefault != null) {
            own = null;
        } else {
            switch (config.source()) {
                case FILE -> own = null;
                case PER_KEY -> {
                    Path file = perKeyFile(key);
                    if (file != null && Files.isRegularFile(file)) {
                        try {
                            own = QuantizerFiles.load(quantizer, file);
                        } catch (RuntimeException e) {
                            throw new KeyCodebookException("the codebook file of key '" + key + "' cannot be used: " + e.getMessage());
                        }
                    } else if (configDefault != null) {
                        own = null;
                    } else {
                        return false;
                    }
                }
                case INIT -> own = quantizer.initParams(RandomSource.mix(config.seed(), keyHash(key), 0));
                case CONTROL -> {
                    return false;
                }
                default -> throw new IllegalStateException(config.source().toString());
            }
        }
        long version = nextVersion(m);
        codebook.update(new CodebookState(version, 0, own));
        m.hasCodebook = true;
        Params effective = own != null ? own : sharedDefault();
        m.initPending = initPending(effective);
        ControlMessage frozen = globalControl.get(GLOBAL_FREEZE);
        m.frozen = frozen != null && frozen.kind() == ControlMessage.Kind.FREEZE;
        if (!m.initPending) {
            publish(version, 0, effective);
        }
        return true;
    }

    private Path perKeyFile(String key) {
        if (config.perKeyDir() == null) {
            return null;
        }
        return Path.of(config.perKeyDir(), KeyFileNames.nameOf(key) + ".safetensors");
    }

    /** A key's own codebook file exists but cannot be loaded: a problem of that key's records only. */
    private static final class KeyCodebookException extends Exception {
        private static final long serialVersionUID = 1L;

        KeyCodebookException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Restored state must fit the configured quantizer: after an incompatible configuration
     * change (codebook size, dims, layers) the tensors no longer match and codes would be wrong,
     * so the job fails with a message naming the tensor instead.
     */
    private Params checked(Params p) {
        try {
            quantizer.validate(p);
            return p;
        } catch (IllegalArgumentException e) {
            String key = getCurrentKey() == null ? "(all keys)" : "'" + getCurrentKey() + "'";
            throw new IllegalStateException("the codebook state of key " + key + " does not fit the configured " + quantizer.type()
                    + ": " + e.getMessage() + ". The quantizer configuration changed incompatibly since the checkpoint or savepoint"
                    + " was taken; start without it, or export the codebooks (savepoint export) and bootstrap a new savepoint", e);
        }
    }

    private Params sharedDefault() {
        Params p = controlDefault != null ? controlDefault : configDefault;
        if (p == null) {
            throw new IllegalStateException("key uses the shared default codebook but none is configured");
        }
        return p;
    }

    private boolean initPending(Params p) {
        for (ParamSpec s : quantizer.parameterSpecs()) {
            if (s.kind() == ParamSpec.Kind.FLAG && p.get(s.name()).data()[0] == 0f) {
                return true;
            }
        }
        return false;
    }

    private long nextVersion(KeyMeta m) {
        m.lastVersion++;
        metrics.codebookChanges.inc();
        return m.lastVersion;
    }

    private void publish(long version, long step, Params p) {
        if (!config.codebookSnapshots()) {
            return;
        }
        Params snapshot = p.copy();
        // statistics pending under learn.accumulate are operator state, not part of a codebook
        List.copyOf(snapshot.names()).stream().filter(n -> n.contains("_codebook.accum.")).forEach(snapshot::remove);
        output.collect(CODEBOOKS, new StreamRecord<>(new CodebookSnapshot(currentKey(), version, step, quantizer.type(),
                config.quantizerArgsJson(), snapshot)));
    }

    // ------------------------------------------------------------------ control

    @Override
    public void processElement2(StreamRecord<ControlMessage> element) throws Exception {
        ControlMessage c = element.getValue();
        ControlMessage normalized;
        try {
            normalized = c.kind() == ControlMessage.Kind.INSTALL
                    ? ControlMessage.install(c.key(), QuantizerFiles.completeExact(quantizer, c.params(), "control message"))
                    : c;
        } catch (RuntimeException e) {
            output.collect(DEAD_LETTERS, new StreamRecord<>(new DeadLetter(c.key(), DeadLetter.Stage.CONTROL,
                    "rejected " + c.kind() + " message: " + e.getMessage(), controlPayload(c), now())));
            metrics.deadLetters.inc();
            return;
        }
        // records that came before the message are coded before it changes anything
        flushLane();
        if (normalized.allKeys()) {
            switch (normalized.kind()) {
                case INSTALL -> {
                    globalControl.put(GLOBAL_INSTALL, normalized);
                    controlDefault = normalized.params();
                }
                case FREEZE, UNFREEZE -> globalControl.put(GLOBAL_FREEZE, normalized);
                case RESET -> { }
                default -> throw new IllegalStateException();
            }
            List<Object> keys;
            try (Stream<Object> s = getKeyedStateBackend().getKeys(META_STATE, VoidNamespace.INSTANCE)) {
                keys = s.toList();
            }
            for (Object k : keys) {
                setCurrentKey(k);
                applyControl(normalized);
            }
        } else if (ownsKey(normalized.key())) {
            setCurrentKey(normalized.key());
            applyControl(normalized);
        }
    }

    /** The message in its wire layout (safetensors, metadata kind and key), so a rejected one can be fixed and sent again. */
    static byte[] controlPayload(ControlMessage c) {
        io.vqstream.core.io.SafeTensors.Writer w = io.vqstream.core.io.SafeTensors.writer().metadata("kind", c.kind().name());
        if (c.key() != null) {
            w.metadata("key", c.key());
        }
        if (c.params() != null) {
            for (String n : new java.util.TreeSet<>(c.params().names())) {
                w.put(n, c.params().get(n));
            }
        }
        return w.toBytes();
    }

    private boolean ownsKey(String key) {
        int maxParallelism = getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks();
        int group = KeyGroupRangeAssignment.assignToKeyGroup(key, maxParallelism);
        return ((CheckpointableKeyedStateBackend<?>) getKeyedStateBackend()).getKeyGroupRange().contains(group);
    }

    private void applyControl(ControlMessage c) throws Exception {
        KeyMeta m = metaOf();
        switch (c.kind()) {
            case INSTALL -> {
                retireBufferedWithOldCodebook(m);
                CodebookState old = codebook.value();
                long step = old == null ? 0 : old.step();
                long version = nextVersion(m);
                Params own = c.allKeys() ? null : c.params();
                codebook.update(new CodebookState(version, step, own));
                m.hasCodebook = true;
                Params effective = own != null ? own : sharedDefault();
                m.initPending = initPending(effective);
                if (!m.initPending) {
                    publish(version, step, effective);
                }
                flushIfDue(m);
            }
            case FREEZE -> {
                m.frozen = true;
                dropEmittedPrefix(m);
                flushIfDue(m);
            }
            case UNFREEZE -> {
                m.frozen = false;
                flushIfDue(m);
            }
            case RESET -> {
                retireBufferedWithOldCodebook(m);
                codebook.clear();
                m.hasCodebook = false;
                m.initPending = false;
            }
            default -> throw new IllegalStateException();
        }
        armTimer(m);
        meta.update(m);
    }

    /**
     * Before the codebook changes: records that arrived earlier get their codes from the old
     * codebook (unless it could not code yet: a pending kmeans init keeps them for the new one).
     */
    private void retireBufferedWithOldCodebook(KeyMeta m) throws Exception {
        if (m.hasCodebook && !m.initPending && m.buffered > 0) {
            flushAll(m);
        }
    }

    private void dropEmittedPrefix(KeyMeta m) throws Exception {
        if (m.emitted == 0) {
            return;
        }
        List<VectorRecord> all = bufferContents();
        buffer.update(new ArrayList<>(all.subList(m.emitted, all.size())));
        m.buffered -= m.emitted;
        m.emitted = 0;
    }

    // ------------------------------------------------------------------ timers and end of input

    private void armTimer(KeyMeta m) throws Exception {
        if (config.maxDelayMillis() > 0 && m.buffered > m.emitted && !m.initPending && m.timerAt < 0) {
            long t = now() + config.maxDelayMillis();
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, t);
            m.timerAt = t;
        }
    }

    private void cancelTimer(KeyMeta m) {
        if (m.timerAt >= 0) {
            timers.deleteProcessingTimeTimer(VoidNamespace.INSTANCE, m.timerAt);
            m.timerAt = -1;
        }
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        KeyMeta m = metaOf();
        m.timerAt = -1;
        if (m.hasCodebook && !m.initPending && m.buffered > m.emitted) {
            if (m.oldestUnemittedAt >= 0) {
                metrics.batchLatencyMs.update(now() - m.oldestUnemittedAt);
            }
            emitPending(m, learning(m));
        }
        meta.update(m);
    }

    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) {
        // batches are bounded by processing time only
    }

    @Override
    public void endInput(int inputId) throws Exception {
        if (inputId != 1) {
            return;
        }
        flushLane();
        List<Object> keys;
        try (Stream<Object> s = getKeyedStateBackend().getKeys(META_STATE, VoidNamespace.INSTANCE)) {
            keys = s.toList();
        }
        for (Object k : keys) {
            setCurrentKey(k);
            KeyMeta m = meta.value();
            if (m == null || !m.hasCodebook || m.buffered == 0) {
                continue;
            }
            if (m.initPending || learning(m)) {
                step(m, m.buffered);
            } else {
                flushAll(m);
            }
            cancelTimer(m);
            meta.update(m);
        }
    }

    // ------------------------------------------------------------------ helpers

    private KeyMeta metaOf() throws Exception {
        KeyMeta m = meta.value();
        return m != null ? m : new KeyMeta();
    }

    private List<VectorRecord> bufferContents() throws Exception {
        List<VectorRecord> l = new ArrayList<>();
        Iterable<VectorRecord> it = buffer.get();
        if (it != null) {
            it.forEach(l::add);
        }
        return l;
    }

    private String currentKey() {
        return (String) getCurrentKey();
    }

    private long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }

    private void deadLetter(VectorRecord r, String reason) {
        output.collect(DEAD_LETTERS, new StreamRecord<>(new DeadLetter(r.key(), DeadLetter.Stage.QUANTIZE, reason, RecordJson.of(r), r.eventTime())));
        metrics.deadLetters.inc();
    }

    /** 64-bit FNV-1a of the key's UTF-8 bytes: a stable hash, the same on every JVM. */
    public static long keyHash(String key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}

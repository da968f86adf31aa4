package io.vqstream.operators;

import org.apache.flink.annotation.Internal;

import io.vqstream.core.quantize.EmaStatistics;
import io.vqstream.core.quantize.Quantizer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.operators.coordination.OperatorCoordinator;
import org.apache.flink.runtime.operators.coordination.OperatorEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Combines the round parts of every subtask of a shared learning codebook into one EMA step
 * and sends the new codebook back to every subtask.
 *
 * <h2>Rounds</h2>
 * Round {@code r+1} closes when every subtask that has not finished its input sent its part for
 * it. The parts are combined in subtask-index order ({@link EmaStatistics#combine}) and applied
 * to the codebook of round {@code r} with randomness from (seed, scope, step); a round without
 * data changes nothing but the round number.
 *
 * <h2>Checkpoints (exactly once)</h2>
 * The coordinator checkpoints before its subtasks: its snapshot holds the codebook of round
 * {@code r}, the parts of round {@code r+1} received so far and the finished subtasks. Flink
 * delivers every event this coordinator sent before its snapshot to the subtasks before their
 * snapshots, and holds later ones back until they have taken them; so a subtask's snapshot is
 * at round {@code r} too. A part a subtask sent after the coordinator's snapshot but before its
 * own is in that subtask's snapshot as unanswered and is re-sent after a restore; a part sent
 * after the subtask's snapshot is recomputed from the replayed records. Parts are kept once
 * per (round, subtask), so after a restore every round counts each subtask's statistics once.
 *
 * <h2>One subtask</h2>
 * At parallelism 1 a round's combined statistics are the lone subtask's own, so that subtask
 * closes the round itself ({@link SharedScope#closeRound}, as this coordinator does) and does not
 * wait for this coordinator; its checkpointed codebook is then the truth. After a restore every
 * subtask first sends the codebook it restored ({@link SharedEvents.Restored}); a newer one than
 * this coordinator's replaces it, so rounds continue from there at any parallelism.
 */
@Internal
public final class SharedLearningCoordinator implements OperatorCoordinator {
    private static final Logger LOG = LoggerFactory.getLogger(SharedLearningCoordinator.class);
    private static final int FORMAT = 1;

    private final Context context;
    private final QuantizeOperatorConfig config;
    private final Quantizer quantizer;
    private final SubtaskGateway[] gateways;

    private SharedCodebook current;
    private final TreeMap<Integer, byte[]> parts = new TreeMap<>();
    private final TreeSet<Integer> finished = new TreeSet<>();

    SharedLearningCoordinator(Context context, QuantizeOperatorConfig config) {
        this.context = context;
        this.config = config;
        this.quantizer = config.createQuantizer();
        this.gateways = new SubtaskGateway[context.currentParallelism()];
    }

    /** Serializable factory handed to Flink with the operator. */
    public static final class Provider implements OperatorCoordinator.Provider {
        private static final long serialVersionUID = 1L;
        private final OperatorID operatorId;
        private final QuantizeOperatorConfig config;

        public Provider(OperatorID operatorId, QuantizeOperatorConfig config) {
            this.operatorId = operatorId;
            this.config = config;
        }

        @Override
        public OperatorID getOperatorId() {
            return operatorId;
        }

        @Override
        public OperatorCoordinator create(Context context) {
            return new SharedLearningCoordinator(context, config);
        }
    }

    @Override
    public synchronized void start() {
        if (current == null) {
            current = SharedScope.initialCodebook(config, quantizer);
        }
    }

    @Override
    public void close() {}

    @Override
    public synchronized void handleEventFromOperator(int subtask, int attemptNumber, OperatorEvent event) {
        if (current == null) {
            current = SharedScope.initialCodebook(config, quantizer);
        }
        if (event instanceof SharedEvents.RoundPart part) {
            if (part.round() != current.round() + 1) {
                // a re-sent part of a round that closed before this coordinator's checkpoint
                return;
            }
            parts.putIfAbsent(part.subtask(), part.statistics());
        } else if (event instanceof SharedEvents.Restored r) {
            SharedCodebook c = SharedCodebook.fromBytes(r.codebook());
            if (c.round() > current.round()) {
                // rounds a lone subtask closed itself after this coordinator's checkpoint; every
                // subtask restored the same codebook and sends it before any part, so no part of
                // a later round can have arrived yet
                LOG.info("continuing from the restored codebook of round {} (version {}, step {}); this coordinator was at round {}",
                        c.round(), c.version(), c.step(), current.round());
                current = c;
                parts.clear();
            }
            return;
        } else if (event instanceof SharedEvents.SubtaskFinished f) {
            finished.add(f.subtask());
        } else {
            throw new IllegalArgumentException("unexpected event " + event);
        }
        tryCloseRound();
    }

    private void tryCloseRound() {
        if (parts.isEmpty()) {
            return;
        }
        for (int s = 0; s < gateways.length; s++) {
            if (!finished.contains(s) && !parts.containsKey(s)) {
                return;
            }
        }
        List<EmaStatistics> inOrder = new ArrayList<>(parts.size());
        int records = 0;
        for (byte[] b : parts.values()) {
            EmaStatistics s = EmaStatistics.fromBytes(b);
            inOrder.add(s);
            records += s.isEmpty() ? 0 : 1;
        }
        EmaStatistics combined = EmaStatistics.combine(inOrder);
        current = SharedScope.closeRound(current, combined, quantizer, config);
        byte[] paramsBytes = combined.isEmpty() ? null : SharedCodebook.paramsBytes(current.params());
        parts.clear();
        long round = current.round();
        SharedEvents.RoundClosed closed = new SharedEvents.RoundClosed(current.version(), current.step(), round, paramsBytes);
        for (SubtaskGateway g : gateways) {
            if (g != null) {
                g.sendEvent(closed);
            }
        }
        LOG.debug("round {} closed with {} non-empty parts: version {}, step {}", round, records, current.version(), current.step());
    }

    private SharedEvents.RoundClosed full() {
        return new SharedEvents.RoundClosed(current.version(), current.step(), current.round(), SharedCodebook.paramsBytes(current.params()));
    }

    @Override
    public synchronized void checkpointCoordinator(long checkpointId, CompletableFuture<byte[]> result) {
        try {
            if (current == null) {
                current = SharedScope.initialCodebook(config, quantizer);
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeInt(FORMAT);
                byte[] cb = current.toBytes();
                out.writeInt(cb.length);
                out.write(cb);
                out.writeInt(parts.size());
                for (Map.Entry<Integer, byte[]> e : parts.entrySet()) {
                    out.writeInt(e.getKey());
                    out.writeInt(e.getValue().length);
                    out.write(e.getValue());
                }
                out.writeInt(finished.size());
                for (int s : finished) {
                    out.writeInt(s);
                }
            }
            result.complete(bytes.toByteArray());
        } catch (Throwable t) {
            result.completeExceptionally(t);
        }
    }

    @Override
    public synchronized void resetToCheckpoint(long checkpointId, byte[] data) throws Exception {
        parts.clear();
        finished.clear();
        if (data == null) {
            current = SharedScope.initialCodebook(config, quantizer);
            return;
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            int format = in.readInt();
            if (format != FORMAT) {
                throw new IllegalStateException("unknown shared learning checkpoint format " + format);
            }
            byte[] cb = new byte[in.readInt()];
            in.readFully(cb);
            current = SharedCodebook.fromBytes(cb);
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                int s = in.readInt();
                byte[] b = new byte[in.readInt()];
                in.readFully(b);
                parts.put(s, b);
            }
            int f = in.readInt();
            for (int i = 0; i < f; i++) {
                finished.add(in.readInt());
            }
        }
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {}

    /**
     * One subtask restarted alone (a regional failover): its state is from an older round than
     * this coordinator's, and the rounds since then already hold its statistics. Replaying its
     * records with the current codebook would code them differently from the first run, so the
     * whole scope restarts from the checkpoint instead (a global failover resets this coordinator
     * and every subtask together).
     */
    @Override
    public synchronized void subtaskReset(int subtask, long checkpointId) {
        parts.remove(subtask);
        finished.remove(subtask);
        context.failJob(new IllegalStateException("subtask " + subtask + " of a shared learning codebook restarted alone from checkpoint "
                + checkpointId + "; a round spans every subtask, so they all restart from the checkpoint together"));
    }

    @Override
    public synchronized void executionAttemptFailed(int subtask, int attemptNumber, Throwable reason) {
        gateways[subtask] = null;
    }

    @Override
    public synchronized void executionAttemptReady(int subtask, int attemptNumber, SubtaskGateway gateway) {
        gateways[subtask] = gateway;
        if (current == null) {
            current = SharedScope.initialCodebook(config, quantizer);
        }
        // a subtask restored from an older state catches up; one at this round ignores it
        if (current.round() > 0) {
            gateway.sendEvent(full());
        }
    }
}

package io.vqstream.operators;

import org.apache.flink.annotation.Internal;

import org.apache.flink.runtime.operators.coordination.OperatorEvent;

/** The messages between the subtasks of a shared learning codebook and its coordinator. */
@Internal
public final class SharedEvents {
    private SharedEvents() {}

    /**
     * A subtask's part of round {@code round}: the encoded {@link io.vqstream.core.quantize.EmaStatistics}
     * of its batch (empty when it had none). Re-sent after a restore while unanswered; the
     * coordinator keeps the first copy per (round, subtask).
     */
    public record RoundPart(long round, int subtask, int records, byte[] statistics) implements OperatorEvent {}

    /**
     * The codebook a subtask restored from its state, sent before any of its parts. A lone subtask
     * (parallelism 1) closes its rounds itself, so after a restore its codebook can be newer than
     * the coordinator's; the coordinator takes the newer one, and later rounds (also after a
     * rescale to more subtasks) continue from it.
     */
    public record Restored(byte[] codebook) implements OperatorEvent {}

    /** A subtask ended its input: later rounds no longer wait for it. */
    public record SubtaskFinished(int subtask) implements OperatorEvent {}

    /**
     * Round {@code codebook.round} is closed: the codebook every subtask codes with from now on.
     * {@code params} is null when the round held no data (the codebook did not change).
     */
    public record RoundClosed(long version, long step, long round, byte[] params) implements OperatorEvent {}
}

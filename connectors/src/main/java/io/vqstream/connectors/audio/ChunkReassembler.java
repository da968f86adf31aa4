package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Puts the chunks of one stream back in {@code seq} order (0, 1, 2, ...) with a bounded buffer.
 *
 * <p>Policy:
 * <ul>
 *   <li>The chunk with the expected seq is emitted at once, followed by every buffered chunk
 *       that continues the run.</li>
 *   <li>A chunk ahead of the expected seq is held back, at most {@code maxBuffered} of them.</li>
 *   <li>When holding one more would exceed the bound, the missing seqs before the lowest held
 *       chunk are given up on ({@link #seqsSkipped()} grows by their number) and emission
 *       resumes from it; {@code maxBuffered = 0} therefore never waits for a gap.</li>
 *   <li>A chunk whose seq is already held, or below the expected seq, is dropped and counted in
 *       {@link #duplicatesDropped()}. That includes a chunk arriving after its seq was skipped
 *       as a gap: telling it from a true duplicate would need a record of every skipped seq.</li>
 *   <li>{@link #flush()} (end of stream) emits everything held, skipping the gaps between.</li>
 * </ul>
 *
 * <p>Not thread-safe: one instance per stream.
 *
 * @param <T> payload type, treated as immutable
 */
@Internal
public final class ChunkReassembler<T> {
    /** One chunk and its sequence number. */
    public record Chunk<T>(long seq, T payload) {}

    private final int maxBuffered;
    private final TreeMap<Long, T> held = new TreeMap<>();
    private long nextSeq;
    private long duplicates;
    private long skipped;
    private long emittedCount;

    public ChunkReassembler(int maxBuffered) {
        this(new ReassemblerState<T>(maxBuffered, 0, new long[0], List.of(), 0, 0, 0));
    }

    private ChunkReassembler(ReassemblerState<T> s) {
        this.maxBuffered = s.maxBuffered();
        this.nextSeq = s.nextSeq();
        long[] seqs = s.bufferedSeqs();
        for (int i = 0; i < seqs.length; i++) {
            held.put(seqs[i], s.bufferedPayloads().get(i));
        }
        this.duplicates = s.duplicatesDropped();
        this.skipped = s.seqsSkipped();
        this.emittedCount = s.chunksEmitted();
    }

    /** Continues the stream a snapshot was taken of. */
    public static <T> ChunkReassembler<T> restore(ReassemblerState<T> state) {
        return new ChunkReassembler<>(Objects.requireNonNull(state, "state"));
    }

    public ReassemblerState<T> snapshot() {
        long[] seqs = new long[held.size()];
        List<T> payloads = new ArrayList<>(held.size());
        int i = 0;
        for (Map.Entry<Long, T> e : held.entrySet()) {
            seqs[i++] = e.getKey();
            payloads.add(e.getValue());
        }
        return new ReassemblerState<>(maxBuffered, nextSeq, seqs, payloads, duplicates, skipped, emittedCount);
    }

    /** True if a chunk with this seq would be dropped as a duplicate. */
    public boolean isDuplicate(long seq) {
        checkSeq(seq);
        return seq < nextSeq || held.containsKey(seq);
    }

    /**
     * Takes one chunk; returns the chunks that can now be emitted, in seq order (empty if it was
     * held back or dropped).
     */
    public List<Chunk<T>> offer(long seq, T payload) {
        Objects.requireNonNull(payload, "payload");
        if (isDuplicate(seq)) {
            duplicates++;
            return List.of();
        }
        List<Chunk<T>> out = new ArrayList<>();
        if (seq == nextSeq) {
            emit(seq, payload, out);
        } else {
            held.put(seq, payload);
            if (held.size() > maxBuffered) {
                skipTo(held.firstKey());
            }
        }
        drain(out);
        return out;
    }

    /** Ends the stream: emits every held chunk in order, counting the gaps between as skipped. */
    public List<Chunk<T>> flush() {
        List<Chunk<T>> out = new ArrayList<>();
        while (!held.isEmpty()) {
            skipTo(held.firstKey());
            drain(out);
        }
        return out;
    }

    private void skipTo(long seq) {
        skipped += seq - nextSeq;
        nextSeq = seq;
    }

    private void drain(List<Chunk<T>> out) {
        while (!held.isEmpty() && held.firstKey() == nextSeq) {
            emit(nextSeq, held.pollFirstEntry().getValue(), out);
        }
    }

    private void emit(long seq, T payload, List<Chunk<T>> out) {
        out.add(new Chunk<>(seq, payload));
        nextSeq = seq + 1;
        emittedCount++;
    }

    private static void checkSeq(long seq) {
        if (seq < 0 || seq == Long.MAX_VALUE) {
            throw new IllegalArgumentException("chunk seq must be in 0.." + (Long.MAX_VALUE - 1) + ", got " + seq);
        }
    }

    public int maxBuffered() {
        return maxBuffered;
    }

    /** The seq emitted next. */
    public long nextSeq() {
        return nextSeq;
    }

    /** Chunks held back now. */
    public int buffered() {
        return held.size();
    }

    /** Chunks dropped as duplicates or stale, since the stream began. */
    public long duplicatesDropped() {
        return duplicates;
    }

    /** Seqs given up on as gaps, since the stream began. */
    public long seqsSkipped() {
        return skipped;
    }

    /** Chunks emitted, since the stream began. */
    public long chunksEmitted() {
        return emittedCount;
    }
}

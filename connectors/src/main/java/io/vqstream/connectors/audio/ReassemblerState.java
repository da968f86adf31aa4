package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Immutable snapshot of a {@link ChunkReassembler}.
 *
 * @param maxBuffered       most chunks held back
 * @param nextSeq           the seq to emit next
 * @param bufferedSeqs      seqs held back, ascending, all greater than {@code nextSeq}; copied in and out
 * @param bufferedPayloads  their payloads, in the same order (the list is copied, the payloads are not)
 * @param duplicatesDropped chunks dropped as duplicates or stale
 * @param seqsSkipped       seqs given up on as gaps
 * @param chunksEmitted     chunks emitted so far
 * @param <T>               payload type; payloads are shared with the reassembler, so treat them as immutable
 */
@Internal
public record ReassemblerState<T>(
        int maxBuffered,
        long nextSeq,
        long[] bufferedSeqs,
        List<T> bufferedPayloads,
        long duplicatesDropped,
        long seqsSkipped,
        long chunksEmitted) {

    public ReassemblerState {
        if (maxBuffered < 0) {
            throw new IllegalArgumentException("maxBuffered must be at least 0, got " + maxBuffered);
        }
        bufferedSeqs = Objects.requireNonNull(bufferedSeqs, "bufferedSeqs").clone();
        bufferedPayloads = List.copyOf(bufferedPayloads);
        if (bufferedSeqs.length != bufferedPayloads.size()) {
            throw new IllegalArgumentException(bufferedSeqs.length + " buffered seqs but " + bufferedPayloads.size() + " payloads");
        }
        if (bufferedSeqs.length > maxBuffered) {
            throw new IllegalArgumentException(bufferedSeqs.length + " buffered chunks exceed the bound " + maxBuffered);
        }
        if (nextSeq < 0 || duplicatesDropped < 0 || seqsSkipped < 0 || chunksEmitted < 0) {
            throw new IllegalArgumentException("negative counter in reassembler state");
        }
        long previous = nextSeq;
        for (long s : bufferedSeqs) {
            if (s <= previous) {
                throw new IllegalArgumentException("buffered seqs must ascend above nextSeq " + nextSeq + ": "
                        + Arrays.toString(bufferedSeqs));
            }
            previous = s;
        }
    }

    @Override
    public long[] bufferedSeqs() {
        return bufferedSeqs.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ReassemblerState<?> s && maxBuffered == s.maxBuffered && nextSeq == s.nextSeq
                && Arrays.equals(bufferedSeqs, s.bufferedSeqs) && bufferedPayloads.equals(s.bufferedPayloads)
                && duplicatesDropped == s.duplicatesDropped && seqsSkipped == s.seqsSkipped
                && chunksEmitted == s.chunksEmitted;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxBuffered, nextSeq, Arrays.hashCode(bufferedSeqs), bufferedPayloads, duplicatesDropped,
                seqsSkipped, chunksEmitted);
    }

    @Override
    public String toString() {
        return "ReassemblerState[maxBuffered=" + maxBuffered + ", nextSeq=" + nextSeq + ", bufferedSeqs="
                + Arrays.toString(bufferedSeqs) + ", duplicatesDropped=" + duplicatesDropped + ", seqsSkipped="
                + seqsSkipped + ", chunksEmitted=" + chunksEmitted + "]";
    }
}

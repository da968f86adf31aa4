package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkReassemblerTest {

    private static List<Long> seqs(List<ChunkReassembler.Chunk<String>> chunks) {
        List<Long> s = new ArrayList<>();
        for (ChunkReassembler.Chunk<String> c : chunks) {
            assertEquals("c" + c.seq(), c.payload(), "payload travels with its seq");
            s.add(c.seq());
        }
        return s;
    }

    private static List<Long> offer(ChunkReassembler<String> r, long seq) {
        return seqs(r.offer(seq, "c" + seq));
    }

    @Test
    void emitsInOrderChunksAtOnce() {
        ChunkReassembler<String> r = new ChunkReassembler<>(4);
        assertEquals(List.of(0L), offer(r, 0));
        assertEquals(List.of(1L), offer(r, 1));
        assertEquals(2, r.chunksEmitted());
        assertEquals(2, r.nextSeq());
    }

    @Test
    void reordersOutOfOrderChunksWithinTheBound() {
        ChunkReassembler<String> r = new ChunkReassembler<>(4);
        assertEquals(List.of(), offer(r, 2));
        assertEquals(List.of(), offer(r, 1));
        assertEquals(List.of(), offer(r, 4));
        assertEquals(3, r.buffered());
        assertEquals(List.of(0L, 1L, 2L), offer(r, 0));
        assertEquals(List.of(3L, 4L), offer(r, 3));
        assertEquals(0, r.buffered());
        assertEquals(0, r.seqsSkipped());
        assertEquals(0, r.duplicatesDropped());
    }

    @Test
    void dropsAndCountsDuplicatesOfEmittedAndHeldChunks() {
        ChunkReassembler<String> r = new ChunkReassembler<>(4);
        offer(r, 0);
        offer(r, 2);
        assertEquals(List.of(), offer(r, 0), "already emitted");
        assertEquals(List.of(), offer(r, 2), "already held");
        assertEquals(2, r.duplicatesDropped());
        assertEquals(List.of(1L, 2L), offer(r, 1));
        assertEquals(List.of(), offer(r, 1));
        assertEquals(3, r.duplicatesDropped());
    }

    @Test
    void skipsAGapWhenTheBufferOverflows() {
        ChunkReassembler<String> r = new ChunkReassembler<>(2);
        offer(r, 0);
        assertEquals(List.of(), offer(r, 3)); // 1 and 2 missing
        assertEquals(List.of(), offer(r, 4));
        assertEquals(List.of(3L, 4L), offer(r, 6), "third held chunk: give up on 1, 2");
        assertEquals(2, r.seqsSkipped());
        assertEquals(1, r.buffered()); // 6 waits for 5
        assertEquals(List.of(), offer(r, 1), "a skipped seq arriving late counts as stale");
        assertEquals(1, r.duplicatesDropped());
        assertEquals(List.of(5L, 6L), offer(r, 5));
        assertEquals(2, r.seqsSkipped());
    }

    @Test
    void boundZeroNeverWaits() {
        ChunkReassembler<String> r = new ChunkReassembler<>(0);
        assertEquals(List.of(5L), offer(r, 5));
        assertEquals(5, r.seqsSkipped());
        assertEquals(List.of(7L), offer(r, 7));
        assertEquals(6, r.seqsSkipped());
        assertEquals(List.of(), offer(r, 6));
        assertEquals(1, r.duplicatesDropped());
    }

    @Test
    void flushReleasesHeldChunksAcrossGaps() {
        ChunkReassembler<String> r = new ChunkReassembler<>(8);
        offer(r, 0);
        offer(r, 2);
        offer(r, 5);
        offer(r, 6);
        assertEquals(List.of(2L, 5L, 6L), seqs(r.flush()));
        assertEquals(1 + 2, r.seqsSkipped()); // 1, then 3 and 4
        assertEquals(0, r.buffered());
        assertEquals(4, r.chunksEmitted());
    }

    @Test
    void shuffledArrivalWithinTheBoundComesOutInOrder() {
        Random random = new Random(99);
        List<Long> order = new ArrayList<>();
        for (long s = 0; s < 1_000; s++) {
            order.add(s);
        }
        // Shuffle within blocks of 5: at most 4 chunks are ever early.
        for (int b = 0; b < order.size(); b += 5) {
            Collections.shuffle(order.subList(b, b + 5), random);
        }
        ChunkReassembler<String> r = new ChunkReassembler<>(4);
        List<Long> out = new ArrayList<>();
        for (long s : order) {
            out.addAll(offer(r, s));
            if (random.nextInt(10) == 0) {
                offer(r, s); // a resend
            }
        }
        List<Long> expected = new ArrayList<>(order);
        Collections.sort(expected);
        assertEquals(expected, out);
        assertEquals(0, r.seqsSkipped());
        assertEquals(order.size(), r.chunksEmitted());
    }

    @Test
    void snapshotAndRestoreContinueIdentically() {
        long[] arrivals = {0, 3, 2, 3, 7, 8, 1, 9, 10, 4, 5, 12, 11, 6};
        ChunkReassembler<String> reference = new ChunkReassembler<>(3);
        List<Long> expected = new ArrayList<>();
        for (long s : arrivals) {
            expected.addAll(offer(reference, s));
        }
        expected.addAll(seqs(reference.flush()));
        for (int cut = 0; cut <= arrivals.length; cut++) {
            ChunkReassembler<String> a = new ChunkReassembler<>(3);
            List<Long> out = new ArrayList<>();
            for (int i = 0; i < cut; i++) {
                out.addAll(offer(a, arrivals[i]));
            }
            ReassemblerState<String> state = a.snapshot();
            ChunkReassembler<String> b = ChunkReassembler.restore(state);
            assertEquals(state, b.snapshot());
            for (int i = cut; i < arrivals.length; i++) {
                out.addAll(offer(b, arrivals[i]));
            }
            out.addAll(seqs(b.flush()));
            assertEquals(expected, out, "cut " + cut);
            assertEquals(reference.duplicatesDropped(), b.duplicatesDropped());
            assertEquals(reference.seqsSkipped(), b.seqsSkipped());
        }
    }

    @Test
    void rejectsBadSeqsAndInconsistentState() {
        ChunkReassembler<String> r = new ChunkReassembler<>(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.offer(-1, "x"));
        assertEquals("chunk seq must be in 0..9223372036854775806, got -1", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ChunkReassembler<String>(-1));
        assertThrows(IllegalArgumentException.class,
                () -> new ReassemblerState<>(2, 5, new long[] {4}, List.of("c4"), 0, 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new ReassemblerState<>(1, 0, new long[] {2, 3}, List.of("a", "b"), 0, 0, 0));
    }
}

package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FramerTest {

    /** Frames as the definition states them: x[k*hop, k*hop + win), zero beyond the end. */
    private static float[] expectedFrame(float[] x, int k, int hop, int win) {
        float[] f = new float[win];
        int start = k * hop;
        System.arraycopy(x, start, f, 0, Math.max(0, Math.min(win, x.length - start)));
        return f;
    }

    private static List<Framer.Frame> run(Framer framer, float[] x, List<int[]> pieces) {
        List<Framer.Frame> out = new ArrayList<>();
        for (int[] p : pieces) {
            out.addAll(framer.push(x, p[0], p[1]));
        }
        out.addAll(framer.flush());
        return out;
    }

    @ParameterizedTest(name = "win {0} hop {1} n {2} {3}")
    @CsvSource({
        "400, 160, 1000, DROP, 4", "400, 160, 1000, ZERO_PAD, 5", "400, 160, 880, DROP, 4", "400, 160, 880, ZERO_PAD, 4",
        "400, 160, 399, DROP, 0", "400, 160, 399, ZERO_PAD, 1", "4, 4, 10, ZERO_PAD, 3", "3, 5, 12, ZERO_PAD, 3",
        "3, 5, 11, ZERO_PAD, 3", "3, 5, 14, DROP, 3", "1, 1, 5, DROP, 5", "400, 160, 0, ZERO_PAD, 0"
    })
    void cutsFramesFromSampleZeroEveryHop(int win, int hop, int n, TailPolicy tail, int expectedFrames) {
        float[] x = Signals.noise(n, n, 1.0);
        List<Framer.Frame> frames = run(new Framer(win, hop, tail), x, List.of(new int[] {0, n}));
        assertEquals(expectedFrames, frames.size());
        for (int k = 0; k < frames.size(); k++) {
            Framer.Frame f = frames.get(k);
            assertEquals(k, f.index());
            assertEquals((long) k * hop, f.startSample());
            assertArrayEquals(expectedFrame(x, k, hop, win), f.samples(), "frame " + k);
        }
    }

    @ParameterizedTest(name = "win {0} hop {1} {2}")
    @CsvSource({"400, 160, DROP", "400, 160, ZERO_PAD", "5, 7, ZERO_PAD", "64, 64, DROP", "1, 3, ZERO_PAD"})
    void randomChunkBoundariesGiveIdenticalFrames(int win, int hop, TailPolicy tail) {
        float[] x = Signals.noise(2, 5_003, 1.0);
        List<Framer.Frame> whole = run(new Framer(win, hop, tail), x, List.of(new int[] {0, x.length}));
        for (long seed = 1; seed <= 4; seed++) {
            List<Framer.Frame> chunked = run(new Framer(win, hop, tail), x, Signals.randomPieces(seed, x.length,
                    seed == 1 ? 2 : 500));
            assertSameFrames(whole, chunked);
        }
    }

    @Test
    void snapshotAndRestoreMidStreamGiveIdenticalFrames() {
        float[] x = Signals.noise(4, 3_000, 1.0);
        List<Framer.Frame> whole = run(new Framer(400, 160, TailPolicy.ZERO_PAD), x, List.of(new int[] {0, x.length}));
        for (int cut : new int[] {0, 1, 159, 160, 399, 400, 401, 1234, 2999, 3000}) {
            Framer a = new Framer(400, 160, TailPolicy.ZERO_PAD);
            List<Framer.Frame> out = new ArrayList<>(a.push(x, 0, cut));
            FramerState s = a.snapshot();
            a.push(new float[500]); // must not leak into the snapshot
            Framer b = Framer.restore(s);
            assertEquals(s, b.snapshot());
            out.addAll(b.push(x, cut, x.length - cut));
            out.addAll(b.flush());
            assertSameFrames(whole, out);
        }
    }

    @Test
    void keepsFewerThanOneFrameOfSamples() {
        Framer f = new Framer(400, 160, TailPolicy.DROP);
        f.push(new float[1000]);
        FramerState s = f.snapshot();
        assertEquals(1000 - 4 * 160, s.pending().length); // next frame starts at 640
        assertEquals(4, s.framesEmitted());
        Framer gaps = new Framer(3, 5, TailPolicy.DROP);
        gaps.push(new float[4]);
        assertEquals(0, gaps.snapshot().pending().length, "the sample at 3..4 lies between frames");
    }

    @Test
    void rejectsBadGeometryStateAndUseAfterFlush() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Framer(0, 1, TailPolicy.DROP));
        assertEquals("win_length must be at least 1, got 0", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Framer(4, 0, TailPolicy.DROP));
        assertThrows(IllegalArgumentException.class,
                () -> new FramerState(400, 160, TailPolicy.DROP, new float[10], 1000, 4, false)); // needs 360
        Framer f = new Framer(4, 2, TailPolicy.DROP);
        f.flush();
        assertThrows(IllegalStateException.class, () -> f.push(new float[1]));
    }

    private static void assertSameFrames(List<Framer.Frame> expected, List<Framer.Frame> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).index(), actual.get(i).index());
            assertEquals(expected.get(i).startSample(), actual.get(i).startSample());
            assertArrayEquals(expected.get(i).samples(), actual.get(i).samples(), "frame " + i);
        }
    }
}

package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The keyed audio front end: restore mid-stream continues without a glitch; bad chunks are dead-lettered. */
class AudioFeaturesOperatorTest {
    private static final AudioFrontEndConfig CONFIG = AudioFrontEndConfig.of(16000, 400, 160, 512, 40, 0, 8000, FeatureKind.LOG_MEL, 8);

    private static KeyedOneInputStreamOperatorTestHarness<String, AudioChunk, VectorRecord> harness() throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(new AudioFeaturesOperator(CONFIG), AudioChunk::key, Types.STRING);
    }

    /** 22.05 kHz noise + tone chunks of uneven size (resampled to 16 kHz inside). */
    private static List<AudioChunk> chunks(String key) {
        SplittableRandom r = new SplittableRandom(11);
        List<AudioChunk> out = new ArrayList<>();
        int t = 0;
        for (int seq = 0; seq < 12; seq++) {
            int n = 700 + r.nextInt(900);
            ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++, t++) {
                b.putFloat((float) (0.3 * Math.sin(2 * Math.PI * 440 * t / 22050.0) + 0.05 * r.nextGaussian()));
            }
            out.add(new AudioChunk(key, seq, 1000L + seq, 22050, 1, PcmEncoding.F32LE, b.array()));
        }
        return out;
    }

    private static List<VectorRecord> run(List<AudioChunk> cs, int restoreAt) throws Exception {
        List<VectorRecord> out = new ArrayList<>();
        OperatorSubtaskState snap = null;
        try (var h = harness()) {
            h.open();
            for (int i = 0; i < restoreAt; i++) {
                h.processElement(cs.get(i), 0);
            }
            out.addAll(h.extractOutputValues());
            if (restoreAt < cs.size()) {
                snap = h.snapshot(1, 1);
            } else {
                h.endInput();
                return h.extractOutputValues();
            }
        }
        try (var h = harness()) {
            h.initializeState(snap);
            h.open();
            for (int i = restoreAt; i < cs.size(); i++) {
                h.processElement(cs.get(i), 0);
            }
            h.endInput();
            out.addAll(h.extractOutputValues());
        }
        return out;
    }

    @Test
    void restoringMidStreamGivesTheSameFramesAsAnUninterruptedRun() throws Exception {
        List<AudioChunk> cs = chunks("spk");
        List<VectorRecord> whole = run(cs, cs.size());
        assertTrue(whole.size() > 50, "frames: " + whole.size());
        for (int cut : new int[] {1, 5, 11}) {
            List<VectorRecord> resumed = run(cs, cut);
            assertEquals(whole.size(), resumed.size(), "cut at chunk " + cut);
            for (int i = 0; i < whole.size(); i++) {
                assertEquals(i, resumed.get(i).seq());
                assertArrayEquals(whole.get(i).vector(), resumed.get(i).vector(), "frame " + i + ", cut at chunk " + cut);
            }
        }
    }

    @Test
    void interleavedStreamsDoNotMixAndOutOfOrderChunksAreReordered() throws Exception {
        List<AudioChunk> a = chunks("a");
        List<AudioChunk> b = chunks("b");
        List<VectorRecord> alone = run(a, a.size());
        try (var h = harness()) {
            h.open();
            // b's chunks swapped pairwise, interleaved with a's in order
            for (int i = 0; i < a.size(); i++) {
                h.processElement(a.get(i), 0);
                h.processElement(b.get(i % 2 == 0 ? Math.min(i + 1, b.size() - 1) : i - 1), 0);
            }
            h.endInput();
            List<VectorRecord> out = h.extractOutputValues();
            List<VectorRecord> onlyA = out.stream().filter(v -> v.key().equals("a")).toList();
            List<VectorRecord> onlyB = out.stream().filter(v -> v.key().equals("b")).toList();
            assertEquals(alone.size(), onlyA.size());
            assertEquals(alone.size(), onlyB.size(), "b reordered within the buffer bound");
            for (int i = 0; i < alone.size(); i++) {
                assertArrayEquals(alone.get(i).vector(), onlyA.get(i).vector());
                assertArrayEquals(alone.get(i).vector(), onlyB.get(i).vector(), "same audio, same features");
            }
        }
    }

    @Test
    void badChunksAreDeadLetteredAndTheStreamContinues() throws Exception {
        List<AudioChunk> cs = chunks("s");
        try (var h = harness()) {
            h.open();
            h.processElement(cs.get(0), 0);
            h.processElement(new AudioChunk("s", 1, 0, 44100, 1, PcmEncoding.F32LE, cs.get(1).pcm()), 0);
            h.processElement(new AudioChunk("s", 1, 0, 22050, 1, PcmEncoding.F32LE, new byte[] {1, 2, 3}), 0);
            for (int i = 1; i < cs.size(); i++) {
                h.processElement(cs.get(i), 0);
            }
            h.endInput();
            List<DeadLetter> dead = h.getSideOutput(AudioFeaturesOperator.DEAD_LETTERS).stream().map(StreamRecord::getValue).toList();
            assertEquals(2, dead.size());
            assertTrue(dead.get(0).reason().contains("44100") || dead.get(0).reason().toLowerCase().contains("rate"), dead.get(0).reason());
            assertEquals(run(cs, cs.size()).size(), h.extractOutputValues().size(), "the good chunks still give every frame");
        }
    }
}

package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AudioFrontEndTest {
    private static final int RATE = 44_100;
    private static final int CHANNELS = 2;
    private static final AudioFrontEndConfig CONFIG = AudioFrontEndConfig.speech16k();

    /** 1.2 s of stereo: a 440 Hz tone on the left, noise on the right. */
    private static float[] stereo() {
        float[] tone = Signals.sine(440, 0.4, RATE, RATE * 6 / 5);
        float[] noise = Signals.noise(17, tone.length, 0.2);
        float[] x = new float[tone.length * 2];
        for (int i = 0; i < tone.length; i++) {
            x[2 * i] = tone[i];
            x[2 * i + 1] = noise[i];
        }
        return x;
    }

    private static final byte[] PCM = PcmCodec.encode(PcmEncoding.S16LE, stereo());
    private static final int FRAME_BYTES = 2 * CHANNELS;

    private record Piece(long seq, byte[] bytes) {}

    private static List<Piece> pieces(long seed, int maxFrames) {
        List<Piece> out = new ArrayList<>();
        long seq = 0;
        for (int[] p : Signals.randomPieces(seed, PCM.length / FRAME_BYTES, maxFrames)) {
            out.add(new Piece(seq++, Arrays.copyOfRange(PCM, p[0] * FRAME_BYTES, (p[0] + p[1]) * FRAME_BYTES)));
        }
        return out;
    }

    private static List<FeatureFrame> feed(AudioFrontEnd fe, List<Piece> pieces) {
        List<FeatureFrame> out = new ArrayList<>();
        for (Piece p : pieces) {
            out.addAll(fe.acceptPcm(p.seq, RATE, CHANNELS, PcmEncoding.S16LE, p.bytes));
        }
        return out;
    }

    private static List<FeatureFrame> oneChunk(AudioFrontEndConfig config) {
        AudioFrontEnd fe = new AudioFrontEnd(config);
        List<FeatureFrame> out = new ArrayList<>(fe.acceptPcm(0, RATE, CHANNELS, PcmEncoding.S16LE, PCM));
        out.addAll(fe.flush());
        return out;
    }

    private static void assertSameFeatures(List<FeatureFrame> expected, List<FeatureFrame> actual) {
        assertEquals(expected.size(), actual.size(), "frame count");
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).frameIndex(), actual.get(i).frameIndex());
            assertEquals(expected.get(i).startSample(), actual.get(i).startSample());
            assertArrayEquals(expected.get(i).features(), actual.get(i).features(), "frame " + i);
        }
    }

    @Test
    void oneChunkGivesConsecutiveFramesOfTheResampledStream() {
        List<FeatureFrame> whole = oneChunk(CONFIG);
        long resampled = (long) Math.ceil(PCM.length / FRAME_BYTES * 16_000.0 / RATE); // 19200
        assertEquals((resampled - 400) / 160 + 1, whole.size());
        for (int k = 0; k < whole.size(); k++) {
            assertEquals(k, whole.get(k).frameIndex());
            assertEquals(160L * k, whole.get(k).startSample());
            assertEquals(80, whole.get(k).features().length);
        }
    }

    @Test
    void randomChunkBoundariesIncludingSingleSamplesGiveIdenticalFeatures() {
        List<FeatureFrame> whole = oneChunk(CONFIG);
        for (long seed = 1; seed <= 3; seed++) {
            AudioFrontEnd fe = new AudioFrontEnd(CONFIG);
            List<FeatureFrame> out = feed(fe, pieces(seed, seed == 1 ? 2 : 3_000));
            out.addAll(fe.flush());
            assertSameFeatures(whole, out);
        }
    }

    @Test
    void outOfOrderArrivalWithinTheBoundGivesIdenticalFeatures() {
        List<FeatureFrame> whole = oneChunk(CONFIG);
        List<Piece> pieces = pieces(4, 500);
        Random r = new Random(4);
        for (int b = 0; b + 8 <= pieces.size(); b += 8) {
            Collections.shuffle(pieces.subList(b, b + 8), r);
        }
        AudioFrontEnd fe = new AudioFrontEnd(CONFIG.withMaxBufferedChunks(8));
        List<FeatureFrame> out = feed(fe, pieces);
        out.addAll(fe.flush());
        assertSameFeatures(whole, out);
        assertEquals(0, fe.skippedSeqs());
        assertEquals(pieces.size(), fe.chunksEmitted());
    }

    @Test
    void snapshotAndRestoreMidStreamGiveIdenticalFeatures() {
        List<FeatureFrame> whole = oneChunk(CONFIG);
        List<Piece> pieces = pieces(5, 900);
        Collections.swap(pieces, 10, 12); // so some cuts fall while chunk 12 is held back
        Collections.swap(pieces, 40, 41);
        for (int cut : new int[] {0, 1, 11, 12, 40, pieces.size() / 2, pieces.size() - 1, pieces.size()}) {
            for (boolean viaBytes : new boolean[] {false, true}) {
                AudioFrontEnd first = new AudioFrontEnd(CONFIG);
                List<FeatureFrame> out = feed(first, pieces.subList(0, cut));
                AudioFrontEndState state = first.snapshot();
                if (viaBytes) {
                    byte[] bytes = state.toBytes();
                    AudioFrontEndState decoded = AudioFrontEndState.fromBytes(bytes);
                    assertEquals(state, decoded);
                    state = decoded;
                }
                AudioFrontEnd resumed = AudioFrontEnd.restore(CONFIG, state);
                assertEquals(state, resumed.snapshot());
                out.addAll(feed(resumed, pieces.subList(cut, pieces.size())));
                out.addAll(resumed.flush());
                assertSameFeatures(whole, out);
            }
        }
    }

    @Test
    void rawFramesAreTheMonoSamplesFramedWhenNoResamplingIsNeeded() {
        AudioFrontEndConfig raw = AudioFrontEndConfig.of(16_000, 320, 200, 320, 40, 0, 8_000, FeatureKind.RAW_FRAMES, 4)
                .withTail(TailPolicy.ZERO_PAD);
        float[] mono = Signals.noise(8, 3_000, 0.5);
        AudioFrontEnd fe = new AudioFrontEnd(raw);
        List<FeatureFrame> out = new ArrayList<>(fe.acceptSamples(0, 16_000, 1, Arrays.copyOf(mono, 1_000)));
        out.addAll(fe.acceptSamples(1, 16_000, 1, Arrays.copyOfRange(mono, 1_000, 3_000)));
        out.addAll(fe.flush());
        assertEquals(15, out.size()); // starts 0, 200, ..., 2800; the last four are zero-padded
        for (FeatureFrame f : out) {
            float[] expected = new float[320];
            int start = (int) f.startSample();
            System.arraycopy(mono, start, expected, 0, Math.min(320, mono.length - start));
            assertArrayEquals(expected, f.features(), "frame " + f.frameIndex());
        }
    }

    @Test
    void floatAndF32lePcmInputsAgree() {
        float[] x = stereo();
        AudioFrontEnd a = new AudioFrontEnd(CONFIG);
        AudioFrontEnd b = new AudioFrontEnd(CONFIG);
        List<FeatureFrame> fa = new ArrayList<>(a.acceptSamples(0, RATE, 2, x));
        fa.addAll(a.flush());
        List<FeatureFrame> fb = new ArrayList<>(b.acceptPcm(0, RATE, 2, PcmEncoding.F32LE, PcmCodec.encode(PcmEncoding.F32LE, x)));
        fb.addAll(b.flush());
        assertSameFeatures(fa, fb);
    }

    @Test
    void aToneThroughTheWholeChainPeaksInTheNearestMelFilter() {
        float[] tone = Signals.sine(1_000, 0.5, 48_000, 48_000);
        AudioFrontEnd fe = new AudioFrontEnd(CONFIG);
        List<FeatureFrame> out = fe.acceptSamples(0, 48_000, 1, tone);
        double[] centres = new MelFilterbank(16_000, 400, 80, 0, 8_000, MelScale.HTK, MelNorm.NONE).centreFrequencies();
        int nearest = 0;
        for (int m = 0; m < centres.length; m++) {
            if (Math.abs(centres[m] - 1_000) < Math.abs(centres[nearest] - 1_000)) {
                nearest = m;
            }
        }
        float[] mid = out.get(out.size() / 2).features();
        int peak = 0;
        for (int m = 0; m < mid.length; m++) {
            if (mid[m] > mid[peak]) {
                peak = m;
            }
        }
        assertEquals(nearest, peak);
    }

    @Test
    void aChunkWithAnotherSampleRateIsRefusedAndChangesNothing() {
        AudioFrontEnd fe = new AudioFrontEnd(CONFIG);
        fe.acceptPcm(0, RATE, 2, PcmEncoding.S16LE, new byte[400]);
        AudioFrontEndState before = fe.snapshot();
        SampleRateMismatchException e = assertThrows(SampleRateMismatchException.class,
                () -> fe.acceptPcm(1, 48_000, 2, PcmEncoding.S16LE, new byte[400]));
        assertEquals("chunk seq 1: sample rate 48000 Hz differs from the stream's 44100 Hz set by its first chunk",
                e.getMessage());
        assertEquals(before, fe.snapshot());
        fe.acceptPcm(1, RATE, 2, PcmEncoding.S16LE, new byte[400]); // the right chunk 1 is still welcome
        assertEquals(2, fe.chunksEmitted());
    }

    @Test
    void malformedChunksAreRefusedAndChangeNothing() {
        AudioFrontEnd fe = new AudioFrontEnd(CONFIG);
        fe.acceptPcm(0, RATE, 2, PcmEncoding.S16LE, new byte[400]);
        AudioFrontEndState before = fe.snapshot();
        AudioFormatException e = assertThrows(AudioFormatException.class,
                () -> fe.acceptPcm(1, RATE, 2, PcmEncoding.S16LE, new byte[3]));
        assertEquals("chunk seq 1: PCM payload of 3 bytes is not a whole number of frames (s16le, 2 channel(s): "
                + "4 bytes per frame)", e.getMessage());
        e = assertThrows(AudioFormatException.class, () -> fe.acceptPcm(2, 0, 2, PcmEncoding.S16LE, new byte[4]));
        assertEquals("chunk seq 2: sample rate 0 Hz is outside 1000..384000 Hz", e.getMessage());
        e = assertThrows(AudioFormatException.class, () -> fe.acceptSamples(-1, RATE, 2, new float[2]));
        assertEquals("chunk seq -1: seq must not be negative", e.getMessage());
        assertEquals(before, fe.snapshot());

        AudioFrontEnd odd = new AudioFrontEnd(CONFIG);
        e = assertThrows(AudioFormatException.class, () -> odd.acceptSamples(0, 383_999, 1, new float[4]));
        assertTrue(e.getMessage().startsWith("chunk seq 0: resampling 383999 Hz to 16000 Hz needs about"), e.getMessage());
        assertEquals(0, odd.sourceRate());
    }

    @Test
    void countsDuplicatesAndSkippedGaps() {
        AudioFrontEnd fe = new AudioFrontEnd(CONFIG.withMaxBufferedChunks(1));
        byte[] chunk = new byte[FRAME_BYTES * 100];
        fe.acceptPcm(0, RATE, 2, PcmEncoding.S16LE, chunk);
        fe.acceptPcm(0, RATE, 2, PcmEncoding.S16LE, chunk);
        fe.acceptPcm(0, 48_000, 2, PcmEncoding.S16LE, new byte[1]); // a duplicate is dropped before any check
        assertEquals(2, fe.duplicateChunks());
        fe.acceptPcm(3, RATE, 2, PcmEncoding.S16LE, chunk);
        assertEquals(1, fe.bufferedChunks());
        fe.acceptPcm(5, RATE, 2, PcmEncoding.S16LE, chunk); // overflow: give up on 1, 2
        assertEquals(2, fe.skippedSeqs());
        fe.flush(); // gives up on 4
        assertEquals(3, fe.skippedSeqs());
        assertEquals(3, fe.chunksEmitted());
        assertEquals(0, fe.bufferedChunks());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> fe.acceptPcm(6, RATE, 2, PcmEncoding.S16LE, chunk));
        assertEquals("chunk seq 6 after the end of the stream (flush() was called)", e.getMessage());
        assertEquals(List.of(), fe.flush());
    }

    @Test
    void validatesTheConfiguration() {
        assertEquals("target sample rate 0 Hz is outside 1000..384000 Hz", configError(0, 400, 160, 400, 0, 8_000, 8));
        assertEquals("n_fft must be in win_length (400)..1048576, got 256", configError(16_000, 400, 160, 256, 0, 8_000, 8));
        assertEquals("fmax must be in (fmin 0.0, Nyquist 8000.0] Hz at 16000 Hz, got 9000.0",
                configError(16_000, 400, 160, 400, 0, 9_000, 8));
        assertEquals("fmin must be in [0, 8000.0) Hz, got -1.0", configError(16_000, 400, 160, 400, -1, 8_000, 8));
        assertEquals("hop must be in 1..1048576, got 0", configError(16_000, 400, 0, 400, 0, 8_000, 8));
        assertEquals("win_length must be in 1..1048576, got 0", configError(16_000, 0, 160, 400, 0, 8_000, 8));
        assertEquals("maxBufferedChunks must be in 0..65536, got -1", configError(16_000, 400, 160, 400, 0, 8_000, -1));
        assertEquals("fmax must be in (fmin 0.0, Nyquist 8000.0] Hz at 16000 Hz, got NaN",
                configError(16_000, 400, 160, 400, 0, Double.NaN, 8));
    }

    private static String configError(int rate, int win, int hop, int nFft, double fmin, double fmax, int buffered) {
        return assertThrows(IllegalArgumentException.class,
                () -> AudioFrontEndConfig.of(rate, win, hop, nFft, 80, fmin, fmax, FeatureKind.LOG_MEL, buffered))
                .getMessage();
    }

    @Test
    void refusesSnapshotsThatDoNotFitTheConfigOrAreCorrupt() {
        AudioFrontEnd fe = new AudioFrontEnd(CONFIG);
        fe.acceptPcm(0, RATE, 2, PcmEncoding.S16LE, new byte[4_000]);
        AudioFrontEndState state = fe.snapshot();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AudioFrontEnd.restore(
                AudioFrontEndConfig.of(16_000, 512, 160, 512, 80, 0, 8_000, FeatureKind.LOG_MEL, 64), state));
        assertTrue(e.getMessage().startsWith("snapshot framing (win_length 400"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AudioFrontEnd.restore(
                CONFIG.withResamplerFilter(ResamplerFilter.TORCHAUDIO_DEFAULT), state));
        assertTrue(e.getMessage().startsWith("snapshot resampler"), e.getMessage());

        byte[] bytes = state.toBytes();
        e = assertThrows(IllegalArgumentException.class, () -> AudioFrontEndState.fromBytes(Arrays.copyOf(bytes, 30)));
        assertTrue(e.getMessage().startsWith("truncated audio front-end state"), e.getMessage());
        byte[] bad = bytes.clone();
        bad[0] = 'X';
        assertThrows(IllegalArgumentException.class, () -> AudioFrontEndState.fromBytes(bad));
        Random r = new Random(3);
        for (int i = 0; i < 2_000; i++) {
            byte[] fuzz = bytes.clone();
            fuzz[8 + r.nextInt(fuzz.length - 8)] = (byte) r.nextInt(256);
            try {
                AudioFrontEndState.fromBytes(fuzz);
            } catch (IllegalArgumentException expected) {
                // corrupt encodings fail with a message, never with an OutOfMemoryError or a hang
            }
        }
    }
}

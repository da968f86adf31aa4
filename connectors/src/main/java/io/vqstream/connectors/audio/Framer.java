package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Cuts a sample stream into frames of {@code winLength} samples every {@code hop} samples:
 *
 * <pre>
 *   frame k = x[k * hop, k * hop + winLength)
 * </pre>
 *
 * The first frame starts at sample 0; there is no centre padding (as {@code torch.stft} with
 * {@code center=False}), so frame k is centred on sample {@code k * hop + winLength / 2}. The
 * samples of the next, incomplete frame are carried across chunks in the state. When
 * {@code hop > winLength} the samples between frames are skipped. What happens at the end of
 * the stream is set by {@link TailPolicy}. No window is applied here.
 *
 * <p>Not thread-safe: one instance per stream.
 */
@Internal
public final class Framer {
    /** One frame: its index, the index of its first sample, and its samples. */
    public record Frame(long index, long startSample, float[] samples) {}

    private final int winLength;
    private final int hop;
    private final TailPolicy tail;
    private float[] pending;
    private long consumed;
    private long emitted;
    private boolean flushed;

    public Framer(int winLength, int hop, TailPolicy tail) {
        this(new FramerState(winLength, hop, tail, new float[0], 0, 0, false));
    }

    private Framer(FramerState s) {
        this.winLength = s.winLength();
        this.hop = s.hop();
        this.tail = s.tail();
        this.pending = s.pending();
        this.consumed = s.samplesConsumed();
        this.emitted = s.framesEmitted();
        this.flushed = s.flushed();
    }

    /** Continues the stream a snapshot was taken of. */
    public static Framer restore(FramerState state) {
        return new Framer(Objects.requireNonNull(state, "state"));
    }

    public FramerState snapshot() {
        return new FramerState(winLength, hop, tail, pending, consumed, emitted, flushed);
    }

    static void checkGeometry(int winLength, int hop) {
        if (winLength < 1) {
            throw new IllegalArgumentException("win_length must be at least 1, got " + winLength);
        }
        if (hop < 1) {
            throw new IllegalArgumentException("hop must be at least 1, got " + hop);
        }
    }

    /** Feeds samples; returns the frames they complete, in order. */
    public List<Frame> push(float[] samples) {
        return push(samples, 0, samples.length);
    }

    /** Feeds {@code length} samples from {@code offset}; returns the frames they complete, in order. */
    public List<Frame> push(float[] samples, int offset, int length) {
        Objects.requireNonNull(samples, "samples");
        Objects.checkFromIndexSize(offset, length, samples.length);
        if (flushed) {
            throw new IllegalStateException("framer already flushed: the stream has ended");
        }
        long bufStart = consumed - pending.length;
        long nextStart = emitted * hop;
        // Samples before the next frame start fall in a gap between frames (hop > winLength).
        int skip = (int) Math.max(0, Math.min(length, nextStart - consumed));
        float[] buf = Arrays.copyOf(pending, pending.length + length - skip);
        System.arraycopy(samples, offset + skip, buf, pending.length, length - skip);
        if (pending.length == 0) {
            bufStart = consumed + skip;
        }
        consumed += length;

        List<Frame> frames = new ArrayList<>();
        while (nextStart + winLength <= consumed) {
            int at = (int) (nextStart - bufStart);
            frames.add(new Frame(emitted, nextStart, Arrays.copyOfRange(buf, at, at + winLength)));
            emitted++;
            nextStart += hop;
        }
        int keepFrom = (int) Math.min(buf.length, Math.max(0, nextStart - bufStart));
        pending = Arrays.copyOfRange(buf, keepFrom, buf.length);
        return frames;
    }

    /** Ends the stream, emitting zero-padded tail frames if the policy asks for them. */
    public List<Frame> flush() {
        if (flushed) {
            return List.of();
        }
        flushed = true;
        List<Frame> frames = new ArrayList<>();
        if (tail == TailPolicy.ZERO_PAD) {
            long bufStart = consumed - pending.length;
            long nextStart = emitted * hop;
            long covered = emitted == 0 ? 0 : (emitted - 1) * hop + winLength;
            while (covered < consumed && nextStart < consumed) {
                int at = (int) (nextStart - bufStart);
                float[] f = new float[winLength];
                System.arraycopy(pending, at, f, 0, pending.length - at);
                frames.add(new Frame(emitted, nextStart, f));
                emitted++;
                covered = nextStart + winLength;
                nextStart += hop;
            }
        }
        pending = new float[0];
        return frames;
    }

    public int winLength() {
        return winLength;
    }

    public int hop() {
        return hop;
    }

    public TailPolicy tail() {
        return tail;
    }

    /** Samples received so far. */
    public long samplesConsumed() {
        return consumed;
    }

    /** Frames produced so far. */
    public long framesEmitted() {
        return emitted;
    }
}

package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.Arrays;
import java.util.Objects;

/**
 * Immutable snapshot of a {@link Framer}.
 *
 * @param winLength       frame length in samples
 * @param hop             frame step in samples
 * @param tail            end-of-stream policy
 * @param pending         samples from the start of the next frame to the last sample received
 *                        (fewer than {@code winLength}); copied in and out
 * @param samplesConsumed samples received so far
 * @param framesEmitted   frames produced so far (the index of the next one)
 * @param flushed         true once the end of the stream has been processed
 */
@Internal
public record FramerState(
        int winLength,
        int hop,
        TailPolicy tail,
        float[] pending,
        long samplesConsumed,
        long framesEmitted,
        boolean flushed) {

    public FramerState {
        Objects.requireNonNull(tail, "tail");
        pending = Objects.requireNonNull(pending, "pending").clone();
        Framer.checkGeometry(winLength, hop);
        if (samplesConsumed < 0 || framesEmitted < 0) {
            throw new IllegalArgumentException("negative counter in framer state");
        }
        if (framesEmitted > Long.MAX_VALUE / hop) {
            throw new IllegalArgumentException("framer state: framesEmitted " + framesEmitted + " * hop " + hop + " overflows");
        }
        long nextStart = framesEmitted * hop;
        long expected = flushed ? 0 : Math.max(0, samplesConsumed - nextStart);
        if (pending.length != expected) {
            throw new IllegalArgumentException("framer state holds " + pending.length + " pending samples, expected "
                    + expected + " (consumed " + samplesConsumed + ", next frame at " + nextStart + ")");
        }
        if (!flushed && pending.length >= winLength) {
            throw new IllegalArgumentException("framer state holds a complete unemitted frame");
        }
    }

    @Override
    public float[] pending() {
        return pending.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FramerState s && winLength == s.winLength && hop == s.hop && tail == s.tail
                && Arrays.equals(pending, s.pending) && samplesConsumed == s.samplesConsumed
                && framesEmitted == s.framesEmitted && flushed == s.flushed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(winLength, hop, tail, Arrays.hashCode(pending), samplesConsumed, framesEmitted, flushed);
    }

    @Override
    public String toString() {
        return "FramerState[winLength=" + winLength + ", hop=" + hop + ", tail=" + tail + ", pending="
                + pending.length + " samples, samplesConsumed=" + samplesConsumed + ", framesEmitted=" + framesEmitted
                + ", flushed=" + flushed + "]";
    }
}

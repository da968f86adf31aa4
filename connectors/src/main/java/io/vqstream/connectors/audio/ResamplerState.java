package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.Arrays;
import java.util.Objects;

/**
 * Immutable snapshot of a {@link StreamingResampler}.
 *
 * @param sourceRate      input sample rate
 * @param targetRate      output sample rate
 * @param filter          interpolation kernel
 * @param inputsConsumed  input samples received so far
 * @param outputsEmitted  output samples produced so far (the index of the next one)
 * @param historyStart    absolute input index of {@code history[0]}
 * @param history         the input samples still needed by future outputs
 *                        ({@code inputsConsumed - historyStart} of them); copied in and out
 * @param flushed         true once the end of the stream has been processed
 */
@Internal
public record ResamplerState(
        int sourceRate,
        int targetRate,
        ResamplerFilter filter,
        long inputsConsumed,
        long outputsEmitted,
        long historyStart,
        float[] history,
        boolean flushed) {

    public ResamplerState {
        Objects.requireNonNull(filter, "filter");
        history = Objects.requireNonNull(history, "history").clone();
        if (inputsConsumed < 0 || outputsEmitted < 0 || historyStart < 0) {
            throw new IllegalArgumentException("negative counter in resampler state");
        }
        if (historyStart + history.length != inputsConsumed) {
            throw new IllegalArgumentException("resampler history [" + historyStart + ", " + (historyStart + history.length)
                    + ") does not end at inputsConsumed " + inputsConsumed);
        }
    }

    @Override
    public float[] history() {
        return history.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResamplerState s && sourceRate == s.sourceRate && targetRate == s.targetRate
                && filter.equals(s.filter) && inputsConsumed == s.inputsConsumed && outputsEmitted == s.outputsEmitted
                && historyStart == s.historyStart && Arrays.equals(history, s.history) && flushed == s.flushed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(sourceRate, targetRate, filter, inputsConsumed, outputsEmitted, historyStart,
                Arrays.hashCode(history), flushed);
    }

    @Override
    public String toString() {
        return "ResamplerState[" + sourceRate + " Hz -> " + targetRate + " Hz, " + filter + ", inputsConsumed="
                + inputsConsumed + ", outputsEmitted=" + outputsEmitted + ", historyStart=" + historyStart
                + ", history=" + history.length + " samples, flushed=" + flushed + "]";
    }
}

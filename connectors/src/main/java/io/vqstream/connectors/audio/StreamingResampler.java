package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.util.Arrays;
import java.util.Objects;

/**
 * Converts a sample stream from one rate to another, chunk by chunk, with the band-limited
 * windowed-sinc interpolator described in {@link ResamplerFilter} (torchaudio's
 * {@code resample} kernel, evaluated as a polyphase filter).
 *
 * <p>Output sample {@code n} sits at input time {@code n * sourceRate / targetRate} and is
 * emitted as soon as every input its kernel reads has arrived; it is always the same dot
 * product of the same coefficients with the same inputs, summed in the same order in double
 * precision, so the output is bit for bit the same whatever the chunk boundaries are and across
 * {@link #snapshot()} / {@link #restore(ResamplerState)}. Inputs before the stream start count
 * as zeros; {@link #flush()} treats inputs after the end as zeros and emits outputs up to
 * {@code ceil(inputs * targetRate / sourceRate)}, the length {@code torchaudio.functional.resample}
 * returns for the whole signal. Equal rates pass samples through unchanged.
 *
 * <p>Not thread-safe: one instance per stream.
 */
@Internal
public final class StreamingResampler {
    private final int sourceRate;
    private final int targetRate;
    private final ResamplerFilter filter;
    private final PolyphaseTable table; // null when the rates are equal
    private long consumed;
    private long emitted;
    private long historyStart;
    private float[] history;
    private boolean flushed;

    /** A resampler with torchaudio's default kernel ({@link ResamplerFilter#TORCHAUDIO_DEFAULT}). */
    public StreamingResampler(int sourceRate, int targetRate) {
        this(sourceRate, targetRate, ResamplerFilter.TORCHAUDIO_DEFAULT);
    }

    public StreamingResampler(int sourceRate, int targetRate, ResamplerFilter filter) {
        this(new ResamplerState(sourceRate, targetRate, filter, 0, 0, 0, new float[0], false));
    }

    private StreamingResampler(ResamplerState s) {
        checkRate("source", s.sourceRate());
        checkRate("target", s.targetRate());
        this.sourceRate = s.sourceRate();
        this.targetRate = s.targetRate();
        this.filter = s.filter();
        this.table = sourceRate == targetRate ? null : PolyphaseTable.of(sourceRate, targetRate, filter);
        this.consumed = s.inputsConsumed();
        this.emitted = s.outputsEmitted();
        this.historyStart = s.historyStart();
        this.history = s.history();
        this.flushed = s.flushed();
        if (table != null && historyStart > Math.min(consumed, Math.max(0, firstNeeded(emitted)))) {
            throw new IllegalArgumentException("resampler snapshot lacks input " + firstNeeded(emitted)
                    + " needed by output " + emitted + " (history starts at " + historyStart + ")");
        }
        if (table == null && history.length > 0) {
            throw new IllegalArgumentException("a pass-through resampler snapshot holds no history");
        }
    }

    /** Continues the stream a snapshot was taken of. */
    public static StreamingResampler restore(ResamplerState state) {
        return new StreamingResampler(Objects.requireNonNull(state, "state"));
    }

    public ResamplerState snapshot() {
        return new ResamplerState(sourceRate, targetRate, filter, consumed, emitted, historyStart, history, flushed);
    }

    /** Feeds a whole chunk; returns the output samples it completes (possibly none). */
    public float[] process(float[] input) {
        return process(input, 0, input.length);
    }

    /** Feeds {@code length} samples of {@code input} from {@code offset}; returns the outputs completed. */
    public float[] process(float[] input, int offset, int length) {
        Objects.requireNonNull(input, "input");
        Objects.checkFromIndexSize(offset, length, input.length);
        if (flushed) {
            throw new IllegalStateException("resampler already flushed: the stream has ended");
        }
        if (table == null) {
            consumed += length;
            emitted += length;
            historyStart = consumed;
            return Arrays.copyOfRange(input, offset, offset + length);
        }
        float[] joined = Arrays.copyOf(history, history.length + length);
        System.arraycopy(input, offset, joined, history.length, length);
        history = joined;
        consumed += length;
        return emit(Long.MAX_VALUE);
    }

    /** Ends the stream: emits the outputs that read past the last input, with zeros there. */
    public float[] flush() {
        if (flushed) {
            return new float[0];
        }
        flushed = true;
        if (table == null) {
            return new float[0];
        }
        long total = Math.floorDiv(Math.addExact(Math.multiplyExact(consumed, (long) table.neu), table.orig - 1), table.orig);
        return emit(total);
    }

    /** Emits every output below {@code limit} whose inputs are all present (or, once flushed, past the end). */
    private float[] emit(long limit) {
        int neu = table.neu;
        int orig = table.orig;
        long n = emitted;
        int count = 0;
        float[] out = new float[16];
        while (n < limit) {
            long f = n / neu;
            int j = (int) (n - f * neu);
            float[] c = table.coefficients[j];
            long first = f * orig + table.firstOffset[j];
            if (!flushed && first + c.length > consumed) {
                break;
            }
            double acc = 0;
            if (first >= historyStart && first + c.length <= consumed) {
                int base = (int) (first - historyStart);
                for (int k = 0; k < c.length; k++) {
                    acc += c[k] * (double) history[base + k];
                }
            } else { // reads zeros before the start or, once flushed, after the end
                for (int k = 0; k < c.length; k++) {
                    long i = first + k;
                    if (i >= 0 && i < consumed) {
                        acc += c[k] * (double) history[(int) (i - historyStart)];
                    }
                }
            }
            if (count == out.length) {
                out = Arrays.copyOf(out, count * 2);
            }
            out[count++] = (float) acc;
            n++;
        }
        emitted = n;
        trimHistory();
        return count == out.length ? out : Arrays.copyOf(out, count);
    }

    /** Drops inputs that no later output reads. */
    private void trimHistory() {
        long keepFrom = Math.min(consumed, Math.max(historyStart, firstNeeded(emitted)));
        if (keepFrom > historyStart) {
            history = Arrays.copyOfRange(history, (int) (keepFrom - historyStart), history.length);
            historyStart = keepFrom;
        }
    }

    /** Lowest input index any output from {@code n} on may read (may be negative: leading zeros). */
    private long firstNeeded(long n) {
        return (n / table.neu) * table.orig + table.minOffset;
    }

    private static void checkRate(String which, int rate) {
        if (!SampleRates.isValid(rate)) {
            throw new IllegalArgumentException(SampleRates.outOfRange(which + " sample rate", rate));
        }
    }

    public int sourceRate() {
        return sourceRate;
    }

    public int targetRate() {
        return targetRate;
    }

    public ResamplerFilter filter() {
        return filter;
    }

    /** Input samples received so far. */
    public long inputsConsumed() {
        return consumed;
    }

    /** Output samples produced so far. */
    public long outputsEmitted() {
        return emitted;
    }
}

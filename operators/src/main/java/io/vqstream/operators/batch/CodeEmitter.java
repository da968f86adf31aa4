package io.vqstream.operators.batch;

import org.apache.flink.annotation.Internal;

import io.vqstream.core.quantize.QuantizerOutput;
import io.vqstream.operators.metrics.QuantizerMetrics;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.VectorRecord;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;
import org.apache.flink.streaming.api.operators.Output;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Turns one backend call's output into one {@link CodeRecord} per input record, in input order,
 * each stamped with the codebook version that produced it; feeds the batch metrics. Shared by
 * both codebook scopes.
 *
 * <pre>
 * error = ‖x − x̂‖² / dim   (when requested and the quantizer yields x̂)
 * </pre>
 */
@Internal
public final class CodeEmitter {
    private final int codesPerToken;
    private final int dim;
    private final boolean emitQuantized;
    private final boolean emitError;
    private final QuantizerMetrics metrics;

    public CodeEmitter(int codesPerToken, int dim, boolean emitQuantized, boolean emitError, QuantizerMetrics metrics) {
        this.codesPerToken = codesPerToken;
        this.dim = dim;
        this.emitQuantized = emitQuantized;
        this.emitError = emitError;
        this.metrics = metrics;
    }

    /**
     * Emits the code records of {@code batch[from..]}. {@code out} (and {@code top}) hold one row
     * per unmasked record of the whole batch, in order ({@code out} may be null when every record
     * is masked). A masked record gets code −1 everywhere, no quantized vector and no error, and
     * is left out of the usage metrics. A record whose output is not finite (a finite input too
     * large for float32) goes to {@code deadLetters} instead.
     */
    public void emit(Output<StreamRecord<CodeRecord>> output, List<VectorRecord> batch, int from, QuantizerOutput out, long version,
                     QuantizerOutput top, BiConsumer<VectorRecord, String> deadLetters) {
        int cpt = codesPerToken;
        long[] codes = out == null ? null : out.indices().data();
        // RandomProjectionQuantizer yields codes only: no quantized vector, no error
        float[] q = out == null || out.quantized() == null ? null : out.quantized().data();
        int k = top == null ? 0 : top.indices().dim(-1);
        int row = 0;
        for (int t = 0; t < from; t++) {
            row += batch.get(t).mask() ? 1 : 0;
        }
        int real = 0;
        for (int t = from; t < batch.size(); t++) {
            real += batch.get(t).mask() ? 1 : 0;
        }
        // one tight pass over the whole output; the per-record search for the culprit only when it found one
        boolean allFinite = q == null || allFinite(q);
        long[] emittedCodes = new long[real * cpt];
        float[] errors = emitError && q != null ? new float[real] : null;
        int count = 0;
        for (int t = from; t < batch.size(); t++) {
            VectorRecord r = batch.get(t);
            long[] c = new long[cpt];
            if (!r.mask()) {
                Arrays.fill(c, -1L);
                output.collect(new StreamRecord<>(new CodeRecord(r.key(), r.seq(), r.eventTime(), c, version, null, Float.NaN,
                        r.attributes()), r.eventTime()));
                continue;
            }
            int thisRow = row++;
            String nonFinite = allFinite ? null : nonFiniteOutput(q, thisRow, dim);
            if (nonFinite != null) {
                deadLetters.accept(r, nonFinite);
                continue;
            }
            System.arraycopy(codes, thisRow * cpt, c, 0, cpt);
            float[] qv = null;
            if (emitQuantized && q != null) {
                qv = new float[dim];
                System.arraycopy(q, thisRow * dim, qv, 0, dim);
            }
            float err = Float.NaN;
            if (errors != null) {
                double s = 0;
                float[] v = r.vector();
                int o = thisRow * dim;
                for (int e = 0; e < dim; e++) {
                    double d = (double) v[e] - q[o + e];
                    s += d * d;
                }
                err = (float) (s / dim);
                if (!Float.isFinite(err)) {
                    deadLetters.accept(r, "non-finite quantization error " + err
                            + " (the vector or the codebook holds values too large for float32)");
                    continue;
                }
                errors[count] = err;
            }
            System.arraycopy(c, 0, emittedCodes, count * cpt, cpt);
            long[] topCodes = null;
            float[] topDist = null;
            if (top != null) {
                topCodes = Arrays.copyOfRange(top.indices().data(), thisRow * cpt * k, (thisRow + 1) * cpt * k);
                topDist = Arrays.copyOfRange(top.distances().data(), thisRow * cpt * k, (thisRow + 1) * cpt * k);
            }
            count++;
            output.collect(new StreamRecord<>(new CodeRecord(r.key(), r.seq(), r.eventTime(), c, version, qv, err, r.attributes(),
                    topCodes, topDist), r.eventTime()));
        }
        if (count > 0) {
            metrics.batch(count * cpt == emittedCodes.length ? emittedCodes : Arrays.copyOf(emittedCodes, count * cpt), count,
                    errors == null || count == errors.length ? errors : Arrays.copyOf(errors, count));
        }
    }

    /**
     * True when every value is finite. A value is not when its exponent bits are all ones; adding
     * one unit to the exponent field then carries into the sign bit:
     * <pre>
     *   any non-finite ⇔ OR over i of ((bits_i &amp; 0x7F800000) + 0x00800000) has bit 31 set
     * </pre>
     * (a branch-free reduction the JIT can vectorise, unlike a loop that stops at the first).
     */
    static boolean allFinite(float[] q) {
        int any = 0;
        for (float x : q) {
            any |= (Float.floatToRawIntBits(x) & 0x7F800000) + 0x00800000;
        }
        return any >= 0;
    }

    /** Why a record's quantized output cannot be emitted (a non-finite value), or null. */
    private static String nonFiniteOutput(float[] q, int row, int dim) {
        if (q != null) {
            for (int e = 0; e < dim; e++) {
                if (!Float.isFinite(q[row * dim + e])) {
                    return "non-finite quantized value " + q[row * dim + e] + " at index " + e
                            + " (the vector or the codebook holds values too large for float32)";
                }
            }
        }
        return null;
    }
}

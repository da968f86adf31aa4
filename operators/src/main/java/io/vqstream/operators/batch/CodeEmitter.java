package io.vqstream.operators.batch;

import io.vqstream.core.quantize.QuantizerOutput;
import io.vqstream.operators.metrics.QuantizerMetrics;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.VectorRecord;
import java.util.List;
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

    /** Emits the codes of {@code batch[from..]}, whose rows are {@code out}'s rows {@code from..}. */
    public void emit(Output<StreamRecord<CodeRecord>> output, List<VectorRecord> batch, int from, QuantizerOutput out, long version) {
        int cpt = codesPerToken;
        long[] codes = out.indices().data();
        // RandomProjectionQuantizer yields codes only: no quantized vector, no error
        float[] q = out.quantized() == null ? null : out.quantized().data();
        int count = batch.size() - from;
        float[] errors = emitError && q != null ? new float[count] : null;
        for (int t = from; t < batch.size(); t++) {
            VectorRecord r = batch.get(t);
            long[] c = new long[cpt];
            System.arraycopy(codes, t * cpt, c, 0, cpt);
            float[] qv = null;
            if (emitQuantized && q != null) {
                qv = new float[dim];
                System.arraycopy(q, t * dim, qv, 0, dim);
            }
            float err = Float.NaN;
            if (errors != null) {
                double s = 0;
                float[] v = r.vector();
                int o = t * dim;
                for (int e = 0; e < dim; e++) {
                    double d = (double) v[e] - q[o + e];
                    s += d * d;
                }
                err = (float) (s / dim);
                errors[t - from] = err;
            }
            output.collect(new StreamRecord<>(new CodeRecord(r.key(), r.seq(), r.eventTime(), c, version, qv, err, r.attributes()),
                    r.eventTime()));
        }
        if (count > 0) {
            metrics.batch(from == 0 && codes.length == count * cpt ? codes : java.util.Arrays.copyOfRange(codes, from * cpt, batch.size() * cpt),
                    count, errors);
        }
    }
}

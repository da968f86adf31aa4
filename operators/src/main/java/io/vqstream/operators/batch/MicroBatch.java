package io.vqstream.operators.batch;

import org.apache.flink.annotation.Internal;

import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.VectorCheck;
import io.vqstream.operators.record.VectorRecord;
import java.util.List;

/** Packing a micro-batch's records into the (n, 1, dim) token tensor one backend call takes. */
@Internal
public final class MicroBatch {
    private MicroBatch() {}

    /**
     * The vectors of {@code records} as rows of one tensor.
     *
     * @throws IllegalStateException for a record of another dimension (only possible for records
     *                               buffered before a restore under another quantizer)
     */
    public static Tensor tokens(List<VectorRecord> records, int dim, String quantizerType) {
        float[] x = new float[records.size() * dim];
        for (int i = 0; i < records.size(); i++) {
            float[] v = records.get(i).vector();
            if (v.length != dim) {
                throw new IllegalStateException("key '" + records.get(i).key() + "' has a buffered record of dimension " + v.length
                        + " but the configured " + quantizerType + " expects " + dim
                        + "; the quantizer configuration changed incompatibly since the checkpoint or savepoint was taken");
            }
            System.arraycopy(v, 0, x, i * dim, dim);
        }
        return new Tensor(x, records.size(), 1, dim);
    }

    /** Why a record cannot be quantized (null when it can): a missing key or vector, a wrong dimension, a non-finite value. */
    public static String problem(VectorRecord r, int dim) {
        if (r.key() == null) {
            return "missing key";
        }
        float[] v = r.vector();
        if (v == null) {
            return "missing vector";
        }
        return VectorCheck.problem(v, dim);
    }

    /** The records of {@code records} that take part (the reference's mask is true), in order. */
    public static List<VectorRecord> unmasked(List<VectorRecord> records) {
        List<VectorRecord> l = new java.util.ArrayList<>(records.size());
        for (VectorRecord r : records) {
            if (r.mask()) {
                l.add(r);
            }
        }
        return l;
    }
}

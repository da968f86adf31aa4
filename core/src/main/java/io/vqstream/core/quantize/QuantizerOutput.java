package io.vqstream.core.quantize;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one forward call returns, under the names the reference (and the conformance cases)
 * use: {@code quantized}, {@code indices}, {@code loss} or {@code losses}, loss breakdowns
 * ({@code commit_loss}, {@code per_sample_entropy}, ...), {@code all_codes}, and in training
 * the intermediate states ({@code kmeans.means}, {@code pre_expiry.embed}, {@code expired}).
 */
@PublicEvolving
public final class QuantizerOutput {
    private final Map<String, Tensor> floats = new LinkedHashMap<>();
    private final Map<String, LongTensor> longs = new LinkedHashMap<>();

    public QuantizerOutput put(String name, Tensor t) {
        floats.put(name, t);
        return this;
    }

    public QuantizerOutput put(String name, LongTensor t) {
        longs.put(name, t);
        return this;
    }

    public QuantizerOutput putScalar(String name, float v) {
        return put(name, Tensor.scalar(v).reshape());
    }

    public Tensor quantized() {
        return floats.get("quantized");
    }

    public LongTensor indices() {
        return longs.get("indices");
    }

    public Tensor floatOrNull(String name) {
        return floats.get(name);
    }

    public LongTensor longOrNull(String name) {
        return longs.get(name);
    }

    public Map<String, Tensor> floats() {
        return floats;
    }

    public Map<String, LongTensor> longs() {
        return longs;
    }

    /** The total loss as one number (sum of {@code losses} when only per-layer losses exist). */
    public float totalLoss() {
        Tensor l = floats.get("loss");
        if (l != null) {
            return l.data()[0];
        }
        Tensor ls = floats.get("losses");
        if (ls == null) {
            ls = floats.get("aux_loss");
        }
        if (ls == null) {
            return 0f;
        }
        float s = 0;
        for (float v : ls.data()) {
            s += v;
        }
        return s;
    }
}

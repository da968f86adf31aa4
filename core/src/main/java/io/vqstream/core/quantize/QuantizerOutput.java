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
    /**
     * The outputs every caller may rely on, each with the reference's name and the kind of tensor
     * it holds; quantizers put them and callers read them through these names only. Intermediate
     * training states ({@code kmeans.means}, {@code pre_expiry.embed}, ...) keep their dotted
     * names and are read by name.
     */
    public enum Name {
        QUANTIZED("quantized", false),
        INDICES("indices", true),
        LEVEL_INDICES("level_indices", true),
        ALL_CODES("all_codes", false),
        DISTANCES("distances", false),
        LOSS("loss", false),
        LOSSES("losses", false),
        COMMIT_LOSS("commit_loss", false),
        COMMITMENT("commitment", false),
        AUX_LOSS("aux_loss", false),
        PER_SAMPLE_ENTROPY("per_sample_entropy", false),
        BATCH_ENTROPY("batch_entropy", false),
        CODEBOOK_DIVERSITY_LOSS("codebook_diversity_loss", false),
        ORTHOGONAL_REG_LOSS("orthogonal_reg_loss", false),
        NORM_LOSS("norm_loss", false),
        P_ACCEPT_PROB("p_accept_prob", false),
        DEAD_CODES_REPLACED("dead_codes_replaced", false);

        private static final Map<String, Name> BY_KEY = new java.util.HashMap<>();

        static {
            for (Name n : values()) {
                BY_KEY.put(n.key, n);
            }
        }

        private final String key;
        private final boolean integer;

        Name(String key, boolean integer) {
            this.key = key;
            this.integer = integer;
        }

        /** The reference's name (and the conformance cases'). */
        public String key() {
            return key;
        }

        /** Whether the output holds integers (a {@link LongTensor}). */
        public boolean isInteger() {
            return integer;
        }

        /** The typed name for {@code key}, or null for an intermediate state's name. */
        public static Name ofKey(String key) {
            return BY_KEY.get(key);
        }
    }

    private final Map<String, Tensor> floats = new LinkedHashMap<>();
    private final Map<String, LongTensor> longs = new LinkedHashMap<>();

    public QuantizerOutput put(Name name, Tensor t) {
        if (name.integer) {
            throw new IllegalArgumentException("output '" + name.key + "' holds integers, not floats");
        }
        floats.put(name.key, t);
        return this;
    }

    public QuantizerOutput put(Name name, LongTensor t) {
        if (!name.integer) {
            throw new IllegalArgumentException("output '" + name.key + "' holds floats, not integers");
        }
        longs.put(name.key, t);
        return this;
    }

    public QuantizerOutput putScalar(Name name, float v) {
        return put(name, Tensor.scalar(v).reshape());
    }

    /** An output by name: typed names are checked for their kind; other names are intermediate states. */
    public QuantizerOutput put(String name, Tensor t) {
        Name n = Name.ofKey(name);
        if (n != null) {
            return put(n, t);
        }
        floats.put(name, t);
        return this;
    }

    public QuantizerOutput put(String name, LongTensor t) {
        Name n = Name.ofKey(name);
        if (n != null) {
            return put(n, t);
        }
        longs.put(name, t);
        return this;
    }

    public QuantizerOutput putScalar(String name, float v) {
        return put(name, Tensor.scalar(v).reshape());
    }

    /** A float output, or null when this call did not produce it. */
    public Tensor get(Name name) {
        if (name.integer) {
            throw new IllegalArgumentException("output '" + name.key + "' holds integers: use getLong");
        }
        return floats.get(name.key);
    }

    /** An integer output, or null when this call did not produce it. */
    public LongTensor getLong(Name name) {
        if (!name.integer) {
            throw new IllegalArgumentException("output '" + name.key + "' holds floats: use get");
        }
        return longs.get(name.key);
    }

    public Tensor quantized() {
        return get(Name.QUANTIZED);
    }

    public LongTensor indices() {
        return getLong(Name.INDICES);
    }

    /** Per-layer quantized codes of a residual or grouped quantizer ({@code return_all_codes}), or null. */
    public Tensor allCodes() {
        return get(Name.ALL_CODES);
    }

    /** The distances of {@code topk} candidates, or null. */
    public Tensor distances() {
        return get(Name.DISTANCES);
    }

    /** How many codes dead-code expiry replaced in this training call (0 when none or not training). */
    public long deadCodesReplaced() {
        Tensor t = get(Name.DEAD_CODES_REPLACED);
        return t == null ? 0 : (long) t.item();
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
        Tensor l = get(Name.LOSS);
        if (l != null) {
            return l.data()[0];
        }
        Tensor ls = get(Name.LOSSES);
        if (ls == null) {
            ls = get(Name.AUX_LOSS);
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

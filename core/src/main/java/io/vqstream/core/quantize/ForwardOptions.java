package io.vqstream.core.quantize;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.ComputeBackend;
import java.util.Objects;

/**
 * Per-call settings: training or evaluation, the random source, the compute backend, and the
 * reference's call arguments that change values ({@code inv_temperature} for LFQ,
 * {@code sample_codebook_temp} for stochastic VQ, {@code freeze_codebook}).
 */
@PublicEvolving
public final class ForwardOptions {
    private final Mode mode;
    private final RandomSource random;
    private final ComputeBackend backend;
    private final Double invTemperature;
    private final Double sampleCodebookTemp;
    private final boolean freezeCodebook;
    private final boolean trace;
    private final boolean[] mask;
    private final float[] emaUpdateWeight;
    private final boolean accumEmaUpdate;
    private final Integer topk;
    private final Integer beamSize;

    private ForwardOptions(Builder b) {
        this.mask = b.mask;
        this.emaUpdateWeight = b.emaUpdateWeight;
        this.accumEmaUpdate = b.accumEmaUpdate;
        this.topk = b.topk;
        this.beamSize = b.beamSize;
        this.mode = b.mode;
        this.random = b.random;
        this.backend = b.backend;
        this.invTemperature = b.invTemperature;
        this.sampleCodebookTemp = b.sampleCodebookTemp;
        this.freezeCodebook = b.freezeCodebook;
        this.trace = b.trace;
    }

    public static ForwardOptions eval() {
        return builder().build();
    }

    public static ForwardOptions train(RandomSource random) {
        return builder().mode(Mode.TRAIN).random(random).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.mode = mode;
        b.random = random;
        b.backend = backend;
        b.invTemperature = invTemperature;
        b.sampleCodebookTemp = sampleCodebookTemp;
        b.freezeCodebook = freezeCodebook;
        b.trace = trace;
        b.mask = mask;
        b.emaUpdateWeight = emaUpdateWeight;
        b.accumEmaUpdate = accumEmaUpdate;
        b.topk = topk;
        b.beamSize = beamSize;
        return b;
    }

    public Mode mode() {
        return mode;
    }

    public boolean training() {
        return mode == Mode.TRAIN;
    }

    public RandomSource random() {
        return random;
    }

    public ComputeBackend backend() {
        return backend != null ? backend : Backends.getDefault();
    }

    /** LFQ's {@code inv_temperature}, or null for the quantizer's default. */
    public Double invTemperature() {
        return invTemperature;
    }

    public Double sampleCodebookTemp() {
        return sampleCodebookTemp;
    }

    public boolean freezeCodebook() {
        return freezeCodebook;
    }

    /** Whether to also return intermediate training states (kmeans, pre-expiry) for inspection. */
    public boolean trace() {
        return trace;
    }

    /**
     * The reference's {@code mask}: one flag per token of the batch, {@code (b·n)} row-major;
     * false marks padding (index −1, output 0 or the input, no part in learning). Null: all real.
     */
    public boolean[] mask() {
        return mask;
    }

    /** The reference's {@code ema_update_weight}: per-code factors of the EMA rate, or null. */
    public float[] emaUpdateWeight() {
        return emaUpdateWeight;
    }

    /** The reference's {@code accum_ema_update}: only accumulate this batch's statistics. */
    public boolean accumEmaUpdate() {
        return accumEmaUpdate;
    }

    /** The reference's {@code topk}: return the k nearest codes (no codebook update), or null. */
    public Integer topk() {
        return topk;
    }

    /** Residual VQ beam width for this call, or null for the quantizer's own setting. */
    public Integer beamSize() {
        return beamSize;
    }

    public static final class Builder {
        private boolean[] mask;
        private float[] emaUpdateWeight;
        private boolean accumEmaUpdate;
        private Integer topk;
        private Integer beamSize;

        public Builder mask(boolean[] m) {
            this.mask = m;
            return this;
        }

        public Builder emaUpdateWeight(float[] w) {
            this.emaUpdateWeight = w;
            return this;
        }

        public Builder accumEmaUpdate(boolean a) {
            this.accumEmaUpdate = a;
            return this;
        }

        public Builder topk(Integer k) {
            if (k != null && k < 1) {
                throw new IllegalArgumentException("topk must be at least 1, got " + k);
            }
            this.topk = k;
            return this;
        }

        public Builder beamSize(Integer b) {
            if (b != null && b < 1) {
                throw new IllegalArgumentException("beam size must be at least 1, got " + b);
            }
            this.beamSize = b;
            return this;
        }

        private Mode mode = Mode.EVAL;
        private RandomSource random = RandomSource.seeded(0);
        private ComputeBackend backend;
        private Double invTemperature;
        private Double sampleCodebookTemp;
        private boolean freezeCodebook;
        private boolean trace;

        public Builder mode(Mode m) {
            this.mode = Objects.requireNonNull(m);
            return this;
        }

        public Builder random(RandomSource r) {
            this.random = Objects.requireNonNull(r);
            return this;
        }

        public Builder backend(ComputeBackend b) {
            this.backend = b;
            return this;
        }

        public Builder invTemperature(Double t) {
            this.invTemperature = t;
            return this;
        }

        public Builder sampleCodebookTemp(Double t) {
            this.sampleCodebookTemp = t;
            return this;
        }

        public Builder freezeCodebook(boolean f) {
            this.freezeCodebook = f;
            return this;
        }

        public Builder trace(boolean t) {
            this.trace = t;
            return this;
        }

        public ForwardOptions build() {
            return new ForwardOptions(this);
        }
    }
}

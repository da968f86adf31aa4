package io.vqstream.operators;

import org.apache.flink.annotation.PublicEvolving;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a {@link QuantizeOperator} needs, validated when built. Serializable into the job
 * graph; a shared parameter file travels as its safetensors bytes.
 */
@PublicEvolving
public final class QuantizeOperatorConfig implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String quantizerType;
    private final String quantizerArgsJson;
    private final boolean learn;
    private final int batchSize;
    private final long maxDelayMillis;
    private final CodebookSource source;
    private final byte[] sharedParams;
    private final String perKeyDir;
    private final int initMinVectors;
    private final long seed;
    private final int publishEvery;
    private final boolean codebookSnapshots;
    private final boolean emitQuantized;
    private final boolean emitError;
    private final int accumulate;
    private final int topk;
    private final String backend;
    private final int metricsWindow;
    private final RandomSourceFactory randomSources;
    private final CodebookScope scope;
    private final long roundTimeoutMillis;

    private QuantizeOperatorConfig(Builder b) {
        this.quantizerType = b.quantizerType;
        this.quantizerArgsJson = b.argsJson();
        this.learn = b.learn;
        this.batchSize = b.batchSize;
        this.maxDelayMillis = b.maxDelay == null ? 0 : b.maxDelay.toMillis();
        this.source = b.source;
        this.sharedParams = b.sharedParams;
        this.accumulate = b.accumulate;
        this.topk = b.topk;
        this.perKeyDir = b.perKeyDir;
        this.initMinVectors = b.initMinVectors;
        this.seed = b.seed;
        this.publishEvery = b.publishEvery;
        this.codebookSnapshots = b.codebookSnapshots;
        this.emitQuantized = b.emitQuantized;
        this.emitError = b.emitError;
        this.backend = b.backend;
        this.metricsWindow = b.metricsWindow;
        this.randomSources = b.randomSources;
        this.scope = b.scope;
        this.roundTimeoutMillis = b.roundTimeout.toMillis();
    }

    public static Builder builder(String quantizerType, Map<String, ?> quantizerArgs) {
        return new Builder(quantizerType, quantizerArgs);
    }

    /** A new quantizer instance for this configuration (validates the arguments). */
    public Quantizer createQuantizer() {
        return Quantizers.create(quantizerType, quantizerArgs());
    }

    public Map<String, Object> quantizerArgs() {
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = JSON.readValue(quantizerArgsJson, LinkedHashMap.class);
            return m;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public String quantizerType() {
        return quantizerType;
    }

    public String quantizerArgsJson() {
        return quantizerArgsJson;
    }

    public boolean learn() {
        return learn;
    }

    public int batchSize() {
        return batchSize;
    }

    /** 0 when micro-batches are flushed by size (and end of input) only. */
    public long maxDelayMillis() {
        return maxDelayMillis;
    }

    public CodebookSource source() {
        return source;
    }

    /** Micro-batches whose statistics make one EMA step ({@code learn.accumulate}; 1: every micro-batch). */
    public int accumulate() {
        return accumulate;
    }

    /** Nearest codes (with distances) on each code record ({@code output.topk}; 0: none). */
    public int topk() {
        return topk;
    }

    /** The shared default parameters, or null when none is configured. */
    public Params sharedParams(Quantizer q) {
        return sharedParams == null ? null : QuantizerFiles.load(q, SafeTensors.read(sharedParams, "shared codebook file"), "");
    }

    public boolean hasSharedParams() {
        return sharedParams != null;
    }

    public String perKeyDir() {
        return perKeyDir;
    }

    public int initMinVectors() {
        return initMinVectors;
    }

    public long seed() {
        return seed;
    }

    public int publishEvery() {
        return publishEvery;
    }

    /** Whether the operator makes {@code CodebookSnapshot}s at all (false: nothing reads its codebooks stream). */
    public boolean codebookSnapshots() {
        return codebookSnapshots;
    }

    public boolean emitQuantized() {
        return emitQuantized;
    }

    public boolean emitError() {
        return emitError;
    }

    public String backend() {
        return backend;
    }

    public int metricsWindow() {
        return metricsWindow;
    }

    public RandomSourceFactory randomSources() {
        return randomSources;
    }

    /** Whose codebook: one per key (default) or one shared by all keys and subtasks. */
    public CodebookScope scope() {
        return scope;
    }

    /**
     * Shared learning: how long a subtask with no full batch waits before it closes its part of a
     * round (with the records it has when {@code batch.max-delay} allows, else with none).
     */
    public long roundTimeoutMillis() {
        return roundTimeoutMillis;
    }

    /** Builder with the defaults documented per method. */
    public static final class Builder {
        private final String quantizerType;
        private final Map<String, Object> quantizerArgs;
        // defaults and checks of the configuration keys come from QuantizeOptions
        private boolean learn = QuantizeOptions.LEARN.defaultValue();
        private int batchSize = QuantizeOptions.BATCH_SIZE.defaultValue();
        private Duration maxDelay = QuantizeOptions.BATCH_MAX_DELAY.defaultValue();
        private CodebookSource source = QuantizeOptions.CODEBOOK_SOURCE.defaultValue();
        private byte[] sharedParams;
        private String perKeyDir;
        /** -1: the largest codebook size (the key's documented default). */
        private int initMinVectors = -1;
        private long seed = QuantizeOptions.SEED.defaultValue();
        private int publishEvery = QuantizeOptions.CODEBOOK_PUBLISH_EVERY.defaultValue();
        private boolean codebookSnapshots = true;
        private boolean emitQuantized = QuantizeOptions.OUTPUT_QUANTIZED.defaultValue();
        private boolean emitError = QuantizeOptions.OUTPUT_ERROR.defaultValue();
        private int accumulate = QuantizeOptions.LEARN_ACCUMULATE.defaultValue();
        private int topk = QuantizeOptions.OUTPUT_TOPK.defaultValue();
        private String backend = QuantizeOptions.BACKEND.defaultValue();
        private int metricsWindow = 100;
        private RandomSourceFactory randomSources = RandomSourceFactory.seeded();
        private CodebookScope scope = QuantizeOptions.CODEBOOK_SCOPE.defaultValue();
        private Duration roundTimeout = QuantizeOptions.CODEBOOK_ROUND_TIMEOUT.defaultValue();

        Builder(String quantizerType, Map<String, ?> quantizerArgs) {
            this.quantizerType = Objects.requireNonNull(quantizerType, "quantizer type");
            this.quantizerArgs = new LinkedHashMap<>(quantizerArgs == null ? Map.of() : quantizerArgs);
        }

        private String argsJson() {
            try {
                return JSON.writeValueAsString(quantizerArgs);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("quantizer arguments are not JSON-serializable: " + e.getMessage(), e);
            }
        }

        /** {@code learn}: one EMA step per micro-batch (EMA quantizers only). Default false. */
        public Builder learn(boolean learn) {
            this.learn = learn;
            return this;
        }

        /** {@code batch.size}: records per micro-batch; with learning, one EMA step per batch. Default 256. */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** {@code batch.max-delay}: longest a record waits for its codes; null or zero: size-triggered only. Default 100 ms. */
        public Builder maxDelay(Duration maxDelay) {
            this.maxDelay = maxDelay;
            return this;
        }

        public Builder source(CodebookSource source) {
            this.source = Objects.requireNonNull(source);
            return this;
        }

        /** The shared parameter file (safetensors, state_dict names). */
        public Builder sharedParamsFile(Path file) throws java.io.IOException {
            this.sharedParams = Files.readAllBytes(file);
            return this;
        }

        public Builder sharedParams(Params params) {
            try {
                Path tmp = Files.createTempFile("vqstream-params", ".safetensors");
                try {
                    QuantizerFiles.save(params, tmp, Map.of());
                    this.sharedParams = Files.readAllBytes(tmp);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            return this;
        }

        public Builder perKeyDir(String dir) {
            this.perKeyDir = dir;
            return this;
        }

        /** {@code codebook.init-min-vectors}: vectors a key collects before its kmeans initialisation. Default: the codebook size. */
        public Builder initMinVectors(int n) {
            this.initMinVectors = n;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** {@code codebook.publish-every}: a codebook snapshot every N EMA steps (1: every version; 0: only on control changes). */
        public Builder publishEvery(int n) {
            this.publishEvery = n;
            return this;
        }

        /**
         * False when nothing reads the codebooks stream ({@code VqStreams.Quantized#codebooks}):
         * the operator then makes no snapshot, neither every {@link #publishEvery} steps nor on
         * control changes. A snapshot copies every tensor of the codebook (an immutable record may
         * not share the arrays the next EMA step changes in place), so with one EMA step per record
         * an unread snapshot per record was a copy of the key's whole state per record. Default true.
         */
        public Builder codebookSnapshots(boolean read) {
            this.codebookSnapshots = read;
            return this;
        }

        public Builder emitQuantized(boolean b) {
            this.emitQuantized = b;
            return this;
        }

        public Builder emitError(boolean b) {
            this.emitError = b;
            return this;
        }

        /**
         * {@code learn.accumulate}: with learning, the statistics of {@code n} micro-batches are
         * accumulated and applied as one EMA step (the reference's {@code accum_ema_update}); equal
         * to one step on their union.
         */
        public Builder accumulate(int n) {
            this.accumulate = QuantizeOptions.LEARN_ACCUMULATE.validate(n);
            return this;
        }

        /** {@code output.topk}: the {@code k} nearest codes with their distances on every code record (VectorQuantize; 0: off). */
        public Builder topk(int k) {
            this.topk = QuantizeOptions.OUTPUT_TOPK.validate(k);
            return this;
        }

        /** {@code backend}: a compute backend name; null: the {@code vqstream.backend} property, else auto. */
        public Builder backend(String backend) {
            this.backend = backend;
            return this;
        }

        /** Batches the usage/perplexity/error gauges look back over. Default 100. */
        public Builder metricsWindow(int n) {
            this.metricsWindow = n;
            return this;
        }

        /** Replaces how random sources are derived (tests force the reference's choices with it). */
        public Builder randomSources(RandomSourceFactory f) {
            this.randomSources = java.util.Objects.requireNonNull(f);
            return this;
        }

        /** {@code key} (default): a codebook per key; {@code shared}: one for all keys and subtasks. */
        public Builder scope(CodebookScope scope) {
            this.scope = Objects.requireNonNull(scope);
            return this;
        }

        /** Shared learning: the longest a subtask without a full batch holds up a round. Default 50 ms. */
        public Builder roundTimeout(Duration d) {
            this.roundTimeout = Objects.requireNonNull(d);
            return this;
        }

        public QuantizeOperatorConfig build() {
            Quantizer q = Quantizers.create(quantizerType, quantizerArgs);
            // each key's own checks (bounds), as the YAML reader applies them: OptionValueException names the key
            QuantizeOptions.BATCH_SIZE.validate(batchSize);
            QuantizeOptions.BATCH_MAX_DELAY.validate(maxDelay);
            QuantizeOptions.CODEBOOK_PUBLISH_EVERY.validate(publishEvery);
            QuantizeOptions.LEARN_ACCUMULATE.validate(accumulate);
            QuantizeOptions.OUTPUT_TOPK.validate(topk);
            QuantizeOptions.BACKEND.validate(backend);
            QuantizeOptions.CODEBOOK_ROUND_TIMEOUT.validate(roundTimeout);
            if (initMinVectors != -1) {
                QuantizeOptions.CODEBOOK_INIT_MIN_VECTORS.validate(initMinVectors);
            }
            // checks across keys
            if (topk > 0 && !(q instanceof io.vqstream.core.quantize.VectorQuantize)) {
                throw new IllegalArgumentException("output.topk needs a VectorQuantize quantizer, not " + quantizerType);
            }
            if (metricsWindow < 1) {
                throw new IllegalArgumentException("metrics window must be at least 1");
            }
            if (learn && !q.learnsOnline()) {
                throw new IllegalArgumentException("learn: true needs a quantizer with EMA codebooks (VectorQuantize, ResidualVQ, "
                        + "GroupedResidualVQ); " + quantizerType + " has none");
            }
            if (source == CodebookSource.FILE && sharedParams == null) {
                throw new IllegalArgumentException("codebook source 'file' needs a codebook file");
            }
            if (source == CodebookSource.PER_KEY && (perKeyDir == null || perKeyDir.isBlank())) {
                throw new IllegalArgumentException("codebook source 'per-key' needs a directory");
            }
            if (sharedParams != null) {
                QuantizerFiles.load(q, SafeTensors.read(sharedParams, "codebook file"), "");
            }
            if (scope == CodebookScope.SHARED) {
                checkShared(q);
            }
            if (initMinVectors < 0) {
                long max = 0;
                for (long s : q.codebookSizes()) {
                    max = Math.max(max, s);
                }
                initMinVectors = (int) Math.min(max, Integer.MAX_VALUE);
            }
            return new QuantizeOperatorConfig(this);
        }

        private void checkShared(Quantizer q) {
            if (source == CodebookSource.PER_KEY) {
                throw new IllegalArgumentException("codebook.scope 'shared' serves one codebook to every key; codebook source"
                        + " 'per-key' gives each key its own (use scope 'key')");
            }
            if (source == CodebookSource.INIT && Boolean.TRUE.equals(quantizerArgs.get("kmeans_init"))) {
                throw new IllegalArgumentException("codebook.scope 'shared' with kmeans_init needs a trained codebook: a codebook"
                        + " file or one installed through the control stream (kmeans initialisation of a shared codebook is not"
                        + " supported)");
            }
            if (!learn) {
                return;
            }
            String why = null;
            if (Boolean.TRUE.equals(quantizerArgs.get("kmeans_init"))) {
                why = "kmeans_init (start from a codebook file, or from the default initialisation)";
            } else if (Boolean.TRUE.equals(quantizerArgs.get("shared_codebook"))) {
                why = "shared_codebook";
            } else if (Boolean.TRUE.equals(quantizerArgs.get("stochastic_sample_codes"))) {
                why = "stochastic_sample_codes";
            } else if (Boolean.TRUE.equals(quantizerArgs.get("quantize_dropout"))) {
                why = "quantize_dropout";
            }
            if (why != null) {
                throw new IllegalArgumentException("learning with codebook.scope 'shared' combines the statistics of every subtask"
                        + " in one EMA step; it does not support " + why);
            }
        }
    }
}

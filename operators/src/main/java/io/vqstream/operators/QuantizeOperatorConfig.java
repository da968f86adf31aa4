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
    private final boolean emitQuantized;
    private final boolean emitError;
    private final int accumulate;
    private final int topk;
    private final String backend;
    private final int metricsWindow;
    private final RandomSourceFactory randomSources;

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
        this.emitQuantized = b.emitQuantized;
        this.emitError = b.emitError;
        this.backend = b.backend;
        this.metricsWindow = b.metricsWindow;
        this.randomSources = b.randomSources;
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

    /** Builder with the defaults documented per method. */
    public static final class Builder {
        private final String quantizerType;
        private final Map<String, Object> quantizerArgs;
        private boolean learn = false;
        private int batchSize = 256;
        private Duration maxDelay = Duration.ofMillis(100);
        private CodebookSource source = CodebookSource.INIT;
        private byte[] sharedParams;
        private String perKeyDir;
        private int initMinVectors = -1;
        private long seed = 0;
        private int publishEvery = 1;
        private boolean emitQuantized = false;
        private boolean emitError = true;
        private int accumulate = 1;
        private int topk = 0;
        private String backend;
        private int metricsWindow = 100;
        private RandomSourceFactory randomSources = RandomSourceFactory.seeded();

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

        /** Apply one EMA step per micro-batch (EMA quantizers only). Default false. */
        public Builder learn(boolean learn) {
            this.learn = learn;
            return this;
        }

        /** Records per micro-batch; with learning, one EMA step per batch. Default 256. */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** Longest a record waits for its codes; null or zero: size-triggered only. Default 100 ms. */
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

        /** Vectors a key collects before its kmeans initialisation. Default: the codebook size. */
        public Builder initMinVectors(int n) {
            this.initMinVectors = n;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Publish a codebook snapshot every N EMA steps (1: every version; 0: only on control changes). */
        public Builder publishEvery(int n) {
            this.publishEvery = n;
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
         * With learning, the statistics of {@code n} micro-batches are accumulated and applied as
         * one EMA step (the reference's {@code accum_ema_update}); equal to one step on their union.
         */
        public Builder accumulate(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("accumulate must be at least 1, got " + n);
            }
            this.accumulate = n;
            return this;
        }

        /** The {@code k} nearest codes with their distances on every code record (VectorQuantize; 0: off). */
        public Builder topk(int k) {
            if (k < 0) {
                throw new IllegalArgumentException("topk must be 0 (off) or positive, got " + k);
            }
            this.topk = k;
            return this;
        }

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

        public QuantizeOperatorConfig build() {
            Quantizer q = Quantizers.create(quantizerType, quantizerArgs);
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch.size must be at least 1, got " + batchSize);
            }
            if (maxDelay != null && maxDelay.isNegative()) {
                throw new IllegalArgumentException("batch.max-delay must not be negative");
            }
            if (publishEvery < 0) {
                throw new IllegalArgumentException("publish.every must be >= 0");
            }
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
            if (initMinVectors < 0) {
                long max = 0;
                for (long s : q.codebookSizes()) {
                    max = Math.max(max, s);
                }
                initMinVectors = (int) Math.min(max, Integer.MAX_VALUE);
            }
            return new QuantizeOperatorConfig(this);
        }
    }
}

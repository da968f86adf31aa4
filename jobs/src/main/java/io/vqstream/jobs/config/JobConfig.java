package io.vqstream.jobs.config;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.operators.CodebookSource;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * The YAML configuration every job reads ({@code --config FILE}). The {@code quantizer} section
 * uses the reference's class name ({@code type}) and its constructor argument names; every
 * other key is documented in the README's "Configuration" section. Unknown keys are errors naming the key.
 * Settings left out defer to the cluster's Flink configuration (state backend, parallelism,
 * checkpointing, restart strategy) or, for the backend, to the {@code vqstream.backend} property.
 */
@Internal
public final class JobConfig {

    public enum Delivery { AT_LEAST_ONCE, EXACTLY_ONCE }

    public enum Format { JSON, BINARY }

    public enum StateBackend { HASHMAP, ROCKSDB }

    public enum Features { LOG_MEL, RAW }

    // quantizer
    public String quantizerType;
    public Map<String, Object> quantizerArgs;
    public boolean learn;
    /** {@code learn.accumulate}: micro-batches of statistics per EMA step (1: every micro-batch). */
    public int accumulate;
    public long seed;
    /** Compute backend name, or null for the {@code vqstream.backend} system property / auto. */
    public String backend;
    // batching
    public int batchSize;
    public Duration maxDelay;
    // codebook
    public CodebookSource source;
    public Path codebookFile;
    public Path codebookDir;
    public int initMinVectors;
    public int publishEvery;
    // outputs
    public boolean emitQuantized;
    public boolean emitError;
    /** {@code output.topk}: nearest codes with distances on each code record (0: none). */
    public int topk;
    public Format outputFormat;
    public Format inputFormat;
    // kafka
    public String bootstrapServers;
    public String inputTopic;
    public String outputTopic;
    public String deadLetterTopic;
    public String codebookTopic;
    public String controlTopic;
    public String groupId;
    public Delivery delivery;
    public String transactionalIdPrefix;
    public Map<String, String> kafkaProperties;
    // audio front end
    public int sampleRate;
    public int winLength;
    public int hop;
    public int nFft;
    public int nMels;
    public double fmin;
    public double fmax;
    public Features features;
    public int chunkSamples;
    public int maxBufferedChunks;
    /** {@code audio.gate-db}: frames below this energy (dBFS) are masked; NaN = no gate. */
    public double gateDb;
    // job
    public String jobName;
    /** Null: the cluster's default parallelism. */
    public Integer parallelism;
    /** Null: the cluster's configured state backend. */
    public StateBackend stateBackend;
    public Path checkpointDir;
    public Duration checkpointInterval;
    public Path restoreFrom;
    /** HOST:PORT of a cluster's REST endpoint to submit to (command line only); null: embedded or under flink run. */
    public String jobManager;
    /** With {@link #jobManager}: return once the job is submitted (command line only). */
    public boolean detached;

    private JobConfig() {}

    /** Defaults only (no quantizer): for commands that set the quantizer themselves. */
    public static JobConfig defaults() {
        return fromMap(Map.of(), false);
    }

    public static JobConfig load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("config file not found: " + file);
        }
        Object doc;
        try (Reader r = Files.newBufferedReader(file)) {
            LoaderOptions options = new LoaderOptions();
            // a key given twice would silently take the last value
            options.setAllowDuplicateKeys(false);
            doc = new Yaml(new SafeConstructor(options)).load(r);
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage(), e);
        } catch (YAMLException e) {
            String why = e.getMessage().lines().findFirst().orElse("");
            if (e instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblem() != null) {
                why = m.getProblem() + (m.getProblemMark() != null ? " (line " + (m.getProblemMark().getLine() + 1) + ")" : "");
            }
            throw new ConfigException("config file " + file + " is not valid YAML: " + why, e);
        }
        if (doc == null) {
            doc = Map.of();
        }
        if (!(doc instanceof Map<?, ?> m)) {
            throw new ConfigException("config file " + file + " must hold a YAML mapping at the top level");
        }
        JobConfig c = fromMap(m, true);
        c.resolvePaths(file.toAbsolutePath().getParent());
        return c;
    }

    public static JobConfig fromMap(Map<?, ?> map, boolean requireQuantizer) {
        Section root = new Section("", map);
        JobConfig c = new JobConfig();
        Section q = root.section("quantizer");
        Map<String, Object> qa = q.all();
        Object type = qa.remove("type");
        if (type == null && requireQuantizer) {
            throw new ConfigException("config key 'quantizer.type' is required (a reference class name, e.g. VectorQuantize)");
        }
        c.quantizerType = type == null ? null : String.valueOf(type);
        c.quantizerArgs = qa;
        // learn: true | false, or a mapping {enabled: true, accumulate: N}
        if (root.has("learn") && root.raw("learn") instanceof Map<?, ?>) {
            Section learn = root.section("learn");
            c.learn = learn.bool("enabled", true);
            c.accumulate = learn.integer("accumulate", 1);
            learn.rejectUnknown();
        } else {
            c.learn = root.bool("learn", false);
            c.accumulate = 1;
        }
        if (c.accumulate < 1) {
            throw new ConfigException("config key 'learn.accumulate' must be at least 1, got " + c.accumulate);
        }
        c.seed = root.longValue("seed", 0);
        c.backend = root.string("backend", null);

        Section batch = root.section("batch");
        c.batchSize = batch.integer("size", 256);
        c.maxDelay = batch.duration("max-delay", Duration.ofMillis(100));
        batch.rejectUnknown();

        Section cb = root.section("codebook");
        String file = cb.string("file", null);
        String dir = cb.string("dir", null);
        c.codebookFile = file == null ? null : Path.of(file);
        c.codebookDir = dir == null ? null : Path.of(dir);
        CodebookSource defaultSource = c.codebookDir != null ? CodebookSource.PER_KEY
                : c.codebookFile != null ? CodebookSource.FILE : CodebookSource.INIT;
        c.source = cb.choice("source", CodebookSource.class, defaultSource);
        c.initMinVectors = cb.integer("init-min-vectors", -1);
        c.publishEvery = cb.integer("publish-every", 1);
        cb.rejectUnknown();

        Section out = root.section("output");
        c.emitQuantized = out.bool("quantized", false);
        c.emitError = out.bool("error", true);
        c.topk = out.integer("topk", 0);
        if (c.topk < 0) {
            throw new ConfigException("config key 'output.topk' must be 0 (off) or a positive number of codes, got " + c.topk);
        }
        c.outputFormat = out.choice("format", Format.class, Format.JSON);
        out.rejectUnknown();
        Section in = root.section("input");
        c.inputFormat = in.choice("format", Format.class, Format.JSON);
        in.rejectUnknown();

        Section k = root.section("kafka");
        c.bootstrapServers = k.string("bootstrap-servers", null);
        c.inputTopic = k.string("input-topic", null);
        c.outputTopic = k.string("output-topic", null);
        c.deadLetterTopic = k.string("dead-letter-topic", "vqstream-dead-letters");
        c.codebookTopic = k.string("codebook-topic", null);
        c.controlTopic = k.string("control-topic", null);
        c.groupId = k.string("group-id", "vqstream");
        c.delivery = k.choice("delivery", Delivery.class, Delivery.AT_LEAST_ONCE);
        c.transactionalIdPrefix = k.string("transactional-id-prefix", "vqstream");
        c.kafkaProperties = new LinkedHashMap<>();
        k.section("properties").all().forEach((key, v) -> c.kafkaProperties.put(key, String.valueOf(v)));
        k.rejectUnknown();

        Section a = root.section("audio");
        c.sampleRate = a.integer("sample-rate", 16000);
        c.winLength = a.integer("win-length", 400);
        c.hop = a.integer("hop", 160);
        c.nFft = a.integer("n-fft", 512);
        c.nMels = a.integer("n-mels", 80);
        c.fmin = a.number("fmin", 0);
        c.fmax = a.number("fmax", c.sampleRate / 2.0);
        c.features = a.choice("features", Features.class, Features.LOG_MEL);
        c.chunkSamples = a.integer("chunk-samples", 1600);
        c.maxBufferedChunks = a.integer("max-buffered-chunks", 64);
        c.gateDb = a.number("gate-db", Double.NaN);
        if (c.gateDb > 0) {
            throw new ConfigException("config key 'audio.gate-db' is a level in dB full scale and must be <= 0, got " + c.gateDb);
        }
        a.rejectUnknown();

        Section j = root.section("job");
        c.jobName = j.string("name", null);
        c.parallelism = j.has("parallelism") ? j.integer("parallelism", 1) : null;
        c.stateBackend = j.choice("state-backend", StateBackend.class, null);
        String chk = j.string("checkpoint-dir", null);
        c.checkpointDir = chk == null ? null : Path.of(chk);
        c.checkpointInterval = j.duration("checkpoint-interval", null);
        String restore = j.string("restore-from", null);
        c.restoreFrom = restore == null ? null : Path.of(restore);
        j.rejectUnknown();

        root.rejectUnknown();
        c.validate(requireQuantizer);
        return c;
    }

    private void resolvePaths(Path base) {
        if (codebookFile != null && !codebookFile.isAbsolute()) {
            codebookFile = base.resolve(codebookFile).normalize();
        }
        if (codebookDir != null && !codebookDir.isAbsolute()) {
            codebookDir = base.resolve(codebookDir).normalize();
        }
    }

    private void validate(boolean requireQuantizer) {
        if (batchSize < 1) {
            throw new ConfigException("config key 'batch.size' must be at least 1, got " + batchSize);
        }
        if (parallelism != null && parallelism < 1) {
            throw new ConfigException("config key 'job.parallelism' must be at least 1, got " + parallelism);
        }
        if (publishEvery < 0) {
            throw new ConfigException("config key 'codebook.publish-every' must be >= 0");
        }
        // checked by name only: the backend itself is created where the operator runs
        if (backend != null && !java.util.List.of("auto", "jvm", "nd4j", "jvm-scalar", "scalar").contains(backend.trim().toLowerCase())) {
            throw new ConfigException("config key 'backend': unknown backend '" + backend + "' (expected auto, jvm, nd4j or jvm-scalar)");
        }
        if (parallelism != null && parallelism > MAX_PARALLELISM) {
            throw new ConfigException("config key 'job.parallelism' must be at most " + MAX_PARALLELISM + " (Flink's maximum), got "
                    + parallelism);
        }
        if (checkpointInterval != null && checkpointInterval.toMillis() < 10) {
            throw new ConfigException("config key 'job.checkpoint-interval' must be at least 10 ms, got " + checkpointInterval.toMillis()
                    + " ms");
        }
        if (maxDelay.isNegative()) {
            throw new ConfigException("config key 'batch.max-delay' must not be negative");
        }
        bounded("audio.chunk-samples", chunkSamples, 1, MAX_CHUNK_SAMPLES);
        bounded("audio.max-buffered-chunks", maxBufferedChunks, 1, 1 << 20);
        bounded("audio.sample-rate", sampleRate, 1, 1_000_000);
        if (!Double.isFinite(fmin) || !Double.isFinite(fmax)) {
            throw new ConfigException("config keys 'audio.fmin' and 'audio.fmax' must be finite numbers");
        }
        if (requireQuantizer) {
            checkQuantizerArgs("quantizer", quantizerArgs);
            checkStateSize(createQuantizer());
        }
    }

    /** Largest job parallelism: Flink's upper bound for max parallelism (2^15). */
    public static final int MAX_PARALLELISM = 1 << 15;
    /** Largest audio chunk: 2^24 samples (64 MiB of float32). */
    public static final int MAX_CHUNK_SAMPLES = 1 << 24;
    /** Most tensors in a key's state: the state and safetensors readers refuse more. */
    public static final int MAX_STATE_TENSORS = 1 << 16;
    /** Most float32 values in a key's state (1 GiB): the state serializer's bound on one tensor, here on their sum. */
    public static final long MAX_STATE_ELEMENTS = 1L << 28;

    private static void bounded(String key, long v, long min, long max) {
        if (v < min || v > max) {
            throw new ConfigException("config key '" + key + "' must be in [" + min + ", " + max + "], got " + v);
        }
    }

    /** Numbers in the quantizer's arguments must be finite: NaN passes every range check ({@code NaN < 0} is false). */
    private static void checkQuantizerArgs(String path, Object v) {
        if (v instanceof Map<?, ?> m) {
            m.forEach((k, x) -> checkQuantizerArgs(path + "." + k, x));
        } else if (v instanceof java.util.List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                checkQuantizerArgs(path + "[" + i + "]", l.get(i));
            }
        } else if (v instanceof Double d && !Double.isFinite(d) || v instanceof Float f && !Float.isFinite(f)) {
            throw new ConfigException("config key '" + path + "' must be a finite number, got " + v);
        }
    }

    /**
     * A key's state (codebooks, EMA buffers) must fit the bounds its serializer and readers
     * enforce; otherwise a job would run out of memory or write state it cannot restore.
     */
    private static void checkStateSize(Quantizer q) {
        java.util.List<io.vqstream.core.quantize.ParamSpec> specs = q.parameterSpecs();
        if (specs.size() > MAX_STATE_TENSORS) {
            throw new ConfigException("quantizer: " + q.type() + " with these arguments has " + specs.size()
                    + " state tensors per key; the bound is " + MAX_STATE_TENSORS + " (e.g. lower num_quantizers)");
        }
        long total = 0;
        for (io.vqstream.core.quantize.ParamSpec s : specs) {
            long n = 1;
            for (int d : s.shape()) {
                n = Math.multiplyHigh(n, d) != 0 ? Long.MAX_VALUE : n * d;
                n = Math.min(n, Long.MAX_VALUE / 2);
            }
            total = Math.min(Long.MAX_VALUE / 2, total + n);
        }
        if (total > MAX_STATE_ELEMENTS) {
            throw new ConfigException("quantizer: " + q.type() + " with these arguments keeps " + total
                    + " float32 values of state per key; the bound is " + MAX_STATE_ELEMENTS + " (1 GiB; lower codebook_size, dim, heads"
                    + " or num_quantizers)");
        }
    }

    /** The configured quantizer; argument errors name the argument. */
    public Quantizer createQuantizer() {
        checkSizeArgs();
        try {
            return Quantizers.create(quantizerType, quantizerArgs);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("quantizer: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // a constructor that failed on values no check above foresaw: still the configuration's fault
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            throw new ConfigException("quantizer: cannot create " + quantizerType + " with these arguments: " + root, e);
        }
    }

    /** Most layers, heads or codebooks of one quantizer: each is at least one state tensor, and a key holds at most 65,536. */
    public static final int MAX_LAYERS = 1 << 14;
    /** Largest codebook size or dimension: one tensor of the state serializer holds at most 2^28 values. */
    public static final long MAX_SIZE_ARG = 1L << 28;

    /** Counts and sizes bounded before the quantizer is built (a huge layer count would exhaust memory building it). */
    private void checkSizeArgs() {
        if (quantizerArgs == null) {
            return;
        }
        for (Map.Entry<String, Object> e : quantizerArgs.entrySet()) {
            if (!(e.getValue() instanceof Number n) || e.getValue() instanceof Double || e.getValue() instanceof Float) {
                continue;
            }
            long v = n instanceof java.math.BigInteger b ? (b.bitLength() > 62 ? Long.MAX_VALUE : b.longValue()) : n.longValue();
            String k = e.getKey();
            long max = switch (k) {
                case "num_quantizers", "heads", "num_codebooks", "num_residual_streams" -> MAX_LAYERS;
                case "codebook_size", "dim", "codebook_dim", "input_dim" -> MAX_SIZE_ARG;
                default -> Long.MAX_VALUE;
            };
            if (max != Long.MAX_VALUE && v < 1) {
                throw new ConfigException("config key 'quantizer." + k + "' must be at least 1, got " + n);
            }
            if (v > max) {
                throw new ConfigException("config key 'quantizer." + k + "' must be at most " + max + ", got " + n
                        + (max == MAX_LAYERS ? " (each is a state tensor; a key holds at most 65536)" : " (the state serializer's bound)"));
            }
        }
    }
}

package io.vqstream.jobs.config;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionValueException;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.operators.CodebookSource;
import io.vqstream.operators.QuantizeOptions;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * The YAML configuration every job reads ({@code --config FILE}). The {@code quantizer} section
 * uses the reference's class name ({@code type}) and its constructor argument names; every
 * other key is a {@link ConfigOption} of {@link QuantizeOptions}, {@link FormatOptions},
 * {@link KafkaOptions}, {@link AudioOptions} or {@link JobRunOptions} (name, type, default,
 * bounds; the table in docs/configuration.md is generated from them). Unknown keys are errors naming the key.
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
    /** {@code codebook.scope}: key (default) or shared. */
    public io.vqstream.operators.CodebookScope scope;
    /** {@code codebook.round-timeout}: shared learning only. */
    public Duration roundTimeout;
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
        c.quantizerType = type == null ? null : new Section("quantizer", Map.of("type", type)).get(QuantizeOptions.QUANTIZER_TYPE);
        c.quantizerArgs = qa;
        // learn: true | false, or a mapping {enabled: true, accumulate: N}
        if (root.has("learn") && root.raw("learn") instanceof Map<?, ?>) {
            Section learn = root.section("learn");
            c.learn = learn.get(QuantizeOptions.LEARN_ENABLED);
            c.accumulate = learn.get(QuantizeOptions.LEARN_ACCUMULATE);
            learn.rejectUnknown();
        } else {
            c.learn = root.get(QuantizeOptions.LEARN);
            c.accumulate = QuantizeOptions.LEARN_ACCUMULATE.defaultValue();
        }
        // every other key: read, type-checked and bounded by its option, section by section
        Map<String, Section> sections = new LinkedHashMap<>();
        sections.put("", root);
        for (Field<?> f : FIELDS) {
            f.read(c, sections.computeIfAbsent(f.option().section(), root::section));
        }
        // defaults that depend on other keys
        if (!sections.get("codebook").has(QuantizeOptions.CODEBOOK_SOURCE.leaf())) {
            c.source = c.codebookDir != null ? CodebookSource.PER_KEY : c.codebookFile != null ? CodebookSource.FILE : CodebookSource.INIT;
        }
        if (Double.isNaN(c.fmax)) {
            c.fmax = c.sampleRate / 2.0;
        }
        for (Section s : sections.values()) {
            if (s != root) {
                s.rejectUnknown();
            }
        }
        root.rejectUnknown();
        c.validate(requireQuantizer);
        return c;
    }

    /**
     * Sets one key's value, checked by its option (a command-line flag overriding the file).
     *
     * @throws ConfigException naming the key when the value is out of its bound
     */
    public <T> void set(ConfigOption<T> option, T value) {
        for (Field<?> f : FIELDS) {
            if (f.option() == option) {
                try {
                    @SuppressWarnings("unchecked")
                    Field<T> field = (Field<T>) f;
                    field.setter().accept(this, option.validate(value));
                } catch (OptionValueException e) {
                    throw new ConfigException(e.getMessage(), e);
                }
                return;
            }
        }
        throw new IllegalArgumentException("not a key of the job configuration's fields: " + option);
    }

    /** Where the value of one key goes. */
    private record Field<T>(ConfigOption<T> option, BiConsumer<JobConfig, T> setter) {
        void read(JobConfig c, Section s) {
            setter.accept(c, s.get(option));
        }
    }

    private static <T> Field<T> field(ConfigOption<T> option, BiConsumer<JobConfig, T> setter) {
        return new Field<>(option, setter);
    }

    /** Every key but the quantizer's and learn's, in the order of the sections (unknown keys are reported in this order). */
    private static final List<Field<?>> FIELDS = List.of(
            field(QuantizeOptions.SEED, (c, v) -> c.seed = v),
            field(QuantizeOptions.BACKEND, (c, v) -> c.backend = v),
            field(QuantizeOptions.BATCH_SIZE, (c, v) -> c.batchSize = v),
            field(QuantizeOptions.BATCH_MAX_DELAY, (c, v) -> c.maxDelay = v),
            field(QuantizeOptions.CODEBOOK_FILE, (c, v) -> c.codebookFile = v),
            field(QuantizeOptions.CODEBOOK_DIR, (c, v) -> c.codebookDir = v),
            field(QuantizeOptions.CODEBOOK_SOURCE, (c, v) -> c.source = v),
            field(QuantizeOptions.CODEBOOK_SCOPE, (c, v) -> c.scope = v),
            field(QuantizeOptions.CODEBOOK_ROUND_TIMEOUT, (c, v) -> c.roundTimeout = v),
            field(QuantizeOptions.CODEBOOK_INIT_MIN_VECTORS, (c, v) -> c.initMinVectors = v == null ? -1 : v),
            field(QuantizeOptions.CODEBOOK_PUBLISH_EVERY, (c, v) -> c.publishEvery = v),
            field(QuantizeOptions.OUTPUT_QUANTIZED, (c, v) -> c.emitQuantized = v),
            field(QuantizeOptions.OUTPUT_ERROR, (c, v) -> c.emitError = v),
            field(QuantizeOptions.OUTPUT_TOPK, (c, v) -> c.topk = v),
            field(FormatOptions.OUTPUT_FORMAT, (c, v) -> c.outputFormat = v),
            field(FormatOptions.INPUT_FORMAT, (c, v) -> c.inputFormat = v),
            field(KafkaOptions.BOOTSTRAP_SERVERS, (c, v) -> c.bootstrapServers = v),
            field(KafkaOptions.INPUT_TOPIC, (c, v) -> c.inputTopic = v),
            field(KafkaOptions.OUTPUT_TOPIC, (c, v) -> c.outputTopic = v),
            field(KafkaOptions.DEAD_LETTER_TOPIC, (c, v) -> c.deadLetterTopic = v),
            field(KafkaOptions.CODEBOOK_TOPIC, (c, v) -> c.codebookTopic = v),
            field(KafkaOptions.CONTROL_TOPIC, (c, v) -> c.controlTopic = v),
            field(KafkaOptions.GROUP_ID, (c, v) -> c.groupId = v),
            field(KafkaOptions.DELIVERY, (c, v) -> c.delivery = v),
            field(KafkaOptions.TRANSACTIONAL_ID_PREFIX, (c, v) -> c.transactionalIdPrefix = v),
            field(KafkaOptions.PROPERTIES, (c, v) -> c.kafkaProperties = new LinkedHashMap<>(v)),
            field(AudioOptions.SAMPLE_RATE, (c, v) -> c.sampleRate = v),
            field(AudioOptions.WIN_LENGTH, (c, v) -> c.winLength = v),
            field(AudioOptions.HOP, (c, v) -> c.hop = v),
            field(AudioOptions.N_FFT, (c, v) -> c.nFft = v),
            field(AudioOptions.N_MELS, (c, v) -> c.nMels = v),
            field(AudioOptions.FMIN, (c, v) -> c.fmin = v),
            field(AudioOptions.FMAX, (c, v) -> c.fmax = v == null ? Double.NaN : v),
            field(AudioOptions.FEATURES, (c, v) -> c.features = v),
            field(AudioOptions.CHUNK_SAMPLES, (c, v) -> c.chunkSamples = v),
            field(AudioOptions.MAX_BUFFERED_CHUNKS, (c, v) -> c.maxBufferedChunks = v),
            field(AudioOptions.GATE_DB, (c, v) -> c.gateDb = v == null ? Double.NaN : v),
            field(JobRunOptions.NAME, (c, v) -> c.jobName = v),
            field(JobRunOptions.PARALLELISM, (c, v) -> c.parallelism = v),
            field(JobRunOptions.STATE_BACKEND, (c, v) -> c.stateBackend = v),
            field(JobRunOptions.CHECKPOINT_DIR, (c, v) -> c.checkpointDir = v),
            field(JobRunOptions.CHECKPOINT_INTERVAL, (c, v) -> c.checkpointInterval = v),
            field(JobRunOptions.RESTORE_FROM, (c, v) -> c.restoreFrom = v));

    private void resolvePaths(Path base) {
        if (codebookFile != null && !codebookFile.isAbsolute()) {
            codebookFile = base.resolve(codebookFile).normalize();
        }
        if (codebookDir != null && !codebookDir.isAbsolute()) {
            codebookDir = base.resolve(codebookDir).normalize();
        }
    }

    /** Checks across keys and of the quantizer's arguments; each key's own bounds were checked when it was read. */
    private void validate(boolean requireQuantizer) {
        if (requireQuantizer) {
            checkQuantizerArgs("quantizer", quantizerArgs);
            checkStateSize(createQuantizer());
        }
    }

    /** Most tensors in a key's state: the state and safetensors readers refuse more. */
    public static final int MAX_STATE_TENSORS = 1 << 16;
    /** Most float32 values in a key's state (1 GiB): the state serializer's bound on one tensor, here on their sum. */
    public static final long MAX_STATE_ELEMENTS = 1L << 28;

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

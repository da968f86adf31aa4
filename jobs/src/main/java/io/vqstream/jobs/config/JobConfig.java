package io.vqstream.jobs.config;

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
public final class JobConfig {

    public enum Delivery { AT_LEAST_ONCE, EXACTLY_ONCE }

    public enum Format { JSON, BINARY }

    public enum StateBackend { HASHMAP, ROCKSDB }

    public enum Features { LOG_MEL, RAW }

    // quantizer
    public String quantizerType;
    public Map<String, Object> quantizerArgs;
    public boolean learn;
    public long seed;
    /** Compute backend name, or null for the {@code vqstream.backend} system property / auto. */
    public String backend;
    // batching
    public int batchSize;
    public Duration maxDelay;
    // codebook
    public CodebookSource source;
    /** {@code codebook.scope}: key (default) or shared. */
    public io.vqstream.operators.CodebookScope scope = io.vqstream.operators.CodebookScope.KEY;
    /** {@code codebook.round-timeout}: shared learning only. */
    public Duration roundTimeout = Duration.ofMillis(50);
    public Path codebookFile;
    public Path codebookDir;
    public int initMinVectors;
    public int publishEvery;
    // outputs
    public boolean emitQuantized;
    public boolean emitError;
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
    // job
    public String jobName;
    /** Null: the cluster's default parallelism. */
    public Integer parallelism;
    /** Null: the cluster's configured state backend. */
    public StateBackend stateBackend;
    public Path checkpointDir;
    public Duration checkpointInterval;
    public Path restoreFrom;

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
            doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(r);
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage(), e);
        } catch (YAMLException e) {
            throw new ConfigException("config file " + file + " is not valid YAML: " + e.getMessage().lines().findFirst().orElse(""), e);
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
        c.learn = root.bool("learn", false);
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
        c.scope = cb.choice("scope", io.vqstream.operators.CodebookScope.class, io.vqstream.operators.CodebookScope.KEY);
        c.roundTimeout = cb.duration("round-timeout", Duration.ofMillis(50));
        c.initMinVectors = cb.integer("init-min-vectors", -1);
        c.publishEvery = cb.integer("publish-every", 1);
        cb.rejectUnknown();

        Section out = root.section("output");
        c.emitQuantized = out.bool("quantized", false);
        c.emitError = out.bool("error", true);
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
        if (requireQuantizer) {
            createQuantizer();
        }
    }

    /** The configured quantizer; argument errors name the argument. */
    public Quantizer createQuantizer() {
        try {
            return Quantizers.create(quantizerType, quantizerArgs);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("quantizer: " + e.getMessage(), e);
        }
    }
}

package io.vqstream.operators;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.core.backend.Backends;
import io.vqstream.core.config.Check;
import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The configuration keys of the quantize operator, each defined once: the YAML job configuration
 * reads them, {@link QuantizeOperatorConfig.Builder} takes its defaults from them and validates
 * with their checks, and the table of keys in {@code docs/configuration.md} is generated from them.
 */
@PublicEvolving
public final class QuantizeOptions {
    private QuantizeOptions() {}

    public static final ConfigOption<String> QUANTIZER_TYPE = ConfigOption.key("quantizer.type", OptionType.STRING)
            .defaultDescription("required")
            .description("The reference's class name (VectorQuantize, ResidualVQ, FSQ, ...). Every other key of `quantizer` is a "
                    + "constructor argument under the reference's name (dim, codebook_size, decay, ...); numbers must be finite.");

    public static final ConfigOption<Boolean> LEARN = ConfigOption.key("learn", OptionType.BOOLEAN)
            .defaultValue(false)
            .description("One EMA step per micro-batch (quantizers with EMA codebooks: VectorQuantize, ResidualVQ, GroupedResidualVQ); "
                    + "or a mapping with `enabled` and `accumulate`.");

    public static final ConfigOption<Boolean> LEARN_ENABLED = ConfigOption.key("learn.enabled", OptionType.BOOLEAN)
            .defaultValue(true)
            .description("In the mapping form of `learn`: whether learning is on.");

    public static final ConfigOption<Integer> LEARN_ACCUMULATE = ConfigOption.key("learn.accumulate", OptionType.INT)
            .defaultValue(1).check(Check.atLeast(1))
            .description("Micro-batches whose statistics make one EMA step (the reference's accum_ema_update); 1: every micro-batch.");

    public static final ConfigOption<Long> SEED = ConfigOption.key("seed", OptionType.LONG)
            .defaultValue(0L)
            .description("All randomness derives from (seed, key, step).");

    private static boolean knownBackend(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return Backends.NAMES.contains(n) || n.equals("scalar");
    }

    public static final ConfigOption<String> BACKEND = ConfigOption.key("backend", OptionType.STRING)
            .defaultDescription("the `vqstream.backend` property, else auto")
            .check(Check.withMessage(QuantizeOptions::knownBackend, "one of " + String.join(", ", Backends.NAMES),
                    (v, shown) -> ": unknown backend " + shown + " (expected auto, jvm, nd4j or jvm-scalar)", "gpu9"))
            .description("Compute backend of the micro-batches.");

    public static final ConfigOption<Integer> BATCH_SIZE = ConfigOption.key("batch.size", OptionType.INT)
            .defaultValue(256).check(Check.atLeast(1))
            .description("Records per micro-batch of one key (with learning, one EMA step per micro-batch). Keys that do not learn"
                    + " and use the shared default codebook (`codebook.source: file`, or one installed for all keys) share their"
                    + " micro-batches across keys, coded before each checkpoint barrier and control message.");

    public static final ConfigOption<Duration> BATCH_MAX_DELAY = ConfigOption.key("batch.max-delay", OptionType.DURATION)
            .defaultValue(Duration.ofMillis(100)).check(Check.notNegative())
            .description("Longest a record waits for its codes; `none` or 0: micro-batches by size only.");

    public static final ConfigOption<CodebookScope> CODEBOOK_SCOPE = ConfigOption.key("codebook.scope",
                    OptionType.enumType(CodebookScope.class))
            .defaultValue(CodebookScope.KEY)
            .description("key: a codebook per key; shared: one codebook for all keys and subtasks (no key-by).");

    public static final ConfigOption<Duration> CODEBOOK_ROUND_TIMEOUT = ConfigOption.key("codebook.round-timeout",
                    OptionType.DURATION)
            .defaultValue(Duration.ofMillis(50)).check(Check.positive())
            .description("Shared learning: the longest an idle subtask holds up a round.");

    public static final ConfigOption<CodebookSource> CODEBOOK_SOURCE = ConfigOption.key("codebook.source",
                    OptionType.enumType(CodebookSource.class))
            .defaultValue(CodebookSource.INIT)
            .defaultDescription("per-key with codebook.dir, file with codebook.file, else init")
            .description("Where a key's first codebook comes from: the reference's initialisation (kmeans per key with kmeans_init), "
                    + "a shared file, a file per key, or the control stream.");

    public static final ConfigOption<Path> CODEBOOK_FILE = ConfigOption.key("codebook.file", OptionType.PATH)
            .description("Shared starting parameters: .safetensors by state_dict name, or an .npy codebook (relative to the config file).");

    public static final ConfigOption<Path> CODEBOOK_DIR = ConfigOption.key("codebook.dir", OptionType.PATH)
            .description("Source per-key: DIR/<key>.safetensors, key names escaped (relative to the config file).");

    public static final ConfigOption<Integer> CODEBOOK_INIT_MIN_VECTORS = ConfigOption.key("codebook.init-min-vectors", OptionType.INT)
            .defaultDescription("the largest codebook size").check(Check.atLeast(1))
            .description("Vectors a key collects before its kmeans initialisation.");

    public static final ConfigOption<Integer> CODEBOOK_PUBLISH_EVERY = ConfigOption.key("codebook.publish-every", OptionType.INT)
            .defaultValue(1).check(Check.atLeast(0))
            .description("A codebook snapshot every N EMA steps (0: only on control changes). Snapshots are made only when the job"
                    + " writes them somewhere (a codebook topic, --codebooks-out, the demo's decoder): each copies the whole codebook state.");

    public static final ConfigOption<Boolean> OUTPUT_QUANTIZED = ConfigOption.key("output.quantized", OptionType.BOOLEAN)
            .defaultValue(false)
            .description("Add the quantized vector to each code record.");

    public static final ConfigOption<Boolean> OUTPUT_ERROR = ConfigOption.key("output.error", OptionType.BOOLEAN)
            .defaultValue(true)
            .description("Add the quantization error ‖x − x̂‖²/dim to each code record.");

    public static final ConfigOption<Integer> OUTPUT_TOPK = ConfigOption.key("output.topk", OptionType.INT)
            .defaultValue(0).check(Check.atLeast(0))
            .description("k > 0: the k nearest codes with their distances on each code record (VectorQuantize); 0: off.");

    /** Every key above, in the order of the documentation. */
    public static final List<ConfigOption<?>> ALL = List.of(QUANTIZER_TYPE, LEARN, LEARN_ENABLED, LEARN_ACCUMULATE, SEED, BACKEND,
            BATCH_SIZE, BATCH_MAX_DELAY, CODEBOOK_SCOPE, CODEBOOK_ROUND_TIMEOUT, CODEBOOK_SOURCE, CODEBOOK_FILE, CODEBOOK_DIR,
            CODEBOOK_INIT_MIN_VECTORS, CODEBOOK_PUBLISH_EVERY, OUTPUT_QUANTIZED, OUTPUT_ERROR, OUTPUT_TOPK);
}

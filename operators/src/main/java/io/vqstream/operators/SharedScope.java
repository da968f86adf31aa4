package io.vqstream.operators;

import org.apache.flink.annotation.Internal;

import io.vqstream.core.quantize.EmaStatistics;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.RandomSource;

/** What the subtasks and the coordinator of a shared scope derive the same way from the configuration. */
@Internal
public final class SharedScope {
    private SharedScope() {}

    /**
     * The name a shared codebook goes by where a key is expected: in its codebook snapshots, and
     * as the key its randomness is derived from (so a shared scope draws exactly what a key scope
     * draws for a single key of this name).
     */
    public static final String SCOPE_KEY = "*";

    /** The codebook before any record: version 1 at step 0, or no codebook (version 0) when only the control stream installs one. */
    public static SharedCodebook initialCodebook(QuantizeOperatorConfig config, Quantizer q) {
        Params p = switch (config.source()) {
            case FILE -> config.sharedParams(q);
            case INIT -> q.initParams(RandomSource.mix(config.seed(), QuantizeOperator.keyHash(SCOPE_KEY), 0));
            case CONTROL -> null;
            case PER_KEY -> throw new IllegalStateException("codebook source 'per-key' has no shared codebook");
        };
        return new SharedCodebook(p == null ? 0 : 1, 0, 0, p);
    }

    /** Randomness of EMA step {@code step} (dead-code draws): as a key scope draws for key {@link #SCOPE_KEY}. */
    public static RandomSource random(QuantizeOperatorConfig config, long step) {
        return config.randomSources().create(config.seed(), QuantizeOperator.keyHash(SCOPE_KEY), step, RandomSourceFactory.Purpose.STEP);
    }

    /**
     * The codebook after the next round, whose parts combined to {@code combined}: one EMA step
     * with the randomness of {@code current}'s step, or, for a round without data, {@code current}
     * with the next round number. The coordinator and a lone subtask close rounds with this alone.
     * <pre>
     * round' = round + 1;   empty: version' = version, step' = step
     * else:  params' = EMA step of params by combined;  version' = version + 1, step' = step + 1
     * </pre>
     */
    public static SharedCodebook closeRound(SharedCodebook current, EmaStatistics combined, Quantizer q, QuantizeOperatorConfig config) {
        long round = current.round() + 1;
        if (combined.isEmpty()) {
            return current.withParams(current.version(), current.step(), round, current.params());
        }
        Params p = current.params().copy();
        combined.applyTo(q, p, random(config, current.step()));
        return current.withParams(current.version() + 1, current.step() + 1, round, p);
    }
}

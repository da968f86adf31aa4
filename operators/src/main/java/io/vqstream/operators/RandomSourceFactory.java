package io.vqstream.operators;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.quantize.RandomSource;
import java.io.Serializable;

/**
 * Creates the random source of one quantizer call from (job seed, key hash, step, purpose), so
 * every choice is fixed by what the key has seen. Replaceable to force specific choices in tests.
 */
@FunctionalInterface
@Internal
public interface RandomSourceFactory extends Serializable {

    /** What the randomness is for. */
    enum Purpose { INIT, STEP }

    RandomSource create(long seed, long keyHash, long step, Purpose purpose);

    /** The default: a SplitMix-mixed seed per (seed, key, step, purpose). */
    static RandomSourceFactory seeded() {
        return (seed, keyHash, step, purpose) ->
                RandomSource.seeded(RandomSource.mix(purpose == Purpose.INIT ? seed ^ 0x6b6d65616e73L : seed, keyHash, step));
    }
}

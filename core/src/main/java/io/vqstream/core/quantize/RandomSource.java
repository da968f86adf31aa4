package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import java.util.SplittableRandom;

/**
 * Every random choice a quantizer makes, behind one seedable interface so that a stream
 * replay makes the same choices and a test can force the reference's.
 */
@Internal
public interface RandomSource {

    /** Row indices for kmeans seeding: {@code count} of {@code available}. */
    int[] kmeansSeedRows(int available, int count);

    /** Row indices that replace expired codes: {@code count} of {@code available}. */
    int[] deadCodeRows(int available, int count);

    /** A standard Gumbel variate, for stochastic code sampling. */
    double gumbel();

    /** Uniform in [0, 1). */
    double uniform();

    /**
     * The reference's sampling: a random permutation prefix (without replacement) when
     * {@code available >= count}, else independent draws with replacement.
     */
    static int[] sampleRows(SplittableRandom rng, int available, int count) {
        if (available <= 0) {
            throw new IllegalArgumentException("no rows to sample from");
        }
        int[] out = new int[count];
        if (available >= count) {
            int[] perm = new int[available];
            for (int i = 0; i < available; i++) {
                perm[i] = i;
            }
            for (int i = 0; i < count; i++) {
                int j = i + rng.nextInt(available - i);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
                out[i] = perm[i];
            }
        } else {
            for (int i = 0; i < count; i++) {
                out[i] = rng.nextInt(available);
            }
        }
        return out;
    }

    /** A deterministic source from one 64-bit seed. */
    static RandomSource seeded(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        return new RandomSource() {
            @Override
            public int[] kmeansSeedRows(int available, int count) {
                return sampleRows(rng, available, count);
            }

            @Override
            public int[] deadCodeRows(int available, int count) {
                return sampleRows(rng, available, count);
            }

            @Override
            public double gumbel() {
                double u = rng.nextDouble();
                return -Math.log(-Math.log(Math.max(u, 1e-20)) + 1e-20);
            }

            @Override
            public double uniform() {
                return rng.nextDouble();
            }
        };
    }

    /**
     * This source with every uniform draw replaced by {@code u}: fixes the quantize-dropout layer
     * or the entropy subset that a draw would pick; the other draws stay this source's.
     */
    default RandomSource withUniform(double u) {
        return new OverridingRandomSource(this, false, u);
    }

    /**
     * This source with kmeans seeded by the first rows (row {@code i mod available}), the choice
     * the reference's golden cases inject; the other draws stay this source's.
     */
    default RandomSource withFirstRowsKmeans() {
        return new OverridingRandomSource(this, true, null);
    }

    /**
     * Mixes a job seed, a key and a step into one seed (SplitMix64 finaliser over each part),
     * so every key's randomness is fixed by what it has seen, whichever subtask runs it.
     */
    static long mix(long jobSeed, long keyHash, long step) {
        long h = jobSeed;
        h = splitmix(h ^ splitmix(keyHash));
        h = splitmix(h ^ splitmix(step + 0x9E3779B97F4A7C15L));
        return h;
    }

    private static long splitmix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}

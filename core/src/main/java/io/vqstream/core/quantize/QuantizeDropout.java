package io.vqstream.core.quantize;

/**
 * Quantize dropout of the residual quantizers (SoundStream, section 3.3): in training the
 * residual stack is cut after a random layer, so that coarse prefixes of the codes decode too.
 * Grouped quantizers draw one cut-off for all groups, as the reference does (it passes one
 * seed to every group).
 *
 * <pre>
 * L = cutoff + ⌊u·(q − cutoff)⌋,  u ~ U[0, 1)
 * L = ⌈(L + 1) / multiple_of⌉ · multiple_of − 1,   capped at q − 1
 * </pre>
 * Layers after {@code L} are skipped: code −1, loss 0.
 */
final class QuantizeDropout {
    private QuantizeDropout() {}

    /** The last layer kept: {@code q − 1} unless {@code active} (training with dropout). */
    static int lastLayer(boolean active, RandomSource random, int numQuantizers, int cutoffIndex, int multipleOf) {
        if (!active || numQuantizers <= 1) {
            return numQuantizers - 1;
        }
        int span = numQuantizers - cutoffIndex;
        int last = cutoffIndex + Math.min(span - 1, (int) Math.floor(random.uniform() * span));
        if (multipleOf > 1) {
            last = (last + 1 + multipleOf - 1) / multipleOf * multipleOf - 1;
        }
        return Math.min(last, numQuantizers - 1);
    }
}

package io.vqstream.core.quantize;

import io.vqstream.core.tensor.LongTensor;
import java.util.Arrays;

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
 * Layers after {@code L} are skipped: code −1, loss 0. With a single layer there is nothing to
 * drop, so dropout is off whatever the arguments say (as in the reference).
 */
final class QuantizeDropout {
    private final int numQuantizers;
    private final boolean enabled;
    private final int cutoffIndex;
    private final int multipleOf;

    private QuantizeDropout(int numQuantizers, boolean enabled, int cutoffIndex, int multipleOf) {
        this.numQuantizers = numQuantizers;
        this.enabled = enabled;
        this.cutoffIndex = cutoffIndex;
        this.multipleOf = multipleOf;
    }

    /**
     * Reads {@code quantize_dropout}, {@code quantize_dropout_cutoff_index} and
     * {@code quantize_dropout_multiple_of} for a stack of {@code numQuantizers} layers, checked.
     */
    static QuantizeDropout read(Kwargs k, int numQuantizers) {
        boolean requested = k.getBool("quantize_dropout", false);
        int cutoff = k.getInt("quantize_dropout_cutoff_index", 0);
        int multipleOf = k.getInt("quantize_dropout_multiple_of", 1);
        if (cutoff < 0) {
            throw new IllegalArgumentException(k.owner() + ": quantize_dropout_cutoff_index must be >= 0, got " + cutoff);
        }
        if (multipleOf < 1) {
            throw new IllegalArgumentException(k.owner() + ": quantize_dropout_multiple_of must be >= 1, got " + multipleOf);
        }
        boolean enabled = requested && numQuantizers > 1;
        if (enabled && cutoff >= numQuantizers) {
            throw new IllegalArgumentException(k.owner() + ": quantize_dropout_cutoff_index " + cutoff
                    + " leaves no layer to draw from num_quantizers " + numQuantizers);
        }
        return new QuantizeDropout(numQuantizers, enabled, cutoff, multipleOf);
    }

    /** Whether training cuts the stack (and so whether codes may have fewer than q layers). */
    boolean enabled() {
        return enabled;
    }

    /** The last layer kept in this call: drawn in training with dropout, else {@code q − 1}. */
    int lastLayer(ForwardOptions options) {
        return options.training() && enabled ? draw(options.random()) : numQuantizers - 1;
    }

    /** One draw of the last layer kept. */
    int draw(RandomSource random) {
        if (numQuantizers <= 1) {
            return numQuantizers - 1;
        }
        int span = numQuantizers - cutoffIndex;
        int last = cutoffIndex + Math.min(span - 1, (int) Math.floor(random.uniform() * span));
        if (multipleOf > 1) {
            last = (last + 1 + multipleOf - 1) / multipleOf * multipleOf - 1;
        }
        return Math.min(last, numQuantizers - 1);
    }

    /**
     * Checks that indices carry {@code given} layer columns: never more than q, fewer (the
     * coarse codes dropout makes) only when dropout is enabled.
     */
    void checkIndexLayers(String owner, int given) {
        if (given < 1 || given > numQuantizers) {
            throw new IllegalArgumentException(owner + ": indices have " + given + " layers, expected 1 to num_quantizers "
                    + numQuantizers + (given > numQuantizers ? " (more than num_quantizers " + numQuantizers + ")" : ""));
        }
        if (given < numQuantizers && !enabled) {
            throw new IllegalArgumentException(owner + ": indices have " + given + " of " + numQuantizers
                    + " layers; fewer layers need quantize_dropout");
        }
    }

    /** Indices {@code (..., k)}, {@code k ≤ q}, as token-major {@code (..., q)} with the missing layers −1. */
    long[] padIndices(String owner, LongTensor indices) {
        if (indices.rank() == 0) {
            throw new IllegalArgumentException(owner + ": indices need a trailing layer axis, got a scalar");
        }
        int k = indices.dim(-1);
        checkIndexLayers(owner, k);
        if (k == numQuantizers) {
            return indices.data();
        }
        int m = indices.size() / k;
        long[] out = new long[m * numQuantizers];
        Arrays.fill(out, -1);
        for (int t = 0; t < m; t++) {
            System.arraycopy(indices.data(), t * k, out, t * numQuantizers, k);
        }
        return out;
    }
}

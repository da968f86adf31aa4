package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
/** How a vector is compared with the codes of a codebook. */
@Internal
public enum Metric {
    /**
     * Squared euclidean distance, smallest wins:
     * <pre>score(x, c) = max(‖x‖² + ‖c‖² − 2·x·c, 1e-8)</pre>
     * The clamp is the reference's (it takes {@code −sqrt} of it and the argmax), so codes
     * closer than 1e-4 tie and the lowest index wins, exactly as there.
     */
    L2,
    /** Dot product, largest wins (cosine similarity when both sides are unit vectors). */
    DOT
}

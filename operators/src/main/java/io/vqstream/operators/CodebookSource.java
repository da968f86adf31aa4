package io.vqstream.operators;

import org.apache.flink.annotation.PublicEvolving;
/** Where a key that the operator sees for the first time gets its codebook from. */
@PublicEvolving
public enum CodebookSource {
    /** One parameter file shared by every key (copied per key only once it learns). */
    FILE,
    /** {@code <dir>/<key>.safetensors} per key; keys without a file fall back to FILE when one is given, else are dead-lettered. */
    PER_KEY,
    /**
     * The reference's initialisation, seeded per key: a random codebook, or with
     * {@code kmeans_init: true} kmeans on the key's first {@code init.min-vectors} vectors.
     */
    INIT,
    /** Only what the control stream installs; records of keys without a codebook are dead-lettered. */
    CONTROL
}

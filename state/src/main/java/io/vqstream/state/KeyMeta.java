package io.vqstream.state;

import org.apache.flink.annotation.Internal;
/**
 * Small per-key bookkeeping of the quantize operator, kept apart from the (possibly
 * megabyte-sized) codebook so that buffering a record never deserializes the codebook.
 * A Flink POJO: public fields, no Kryo. Stored as keyed state
 * {@link CodebookStateDescriptors#META_STATE}; it lives in this module so that savepoint
 * bootstrap can write it next to the codebook.
 */
@Internal
public class KeyMeta {
    /** The key has a usable codebook (initialised, installed or a shared default). */
    public boolean hasCodebook;
    /** Learning stopped by a FREEZE control message. */
    public boolean frozen;
    /** A kmeans initialisation is pending on the key's first data. */
    public boolean initPending;
    /** Records held in the buffer. */
    public int buffered;
    /** Leading buffered records whose codes were already emitted (by a timer) but that still await their EMA step. */
    public int emitted;
    /** Registered processing-time timer, or −1. */
    public long timerAt = -1;
    /** Processing time at which the oldest unemitted record arrived, or −1 (for the batch-latency metric). */
    public long oldestUnemittedAt = -1;
    /** Highest codebook version this key ever had: versions are never reused, also across resets. */
    public long lastVersion;

    public KeyMeta() {}
}

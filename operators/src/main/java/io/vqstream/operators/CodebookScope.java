package io.vqstream.operators;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Who a codebook belongs to.
 * <ul>
 *   <li>{@link #KEY}: every key owns its codebook, in keyed state; the stream is keyed by the
 *       record key and each key's records form its own micro-batches.</li>
 *   <li>{@link #SHARED}: one codebook serves every key. No key-by: the quantize step runs at its
 *       input's parallelism, each subtask holds the codebook once and micro-batches across all
 *       keys. A learning shared codebook takes one EMA step per round over the statistics of every
 *       subtask (see {@link SharedQuantizeOperator}).</li>
 * </ul>
 */
@PublicEvolving
public enum CodebookScope {
    KEY,
    SHARED;

    /** The name used in configuration files: {@code key} or {@code shared}. */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static CodebookScope byName(String name) {
        for (CodebookScope s : values()) {
            if (s.configName().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("codebook.scope must be 'key' or 'shared', got '" + name + "'");
    }
}

package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Version counters of codebook arrays, so that derived layouts (packed panels, code norms) are
 * built once per codebook version instead of on every call. An array takes part only once
 * {@link #track tracked}; whoever then writes into it in place must call {@link #modified}
 * before the next assignment (the EMA update, k-means initialisation and dead-code expiry do).
 * Untracked arrays are never cached, so a caller that knows nothing of this stays correct.
 *
 * <p>Keys are the arrays themselves (identity, held weakly): a parameter replaced by a new
 * array simply starts a new entry, and a dropped codebook takes its cache entry with it.
 */
@Internal
public final class CodebookVersions {
    /** Untracked arrays report this version. */
    public static final long UNTRACKED = -1;
    private static final Map<float[], long[]> VERSIONS = new WeakHashMap<>();

    private CodebookVersions() {}

    /** Starts versioning {@code codebook} (no effect when already tracked). */
    public static void track(float[] codebook) {
        synchronized (VERSIONS) {
            VERSIONS.putIfAbsent(codebook, new long[2]);
        }
    }

    /** Marks an in-place change of {@code codebook}: caches built from it are stale from now on. */
    public static void modified(float[] codebook) {
        synchronized (VERSIONS) {
            long[] v = VERSIONS.get(codebook);
            if (v != null) {
                v[0]++;
            }
        }
    }

    /**
     * True on the first call for the current version of a tracked {@code codebook}, false on
     * later ones and for untracked arrays. A kernel uses it to leave a codebook version as it lies
     * until it is used a second time: a version that is read once (a codebook that learns from
     * every record) is not worth packing.
     */
    public static boolean firstSight(float[] codebook) {
        synchronized (VERSIONS) {
            long[] v = VERSIONS.get(codebook);
            if (v == null || v[1] == v[0] + 1) {
                return false;
            }
            v[1] = v[0] + 1;
            return true;
        }
    }

    /** The current version of {@code codebook}, or {@link #UNTRACKED}. */
    public static long of(float[] codebook) {
        synchronized (VERSIONS) {
            long[] v = VERSIONS.get(codebook);
            return v == null ? UNTRACKED : v[0];
        }
    }
}

package io.vqstream.state;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import java.util.Map;
import java.util.Objects;

/**
 * The model one key owns: its quantizer parameters and EMA buffers by state_dict name
 * ({@code _codebook.embed}, {@code _codebook.embed_avg}, {@code _codebook.cluster_size}, ...),
 * the codebook {@code version} (incremented on every change: EMA step, kmeans init,
 * installation, reset) and the number of EMA {@code step}s taken.
 *
 * <p>{@code params == null} means the key uses the operator's shared default parameters
 * (from a file or an all-keys installation) and has not diverged from them; learning copies
 * them on the first step. Randomness needs no stored generator: it is derived from
 * (job seed, key, step), so {@code step} is the whole RNG state.
 */
@Internal
public final class CodebookState {
    private final long version;
    private final long step;
    private final Params params;

    public CodebookState(long version, long step, Params params) {
        if (version < 0 || step < 0) {
            throw new IllegalArgumentException("version and step must be non-negative");
        }
        this.version = version;
        this.step = step;
        this.params = params;
    }

    public long version() {
        return version;
    }

    public long step() {
        return step;
    }

    /** The key's own parameters, or null when it uses the shared default. */
    public Params params() {
        return params;
    }

    public boolean usesSharedDefault() {
        return params == null;
    }

    /** Bytes of tensor data held (the dominant part of the serialized size). */
    public long tensorBytes() {
        if (params == null) {
            return 0;
        }
        long b = 0;
        for (Map.Entry<String, Tensor> e : params.asMap().entrySet()) {
            b += 4L * e.getValue().size();
        }
        return b;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof CodebookState other)) {
            return false;
        }
        if (version != other.version || step != other.step) {
            return false;
        }
        if (params == null || other.params == null) {
            return params == other.params;
        }
        return params.bitEquals(other.params);
    }

    @Override
    public int hashCode() {
        return Objects.hash(version, step, params == null ? 0 : params.names());
    }

    @Override
    public String toString() {
        return "CodebookState{version=" + version + ", step=" + step + ", " + (params == null ? "shared default" : params) + "}";
    }
}

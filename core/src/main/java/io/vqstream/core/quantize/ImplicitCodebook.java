package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.Tensor;

/** Quantizers whose codebook is computed rather than stored (FSQ grid, SimVQ transform). */
@Internal
public interface ImplicitCodebook {
    /** The full codebook: FSQ {@code (∏L, D)}, SimVQ {@code (c, dim)}, ResidualSimVQ {@code (q, c, dim)}. */
    Tensor implicitCodebook(Params params);
}

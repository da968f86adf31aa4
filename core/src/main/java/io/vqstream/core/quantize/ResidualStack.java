package io.vqstream.core.quantize;

import io.vqstream.core.tensor.Tensor;

/**
 * A residual quantizer as one group of a {@link GroupedQuantizer}: the grouped quantizer draws
 * the quantize-dropout cut-off once and runs every group's stack up to it. Its
 * {@link #codesPerToken()} is its number of layers {@code q}.
 */
interface ResidualStack extends Quantizer {

    /** This stack's quantize dropout (the grouped quantizer uses group 0's draw for all groups). */
    QuantizeDropout quantizeDropout();

    /** {@link #forwardTokens(Params, Tensor, ForwardOptions)} with layers after {@code lastLayer} skipped (code −1, loss 0). */
    QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options, int lastLayer);
}

package io.vqstream.core.quantize;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A quantizer with the semantics of the reference class of the same name
 * (vector-quantize-pytorch 1.31.0). The object holds only configuration; parameters and EMA
 * state live in a {@link Params} passed to every call, so one instance serves every key of a
 * Flink operator and state stays in plain arrays.
 *
 * <p>Two views of the same computation:
 * <ul>
 *   <li>{@link #forward}: the reference's input layout (sequences, images, channel-first) and
 *       output shapes, used by the conformance suite;</li>
 *   <li>{@link #forwardTokens}/{@link #decodeTokens}: channel-last tokens {@code (b, n, dim)}
 *       and token-major codes {@code (b, n, codesPerToken)}, used by the operators.</li>
 * </ul>
 */
@PublicEvolving
public interface Quantizer {

    /** The reference class name, e.g. {@code VectorQuantize}. */
    String type();

    /** The constructor arguments this instance was built from (reference spelling). */
    Map<String, Object> kwargs();

    /** Features of one input token. */
    int dim();

    /**
     * Code indices per token, in the documented token-major order of {@link #forwardTokens}
     * (for example heads for VectorQuantize, layers for ResidualVQ, groups × layers for grouped).
     */
    int codesPerToken();

    /** Alphabet size of each code position (length {@link #codesPerToken()}). */
    long[] codebookSizes();

    /** Every tensor this quantizer reads, by state_dict name. */
    List<ParamSpec> parameterSpecs();

    /** Fresh parameters initialised as the reference does, from a seed. */
    Params initParams(long seed);

    /** Whether {@link Mode#TRAIN} updates EMA state in {@link Params} (the VQ family). */
    default boolean learnsOnline() {
        return false;
    }

    /** Forward on the reference's input layout. TRAIN mode may update {@code params} in place. */
    QuantizerOutput forward(Params params, Tensor input, ForwardOptions options);

    /**
     * Forward on channel-last tokens {@code (b, n, dim)}. Returns {@code quantized (b, n, dim)},
     * {@code indices (b, n, codesPerToken)} and the losses of the call.
     */
    QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options);

    /** Token-major codes {@code (m, codesPerToken)} back to vectors {@code (m, dim)}. */
    Tensor decodeTokens(Params params, LongTensor codes);

    /** The reference's {@code get_codes_from_indices} / {@code indices_to_codes}, in its shapes. */
    Tensor codesFromIndices(Params params, LongTensor indices);

    /** The reference's {@code get_output_from_indices} (projected out); default: same as codes. */
    default Tensor outputFromIndices(Params params, LongTensor indices) {
        return codesFromIndices(params, indices);
    }

    /**
     * Other state_dict names under which a file may hold tensor {@code name}: a codebook shared
     * by several layers appears once per layer in a PyTorch state_dict.
     */
    default List<String> parameterAliases(String name) {
        return List.of();
    }

    /** Checks that {@code params} holds every required tensor with the right shape. */
    default void validate(Params params) {
        for (ParamSpec s : parameterSpecs()) {
            Tensor t = params.getOrNull(s.name());
            if (t == null) {
                throw new IllegalArgumentException(type() + ": missing parameter '" + s.name() + "' " + Shapes.str(s.shape()));
            }
            boolean ok = Arrays.equals(t.shape(), s.shape())
                    || (s.kind() == ParamSpec.Kind.FLAG && t.size() == 1);
            if (!ok) {
                throw new IllegalArgumentException(type() + ": parameter '" + s.name() + "' has shape "
                        + Shapes.str(t.shape()) + ", expected " + Shapes.str(s.shape()));
            }
        }
    }
}

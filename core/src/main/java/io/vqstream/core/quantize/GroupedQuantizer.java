package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The grouped residual quantizers (Yang et al., "HiFi-Codec", 2023; {@code GroupedResidualVQ},
 * {@code GroupedResidualFSQ}, {@code GroupedResidualLFQ}): the feature axis is split into
 * {@code G} contiguous chunks of {@code dim/G}, chunk {@code g} is quantized by its own
 * residual stack (parameters under {@code rvqs.{g}.}), and the results are joined in group order.
 *
 * <pre>
 * x = [x₀ | x₁ | … | x_{G−1}],   quantized = [RQ₀(x₀) | … | RQ_{G−1}(x_{G−1})]
 * </pre>
 * Token-major codes are {@code (b, n, G·q)}, group-major: position {@code g·q + l} holds layer
 * {@code l} of group {@code g}. {@link #forward} returns the reference's shapes: indices
 * {@code (G, b, n, q)}; losses {@code (G, q)} and all codes {@code (G, q, b, n, D)}, a tuple of
 * per-group tensors in the reference, stacked here. In training with quantize dropout one
 * cut-off layer is drawn per call and shared by all groups, as the reference passes one seed to
 * every group.
 *
 * @param <Q> the residual quantizer of one group
 */
@Internal
public abstract class GroupedQuantizer<Q extends ResidualStack> implements Quantizer {
    /** Per-group outputs stacked on a new leading group axis when the groups produce them. */
    private static final List<String> STACKED = List.of("losses", "all_codes");
    /** EMA state traced in training (the VQ family), stacked the same way. */
    private static final List<String> STACKED_STATE = List.of("embed", "embed_avg", "cluster_size");

    /** Builds group {@code g}'s quantizer from its arguments ({@code dim} = dim/G) and parameter prefix. */
    interface GroupFactory<Q> {
        Q create(Kwargs groupArgs, String prefix);
    }

    private final String type;
    private final Map<String, Object> kwargs;
    final int dim;
    final int groups;
    final int groupDim;
    final boolean acceptImageFmap;
    final List<Q> rvqs;

    GroupedQuantizer(String type, Map<String, ?> kwargs, GroupFactory<Q> factory) {
        this.type = type;
        Kwargs k = new Kwargs(type, kwargs);
        this.kwargs = k.asMap();
        this.dim = k.requireInt("dim");
        this.groups = k.getInt("groups", 1);
        this.acceptImageFmap = k.getBool("accept_image_fmap", false);
        if (groups < 1) {
            throw new IllegalArgumentException(type + ": groups must be at least 1, got " + groups);
        }
        if (dim < 1) {
            throw new IllegalArgumentException(type + ": dim must be positive, got " + dim);
        }
        if (dim % groups != 0) {
            throw new IllegalArgumentException(type + ": dim " + dim + " is not divisible by groups " + groups
                    + " (dim must be a positive multiple of groups)");
        }
        this.groupDim = dim / groups;
        Map<String, Object> groupArgs = k.without(List.of("dim", "groups", "accept_image_fmap"));
        groupArgs.put("dim", groupDim);
        k.markAllUsed();
        List<Q> stacks = new ArrayList<>(groups);
        for (int g = 0; g < groups; g++) {
            stacks.add(factory.create(new Kwargs(type + " group " + g, groupArgs), "rvqs." + g + "."));
        }
        this.rvqs = List.copyOf(stacks);
    }

    @Override
    public final String type() {
        return type;
    }

    @Override
    public final Map<String, Object> kwargs() {
        return kwargs;
    }

    @Override
    public final int dim() {
        return dim;
    }

    /** Layers per group ({@code q}). */
    final int layers() {
        return rvqs.get(0).codesPerToken();
    }

    @Override
    public final int codesPerToken() {
        return groups * layers();
    }

    @Override
    public final long[] codebookSizes() {
        long[] s = new long[codesPerToken()];
        for (int g = 0; g < groups; g++) {
            System.arraycopy(rvqs.get(g).codebookSizes(), 0, s, g * layers(), layers());
        }
        return s;
    }

    @Override
    public final boolean learnsOnline() {
        return rvqs.get(0).learnsOnline();
    }

    @Override
    public final List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        for (Q r : rvqs) {
            l.addAll(r.parameterSpecs());
        }
        return l;
    }

    @Override
    public final List<String> parameterAliases(String name) {
        for (Q r : rvqs) {
            List<String> a = r.parameterAliases(name);
            if (!a.isEmpty()) {
                return a;
            }
        }
        return List.of();
    }

    @Override
    public final int applyEmaLayer(Params params, EmaStatistics.Layer layer, RandomSource random) {
        for (Q r : rvqs) {
            int n = r.applyEmaLayer(params, layer, random);
            if (n >= 0) {
                return n;
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- forward

    /** Sequences {@code (b, n, dim)}; subclasses that accept images override this. */
    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        if (input.rank() != 3) {
            throw new IllegalArgumentException(type + ": expected an input (b, n, " + dim + "), got " + Shapes.str(input.shape()));
        }
        return withGroupAxis(forwardTokens(params, input, options), input.dim(0), new int[] {input.dim(1)});
    }

    /**
     * Token-major results to the reference's shapes: indices {@code (b, spatial…, G·q)} →
     * {@code (G, b, spatial…, q)}, all codes → {@code (G, q, b, spatial…, D)}.
     */
    final QuantizerOutput withGroupAxis(QuantizerOutput out, int b, int[] spatial) {
        int q = layers();
        int positions = Math.toIntExact(Shapes.numel(spatial));
        int[] idxShape = new int[3 + spatial.length];
        idxShape[0] = groups;
        idxShape[1] = b;
        System.arraycopy(spatial, 0, idxShape, 2, spatial.length);
        idxShape[idxShape.length - 1] = q;
        out.put(QuantizerOutput.Name.INDICES, out.indices().reshape(b * positions, groups, q).permute(1, 0, 2).reshape(idxShape));
        Tensor codes = out.get(QuantizerOutput.Name.ALL_CODES);
        int[] codeShape = new int[4 + spatial.length];
        codeShape[0] = groups;
        codeShape[1] = q;
        codeShape[2] = b;
        System.arraycopy(spatial, 0, codeShape, 3, spatial.length);
        codeShape[codeShape.length - 1] = codes.dim(-1);
        out.put(QuantizerOutput.Name.ALL_CODES, codes.reshape(codeShape));
        return out;
    }

    @Override
    public final QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        QuantizerOutput[] per = runGroups(params, tokens, options);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int q = layers();
        Tensor[] quantized = new Tensor[groups];
        long[][] codes = new long[groups][];
        for (int g = 0; g < groups; g++) {
            quantized[g] = per[g].quantized();
            codes[g] = per[g].indices().data();
        }
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, FeatureGroups.concatLast(quantized));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(FeatureGroups.interleave(codes, b * n, q), b, n, groups * q));
        stack(per, STACKED, out);
        if (options.training()) {
            float replaced = 0;
            boolean reported = false;
            for (QuantizerOutput o : per) {
                Tensor r = o.get(QuantizerOutput.Name.DEAD_CODES_REPLACED);
                if (r != null) {
                    replaced += r.item();
                    reported = true;
                }
            }
            if (reported) {
                out.putScalar(QuantizerOutput.Name.DEAD_CODES_REPLACED, replaced);
            }
        }
        stack(per, STACKED_STATE, out);
        return out;
    }

    private static void stack(QuantizerOutput[] per, List<String> names, QuantizerOutput out) {
        for (String name : names) {
            if (per[0].floatOrNull(name) != null) {
                Tensor[] parts = new Tensor[per.length];
                for (int g = 0; g < per.length; g++) {
                    parts[g] = per[g].floatOrNull(name);
                }
                out.put(name, Tensor.stack(parts));
            }
        }
    }

    /** Splits tokens {@code (b, n, dim)} into groups and runs each group's stack up to one shared cut-off layer. */
    final QuantizerOutput[] runGroups(Params params, Tensor tokens, ForwardOptions options) {
        FsqSupport.requireTokens(type, tokens, dim);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int count = b * n;
        int lastLayer = rvqs.get(0).quantizeDropout().lastLayer(options);
        float[] x = tokens.data();
        QuantizerOutput[] out = new QuantizerOutput[groups];
        for (int g = 0; g < groups; g++) {
            float[] chunk = FeatureGroups.columns(x, count, dim, g * groupDim, groupDim);
            out[g] = rvqs.get(g).forwardTokens(params, new Tensor(chunk, b, n, groupDim), options, lastLayer);
        }
        return out;
    }

    // ---------------------------------------------------------------- decoding

    /** Token-major group-major codes {@code (m, G·q)} → {@code (m, dim)}. */
    @Override
    public final Tensor decodeTokens(Params params, LongTensor codes) {
        int q = layers();
        FsqSupport.requireCodes(type, codes, groups * q);
        int m = codes.dim(0);
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            parts[g] = rvqs.get(g).decodeTokens(params, new LongTensor(FeatureGroups.groupCodes(codes.data(), m, groups, q, g), m, q));
        }
        return FeatureGroups.concatLast(parts);
    }

    /** {@code (G, …, q)} → {@code (G, q, …, D)}. */
    @Override
    public final Tensor codesFromIndices(Params params, LongTensor indices) {
        return Tensor.stack(perGroup(indices, (r, groupIndices) -> r.codesFromIndices(params, groupIndices)));
    }

    /** {@code (G, …, q)} → {@code (…, dim)}: the groups' outputs concatenated on the feature (last) axis. */
    @Override
    public final Tensor outputFromIndices(Params params, LongTensor indices) {
        return FeatureGroups.concatLast(perGroup(indices, (r, groupIndices) -> r.outputFromIndices(params, groupIndices)));
    }

    /** {@code decode} applied to each group's stack and its slice {@code indices[g]}. */
    private Tensor[] perGroup(LongTensor indices, BiFunction<Q, LongTensor, Tensor> decode) {
        requireGroupAxis(indices);
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            parts[g] = decode.apply(rvqs.get(g), indices.select0(g));
        }
        return parts;
    }

    private void requireGroupAxis(LongTensor indices) {
        if (indices.rank() < 2 || indices.dim(0) != groups) {
            throw new IllegalArgumentException(type + ": indices must be (groups = " + groups + ", …, q), got "
                    + Shapes.str(indices.shape()));
        }
    }
}

package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code GroupedResidualLFQ}: the feature axis split into {@code G} contiguous chunks of
 * {@code dim/G}, each quantized by its own {@link ResidualLFQ} (parameters under
 * {@code rvqs.{g}.}).
 *
 * <pre>
 * x = [x₀ | x₁ | … | x_{G−1}],   quantized = [RLFQ₀(x₀) | … | RLFQ_{G−1}(x_{G−1})]
 * </pre>
 * {@link #forward} returns the reference's shapes: indices {@code (G, b, n, q)}, losses
 * {@code (G, q)}, all_codes {@code (G, q, b, n, D)} (a tuple of per-group tensors in the
 * reference, stacked here). Token-major codes are {@code (b, n, G·q)}, group-major: position
 * {@code g·q + l} holds layer {@code l} of group {@code g}. In training with quantize dropout
 * all groups stop after the same layer, as the reference passes one seed to every group.
 *
 * <p>{@code accept_image_fmap = true} is rejected: the reference splits channel-first images
 * on axis 1 but then applies each group's {@code project_in} to the last (spatial) axis.
 */
@Internal
public final class GroupedResidualLFQ implements Quantizer {
    private final Map<String, Object> kwargs;
    final int dim;
    final int groups;
    final int dimPerGroup;
    final ResidualLFQ[] rvqs;

    public GroupedResidualLFQ(Map<String, ?> kwargs) {
        Kwargs k = new Kwargs("GroupedResidualLFQ", kwargs);
        this.kwargs = k.asMap();
        this.dim = k.requireInt("dim");
        this.groups = k.getInt("groups", 1);
        boolean image = k.getBool("accept_image_fmap", false);
        if (groups < 1) {
            throw new IllegalArgumentException("GroupedResidualLFQ: groups must be at least 1, got " + groups);
        }
        if (dim < 1 || dim % groups != 0) {
            throw new IllegalArgumentException("GroupedResidualLFQ: dim (" + dim + ") must be a positive multiple of groups (" + groups + ")");
        }
        if (image) {
            throw new IllegalArgumentException("GroupedResidualLFQ: argument 'accept_image_fmap' = true is not supported by vqstream "
                    + "(pass channel-last (b, n, dim) tokens)");
        }
        this.dimPerGroup = dim / groups;
        Map<String, Object> groupArgs = k.without(List.of("dim", "groups", "accept_image_fmap"));
        k.markAllUsed();
        this.rvqs = new ResidualLFQ[groups];
        for (int g = 0; g < groups; g++) {
            Map<String, Object> a = new LinkedHashMap<>(groupArgs);
            a.put("dim", dimPerGroup);
            rvqs[g] = new ResidualLFQ(new Kwargs("GroupedResidualLFQ group " + g, a), "rvqs." + g + ".");
        }
    }

    @Override
    public String type() {
        return "GroupedResidualLFQ";
    }

    @Override
    public Map<String, Object> kwargs() {
        return kwargs;
    }

    @Override
    public int dim() {
        return dim;
    }

    private int layersPerGroup() {
        return rvqs[0].numQuantizers;
    }

    @Override
    public int codesPerToken() {
        return groups * layersPerGroup();
    }

    @Override
    public long[] codebookSizes() {
        long[] s = new long[codesPerToken()];
        Arrays.fill(s, rvqs[0].codebookSize);
        return s;
    }

    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        for (ResidualLFQ r : rvqs) {
            l.addAll(r.parameterSpecs());
        }
        return l;
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        SplittableRandom rng = new SplittableRandom(seed);
        for (ResidualLFQ r : rvqs) {
            r.initInto(p, rng);
        }
        return p;
    }

    // ---------------------------------------------------------------- forward

    /** Per-group outputs of one call on tokens {@code (b, n, dim)}. */
    private QuantizerOutput[] runGroups(Params params, Tensor tokens, ForwardOptions options) {
        if (tokens.rank() != 3) {
            throw new IllegalArgumentException("GroupedResidualLFQ: expected (b, n, dim), got " + Shapes.str(tokens.shape()));
        }
        Layouts.requireLastDim(type(), tokens, dim);
        Layouts.requireFinite(type(), tokens);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int count = b * n;
        int lastLayer = rvqs[0].lastActiveLayer(options);
        float[] x = tokens.data();
        QuantizerOutput[] outs = new QuantizerOutput[groups];
        for (int g = 0; g < groups; g++) {
            float[] chunk = FeatureGroups.columns(x, count, dim, g * dimPerGroup, dimPerGroup);
            outs[g] = rvqs[g].forwardTokens(params, new Tensor(chunk, b, n, dimPerGroup), options, lastLayer);
        }
        return outs;
    }

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        QuantizerOutput[] outs = runGroups(params, input, options);
        int b = input.dim(0);
        int n = input.dim(1);
        QuantizerOutput out = new QuantizerOutput();
        out.put("quantized", FeatureGroups.concatLast(quantizedParts(outs)));
        LongTensor[] idx = new LongTensor[groups];
        Tensor[] losses = new Tensor[groups];
        Tensor[] codes = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            idx[g] = outs[g].indices();
            losses[g] = outs[g].floatOrNull("losses");
            codes[g] = outs[g].floatOrNull("all_codes");
        }
        out.put("indices", LongTensor.stack(idx));
        out.put("losses", Tensor.stack(losses));
        out.put("all_codes", Tensor.stack(codes));
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        QuantizerOutput[] outs = runGroups(params, tokens, options);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int count = b * n;
        int q = layersPerGroup();
        long[][] perGroupCodes = new long[groups][];
        Tensor[] losses = new Tensor[groups];
        Tensor[] codes = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            perGroupCodes[g] = outs[g].indices().data();
            losses[g] = outs[g].floatOrNull("losses");
            codes[g] = outs[g].floatOrNull("all_codes");
        }
        QuantizerOutput out = new QuantizerOutput();
        out.put("quantized", FeatureGroups.concatLast(quantizedParts(outs)));
        out.put("indices", new LongTensor(FeatureGroups.interleave(perGroupCodes, count, q), b, n, groups * q));
        out.put("losses", Tensor.stack(losses));
        out.put("all_codes", Tensor.stack(codes));
        return out;
    }

    private Tensor[] quantizedParts(QuantizerOutput[] outs) {
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            parts[g] = outs[g].quantized();
        }
        return parts;
    }

    // ---------------------------------------------------------------- decoding

    /** Token-major codes {@code (m, G·q)} to {@code (m, dim)}. */
    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        int q = layersPerGroup();
        if (codes.rank() != 2 || codes.dim(1) != groups * q) {
            throw new IllegalArgumentException("GroupedResidualLFQ: codes must be (m, " + groups * q + "), got " + Shapes.str(codes.shape()));
        }
        int m = codes.dim(0);
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            long[] gi = FeatureGroups.groupCodes(codes.data(), m, groups, q, g);
            parts[g] = rvqs[g].decodeTokens(params, new LongTensor(gi, m, q));
        }
        return FeatureGroups.concatLast(parts);
    }

    private void requireGroupAxis(LongTensor indices) {
        if (indices.rank() < 2 || indices.dim(0) != groups) {
            throw new IllegalArgumentException("GroupedResidualLFQ: indices must be (groups=" + groups + ", ..., q), got "
                    + Shapes.str(indices.shape()));
        }
    }

    /** {@code (G, ..., q)} to {@code (G, q, ..., D)}. */
    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        requireGroupAxis(indices);
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            parts[g] = rvqs[g].codesFromIndices(params, indices.select0(g));
        }
        return Tensor.stack(parts);
    }

    /** {@code (G, ..., q)} to {@code (..., dim)}: per-group outputs concatenated along features. */
    @Override
    public Tensor outputFromIndices(Params params, LongTensor indices) {
        requireGroupAxis(indices);
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            parts[g] = rvqs[g].outputFromIndices(params, indices.select0(g));
        }
        return FeatureGroups.concatLast(parts);
    }
}

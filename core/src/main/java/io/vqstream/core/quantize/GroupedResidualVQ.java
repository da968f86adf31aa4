package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code G} independent {@link ResidualVQ}s on contiguous feature chunks of width
 * {@code dim/G} (Yang et al., "HiFi-Codec", 2023), as {@code GroupedResidualVQ}.
 *
 * <p>Reference outputs: indices {@code (G, b, n, q)}, losses {@code (G, q)}, all codes
 * {@code (G, q, b, n, dim/G)}. Token-major codes are {@code (b, n, G·q)}, group-major: code
 * {@code g·q + l} is layer {@code l} of group {@code g}.
 */
@Internal
public final class GroupedResidualVQ implements Quantizer {
    private final Map<String, Object> kwargs;
    final int dim;
    final int groups;
    final int groupDim;
    final boolean acceptImageFmap;
    final ResidualVQ[] rvqs;

    public GroupedResidualVQ(Map<String, ?> kwargs) {
        Kwargs k = new Kwargs("GroupedResidualVQ", kwargs);
        this.kwargs = k.asMap();
        this.dim = k.requireInt("dim");
        this.groups = k.getInt("groups", 1);
        this.acceptImageFmap = k.getBool("accept_image_fmap", false);
        if (groups < 1) {
            throw new IllegalArgumentException("GroupedResidualVQ: groups must be at least 1, got " + groups);
        }
        if (dim % groups != 0) {
            throw new IllegalArgumentException("GroupedResidualVQ: dim " + dim + " is not divisible by groups " + groups);
        }
        this.groupDim = dim / groups;
        Map<String, Object> inner = new LinkedHashMap<>(k.without(List.of("dim", "groups")));
        inner.put("dim", groupDim);
        k.markAllUsed();
        this.rvqs = new ResidualVQ[groups];
        for (int g = 0; g < groups; g++) {
            rvqs[g] = new ResidualVQ(new Kwargs("GroupedResidualVQ group " + g, inner), "rvqs." + g + ".");
        }
    }

    @Override
    public String type() {
        return "GroupedResidualVQ";
    }

    @Override
    public Map<String, Object> kwargs() {
        return kwargs;
    }

    @Override
    public int dim() {
        return dim;
    }

    private int q() {
        return rvqs[0].numQuantizers;
    }

    @Override
    public int codesPerToken() {
        return groups * q();
    }

    @Override
    public long[] codebookSizes() {
        long[] s = new long[codesPerToken()];
        for (int g = 0; g < groups; g++) {
            System.arraycopy(rvqs[g].codebookSizes(), 0, s, g * q(), q());
        }
        return s;
    }

    @Override
    public boolean learnsOnline() {
        return rvqs[0].learnsOnline();
    }

    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        for (ResidualVQ r : rvqs) {
            l.addAll(r.parameterSpecs());
        }
        return l;
    }

    @Override
    public List<String> parameterAliases(String name) {
        for (ResidualVQ r : rvqs) {
            List<String> a = r.parameterAliases(name);
            if (!a.isEmpty()) {
                return a;
            }
        }
        return List.of();
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        for (int g = 0; g < groups; g++) {
            rvqs[g].initParams(seed + 0x9E3779B97F4A7C15L * (g + 1)).asMap().forEach(p::put);
        }
        return p;
    }

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        if (acceptImageFmap) {
            if (input.rank() != 4) {
                throw new IllegalArgumentException(type() + ": expected an image (b, c, h, w), got " + Shapes.str(input.shape()));
            }
            int[] spatial = Layouts.spatial(input);
            int b = input.dim(0);
            QuantizerOutput out = forwardTokens(params, Layouts.channelFirstToTokens(input), options);
            out.put("quantized", Layouts.tokensToChannelFirst(out.quantized(), spatial));
            return referenceShapes(out, b, spatial);
        }
        if (input.rank() != 3) {
            throw new IllegalArgumentException(type() + ": expected (b, n, dim), got " + Shapes.str(input.shape()));
        }
        return referenceShapes(forwardTokens(params, input, options), input.dim(0), new int[] {input.dim(1)});
    }

    /** Token-major (b, n, G·q) indices → (G, b, spatial..., q); all codes → (G, q, b, spatial..., d). */
    private QuantizerOutput referenceShapes(QuantizerOutput out, int b, int[] spatial) {
        int q = q();
        int positions = Math.toIntExact(Shapes.numel(spatial));
        int[] idxShape = new int[3 + spatial.length];
        idxShape[0] = groups;
        idxShape[1] = b;
        System.arraycopy(spatial, 0, idxShape, 2, spatial.length);
        idxShape[idxShape.length - 1] = q;
        out.put("indices", out.indices().reshape(b * positions, groups, q).permute(1, 0, 2).reshape(idxShape));
        int[] codeShape = new int[4 + spatial.length];
        codeShape[0] = groups;
        codeShape[1] = q;
        codeShape[2] = b;
        System.arraycopy(spatial, 0, codeShape, 3, spatial.length);
        codeShape[codeShape.length - 1] = rvqs[0].codebookDim;
        out.put("all_codes", out.floatOrNull("all_codes").reshape(codeShape));
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        Layouts.requireLastDim(type(), tokens, dim);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int count = b * n;
        int q = q();
        float[] x = tokens.data();
        Tensor[] quantized = new Tensor[groups];
        long[][] perGroupCodes = new long[groups][];
        Tensor[] losses = new Tensor[groups];
        Tensor[] allCodes = new Tensor[groups];
        Tensor[][] state = new Tensor[3][groups];
        float replaced = 0;
        // one quantize-dropout cut-off for every group, as the reference draws it
        int lastLayer = rvqs[0].lastKeptLayer(options);
        for (int g = 0; g < groups; g++) {
            float[] chunk = FeatureGroups.columns(x, count, dim, g * groupDim, groupDim);
            QuantizerOutput go = rvqs[g].forwardTokens(params, new Tensor(chunk, b, n, groupDim), options, lastLayer);
            quantized[g] = go.quantized();
            perGroupCodes[g] = go.indices().data();
            losses[g] = go.floatOrNull("losses");
            Tensor r = go.floatOrNull("dead_codes_replaced");
            replaced += r == null ? 0 : r.item();
            allCodes[g] = go.floatOrNull("all_codes");
            state[0][g] = go.floatOrNull("embed");
            state[1][g] = go.floatOrNull("embed_avg");
            state[2][g] = go.floatOrNull("cluster_size");
        }
        QuantizerOutput out = new QuantizerOutput();
        out.put("quantized", FeatureGroups.concatLast(quantized));
        out.put("indices", new LongTensor(FeatureGroups.interleave(perGroupCodes, count, q), b, n, groups * q));
        out.put("losses", Tensor.stack(losses));
        out.put("all_codes", Tensor.stack(allCodes));
        if (options.training()) {
            out.putScalar("dead_codes_replaced", replaced);
        }
        if (state[0][0] != null) {
            out.put("embed", Tensor.stack(state[0]));
            out.put("embed_avg", Tensor.stack(state[1]));
            out.put("cluster_size", Tensor.stack(state[2]));
        }
        return out;
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        int q = q();
        int m = codes.size() / (groups * q);
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            parts[g] = rvqs[g].decodeTokens(params, new LongTensor(FeatureGroups.groupCodes(codes.data(), m, groups, q, g), m, q));
        }
        return FeatureGroups.concatLast(parts);
    }

    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        if (indices.dim(0) != groups) {
            throw new IllegalArgumentException(type() + ": indices must start with the group axis (" + groups + "), got " + Shapes.str(indices.shape()));
        }
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            parts[g] = rvqs[g].codesFromIndices(params, indices.select0(g));
        }
        return Tensor.stack(parts);
    }

    @Override
    public Tensor outputFromIndices(Params params, LongTensor indices) {
        if (indices.dim(0) != groups) {
            throw new IllegalArgumentException(type() + ": indices must start with the group axis (" + groups + "), got " + Shapes.str(indices.shape()));
        }
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            parts[g] = rvqs[g].outputFromIndices(params, indices.select0(g));
        }
        return FeatureGroups.concatLast(parts);
    }
}

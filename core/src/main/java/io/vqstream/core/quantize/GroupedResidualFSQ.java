package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Grouped residual FSQ, as {@code GroupedResidualFSQ} of vector-quantize-pytorch: the features
 * are split into {@code G} contiguous chunks of {@code dim/G}, and chunk {@code g} is quantized
 * by its own {@link ResidualFSQ} (own projection {@code dim/G → D}, parameters
 * {@code rvqs.{g}.*}); outputs are concatenated in group order.
 *
 * <p>Outputs: {@code quantized (b, n, dim)}, {@code indices (G, b, n, q)} and always
 * {@code all_codes (G, q, b, n, D)} (a tuple of per-group tensors in the reference, stacked
 * here). Token-major codes are {@code (b, n, G·q)}, <b>group-major</b>: position {@code g·q + l}
 * holds layer {@code l} of group {@code g}.
 *
 * <p>Channel-first images need both {@code accept_image_fmap} (split on axis 1) and
 * {@code is_channel_first} (each group reads {@code (b, dim/G, …)}); the reference misreads the
 * input when only one is set, so that is rejected. Then indices are {@code (G, b, q, …)} and
 * all_codes {@code (G, q, b, …, D)}. {@link #outputFromIndices} concatenates the groups on the
 * feature (last) axis; the reference concatenates on axis 1 with {@code accept_image_fmap},
 * which mixes spatial rows with groups. In training with quantize dropout one cut-off layer is
 * drawn per call and shared by all groups, as the reference shares its seed.
 */
@Internal
public final class GroupedResidualFSQ implements Quantizer, ImplicitCodebook {
    private static final String OWNER = "GroupedResidualFSQ";

    private final Map<String, Object> kwargs;
    final int dim;
    final int groups;
    final boolean acceptImageFmap;
    final ResidualFSQ[] rvqs;
    final int groupDim;

    public GroupedResidualFSQ(Map<String, ?> kwargs) {
        Kwargs k = new Kwargs(OWNER, kwargs);
        this.kwargs = k.asMap();
        this.dim = k.requireInt("dim");
        this.groups = k.getInt("groups", 1);
        this.acceptImageFmap = k.getBool("accept_image_fmap", false);
        if (dim < 1) {
            throw new IllegalArgumentException(OWNER + ": dim must be positive, got " + dim);
        }
        if (groups < 1) {
            throw new IllegalArgumentException(OWNER + ": groups must be at least 1, got " + groups);
        }
        if (dim % groups != 0) {
            throw new IllegalArgumentException(OWNER + ": dim " + dim + " is not divisible by groups " + groups);
        }
        this.groupDim = dim / groups;
        Map<String, Object> inner = k.without(List.of("dim", "groups", "accept_image_fmap"));
        inner.put("dim", groupDim);
        rvqs = new ResidualFSQ[groups];
        for (int g = 0; g < groups; g++) {
            rvqs[g] = new ResidualFSQ(new Kwargs(OWNER, inner), "rvqs." + g + ".");
        }
        if (acceptImageFmap != rvqs[0].channelFirst) {
            throw new IllegalArgumentException(OWNER + ": accept_image_fmap and is_channel_first must be set together "
                    + "(accept_image_fmap=" + acceptImageFmap + ", is_channel_first=" + rvqs[0].channelFirst + ")");
        }
    }

    @Override
    public String type() {
        return OWNER;
    }

    @Override
    public Map<String, Object> kwargs() {
        return kwargs;
    }

    @Override
    public int dim() {
        return dim;
    }

    private int layers() {
        return rvqs[0].numQuantizers;
    }

    @Override
    public int codesPerToken() {
        return groups * layers();
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
        for (ResidualFSQ r : rvqs) {
            l.addAll(r.parameterSpecs());
        }
        return l;
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        SplittableRandom rng = new SplittableRandom(seed);
        for (ResidualFSQ r : rvqs) {
            r.initParams(p, rng);
        }
        return p;
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        if (acceptImageFmap) {
            if (input.rank() < 2 || input.dim(1) != dim) {
                throw new IllegalArgumentException(OWNER + ": channel-first input must have dim = " + dim + " features on axis 1, got "
                        + Shapes.str(input.shape()));
            }
            int[] spatial = Layouts.spatial(input);
            Tensor tokens = FsqSupport.channelFirstTokens(OWNER, input);
            int b = tokens.dim(0);
            QuantizerOutput[] per = perGroup(params, tokens, options);
            QuantizerOutput out = new QuantizerOutput();
            Tensor[] quantized = new Tensor[groups];
            LongTensor[] idx = new LongTensor[groups];
            Tensor[] codes = new Tensor[groups];
            for (int g = 0; g < groups; g++) {
                QuantizerOutput cf = rvqs[g].channelFirstOutput(per[g], b, spatial);
                quantized[g] = per[g].quantized();
                idx[g] = cf.indices();
                codes[g] = cf.floatOrNull("all_codes");
            }
            out.put("quantized", Layouts.tokensToChannelFirst(FeatureGroups.concatLast(quantized), spatial));
            out.put("indices", LongTensor.stack(idx));
            out.put("all_codes", Tensor.stack(codes));
            return out;
        }
        if (input.rank() != 3) {
            throw new IllegalArgumentException(OWNER + ": expected an input (b, n, " + dim + "), got " + Shapes.str(input.shape()));
        }
        QuantizerOutput[] per = perGroup(params, input, options);
        QuantizerOutput out = new QuantizerOutput();
        Tensor[] quantized = new Tensor[groups];
        LongTensor[] idx = new LongTensor[groups];
        Tensor[] codes = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            quantized[g] = per[g].quantized();
            idx[g] = per[g].indices();
            codes[g] = per[g].floatOrNull("all_codes");
        }
        out.put("quantized", FeatureGroups.concatLast(quantized));
        out.put("indices", LongTensor.stack(idx));
        out.put("all_codes", Tensor.stack(codes));
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        QuantizerOutput[] per = perGroup(params, tokens, options);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int q = layers();
        int m = b * n;
        long[][] perGroupCodes = new long[groups][];
        Tensor[] quantized = new Tensor[groups];
        Tensor[] codes = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            quantized[g] = per[g].quantized();
            codes[g] = per[g].floatOrNull("all_codes");
            perGroupCodes[g] = per[g].indices().data();
        }
        long[] indices = FeatureGroups.interleave(perGroupCodes, m, q);
        QuantizerOutput out = new QuantizerOutput();
        out.put("quantized", FeatureGroups.concatLast(quantized));
        out.put("indices", new LongTensor(indices, b, n, groups * q));
        out.put("all_codes", Tensor.stack(codes));
        return out;
    }

    /** Splits tokens {@code (b, n, dim)} into groups and runs each group's residual stack with one shared cut-off. */
    private QuantizerOutput[] perGroup(Params params, Tensor tokens, ForwardOptions options) {
        FsqSupport.requireTokens(OWNER, tokens, dim);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int m = b * n;
        int lastKept = rvqs[0].lastKeptLayer(options);
        float[] x = tokens.data();
        QuantizerOutput[] out = new QuantizerOutput[groups];
        for (int g = 0; g < groups; g++) {
            float[] chunk = FeatureGroups.columns(x, m, dim, g * groupDim, groupDim);
            out[g] = rvqs[g].forwardTokens(params, new Tensor(chunk, b, n, groupDim), options, lastKept);
        }
        return out;
    }

    // ---------------------------------------------------------------- decoding

    private void requireGroups(LongTensor indices) {
        if (indices.rank() < 2 || indices.dim(0) != groups) {
            throw new IllegalArgumentException(OWNER + ": indices must be (groups = " + groups + ", …, q), got "
                    + Shapes.str(indices.shape()));
        }
    }

    /** Token-major group-major codes {@code (m, G·q)} → {@code (m, dim)}. */
    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        int q = layers();
        FsqSupport.requireCodes(OWNER, codes, groups * q);
        int m = codes.dim(0);
        Tensor[] parts = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            long[] gi = FeatureGroups.groupCodes(codes.data(), m, groups, q, g);
            parts[g] = rvqs[g].decodeTokens(params, new LongTensor(gi, m, q));
        }
        return FeatureGroups.concatLast(parts);
    }

    /** {@code (G, …, q)} → {@code (G, q, …, D)}. */
    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        requireGroups(indices);
        Tensor[] per = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            per[g] = rvqs[g].codesFromIndices(params, indices.select0(g));
        }
        return Tensor.stack(per);
    }

    /** {@code (G, …, q)} → {@code (…, dim)}, the groups' outputs concatenated on the feature axis. */
    @Override
    public Tensor outputFromIndices(Params params, LongTensor indices) {
        requireGroups(indices);
        Tensor[] per = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            per[g] = rvqs[g].outputFromIndices(params, indices.select0(g));
        }
        return FeatureGroups.concatLast(per);
    }

    /** The reference's {@code codebooks}: {@code (G, q, Π L, D)}. */
    @Override
    public Tensor implicitCodebook(Params params) {
        Tensor[] per = new Tensor[groups];
        for (int g = 0; g < groups; g++) {
            per[g] = rvqs[g].implicitCodebook(params);
        }
        return Tensor.stack(per);
    }
}

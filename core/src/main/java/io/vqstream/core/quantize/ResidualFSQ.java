package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.backend.ComputeBackend;
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
 * Residual finite scalar quantization, as {@code ResidualFSQ} of vector-quantize-pytorch: a
 * stack of {@code q} symmetric FSQ layers, layer {@code l} quantizing the remaining residual on
 * a grid {@code L^l} times finer, so the sum of the layers' codes refines the input step by step
 * (Algorithm 1 of Zeghidour et al., "SoundStream", 2021, with FSQ layers).
 *
 * <pre>
 * z    = project_in(x);   z ← tanh(z / v)·v        (v_i = 1 + 1/(L_i−1) with bound_hard_clamp)
 * r_0  = z;   scale_l = L^(−l)
 * q_l  = FSQ_l(r_l / scale_l)·scale_l,   r_{l+1} = r_l − q_l
 * out  = project_out(Σ_l q_l)
 * </pre>
 * Every layer is {@code FSQ(levels, preserve_symmetry=True, bound_hard_clamp=…)}; further
 * keyword arguments go to the layers (only those without a layout or shape effect:
 * {@code noise_dropout}, {@code orthogonal_rotation}, which makes {@code layers.{l}.orthogonal_rot}
 * parameters, and the value-neutral ones).
 *
 * <p>Outputs: {@code quantized}, {@code indices (b, n, q)} and always {@code all_codes
 * (q, b, n, D)} (the scaled codes looked up from the indices, before project_out, as the
 * reference's {@code return_all_codes}). Token-major codes are {@code (b, n, q)}, layer order.
 *
 * <p>{@code is_channel_first}: input {@code (b, dim, …)}, output likewise, and indices
 * {@code (b, q, …)} as the reference returns them; {@code all_codes} are then
 * {@code (q, b, …, D)} (the reference's own lookup misreads its channel-first indices).
 * Quantize dropout (training with {@code quantize_dropout} and q &gt; 1, the reference's
 * grad-enabled case) draws the last kept layer uniformly from
 * {@code [quantize_dropout_cutoff_index, q)} via {@link ForwardOptions#random()}; later layers
 * report index −1, which decodes to a zero code.
 *
 * <p>With {@code orthogonal_rotation}, {@link #codesFromIndices}, {@link #outputFromIndices} and
 * {@code all_codes} follow the reference and omit the rotation; {@link #decodeTokens} applies it,
 * so that it inverts {@link #forwardTokens}.
 */
@Internal
public final class ResidualFSQ implements ResidualStack, ImplicitCodebook {
    private static final List<String> OWN_KEYS = List.of("levels", "num_quantizers", "dim", "is_channel_first",
            "quantize_dropout", "quantize_dropout_cutoff_index", "quantize_dropout_multiple_of",
            "soft_clamp_input_value", "bound_hard_clamp");

    private final String owner;
    private final Map<String, Object> kwargs;
    private final String prefix;
    final int[] levels;
    final int codebookDim;
    final int numQuantizers;
    final int dim;
    final boolean projects;
    final boolean channelFirst;
    final QuantizeDropout dropout;
    final float[] clampValue;
    final float[][] scales;
    final FSQ[] layers;
    final long codebookSize;

    public ResidualFSQ(Map<String, ?> kwargs) {
        this(new Kwargs("ResidualFSQ", kwargs), "");
    }

    /** For nesting inside GroupedResidualFSQ: names get {@code prefix}, messages name {@code k.owner()}. */
    ResidualFSQ(Kwargs k, String prefix) {
        this.owner = k.owner();
        this.kwargs = k.asMap();
        this.prefix = prefix;
        Object rawLevels = k.getIntOrList("levels");
        if (rawLevels != null && !(rawLevels instanceof List<?>)) {
            throw new IllegalArgumentException(owner + ": argument 'levels' must be a list of integers, got " + rawLevels);
        }
        this.levels = FsqSupport.requireLevels(owner, k.getIntList("levels", 0));
        this.codebookDim = levels.length;
        this.numQuantizers = k.requireInt("num_quantizers");
        Integer dimArg = k.getIntOrNull("dim");
        this.dim = dimArg != null ? dimArg : codebookDim;
        this.channelFirst = k.getBool("is_channel_first", false);
        double[] softClamp = k.getDoubleOrList("soft_clamp_input_value");
        boolean hardClamp = k.getBool("bound_hard_clamp", true);

        if (numQuantizers < 1) {
            throw new IllegalArgumentException(owner + ": num_quantizers must be at least 1, got " + numQuantizers);
        }
        if (dim < 1) {
            throw new IllegalArgumentException(owner + ": dim must be positive, got " + dim);
        }
        this.dropout = QuantizeDropout.read(k, numQuantizers);
        if (k.has("preserve_symmetry")) {
            throw new IllegalArgumentException(owner + ": argument 'preserve_symmetry' cannot be set: the layers are always symmetric");
        }

        // soft clamp: fl32(1 + fl32(1/(L−1))) with the hard-clamped layers, else the given value(s)
        if (hardClamp) {
            if (softClamp != null) {
                throw new IllegalArgumentException(owner + ": soft_clamp_input_value must be None when bound_hard_clamp is True "
                        + "(the clamp value is then 1 + 1/(L−1))");
            }
            clampValue = new float[codebookDim];
            for (int i = 0; i < codebookDim; i++) {
                clampValue[i] = 1f + 1f / (float) (levels[i] - 1);
            }
        } else if (softClamp != null) {
            if (softClamp.length != 1 && softClamp.length != codebookDim) {
                throw new IllegalArgumentException(owner + ": soft_clamp_input_value needs 1 or " + codebookDim
                        + " values, got " + softClamp.length);
            }
            clampValue = new float[codebookDim];
            for (int i = 0; i < codebookDim; i++) {
                double v = softClamp[softClamp.length == 1 ? 0 : i];
                if (!(v > 0) || Double.isInfinite(v)) {
                    throw new IllegalArgumentException(owner + ": soft_clamp_input_value must be positive and finite, got " + v);
                }
                clampValue[i] = (float) v;
            }
        } else {
            clampValue = null;
        }

        // scale_l = float32(L)^(−l)
        scales = new float[numQuantizers][codebookDim];
        for (int l = 0; l < numQuantizers; l++) {
            for (int i = 0; i < codebookDim; i++) {
                scales[l][i] = (float) Math.pow(levels[i], -l);
            }
        }

        Map<String, Object> layerArgs = new LinkedHashMap<>(k.without(OWN_KEYS));
        k.markAllUsed();
        layerArgs.put("levels", kwargs.get("levels"));
        layerArgs.put("dim", codebookDim);
        layerArgs.put("preserve_symmetry", true);
        layerArgs.put("bound_hard_clamp", hardClamp);
        layers = new FSQ[numQuantizers];
        for (int l = 0; l < numQuantizers; l++) {
            layers[l] = new FSQ(new Kwargs(owner, layerArgs), prefix + "layers." + l + ".", true);
        }
        FSQ first = layers[0];
        if (first.numCodebooks != 1 || first.keepNumCodebooksDim) {
            throw new IllegalArgumentException(owner + ": the layers must have num_codebooks = 1 without a kept codebook axis");
        }
        if (first.channelFirst) {
            throw new IllegalArgumentException(owner + ": channel_first is not a layer option; use is_channel_first");
        }
        if (!first.returnIndices) {
            throw new IllegalArgumentException(owner + ": return_indices=False is not possible (the layers' indices are stacked)");
        }
        this.codebookSize = first.codebookSize;
        this.projects = dim != codebookDim;
    }

    @Override
    public String type() {
        return "ResidualFSQ";
    }

    @Override
    public Map<String, Object> kwargs() {
        return kwargs;
    }

    @Override
    public QuantizeDropout quantizeDropout() {
        return dropout;
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public int codesPerToken() {
        return numQuantizers;
    }

    @Override
    public long[] codebookSizes() {
        long[] s = new long[numQuantizers];
        Arrays.fill(s, codebookSize);
        return s;
    }

    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        if (projects) {
            l.addAll(ParamSpec.linear(prefix + "project_in.", dim, codebookDim, true));
            l.addAll(ParamSpec.linear(prefix + "project_out.", codebookDim, dim, true));
        }
        for (FSQ layer : layers) {
            l.addAll(layer.parameterSpecs());
        }
        return l;
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        initParams(p, new SplittableRandom(seed));
        return p;
    }

    void initParams(Params p, SplittableRandom rng) {
        if (projects) {
            Nn.initLinear(p, prefix + "project_in.", dim, codebookDim, true, rng);
            Nn.initLinear(p, prefix + "project_out.", codebookDim, dim, true, rng);
        }
        for (FSQ layer : layers) {
            layer.initParams(p, rng);
        }
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        if (channelFirst) {
            if (input.rank() < 2 || input.dim(1) != dim) {
                throw new IllegalArgumentException(owner + ": channel-first input must have dim = " + dim + " features on axis 1, got "
                        + Shapes.str(input.shape()));
            }
            int[] spatial = Layouts.spatial(input);
            Tensor tokens = FsqSupport.channelFirstTokens(owner, input);
            QuantizerOutput tok = forwardTokens(params, tokens, options, dropout.lastLayer(options));
            return channelFirstOutput(tok, tokens.dim(0), spatial);
        }
        if (input.rank() != 3) {
            throw new IllegalArgumentException(owner + ": expected an input (b, n, " + dim + "), got " + Shapes.str(input.shape()));
        }
        return forwardTokens(params, input, options);
    }

    /** Token outputs in the reference's channel-first shapes: indices {@code (b, q, …)}, all_codes {@code (q, b, …, D)}. */
    QuantizerOutput channelFirstOutput(QuantizerOutput tok, int b, int[] spatial) {
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, Layouts.tokensToChannelFirst(tok.quantized(), spatial));
        LongTensor idx = Layouts.spatialIndices(tok.indices(), b, spatial, numQuantizers, true);
        out.put(QuantizerOutput.Name.INDICES, FsqSupport.moveLastToAxis1(idx));
        int[] codesShape = new int[3 + spatial.length];
        codesShape[0] = numQuantizers;
        codesShape[1] = b;
        System.arraycopy(spatial, 0, codesShape, 2, spatial.length);
        codesShape[codesShape.length - 1] = codebookDim;
        out.put(QuantizerOutput.Name.ALL_CODES, tok.get(QuantizerOutput.Name.ALL_CODES).reshape(codesShape));
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        return forwardTokens(params, tokens, options, dropout.lastLayer(options));
    }

    /** The residual stack on tokens {@code (b, n, dim)}, with layers after {@code lastKept} dropped. */
    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options, int lastKept) {
        FsqSupport.requireTokens(owner, tokens, dim);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int m = b * n;
        int d = codebookDim;
        int q = numQuantizers;
        ComputeBackend be = options.backend();
        float[] residual = projects ? Nn.linear(be, params, prefix + "project_in.", tokens.data(), m, dim, d) : tokens.data().clone();
        if (clampValue != null) {
            for (int t = 0; t < m; t++) {
                for (int i = 0; i < d; i++) {
                    float v = clampValue[i];
                    residual[t * d + i] = (float) Math.tanh(residual[t * d + i] / v) * v;
                }
            }
        }
        float[] sum = new float[m * d];
        float[] work = new float[m * d];
        long[] layerIdx = new long[m];
        long[] indices = new long[m * q];
        for (int l = 0; l < q; l++) {
            if (l > lastKept) {
                for (int t = 0; t < m; t++) {
                    indices[t * q + l] = -1;
                }
                continue;
            }
            float[] scale = scales[l];
            for (int t = 0; t < m; t++) {
                for (int i = 0; i < d; i++) {
                    work[t * d + i] = residual[t * d + i] / scale[i];
                }
            }
            layers[l].quantizeInPlace(params, work, m, layerIdx, options);
            for (int t = 0; t < m; t++) {
                indices[t * q + l] = layerIdx[t];
                for (int i = 0; i < d; i++) {
                    float ql = work[t * d + i] * scale[i];
                    residual[t * d + i] -= ql;
                    sum[t * d + i] += ql;
                }
            }
        }
        float[] y = projects ? Nn.linear(be, params, prefix + "project_out.", sum, m, d, dim) : sum;
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(y, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(indices, b, n, q));
        out.put(QuantizerOutput.Name.ALL_CODES, new Tensor(layerCodes(indices, m, q, new int[] {b, n, q}, false), q, b, n, d));
        return out;
    }

    // ---------------------------------------------------------------- decoding

    /**
     * Scaled codes {@code (q, m, D)} of token-major indices {@code (m, width)}, width ≤ q (missing
     * layers and −1 give zero codes); {@code rotate} applies each layer's rotation back.
     */
    private float[] layerCodes(long[] indices, int m, int width, int[] shape, boolean rotate, Params params) {
        int d = codebookDim;
        int q = numQuantizers;
        float[] codes = new float[q * m * d];
        long[] one = new long[1];
        for (int t = 0; t < m; t++) {
            for (int l = 0; l < width; l++) {
                long idx = indices[t * width + l];
                if (idx == -1) {
                    continue;
                }
                FsqSupport.requireCodeInRange(owner, idx, codebookSize, shape, t * width + l);
                int o = (l * m + t) * d;
                if (rotate) {
                    one[0] = idx;
                    float[] c = new float[d];
                    layers[l].codesOf(params, one, 1, c);
                    System.arraycopy(c, 0, codes, o, d);
                } else {
                    layers[l].codeOf(idx, codes, o);
                }
                for (int i = 0; i < d; i++) {
                    codes[o + i] *= scales[l][i];
                }
            }
        }
        return codes;
    }

    private float[] layerCodes(long[] indices, int m, int width, int[] shape, boolean rotate) {
        return layerCodes(indices, m, width, shape, rotate, null);
    }

    /** Σ over layers of {@code (q, m, D)} codes, projected out: {@code (m, dim)}. */
    private float[] sumAndProject(Params params, float[] codes, int m) {
        int d = codebookDim;
        float[] sum = new float[m * d];
        for (int l = 0; l < numQuantizers; l++) {
            for (int j = 0; j < m * d; j++) {
                sum[j] += codes[l * m * d + j];
            }
        }
        return projects ? Nn.linear(ComputeBackendHolder.get(), params, prefix + "project_out.", sum, m, d, dim) : sum;
    }

    /** The number of index columns, checked: q, or fewer only with quantize dropout. */
    private int indexWidth(int[] shape) {
        if (shape.length < 1) {
            throw new IllegalArgumentException(owner + ": indices need a last axis of " + numQuantizers + " layers");
        }
        int w = shape[shape.length - 1];
        dropout.checkIndexLayers(owner, w);
        return w;
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        if (codes.rank() != 2) {
            throw new IllegalArgumentException(owner + ": codes must have shape (m, " + numQuantizers + "), got " + Shapes.str(codes.shape()));
        }
        int w = indexWidth(codes.shape());
        int m = codes.dim(0);
        float[] c = layerCodes(codes.data(), m, w, codes.shape(), true, params);
        return new Tensor(sumAndProject(params, c, m), m, dim);
    }

    /** The reference's {@code get_codes_from_indices}: {@code (…, q)} → {@code (q, …, D)}. */
    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        int[] s = indices.shape();
        int w = indexWidth(s);
        int[] lead = Arrays.copyOf(s, s.length - 1);
        int m = Math.toIntExact(Shapes.numel(lead));
        int[] shape = new int[lead.length + 2];
        shape[0] = numQuantizers;
        System.arraycopy(lead, 0, shape, 1, lead.length);
        shape[shape.length - 1] = codebookDim;
        return new Tensor(layerCodes(indices.data(), m, w, s, false), shape);
    }

    /** The reference's {@code get_output_from_indices}: {@code project_out(Σ_l codes_l)}, {@code (…, dim)}. */
    @Override
    public Tensor outputFromIndices(Params params, LongTensor indices) {
        int[] s = indices.shape();
        int w = indexWidth(s);
        int[] lead = Arrays.copyOf(s, s.length - 1);
        int m = Math.toIntExact(Shapes.numel(lead));
        float[] c = layerCodes(indices.data(), m, w, s, false);
        return new Tensor(sumAndProject(params, c, m), FsqSupport.append(lead, dim));
    }

    /** The reference's {@code codebooks}: every layer's unscaled implicit codebook, {@code (q, Π L, D)}. */
    @Override
    public Tensor implicitCodebook(Params params) {
        Tensor[] per = new Tensor[numQuantizers];
        for (int l = 0; l < numQuantizers; l++) {
            per[l] = layers[l].implicitCodebook(params);
        }
        return Tensor.stack(per);
    }
}

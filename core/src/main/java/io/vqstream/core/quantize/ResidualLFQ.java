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
 * Residual lookup-free quantization, as {@code ResidualLFQ}: {@code q} {@link LFQ} layers of
 * width {@code D = log2(codebook_size)}, layer {@code l} with codebook scale {@code 2^−l}, each
 * quantizing what the previous ones left over (SoundStream, algorithm 1).
 *
 * <pre>
 * r₀ = project_in(x);   q_l = LFQ_l(r_l) ∈ {±2^−l}^D;   r_{l+1} = r_l − q_l
 * quantized = project_out(Σ_l q_l)
 * </pre>
 * {@code losses[l]} is layer {@code l}'s aux loss. The reference's forward has no
 * {@code inv_temperature} argument, so its layers always use 100; here
 * {@link ForwardOptions#invTemperature()} applies to every layer when set, and 100 otherwise.
 *
 * <p>{@code all_codes (q, b, n, D)} and the index→code functions use the reference's plain
 * per-layer codebooks {@code ±2^−l}, i.e. without the spherical normalisation or orthogonal
 * rotation a layer may apply to its forward output (as the reference does).
 *
 * <p>Token-major codes are {@code (b, n, q)} in layer order; a layer skipped by quantize
 * dropout (training only) reports −1 and a zero code. Inputs are channel-last {@code (b, n, dim)}.
 */
@Internal
public final class ResidualLFQ implements ResidualStack {
    private static final List<String> OWN = List.of("dim", "num_quantizers", "codebook_size", "quantize_dropout",
            "quantize_dropout_cutoff_index", "quantize_dropout_multiple_of", "soft_clamp_input_value");

    private final Map<String, Object> kwargs;
    private final String owner;
    private final String prefix;
    final int dim;
    final int codebookSize;
    final int bits;
    final int numQuantizers;
    final boolean projects;
    final QuantizeDropout dropout;
    final LFQ[] layers;

    public ResidualLFQ(Map<String, ?> kwargs) {
        this(new Kwargs("ResidualLFQ", kwargs), "");
    }

    /** For nesting (GroupedResidualLFQ groups): parameter names get {@code prefix}. */
    ResidualLFQ(Kwargs k, String prefix) {
        this.kwargs = k.asMap();
        this.owner = k.owner();
        this.prefix = prefix;
        this.dim = k.requireInt("dim");
        this.numQuantizers = k.requireInt("num_quantizers");
        this.codebookSize = k.requireInt("codebook_size");
        Double softClamp = k.getDoubleOrNull("soft_clamp_input_value");
        if (dim < 1) {
            throw new IllegalArgumentException(owner + ": dim must be positive, got " + dim);
        }
        if (numQuantizers < 1) {
            throw new IllegalArgumentException(owner + ": num_quantizers must be at least 1, got " + numQuantizers);
        }
        if (codebookSize < 2 || Integer.bitCount(codebookSize) != 1) {
            throw new IllegalArgumentException(owner + ": codebook_size must be a power of 2 (at least 2), got " + codebookSize);
        }
        this.dropout = QuantizeDropout.read(k, numQuantizers);
        this.bits = Integer.numberOfTrailingZeros(codebookSize);
        this.projects = bits != dim;

        Map<String, Object> layerArgs = k.without(OWN);
        k.markAllUsed();
        rejectLayerArgs(layerArgs);
        this.layers = new LFQ[numQuantizers];
        for (int l = 0; l < numQuantizers; l++) {
            Map<String, Object> a = new LinkedHashMap<>(layerArgs);
            a.put("dim", bits);
            a.put("codebook_size", codebookSize);
            a.put("codebook_scale", Math.scalb(1.0, -l));
            if (softClamp != null) {
                a.put("soft_clamp_input_value", softClamp * Math.scalb(1.0, -l));
            }
            layers[l] = new LFQ(new Kwargs(owner + " layer " + l, a), prefix + "layers." + l + ".");
        }
    }

    /** Layer arguments the residual stack fixes itself or cannot honour. */
    private void rejectLayerArgs(Map<String, Object> a) {
        if (a.containsKey("codebook_scale")) {
            throw new IllegalArgumentException(owner + ": argument 'codebook_scale' cannot be given; layer l uses 2^-l");
        }
        if (a.get("num_codebooks") instanceof Number nc && nc.intValue() != 1) {
            throw new IllegalArgumentException(owner + ": argument 'num_codebooks' must be 1, got " + nc);
        }
        if (Boolean.TRUE.equals(a.get("has_projections"))) {
            throw new IllegalArgumentException(owner + ": argument 'has_projections' = true is not possible; the layers never project");
        }
        if (Boolean.TRUE.equals(a.get("keep_num_codebooks_dim"))) {
            throw new IllegalArgumentException(owner + ": argument 'keep_num_codebooks_dim' = true is not supported (one code per layer)");
        }
        if (Boolean.TRUE.equals(a.get("channel_first"))) {
            throw new IllegalArgumentException(owner + ": argument 'channel_first' = true is not supported; inputs are (b, n, dim)");
        }
    }

    @Override
    public String type() {
        return "ResidualLFQ";
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
            l.addAll(ParamSpec.linear(prefix + "project_in.", dim, bits, true));
            l.addAll(ParamSpec.linear(prefix + "project_out.", bits, dim, true));
        }
        for (LFQ layer : layers) {
            l.addAll(layer.parameterSpecs());
        }
        return l;
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        initInto(p, new SplittableRandom(seed));
        return p;
    }

    void initInto(Params p, SplittableRandom rng) {
        if (projects) {
            Nn.initLinear(p, prefix + "project_in.", dim, bits, true, rng);
            Nn.initLinear(p, prefix + "project_out.", bits, dim, true, rng);
        }
        for (LFQ layer : layers) {
            layer.initInto(p, rng);
        }
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        if (input.rank() != 3) {
            throw new IllegalArgumentException(owner + ": expected (b, n, dim), got " + Shapes.str(input.shape()));
        }
        return forwardTokens(params, input, options);
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        return forwardTokens(params, tokens, options, dropout.lastLayer(options));
    }

    /** The residual loop with a given last active layer (GroupedResidualLFQ draws it once for all groups). */
    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options, int lastLayer) {
        if (tokens.rank() != 3) {
            throw new IllegalArgumentException(owner + ": expected tokens (b, n, dim), got " + Shapes.str(tokens.shape()));
        }
        Layouts.requireLastDim(owner, tokens, dim);
        Layouts.requireFinite(owner, tokens);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int count = b * n;
        int d = bits;
        ComputeBackend be = options.backend();
        float[] residual = projects ? Nn.linear(be, params, prefix + "project_in.", tokens.data(), count, dim, d) : tokens.data().clone();
        float[] sum = new float[count * d];
        long[] indices = new long[count * numQuantizers];
        float[] losses = new float[numQuantizers];
        for (int l = 0; l < numQuantizers; l++) {
            if (l > lastLayer) {
                for (int t = 0; t < count; t++) {
                    indices[t * numQuantizers + l] = -1;
                }
                continue;
            }
            LFQ.Latents r = layers[l].quantizeLatents(params, residual, count, options);
            float[] q = r.output();
            for (int i = 0; i < residual.length; i++) {
                residual[i] = residual[i] - q[i];
                sum[i] = sum[i] + q[i];
            }
            for (int t = 0; t < count; t++) {
                indices[t * numQuantizers + l] = r.indices()[t];
            }
            losses[l] = r.auxLoss();
        }
        float[] y = projects ? Nn.linear(be, params, prefix + "project_out.", sum, count, d, dim) : sum;
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(y, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(indices, b, n, numQuantizers));
        out.put(QuantizerOutput.Name.LOSSES, new Tensor(losses, numQuantizers));
        out.put(QuantizerOutput.Name.ALL_CODES, new Tensor(allCodes(indices, count), numQuantizers, b, n, d));
        return out;
    }

    // ---------------------------------------------------------------- decoding

    /** {@code ±2^−l} codes of token-major indices {@code (count, q)} as {@code (q, count, D)}; −1 gives zeros. */
    float[] allCodes(long[] indices, int count) {
        int d = bits;
        float[] out = new float[numQuantizers * count * d];
        for (int l = 0; l < numQuantizers; l++) {
            float s = (float) Math.scalb(1.0, -l);
            for (int t = 0; t < count; t++) {
                long index = indices[t * numQuantizers + l];
                if (index == -1) {
                    continue;
                }
                if (index < 0 || index >= codebookSize) {
                    throw new IllegalArgumentException(owner + ": code " + index + " of layer " + l + " at token " + t
                            + " out of range [0, " + codebookSize + ") (−1 marks a dropped layer)");
                }
                int o = (l * count + t) * d;
                for (int j = 0; j < d; j++) {
                    out[o + j] = ((index >>> (d - 1 - j)) & 1L) != 0 ? s : -s;
                }
            }
        }
        return out;
    }

    /** {@code project_out(Σ_l codes_l)} for {@code count} tokens. */
    float[] summedOutput(Params params, long[] indices, int count) {
        int d = bits;
        float[] all = allCodes(indices, count);
        float[] sum = new float[count * d];
        for (int l = 0; l < numQuantizers; l++) {
            for (int i = 0; i < count * d; i++) {
                sum[i] += all[l * count * d + i];
            }
        }
        return projects ? Nn.linear(ComputeBackendHolder.get(), params, prefix + "project_out.", sum, count, d, dim) : sum;
    }

    private static int[] lead(LongTensor indices) {
        int[] s = indices.shape();
        return Arrays.copyOf(s, s.length - 1);
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        if (codes.rank() != 2) {
            throw new IllegalArgumentException(owner + ": codes must be (m, " + numQuantizers + "), got " + Shapes.str(codes.shape()));
        }
        long[] idx = dropout.padIndices(owner, codes);
        int count = codes.dim(0);
        return new Tensor(summedOutput(params, idx, count), count, dim);
    }

    /** {@code get_codes_from_indices}: {@code (..., q)} to {@code (q, ..., D)}. */
    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        long[] idx = dropout.padIndices(owner, indices);
        int[] lead = lead(indices);
        int count = Math.toIntExact(Shapes.numel(lead));
        int[] shape = new int[lead.length + 2];
        shape[0] = numQuantizers;
        System.arraycopy(lead, 0, shape, 1, lead.length);
        shape[shape.length - 1] = bits;
        return new Tensor(allCodes(idx, count), shape);
    }

    /** {@code get_output_from_indices}: {@code (..., q)} to {@code (..., dim)}. */
    @Override
    public Tensor outputFromIndices(Params params, LongTensor indices) {
        long[] idx = dropout.padIndices(owner, indices);
        int[] lead = lead(indices);
        int count = Math.toIntExact(Shapes.numel(lead));
        int[] shape = Arrays.copyOf(lead, lead.length + 1);
        shape[lead.length] = dim;
        return new Tensor(summedOutput(params, idx, count), shape);
    }
}

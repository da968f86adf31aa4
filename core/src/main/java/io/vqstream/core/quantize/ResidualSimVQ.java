package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Residual quantization (Zeghidour et al., "SoundStream", 2021, algorithm 1) with
 * {@link SimVQ} layers, as {@code ResidualSimVQ} of vector-quantize-pytorch: layer {@code l}
 * quantizes what the previous layers left over.
 *
 * <pre>
 * r₀ = x;   (v_l, i_l, loss_l) = SimVQ_l(r_l);   r_{l+1} = r_l − v_l
 * quantized = Σ_l v_l
 * </pre>
 * {@code v_l} is layer {@code l}'s forward value (its code, through the rotation trick when
 * enabled), so the residuals carry the same rounding as the reference's. There are no
 * projections. Parameters are the layers' own, named {@code layers.<l>.frozen_codebook} and
 * {@code layers.<l>.code_transform.weight}. Each layer's loss is returned in evaluation mode
 * too, as {@code losses (q,)}.
 *
 * <p>Quantize dropout (training only, with {@code quantize_dropout} and {@code q > 1}): a last
 * layer {@code L} is drawn uniformly from {@code [quantize_dropout_cutoff_index, q)} (rounded up
 * so that {@code L + 1} is a multiple of {@code quantize_dropout_multiple_of}); later layers are
 * skipped, report index {@code −1} and loss 0, and decode to a zero vector.
 * Token-major codes are {@code (b, n, q)}.
 */
@Internal
public final class ResidualSimVQ implements Quantizer, ImplicitCodebook {
    private static final String TYPE = "ResidualSimVQ";
    private static final List<String> OWN = List.of(
            "num_quantizers", "heads", "quantize_dropout", "quantize_dropout_cutoff_index", "quantize_dropout_multiple_of");

    private final Map<String, Object> kwargs;
    final int dim;
    final int numQuantizers;
    final int codebookSize;
    final boolean channelFirst;
    final QuantizeDropout dropout;
    final SimVQ[] layers;

    public ResidualSimVQ(Map<String, ?> kwargs) {
        Kwargs k = new Kwargs(TYPE, kwargs);
        this.kwargs = k.asMap();
        this.dim = k.requireInt("dim");
        this.numQuantizers = k.requireInt("num_quantizers");
        this.codebookSize = k.requireInt("codebook_size");
        int heads = k.getInt("heads", 1);
        this.channelFirst = k.getBool("channel_first", false);
        k.getBool("rotation_trick", true);
        // everything else is a SimVQ argument, checked by every layer
        k.markAllUsed();
        k.rejectUnused(List.of(), Map.of());

        if (numQuantizers <= 0) {
            throw new IllegalArgumentException(TYPE + ": num_quantizers must be positive, got " + numQuantizers);
        }
        if (heads != 1) {
            throw new IllegalArgumentException(TYPE + ": heads must be 1 (residual quantization is not compatible with"
                    + " multi-headed codes), got " + heads);
        }
        this.dropout = QuantizeDropout.read(k, numQuantizers);

        Map<String, Object> layerKwargs = k.without(OWN);
        this.layers = new SimVQ[numQuantizers];
        for (int l = 0; l < numQuantizers; l++) {
            layers[l] = new SimVQ(new Kwargs(TYPE, layerKwargs), "layers." + l + ".", true);
        }
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Map<String, Object> kwargs() {
        return kwargs;
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
        for (SimVQ layer : layers) {
            l.addAll(layer.parameterSpecs());
        }
        return l;
    }

    /** Each layer initialised independently, as the reference constructs each SimVQ afresh. */
    @Override
    public Params initParams(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Params p = new Params();
        for (SimVQ layer : layers) {
            layer.initParams(rng.nextLong()).asMap().forEach(p::put);
        }
        return p;
    }

    /** The layers' implicit codebooks stacked, {@code (q, c, dim)}. */
    @Override
    public Tensor implicitCodebook(Params params) {
        Tensor[] cbs = new Tensor[numQuantizers];
        for (int l = 0; l < numQuantizers; l++) {
            cbs[l] = layers[l].implicitCodebook(params);
        }
        return Tensor.stack(cbs);
    }

    // ---------------------------------------------------------------- forward

    /** The sum of the layers' values, token-major indices, per-layer losses and codes {@code (q, m, dim)}. */
    private record Result(float[] quantized, long[] indices, float[] losses, float[] allCodes) {}

    private Result run(Params params, float[] x, int m, ForwardOptions options) {
        ComputeBackend be = options.backend();
        int last = dropout.lastLayer(options);
        float[] residual = x.clone();
        float[] sum = new float[m * dim];
        long[] indices = new long[m * numQuantizers];
        float[] losses = new float[numQuantizers];
        float[] allCodes = new float[numQuantizers * m * dim];
        Arrays.fill(indices, -1L);
        for (int l = 0; l <= last; l++) {
            SimVQ.Step s = layers[l].quantize(params, residual, m, be);
            for (int i = 0; i < residual.length; i++) {
                residual[i] -= s.value()[i];
                sum[i] += s.value()[i];
            }
            for (int t = 0; t < m; t++) {
                indices[t * numQuantizers + l] = s.indices()[t];
            }
            losses[l] = s.loss();
            System.arraycopy(s.codes(), 0, allCodes, l * m * dim, m * dim);
        }
        return new Result(sum, indices, losses, allCodes);
    }

    /** {@code L ~ U[cutoff, q)}, rounded up so that {@code L + 1} is a multiple of {@code multiple_of}. */
    int dropoutLayer(RandomSource random) {
        return dropout.draw(random);
    }

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        SimVQ.TokenLayout layout = SimVQ.TokenLayout.of(TYPE, input, dim, channelFirst);
        Layouts.requireFinite(TYPE, input);
        Tensor tokens = layout.toTokens(input);
        int m = layout.b * layout.n;
        Result r = run(params, tokens.data(), m, options);
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, layout.fromTokens(new Tensor(r.quantized, layout.b, layout.n, dim)));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(r.indices, layout.indexShape(numQuantizers)));
        out.put(QuantizerOutput.Name.LOSSES, new Tensor(r.losses, numQuantizers));
        out.put(QuantizerOutput.Name.ALL_CODES, codesLayout(r.allCodes, layout.indexShape(-1)));
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        SimVQ.requireTokens(TYPE, tokens, dim);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        Result r = run(params, tokens.data(), b * n, options);
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(r.quantized, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(r.indices, b, n, numQuantizers));
        out.put(QuantizerOutput.Name.LOSSES, new Tensor(r.losses, numQuantizers));
        out.put(QuantizerOutput.Name.ALL_CODES, new Tensor(r.allCodes, numQuantizers, b, n, dim));
        return out;
    }

    /**
     * Per-layer codes {@code (q, m, dim)} as the reference returns them: {@code (q, b, ..., dim)},
     * or {@code (q, b, dim, ...)} when channel-first.
     */
    private Tensor codesLayout(float[] codes, int[] tokenShape) {
        int[] shape = new int[tokenShape.length + 2];
        shape[0] = numQuantizers;
        System.arraycopy(tokenShape, 0, shape, 1, tokenShape.length);
        shape[shape.length - 1] = dim;
        Tensor t = new Tensor(codes, shape);
        if (!channelFirst || tokenShape.length < 2) {
            return t;
        }
        int r = shape.length;
        int[] perm = new int[r];
        perm[0] = 0;
        perm[1] = 1;
        perm[2] = r - 1;
        for (int i = 3; i < r; i++) {
            perm[i] = i - 1;
        }
        return t.permute(perm);
    }

    // ---------------------------------------------------------------- decoding

    /**
     * Layer codes of token-major indices {@code (m, k)}, {@code k ≤ q}, as {@code (q, m, dim)}.
     * Missing layers ({@code k < q}, only with quantize dropout) and {@code −1} decode to zero.
     */
    private float[] layerCodes(Params params, long[] indices, int m, int k) {
        dropout.checkIndexLayers(TYPE, k);
        float[] codes = new float[numQuantizers * m * dim];
        for (int l = 0; l < k; l++) {
            float[] c = layers[l].codesOf(params, indices, l, k, m, true);
            System.arraycopy(c, 0, codes, l * m * dim, m * dim);
        }
        return codes;
    }

    private static float[] sumLayers(float[] codes, int q, int len) {
        float[] sum = new float[len];
        for (int l = 0; l < q; l++) {
            for (int i = 0; i < len; i++) {
                sum[i] += codes[l * len + i];
            }
        }
        return sum;
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        if (codes.rank() != 2 || codes.dim(1) != numQuantizers) {
            throw new IllegalArgumentException(TYPE + ": codes must have shape (m, " + numQuantizers + "), got "
                    + Shapes.str(codes.shape()));
        }
        int m = codes.dim(0);
        float[] all = layerCodes(params, codes.data(), m, numQuantizers);
        return new Tensor(sumLayers(all, numQuantizers, m * dim), m, dim);
    }

    /** {@code indices (b, ..., k)} → {@code (q, b, ..., dim)} ({@code (q, b, dim, ...)} channel-first). */
    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        int[] lead = requireIndexShape(indices);
        int m = Math.toIntExact(Shapes.numel(lead));
        return codesLayout(layerCodes(params, indices.data(), m, indices.dim(-1)), lead);
    }

    /** {@code Σ_l codes_l}: {@code (b, ..., dim)} ({@code (b, dim, ...)} channel-first). */
    @Override
    public Tensor outputFromIndices(Params params, LongTensor indices) {
        int[] lead = requireIndexShape(indices);
        int m = Math.toIntExact(Shapes.numel(lead));
        float[] sum = sumLayers(layerCodes(params, indices.data(), m, indices.dim(-1)), numQuantizers, m * dim);
        int[] shape = Arrays.copyOf(lead, lead.length + 1);
        shape[lead.length] = dim;
        Tensor t = new Tensor(sum, shape);
        return channelFirst ? VectorQuantize.moveLastToAxis1(t) : t;
    }

    private static int[] requireIndexShape(LongTensor indices) {
        if (indices.rank() < 2) {
            throw new IllegalArgumentException(TYPE + ": indices must have shape (b, ..., num_quantizers), got "
                    + Shapes.str(indices.shape()));
        }
        return Arrays.copyOf(indices.shape(), indices.rank() - 1);
    }
}

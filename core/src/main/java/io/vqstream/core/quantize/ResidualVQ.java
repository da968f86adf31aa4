package io.vqstream.core.quantize;

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
 * Residual vector quantization (Zeghidour et al., "SoundStream", 2021, algorithm 1), as
 * {@code ResidualVQ}: {@code q} VectorQuantize layers, each quantising what the previous
 * ones left over.
 *
 * <pre>
 * r₀ = project_in(x);   q_l = VQ_l(r_l);   r_{l+1} = r_l − q_l
 * quantized = project_out(Σ_l q_l)
 * </pre>
 * With {@code shared_codebook} every layer uses one codebook: in training each layer adds its
 * EMA statistics (one lerp per layer), and the codebook is re-normalised once at the end of
 * the step, so all layers of a step see the codebook from its start.
 *
 * <p>Token-major codes are {@code (b, n, q)}, layer order; a layer skipped by quantize
 * dropout reports −1.
 */
public final class ResidualVQ implements Quantizer {
    private static final List<String> OWN = List.of("dim", "num_quantizers", "codebook_size", "codebook_dim",
            "shared_codebook", "heads", "quantize_dropout", "quantize_dropout_cutoff_index",
            "quantize_dropout_multiple_of", "accept_image_fmap", "quant_grad_frac");
    private static final Map<String, Object> UNSUPPORTED = Map.of(
            "diveq", false, "implicit_neural_codebook", false, "beam_size", 1, "eval_beam_size", 1);

    private final Map<String, Object> kwargs;
    private final String prefix;
    final int dim;
    final int codebookDim;
    final int numQuantizers;
    final int[] codebookSizes;
    final boolean shared;
    final boolean projects;
    final boolean acceptImageFmap;
    final boolean quantizeDropout;
    final int dropoutCutoff;
    final int dropoutMultipleOf;
    final VectorQuantize[] layers;

    public ResidualVQ(Map<String, ?> kwargs) {
        this(new Kwargs("ResidualVQ", kwargs), "");
    }

    ResidualVQ(Kwargs k, String prefix) {
        this.kwargs = k.asMap();
        this.prefix = prefix;
        this.dim = k.requireInt("dim");
        Integer nq = k.getIntOrNull("num_quantizers");
        Object cs = k.getIntOrList("codebook_size");
        if (cs == null) {
            throw new IllegalArgumentException(k.owner() + ": argument 'codebook_size' is required");
        }
        if (cs instanceof List<?>) {
            this.codebookSizes = k.getIntList("codebook_size", 0);
            if (nq != null && nq != codebookSizes.length) {
                throw new IllegalArgumentException(k.owner() + ": num_quantizers " + nq + " != len(codebook_size) " + codebookSizes.length);
            }
        } else {
            if (nq == null) {
                throw new IllegalArgumentException(k.owner() + ": argument 'num_quantizers' is required");
            }
            this.codebookSizes = new int[nq];
            Arrays.fill(codebookSizes, k.getInt("codebook_size", 0));
        }
        this.numQuantizers = codebookSizes.length;
        if (numQuantizers < 1) {
            throw new IllegalArgumentException(k.owner() + ": num_quantizers must be at least 1");
        }
        this.codebookDim = k.getInt("codebook_dim", dim);
        this.shared = k.getBool("shared_codebook", false);
        if (k.getInt("heads", 1) != 1) {
            throw new IllegalArgumentException(k.owner() + ": heads must be 1 (residual VQ is not compatible with multi-headed codes)");
        }
        this.acceptImageFmap = k.getBool("accept_image_fmap", false);
        this.quantizeDropout = k.getBool("quantize_dropout", false) && numQuantizers > 1;
        this.dropoutCutoff = k.getInt("quantize_dropout_cutoff_index", 0);
        this.dropoutMultipleOf = k.getInt("quantize_dropout_multiple_of", 1);
        k.getDouble("quant_grad_frac", 0);
        if (dim <= 0 || codebookDim <= 0) {
            throw new IllegalArgumentException(k.owner() + ": dim and codebook_dim must be positive");
        }
        if (dropoutCutoff < 0 || dropoutCutoff >= numQuantizers && quantizeDropout) {
            throw new IllegalArgumentException(k.owner() + ": quantize_dropout_cutoff_index must be in [0, num_quantizers)");
        }
        if (shared && Arrays.stream(codebookSizes).distinct().count() > 1) {
            throw new IllegalArgumentException(k.owner() + ": shared_codebook needs one codebook size for all layers");
        }
        this.projects = codebookDim != dim;

        Map<String, Object> layerArgs = k.without(OWN);
        for (String key : UNSUPPORTED.keySet()) {
            layerArgs.remove(key);
        }
        if (shared) {
            layerArgs.put("manual_ema_update", true);
        }
        k.markAllUsed();
        checkUnsupported(k);
        this.layers = new VectorQuantize[numQuantizers];
        for (int l = 0; l < numQuantizers; l++) {
            Map<String, Object> a = new java.util.LinkedHashMap<>(layerArgs);
            a.put("dim", codebookDim);
            a.put("codebook_size", codebookSizes[l]);
            a.put("codebook_dim", codebookDim);
            Kwargs lk = new Kwargs(k.owner() + " layer " + l, a);
            String layerPrefix = prefix + "layers." + (shared ? 0 : l) + ".";
            layers[l] = new VectorQuantize(lk, layerPrefix, true);
        }
    }

    private static void checkUnsupported(Kwargs k) {
        Map<String, Object> m = k.asMap();
        if (Boolean.TRUE.equals(m.get("diveq"))) {
            throw new IllegalArgumentException(k.owner() + ": argument 'diveq' = true is not supported by vqstream");
        }
        if (Boolean.TRUE.equals(m.get("implicit_neural_codebook"))) {
            throw new IllegalArgumentException(k.owner() + ": argument 'implicit_neural_codebook' = true is not supported by vqstream");
        }
        for (String beam : List.of("beam_size", "eval_beam_size")) {
            if (m.get(beam) instanceof Number n && n.intValue() > 1) {
                throw new IllegalArgumentException(k.owner() + ": argument '" + beam + "' > 1 (beam search) is not supported by vqstream");
            }
        }
    }

    @Override
    public String type() {
        return "ResidualVQ";
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
        return Arrays.stream(codebookSizes).asLongStream().toArray();
    }

    @Override
    public boolean learnsOnline() {
        return layers[0].learnsOnline();
    }

    /** Layer {@code l} (sharing layer 0's codebook tensors when {@code shared_codebook}). */
    VectorQuantize layer(int l) {
        return layers[l];
    }

    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        if (projects) {
            l.addAll(ParamSpec.linear(prefix + "project_in.", dim, codebookDim, true));
            l.addAll(ParamSpec.linear(prefix + "project_out.", codebookDim, dim, true));
        }
        for (int q = 0; q < (shared ? 1 : numQuantizers); q++) {
            l.addAll(layers[q].codebookSpecs());
        }
        return l;
    }

    @Override
    public List<String> parameterAliases(String name) {
        String shared0 = prefix + "layers.0._codebook.";
        if (!shared || !name.startsWith(shared0)) {
            return List.of();
        }
        List<String> aliases = new ArrayList<>();
        for (int l = 1; l < numQuantizers; l++) {
            aliases.add(prefix + "layers." + l + "._codebook." + name.substring(shared0.length()));
        }
        return aliases;
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        SplittableRandom rng = new SplittableRandom(seed);
        if (projects) {
            Nn.initLinear(p, prefix + "project_in.", dim, codebookDim, true, rng);
            Nn.initLinear(p, prefix + "project_out.", codebookDim, dim, true, rng);
        }
        for (int q = 0; q < (shared ? 1 : numQuantizers); q++) {
            layers[q].codebook.init(p, rng, layers[q].kmeansInit);
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
            QuantizerOutput out = forwardTokens(params, Layouts.channelFirstToTokens(input), options);
            int b = input.dim(0);
            out.put("quantized", Layouts.tokensToChannelFirst(out.quantized(), spatial));
            out.put("indices", Layouts.spatialIndices(out.indices(), b, spatial, numQuantizers, true));
            Tensor all = out.floatOrNull("all_codes");
            int[] shape = new int[3 + spatial.length];
            shape[0] = numQuantizers;
            shape[1] = b;
            System.arraycopy(spatial, 0, shape, 2, spatial.length);
            shape[shape.length - 1] = codebookDim;
            out.put("all_codes", all.reshape(shape));
            return out;
        }
        if (input.rank() != 3) {
            throw new IllegalArgumentException(type() + ": expected (b, n, dim), got " + Shapes.str(input.shape()));
        }
        return forwardTokens(params, input, options);
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        Layouts.requireLastDim(type(), tokens, dim);
        Layouts.requireFinite(type(), tokens);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int count = b * n;
        int d = codebookDim;
        ComputeBackend be = options.backend();
        boolean train = options.training();

        float[] residual = projects ? Nn.linear(be, params, prefix + "project_in.", tokens.data(), count, dim, d) : tokens.data().clone();
        float[] sum = new float[count * d];
        long[] indices = new long[count * numQuantizers];
        float[] losses = new float[numQuantizers];
        int lastLayer = numQuantizers - 1;
        if (train && quantizeDropout) {
            lastLayer = dropoutCutoff + (int) Math.floor(options.random().uniform() * (numQuantizers - dropoutCutoff));
            if (dropoutMultipleOf != 1) {
                lastLayer = Math.min(numQuantizers - 1, ((lastLayer + 1 + dropoutMultipleOf - 1) / dropoutMultipleOf) * dropoutMultipleOf - 1);
            }
        }
        float[] allResiduals = shared && train ? new float[count * numQuantizers * d] : null;
        ForwardOptions layerOptions = options.toBuilder().trace(false).build();
        QuantizerOutput out = new QuantizerOutput();
        int replaced = 0;
        for (int l = 0; l < numQuantizers; l++) {
            if (l > lastLayer) {
                for (int t = 0; t < count; t++) {
                    indices[t * numQuantizers + l] = -1;
                }
                continue;
            }
            if (allResiduals != null) {
                for (int t = 0; t < count; t++) {
                    System.arraycopy(residual, t * d, allResiduals, (t * numQuantizers + l) * d, d);
                }
            }
            QuantizerOutput lo = layers[l].forwardTokens(params, new Tensor(residual, b, n, d), layerOptions);
            float[] q = lo.quantized().data();
            for (int i = 0; i < count * d; i++) {
                residual[i] = residual[i] - q[i];
                sum[i] = sum[i] + q[i];
            }
            long[] li = lo.indices().data();
            for (int t = 0; t < count; t++) {
                indices[t * numQuantizers + l] = li[t];
            }
            losses[l] = lo.totalLoss();
            Tensor r = lo.floatOrNull("dead_codes_replaced");
            replaced += r == null ? 0 : (int) r.item();
        }
        if (train && shared && options.emaStatistics() != null) {
            throw new IllegalArgumentException(type() + ": shared_codebook updates one codebook from every layer's residuals at once;"
                    + " its statistics cannot be recorded for a later step");
        }
        if (train && shared && !layers[0].freeze && !options.freezeCodebook()) {
            EmaCodebook cb = layers[0].codebook;
            if (layers[0].emaUpdate) {
                cb.renormalize(params);
            }
            if (cb.threshold > 0) {
                // rows in (b, n, layer) order, as the reference flattens its stacked residuals
                int used = lastLayer + 1;
                float[] rows = new float[count * used * d];
                for (int t = 0; t < count; t++) {
                    System.arraycopy(allResiduals, t * numQuantizers * d, rows, t * used * d, used * d);
                }
                if (layers[0].cosine) {
                    Nn.l2normRows(rows, 0, count * used, d, 1e-6f);
                }
                replaced += cb.expire(params, new float[][] {rows}, new int[] {count * used}, options.random(), null);
            }
        }
        float[] quantized = projects ? Nn.linear(be, params, prefix + "project_out.", sum, count, d, dim) : sum;
        out.put("quantized", new Tensor(quantized, b, n, dim));
        out.put("indices", new LongTensor(indices, b, n, numQuantizers));
        out.put("losses", new Tensor(losses, numQuantizers));
        if (train) {
            out.putScalar("dead_codes_replaced", replaced);
        }
        out.put("all_codes", allCodes(params, indices, count).reshape(numQuantizers, b, n, d));
        if (options.trace() && train) {
            traceState(params, out);
        }
        return out;
    }

    @Override
    public int applyEmaLayer(Params params, EmaStatistics.Layer layer, RandomSource random) {
        for (VectorQuantize l : layers) {
            int r = l.applyEmaLayer(params, layer, random);
            if (r >= 0) {
                return r;
            }
        }
        return -1;
    }

    /** State after the step, stacked like the reference's per-layer buffers: (q, c, d) or (1, c, d) when shared. */
    private void traceState(Params params, QuantizerOutput out) {
        int nl = shared ? 1 : numQuantizers;
        Tensor[] embed = new Tensor[nl];
        Tensor[] avg = new Tensor[nl];
        Tensor[] cs = new Tensor[nl];
        for (int l = 0; l < nl; l++) {
            EmaCodebook cb = layers[l].codebook;
            embed[l] = params.get(cb.embedName()).copy().reshape(cb.size, cb.dim);
            avg[l] = params.get(cb.embedAvgName()).copy().reshape(cb.size, cb.dim);
            cs[l] = params.get(cb.clusterSizeName()).copy().reshape(cb.size);
        }
        if (Arrays.stream(codebookSizes).distinct().count() == 1) {
            out.put("embed", Tensor.stack(embed));
            out.put("embed_avg", Tensor.stack(avg));
            out.put("cluster_size", Tensor.stack(cs));
        }
    }

    /** Codes of token-major indices (count, q) as (q, count, d); −1 gives zeros. */
    Tensor allCodes(Params params, long[] indices, int count) {
        int d = codebookDim;
        float[] out = new float[numQuantizers * count * d];
        for (int l = 0; l < numQuantizers; l++) {
            float[] embed = params.get(layers[l].codebook.embedName()).data();
            int size = codebookSizes[l];
            for (int t = 0; t < count; t++) {
                long j = indices[t * numQuantizers + l];
                if (j < 0) {
                    continue;
                }
                if (j >= size) {
                    throw new IllegalArgumentException(type() + ": code " + j + " of layer " + l + " out of range [0, " + size + ")");
                }
                System.arraycopy(embed, (int) j * d, out, (l * count + t) * d, d);
            }
        }
        return new Tensor(out, numQuantizers, count, d);
    }

    private float[] summedOutput(Params params, long[] indices, int count) {
        int d = codebookDim;
        float[] all = allCodes(params, indices, count).data();
        float[] sum = new float[count * d];
        for (int l = 0; l < numQuantizers; l++) {
            for (int i = 0; i < count * d; i++) {
                sum[i] += all[l * count * d + i];
            }
        }
        return projects ? Nn.linear(ComputeBackendHolder.get(), params, prefix + "project_out.", sum, count, d, dim) : sum;
    }

    /** Pads indices with fewer than q columns with −1 (coarse codes from quantize dropout). */
    private long[] padded(LongTensor indices) {
        int qIn = indices.dim(-1);
        if (qIn == numQuantizers) {
            return indices.data();
        }
        if (qIn > numQuantizers) {
            throw new IllegalArgumentException(type() + ": indices have " + qIn + " layers, the quantizer has " + numQuantizers);
        }
        if (!quantizeDropout) {
            throw new IllegalArgumentException(type() + ": indices with fewer layers (" + qIn + ") need quantize_dropout");
        }
        int m = indices.size() / qIn;
        long[] out = new long[m * numQuantizers];
        Arrays.fill(out, -1);
        for (int t = 0; t < m; t++) {
            System.arraycopy(indices.data(), t * qIn, out, t * numQuantizers, qIn);
        }
        return out;
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        long[] idx = padded(codes);
        int count = idx.length / numQuantizers;
        return new Tensor(summedOutput(params, idx, count), count, dim);
    }

    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        long[] idx = padded(indices);
        int[] s = indices.shape();
        int[] lead = Arrays.copyOf(s, s.length - 1);
        int count = Math.toIntExact(Shapes.numel(lead));
        int[] shape = new int[lead.length + 2];
        shape[0] = numQuantizers;
        System.arraycopy(lead, 0, shape, 1, lead.length);
        shape[shape.length - 1] = codebookDim;
        return allCodes(params, idx, count).reshape(shape);
    }

    @Override
    public Tensor outputFromIndices(Params params, LongTensor indices) {
        long[] idx = padded(indices);
        int[] s = indices.shape();
        int[] lead = Arrays.copyOf(s, s.length - 1);
        int count = Math.toIntExact(Shapes.numel(lead));
        int[] shape = Arrays.copyOf(lead, lead.length + 1);
        shape[lead.length] = dim;
        return new Tensor(summedOutput(params, idx, count), shape);
    }
}

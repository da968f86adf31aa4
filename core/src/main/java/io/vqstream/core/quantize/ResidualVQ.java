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
@Internal
public final class ResidualVQ implements ResidualStack {
    private static final List<String> OWN = List.of("dim", "num_quantizers", "codebook_size", "codebook_dim",
            "shared_codebook", "heads", "quantize_dropout", "quantize_dropout_cutoff_index",
            "quantize_dropout_multiple_of", "accept_image_fmap", "quant_grad_frac", "beam_size", "eval_beam_size",
            "beam_score_quantizer_weights", "implicit_neural_codebook", "mlp_kwargs");
    private static final Map<String, Object> UNSUPPORTED = Map.of("diveq", false);

    private final Map<String, Object> kwargs;
    private final String prefix;
    final int dim;
    final int codebookDim;
    final int numQuantizers;
    final int[] codebookSizes;
    final boolean shared;
    final boolean projects;
    final boolean acceptImageFmap;
    final QuantizeDropout dropout;
    final VectorQuantize[] layers;
    /** Beam width in training and in evaluation (null or 1: greedy). */
    final Integer beamSize;
    final Integer evalBeamSize;
    /** Per-layer weights of the beam score ({@code beam_score_quantizer_weights}). */
    final double[] beamWeights;
    /** QINCo MLPs of layers 1..q−1 ({@code implicit_neural_codebook}), or null. */
    final ImplicitNeuralCodebook qinco;

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
        this.dropout = QuantizeDropout.read(k, numQuantizers);
        k.getDouble("quant_grad_frac", 0);
        if (dim <= 0 || codebookDim <= 0) {
            throw new IllegalArgumentException(k.owner() + ": dim and codebook_dim must be positive");
        }
        if (shared && Arrays.stream(codebookSizes).distinct().count() > 1) {
            throw new IllegalArgumentException(k.owner() + ": shared_codebook needs one codebook size for all layers");
        }
        this.projects = codebookDim != dim;
        this.beamSize = k.getIntOrNull("beam_size");
        Integer evalBeam = k.getIntOrNull("eval_beam_size");
        if (evalBeam != null && beamSize == null) {
            throw new IllegalArgumentException(k.owner() + ": eval_beam_size needs beam_size");
        }
        this.evalBeamSize = evalBeam != null ? evalBeam : beamSize;
        if ((beamSize != null && beamSize < 1) || (evalBeamSize != null && evalBeamSize < 1)) {
            throw new IllegalArgumentException(k.owner() + ": beam_size and eval_beam_size must be at least 1");
        }
        double[] weights = k.getDoubleOrList("beam_score_quantizer_weights");
        if (weights == null) {
            weights = new double[numQuantizers];
            Arrays.fill(weights, 1.0);
        }
        if (weights.length != numQuantizers) {
            throw new IllegalArgumentException(k.owner() + ": beam_score_quantizer_weights needs " + numQuantizers
                    + " entries, got " + weights.length);
        }
        this.beamWeights = weights;
        boolean implicit = k.getBool("implicit_neural_codebook", false);
        boolean searches = (beamSize != null && beamSize > 1) || (evalBeamSize != null && evalBeamSize > 1);
        if (searches && (shared || dropout.enabled())) {
            throw new IllegalArgumentException(k.owner() + ": beam search is not supported together with "
                    + (shared ? "shared_codebook" : "quantize_dropout"));
        }
        if (implicit && shared) {
            throw new IllegalArgumentException(k.owner() + ": implicit_neural_codebook is not supported together with shared_codebook");
        }

        Map<String, Object> layerArgs = k.without(OWN);
        for (String key : UNSUPPORTED.keySet()) {
            layerArgs.remove(key);
        }
        if (shared) {
            layerArgs.put("manual_ema_update", true);
        }
        if (implicit) {
            // the reference learns QINCo codebooks by gradient: no EMA
            layerArgs.put("learnable_codebook", true);
            layerArgs.put("ema_update", false);
        }
        Map<String, Object> mlpArgs = new java.util.LinkedHashMap<>();
        if (k.asMap().get("mlp_kwargs") instanceof Map<?, ?> mk) {
            mk.forEach((a, b) -> mlpArgs.put(String.valueOf(a), b));
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
        if (implicit) {
            Kwargs mk = new Kwargs(k.owner() + " mlp_kwargs", mlpArgs);
            int depth = mk.getInt("depth", 4);
            int hidden = mk.getInt("dim_hidden", codebookDim);
            mk.rejectUnused(List.of(), Map.of());
            this.qinco = new ImplicitNeuralCodebook(prefix, codebookDim, hidden, depth, layers[0].cosine);
        } else {
            this.qinco = null;
        }
    }

    private static void checkUnsupported(Kwargs k) {
        Map<String, Object> m = k.asMap();
        if (Boolean.TRUE.equals(m.get("diveq"))) {
            throw new IllegalArgumentException(k.owner() + ": argument 'diveq' = true is not supported by vqstream");
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
        if (qinco != null) {
            l.addAll(qinco.specs(numQuantizers - 1));
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
            if (layers[q].affine != null) {
                layers[q].affine.init(p);
            }
        }
        if (qinco != null) {
            qinco.init(p, numQuantizers - 1, rng);
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
            out.put(QuantizerOutput.Name.QUANTIZED, Layouts.tokensToChannelFirst(out.quantized(), spatial));
            out.put(QuantizerOutput.Name.INDICES, Layouts.spatialIndices(out.indices(), b, spatial, numQuantizers, true));
            Tensor all = out.get(QuantizerOutput.Name.ALL_CODES);
            int[] shape = new int[3 + spatial.length];
            shape[0] = numQuantizers;
            shape[1] = b;
            System.arraycopy(spatial, 0, shape, 2, spatial.length);
            shape[shape.length - 1] = codebookDim;
            out.put(QuantizerOutput.Name.ALL_CODES, all.reshape(shape));
            return out;
        }
        if (input.rank() != 3) {
            throw new IllegalArgumentException(type() + ": expected (b, n, dim), got " + Shapes.str(input.shape()));
        }
        return forwardTokens(params, input, options);
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        return forwardTokens(params, tokens, options, dropout.lastLayer(options));
    }

    /** The residual loop with a given last kept layer (GroupedResidualVQ draws it once for all groups). */
    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options, int lastLayer) {
        Layouts.requireLastDim(type(), tokens, dim);
        Layouts.requireFinite(type(), tokens);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int count = b * n;
        int d = codebookDim;
        ComputeBackend be = options.backend();
        boolean train = options.training();
        Integer beam = options.beamSize() != null ? options.beamSize() : train ? beamSize : evalBeamSize;
        if (beam != null && beam > 1) {
            return beamSearch(params, tokens, options, beam);
        }

        float[] residual = projects ? Nn.linear(be, params, prefix + "project_in.", tokens.data(), count, dim, d) : tokens.data().clone();
        float[] sum = new float[count * d];
        long[] indices = new long[count * numQuantizers];
        float[] losses = new float[numQuantizers];
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
            QuantizerOutput lo = qinco != null && l > 0
                    ? implicitLayer(params, l, residual, sum, b, n, layerOptions)
                    : layers[l].forwardTokens(params, new Tensor(residual, b, n, d), layerOptions);
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
            Tensor r = lo.get(QuantizerOutput.Name.DEAD_CODES_REPLACED);
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
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(quantized, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(indices, b, n, numQuantizers));
        out.put(QuantizerOutput.Name.LOSSES, new Tensor(losses, numQuantizers));
        if (train) {
            out.putScalar(QuantizerOutput.Name.DEAD_CODES_REPLACED, replaced);
        }
        out.put(QuantizerOutput.Name.ALL_CODES, allCodes(params, indices, count).reshape(numQuantizers, b, n, d));
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
        float[] cond = qinco != null ? new float[count * d] : null;
        for (int l = 0; l < numQuantizers; l++) {
            float[] embed = params.get(layers[l].codebook.embedName()).data();
            int size = codebookSizes[l];
            float[] raw = new float[count * d];
            for (int t = 0; t < count; t++) {
                long j = indices[t * numQuantizers + l];
                if (j < 0) {
                    continue;
                }
                if (j >= size) {
                    throw new IllegalArgumentException(type() + ": code " + j + " of layer " + l + " out of range [0, " + size + ")");
                }
                System.arraycopy(embed, (int) j * d, raw, t * d, d);
            }
            if (qinco != null && l > 0) {
                // codes conditioned on the running sum of the layers before, rebuilt layer by layer
                float[] h = qinco.apply(params, l - 1, cond, raw, count, ComputeBackendHolder.get());
                for (int t = 0; t < count; t++) {
                    if (indices[t * numQuantizers + l] >= 0) {
                        System.arraycopy(h, t * d, raw, t * d, d);
                    }
                }
            }
            System.arraycopy(raw, 0, out, l * count * d, count * d);
            if (cond != null) {
                for (int i = 0; i < count * d; i++) {
                    cond[i] += raw[i];
                }
            }
        }
        return new Tensor(out, numQuantizers, count, d);
    }

    /**
     * Layer {@code l ≥ 1} with an implicit neural codebook: nearest conditioned code per token
     * ({@link ImplicitNeuralCodebook}); the commitment loss in training, no codebook update.
     */
    private QuantizerOutput implicitLayer(Params params, int l, float[] residual, float[] sum, int b, int n, ForwardOptions options) {
        ComputeBackend be = options.backend();
        VectorQuantize vq = layers[l];
        int count = b * n;
        int d = codebookDim;
        int c = codebookSizes[l];
        float[] cb = params.get(vq.codebook.embedName()).data();
        float[] scores = qinco.scores(params, l - 1, residual, sum, count, cb, c, vq.cosine, be, null);
        int[] best = new int[count];
        float[] raw = new float[count * d];
        for (int t = 0; t < count; t++) {
            VectorQuantize.topIndices(scores, t * c, c, 1, best, t);
            System.arraycopy(cb, best[t] * d, raw, t * d, d);
        }
        float[] q = qinco.apply(params, l - 1, sum, raw, count, be);
        long[] idx = new long[count];
        boolean[] mask = options.mask();
        double s = 0;
        long used = 0;
        for (int t = 0; t < count; t++) {
            if (mask != null && !mask[t]) {
                idx[t] = -1;
                if (vq.returnZerosForMaskedPadding) {
                    Arrays.fill(q, t * d, (t + 1) * d, 0f);
                } else {
                    System.arraycopy(residual, t * d, q, t * d, d);
                }
                continue;
            }
            idx[t] = best[t];
            for (int e = 0; e < d; e++) {
                double diff = (double) q[t * d + e] - residual[t * d + e];
                s += diff * diff;
            }
            used += d;
        }
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(q, b, n, d));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(idx, b, n, 1));
        float commit = options.training() && used > 0 ? (float) (s / used) : 0f;
        out.putScalar(QuantizerOutput.Name.LOSS, (float) (commit * vq.commitmentWeight));
        return out;
    }

    /**
     * Beam search over the layers ({@code beam_size}): every beam keeps its residual, running
     * sum, codes and score; each layer expands every beam by its {@code beam_size} nearest codes
     * and keeps the best {@code beam_size} candidates (one after the last layer), scored by
     *
     * <pre>
     * score(j, k) = score_j − w_l · commitment_weight · mean_d (code_k − r_j)²
     * </pre>
     * with {@code w = beam_score_quantizer_weights}. The output is the best path; {@code losses}
     * are its per-layer commitment losses averaged over tokens (training). Tokens are searched
     * independently, so any batch size works (the reference handles only batch 1 and raises in
     * evaluation; here the same search also runs in evaluation, with zero losses reported).
     * In training, as in the reference, only layer 0 gets an EMA step afterwards (its input and
     * the best path's layer-0 codes): the reference's final slice picks the layer axis, so
     * layers ≥ 1 never learn under beam search.
     */
    private QuantizerOutput beamSearch(Params params, Tensor tokens, ForwardOptions options, int beam) {
        ComputeBackend be = options.backend();
        boolean train = options.training();
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int count = b * n;
        int d = codebookDim;
        int nq = numQuantizers;
        float[] x0 = projects ? Nn.linear(be, params, prefix + "project_in.", tokens.data(), count, dim, d) : tokens.data().clone();
        int beams = 1;
        float[] resid = x0.clone();
        float[] qsum = new float[count * d];
        double[] score = new double[count];
        long[] paths = new long[count * nq];
        double[] pathLoss = new double[count * nq];
        for (int l = 0; l < nq; l++) {
            VectorQuantize vq = layers[l];
            int c = codebookSizes[l];
            int k = Math.min(beam, c);
            int rows = count * beams;
            float[] cb = params.get(vq.codebook.embedName()).data();
            float[] sc;
            if (qinco != null && l > 0) {
                sc = qinco.scores(params, l - 1, resid, qsum, rows, cb, c, vq.cosine, be, null);
            } else {
                float[] in = resid;
                if (vq.cosine) {
                    in = resid.clone();
                    Nn.l2normRows(in, 0, rows, d, 1e-6f);
                }
                sc = new float[rows * c];
                be.scores(in, rows, d, cb, 0, c, vq.codebook.metric(), sc);
            }
            int[] top = new int[rows * k];
            float[] codes = new float[rows * k * d];
            for (int r = 0; r < rows; r++) {
                VectorQuantize.topIndices(sc, r * c, c, k, top, r * k);
                for (int j = 0; j < k; j++) {
                    System.arraycopy(cb, top[r * k + j] * d, codes, (r * k + j) * d, d);
                }
            }
            if (qinco != null && l > 0) {
                float[] condRep = new float[rows * k * d];
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < k; j++) {
                        System.arraycopy(qsum, r * d, condRep, (r * k + j) * d, d);
                    }
                }
                codes = qinco.apply(params, l - 1, condRep, codes, rows * k, be);
            }
            int total = beams * k;
            int keep = Math.min(total, l == nq - 1 ? 1 : beam);
            float[] nResid = new float[count * keep * d];
            float[] nSum = new float[count * keep * d];
            double[] nScore = new double[count * keep];
            long[] nPaths = new long[count * keep * nq];
            double[] nLoss = new double[count * keep * nq];
            double[] candScore = new double[total];
            double[] candLoss = new double[total];
            int[] order = new int[total];
            for (int t = 0; t < count; t++) {
                for (int j = 0; j < beams; j++) {
                    int r = t * beams + j;
                    for (int kk = 0; kk < k; kk++) {
                        int ci = j * k + kk;
                        double se = 0;
                        for (int e = 0; e < d; e++) {
                            double diff = (double) codes[(r * k + kk) * d + e] - resid[r * d + e];
                            se += diff * diff;
                        }
                        candLoss[ci] = se / d * vq.commitmentWeight;
                        candScore[ci] = score[r] - candLoss[ci] * beamWeights[l];
                    }
                }
                selectBest(candScore, total, keep, order);
                for (int nb = 0; nb < keep; nb++) {
                    int ci = order[nb];
                    int j = ci / k;
                    int r = t * beams + j;
                    int cr = r * k + ci % k;
                    int o = t * keep + nb;
                    for (int e = 0; e < d; e++) {
                        float q = codes[cr * d + e];
                        nResid[o * d + e] = resid[r * d + e] - q;
                        nSum[o * d + e] = qsum[r * d + e] + q;
                    }
                    nScore[o] = candScore[ci];
                    System.arraycopy(paths, r * nq, nPaths, o * nq, nq);
                    System.arraycopy(pathLoss, r * nq, nLoss, o * nq, nq);
                    nPaths[o * nq + l] = top[cr];
                    nLoss[o * nq + l] = candLoss[ci];
                }
            }
            beams = keep;
            resid = nResid;
            qsum = nSum;
            score = nScore;
            paths = nPaths;
            pathLoss = nLoss;
        }
        // best path (beam 0); masked tokens: code −1 in every layer and no part in the losses
        boolean[] mask = options.mask();
        float[] losses = new float[nq];
        long used = 0;
        double[] lossSum = new double[nq];
        for (int t = 0; t < count; t++) {
            if (mask != null && !mask[t]) {
                Arrays.fill(paths, t * nq, (t + 1) * nq, -1L);
                if (layers[0].returnZerosForMaskedPadding) {
                    Arrays.fill(qsum, t * d, (t + 1) * d, 0f);
                } else {
                    System.arraycopy(x0, t * d, qsum, t * d, d);
                }
                continue;
            }
            used++;
            for (int l = 0; l < nq; l++) {
                lossSum[l] += pathLoss[t * nq + l];
            }
        }
        if (train && used > 0) {
            for (int l = 0; l < nq; l++) {
                losses[l] = (float) (lossSum[l] / used);
            }
        }
        QuantizerOutput out = new QuantizerOutput();
        if (train && !layers[0].freeze && !options.freezeCodebook()) {
            long[] first = new long[count];
            for (int t = 0; t < count; t++) {
                first[t] = paths[t * nq];
            }
            QuantizerOutput u = layers[0].updateIndices(params, new Tensor(x0, b, n, d), new LongTensor(first, b, n),
                    options.toBuilder().trace(false).build());
            Tensor r = u.get(QuantizerOutput.Name.DEAD_CODES_REPLACED);
            out.putScalar(QuantizerOutput.Name.DEAD_CODES_REPLACED, r == null ? 0 : r.item());
        }
        float[] quantized = projects ? Nn.linear(be, params, prefix + "project_out.", qsum, count, d, dim) : qsum;
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(quantized, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(paths, b, n, nq));
        out.put(QuantizerOutput.Name.LOSSES, new Tensor(losses, nq));
        out.put(QuantizerOutput.Name.ALL_CODES, allCodes(params, paths, count).reshape(nq, b, n, d));
        if (options.trace() && train) {
            traceState(params, out);
        }
        return out;
    }

    /** Positions of the {@code keep} highest of {@code total} scores, best first (ties: lower position); all in order when none is dropped. */
    private static void selectBest(double[] scores, int total, int keep, int[] order) {
        if (keep >= total) {
            for (int i = 0; i < total; i++) {
                order[i] = i;
            }
            return;
        }
        boolean[] taken = new boolean[total];
        for (int s = 0; s < keep; s++) {
            int best = -1;
            for (int i = 0; i < total; i++) {
                if (!taken[i] && (best < 0 || scores[i] > scores[best])) {
                    best = i;
                }
            }
            taken[best] = true;
            order[s] = best;
        }
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

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        long[] idx = dropout.padIndices(type(), codes);
        int count = idx.length / numQuantizers;
        return new Tensor(summedOutput(params, idx, count), count, dim);
    }

    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        long[] idx = dropout.padIndices(type(), indices);
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
        long[] idx = dropout.padIndices(type(), indices);
        int[] s = indices.shape();
        int[] lead = Arrays.copyOf(s, s.length - 1);
        int count = Math.toIntExact(Shapes.numel(lead));
        int[] shape = Arrays.copyOf(lead, lead.length + 1);
        shape[lead.length] = dim;
        return new Tensor(summedOutput(params, idx, count), shape);
    }
}

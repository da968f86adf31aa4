package io.vqstream.core.quantize;

import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.Metric;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Vector quantization with an EMA-learned codebook (van den Oord et al., "Neural Discrete
 * Representation Learning", 2017), as {@code VectorQuantize} of vector-quantize-pytorch:
 * optional projection to a low-dimensional codebook space, multiple heads with shared or
 * separate codebooks, euclidean or cosine codes, kmeans initialisation, dead-code expiry,
 * commitment, orthogonal (Shin et al. 2021, eq. 2) and diversity losses, Gumbel sampling.
 *
 * <pre>
 * x̂ = split_heads(project_in(x))            (l2-normalised for cosine)
 * i* = argmin_j ‖x̂ − E_j‖   or   argmax_j x̂·E_j
 * quantized = project_out(merge_heads(E[i*]))
 * </pre>
 * Token-major codes are {@code (b, n, heads)}.
 */
public final class VectorQuantize implements Quantizer {
    private static final List<String> GRADIENT_ONLY = List.of(
            "straight_through", "rotation_trick", "sync_update_v", "route_gradients_to_input", "learnable_codebook",
            "sync_codebook", "sync_kmeans", "sync_affine_param", "manual_in_place_optimizer_update");
    private static final Map<String, Object> UNSUPPORTED = unsupported();

    private static Map<String, Object> unsupported() {
        Map<String, Object> m = new java.util.HashMap<>();
        m.put("affine_param", false);
        m.put("directional_reparam", false);
        m.put("in_place_codebook_optimizer", null);
        m.put("vq_bridge", null);
        m.put("ema_update_weight", null);
        m.put("accum_ema_update", false);
        m.put("topk", null);
        m.put("affine_param_batch_decay", 0.99);
        m.put("affine_param_codebook_decay", 0.9);
        m.put("directional_reparam_variance", 5e-3);
        return m;
    }

    private final Map<String, Object> kwargs;
    final int dim;
    final int codebookSize;
    final int codebookDim;
    final int heads;
    final boolean separate;
    final boolean projects;
    final boolean layernormAfterProjectIn;
    final boolean kmeansInit;
    final boolean cosine;
    final boolean channelLast;
    final boolean acceptImageFmap;
    final boolean accept3dFmap;
    final double commitmentWeight;
    final boolean commitCrossEntropy;
    final double orthogonalWeight;
    final boolean orthogonalActiveOnly;
    final Integer orthogonalMaxCodes;
    final double diversityWeight;
    final double diversityTemperature;
    final boolean stochastic;
    final double sampleTemp;
    final boolean freeze;
    final boolean emaUpdate;
    final boolean manualEmaUpdate;
    final String prefix;
    final EmaCodebook codebook;

    public VectorQuantize(Map<String, ?> kwargs) {
        this(new Kwargs("VectorQuantize", kwargs), "", true);
    }

    /** For nesting inside ResidualVQ / RandomProjectionQuantizer: names get {@code prefix}. */
    VectorQuantize(Kwargs k, String prefix, boolean strict) {
        this.kwargs = k.asMap();
        this.prefix = prefix;
        this.dim = k.requireInt("dim");
        this.codebookSize = k.requireInt("codebook_size");
        this.codebookDim = k.getInt("codebook_dim", dim);
        this.heads = k.getInt("heads", 1);
        this.separate = k.getBool("separate_codebook_per_head", false);
        double decay = k.getDouble("decay", 0.8);
        double eps = k.getDouble("eps", 1e-5);
        this.freeze = k.getBool("freeze_codebook", false);
        this.kmeansInit = k.getBool("kmeans_init", false);
        int kmeansIters = k.getInt("kmeans_iters", 10);
        this.cosine = k.getBool("use_cosine_sim", false);
        this.layernormAfterProjectIn = k.getBool("layernorm_after_project_in", false);
        double threshold = k.getDouble("threshold_ema_dead_code", 0);
        Double reset = k.getDoubleOrNull("reset_cluster_size");
        this.channelLast = k.getBool("channel_last", true);
        this.acceptImageFmap = k.getBool("accept_image_fmap", false);
        this.accept3dFmap = k.getBool("accept_3d_fmap", false);
        this.commitmentWeight = k.getDouble("commitment_weight", 1.0);
        this.commitCrossEntropy = k.getBool("commitment_use_cross_entropy_loss", false);
        this.orthogonalWeight = k.getDouble("orthogonal_reg_weight", 0);
        this.orthogonalActiveOnly = k.getBool("orthogonal_reg_active_codes_only", false);
        this.orthogonalMaxCodes = k.getIntOrNull("orthogonal_reg_max_codes");
        this.diversityWeight = k.getDouble("codebook_diversity_loss_weight", 0);
        this.diversityTemperature = k.getDouble("codebook_diversity_temperature", 100);
        this.stochastic = k.getBool("stochastic_sample_codes", false);
        this.sampleTemp = k.getDouble("sample_codebook_temp", 1.0);
        Boolean ema = k.getBoolOrNull("ema_update");
        this.emaUpdate = ema == null || ema;
        this.manualEmaUpdate = k.getBool("manual_ema_update", false);
        k.getBool("return_zeros_for_masked_padding", true);
        if (strict) {
            k.rejectUnused(GRADIENT_ONLY, UNSUPPORTED);
        }

        if (dim <= 0) {
            throw new IllegalArgumentException("VectorQuantize: dim must be positive, got " + dim);
        }
        if (codebookSize <= 0) {
            throw new IllegalArgumentException("VectorQuantize: codebook_size must be positive, got " + codebookSize);
        }
        if (codebookDim <= 0 || heads <= 0) {
            throw new IllegalArgumentException("VectorQuantize: codebook_dim and heads must be positive");
        }
        if (decay < 0 || decay > 1) {
            throw new IllegalArgumentException("VectorQuantize: decay must be in [0, 1], got " + decay);
        }
        if (kmeansInit && kmeansIters < 1) {
            throw new IllegalArgumentException("VectorQuantize: kmeans_iters must be at least 1");
        }
        if (acceptImageFmap && accept3dFmap) {
            throw new IllegalArgumentException("VectorQuantize: accept_image_fmap and accept_3d_fmap are exclusive");
        }
        if (orthogonalActiveOnly && heads > 1 && separate) {
            throw new IllegalArgumentException(
                    "VectorQuantize: orthogonal_reg_active_codes_only is not compatible with separate codebooks per head");
        }
        this.projects = heads * codebookDim != dim;
        int numCodebooks = separate ? heads : 1;
        this.codebook = new EmaCodebook(prefix, numCodebooks, codebookSize, codebookDim, cosine, decay, eps, threshold,
                reset != null ? reset : threshold, kmeansIters);
    }

    @Override
    public String type() {
        return "VectorQuantize";
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
        return heads;
    }

    @Override
    public long[] codebookSizes() {
        long[] s = new long[heads];
        Arrays.fill(s, codebookSize);
        return s;
    }

    @Override
    public boolean learnsOnline() {
        return !freeze;
    }

    int numCodebooks() {
        return codebook.numCodebooks;
    }

    private String projectInPrefix() {
        return prefix + (layernormAfterProjectIn ? "project_in.0." : "project_in.");
    }

    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        int cd = heads * codebookDim;
        if (projects) {
            l.addAll(ParamSpec.linear(projectInPrefix(), dim, cd, true));
            if (layernormAfterProjectIn) {
                l.add(new ParamSpec(prefix + "project_in.1.weight", new int[] {cd}, ParamSpec.Kind.PARAMETER));
                l.add(new ParamSpec(prefix + "project_in.1.bias", new int[] {cd}, ParamSpec.Kind.PARAMETER));
            }
            l.addAll(ParamSpec.linear(prefix + "project_out.", cd, dim, true));
        }
        l.addAll(codebookSpecs());
        return l;
    }

    List<ParamSpec> codebookSpecs() {
        int c = codebook.numCodebooks;
        return List.of(
                new ParamSpec(codebook.inittedName(), new int[] {}, ParamSpec.Kind.FLAG),
                new ParamSpec(codebook.clusterSizeName(), new int[] {c, codebookSize}, ParamSpec.Kind.EMA_STATE),
                new ParamSpec(codebook.embedAvgName(), new int[] {c, codebookSize, codebookDim}, ParamSpec.Kind.EMA_STATE),
                new ParamSpec(codebook.embedName(), new int[] {c, codebookSize, codebookDim}, ParamSpec.Kind.EMA_STATE));
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        SplittableRandom rng = new SplittableRandom(seed);
        int cd = heads * codebookDim;
        if (projects) {
            Nn.initLinear(p, projectInPrefix(), dim, cd, true, rng);
            if (layernormAfterProjectIn) {
                Tensor g = Tensor.zeros(cd);
                Arrays.fill(g.data(), 1f);
                p.put(prefix + "project_in.1.weight", g);
                p.put(prefix + "project_in.1.bias", Tensor.zeros(cd));
            }
            Nn.initLinear(p, prefix + "project_out.", cd, dim, true, rng);
        }
        codebook.init(p, rng, kmeansInit);
        return p;
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        Tensor x = input;
        int[] spatial = null;
        boolean onlyOne = false;
        boolean channelFirst = acceptImageFmap || accept3dFmap || !channelLast;
        if (acceptImageFmap || accept3dFmap) {
            int want = acceptImageFmap ? 4 : 5;
            if (x.rank() != want) {
                throw new IllegalArgumentException("VectorQuantize: expected an input of rank " + want + ", got " + Shapes.str(x.shape()));
            }
            spatial = Layouts.spatial(x);
            x = Layouts.channelFirstToTokens(x);
        } else if (x.rank() == 2) {
            onlyOne = true;
            x = x.reshape(x.dim(0), 1, x.dim(1));
        } else if (!channelLast) {
            spatial = Layouts.spatial(x);
            x = Layouts.channelFirstToTokens(x);
        }
        if (x.rank() != 3) {
            throw new IllegalArgumentException("VectorQuantize: expected (b, n, dim), got " + Shapes.str(input.shape()));
        }
        QuantizerOutput out = forwardTokens(params, x, options);
        Tensor q = out.quantized();
        LongTensor idx = out.indices();
        int b = x.dim(0);
        int n = x.dim(1);
        if (channelFirst) {
            out.put("quantized", Layouts.tokensToChannelFirst(q, spatial));
            out.put("indices", Layouts.spatialIndices(idx, b, spatial, heads, heads > 1));
        } else if (onlyOne) {
            out.put("quantized", q.reshape(b, dim));
            out.put("indices", heads > 1 ? idx.reshape(b, heads) : idx.reshape(b));
        } else if (heads == 1) {
            out.put("indices", idx.reshape(b, n));
        }
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        Layouts.requireLastDim(type(), tokens, dim);
        Layouts.requireFinite(type(), tokens);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int tokensCount = b * n;
        ComputeBackend be = options.backend();
        boolean train = options.training();
        QuantizerOutput out = new QuantizerOutput();
        QuantizerOutput trace = options.trace() ? out : null;

        // 1. project in
        int cd = heads * codebookDim;
        float[] z = codebookSpace(params, tokens.data(), tokensCount, be);

        // 2. head split into per-codebook row blocks
        int numCb = codebook.numCodebooks;
        int rowsPer = separate || heads == 1 ? tokensCount : tokensCount * heads;
        float[][] rows = splitHeads(z, b, n);
        int[] counts = new int[numCb];
        Arrays.fill(counts, rowsPer);

        // 3. cosine
        if (cosine) {
            for (float[] r : rows) {
                Nn.l2normRows(r, 0, rowsPer, codebookDim, 1e-6f);
            }
        }

        // 4. kmeans init: the reference runs a pending init in every mode (its codebook forward
        //    calls init_embed_ without a training check), so a kmeans codebook is never used empty
        if (kmeansInit && !codebook.initted(params)) {
            codebook.kmeansInit(params, rows, counts, be, options.random(), trace);
        }

        // 5. scores / assignment with the codebook before this step's update
        float[] embed = params.get(codebook.embedName()).data();
        Metric metric = codebook.metric();
        boolean sample = train && stochastic && temperature(options) > 0;
        boolean needScores = sample || (train && diversityWeight > 0) || (train && commitmentWeight > 0 && commitCrossEntropy);
        int[][] idx = new int[numCb][rowsPer];
        float[][] scores = needScores ? new float[numCb][] : null;
        for (int k = 0; k < numCb; k++) {
            int cbOff = k * codebookSize * codebookDim;
            if (needScores) {
                scores[k] = new float[rowsPer * codebookSize];
                be.scores(rows[k], rowsPer, codebookDim, embed, cbOff, codebookSize, metric, scores[k]);
                pickIndices(scores[k], rowsPer, sample ? temperature(options) : 0, options.random(), idx[k]);
            } else {
                be.assign(rows[k], rowsPer, codebookDim, embed, cbOff, codebookSize, metric, idx[k], null);
            }
        }
        float[][] quant = new float[numCb][rowsPer * codebookDim];
        for (int k = 0; k < numCb; k++) {
            be.gather(embed, k * codebookSize * codebookDim, codebookSize, codebookDim, idx[k], rowsPer, quant[k], 0);
        }

        // 6. EMA update, then dead-code expiry
        boolean updates = train && !freeze && !options.freezeCodebook();
        int replaced = 0;
        EmaStatistics deferred = options.emaStatistics();
        if (updates && (emaUpdate || codebook.threshold > 0) && deferred != null) {
            if (sample) {
                throw new IllegalArgumentException(type() + ": statistics for a later EMA step need deterministic codes;"
                        + " stochastic_sample_codes draws them at random");
            }
            EmaStatistics.Layer layer = deferred.startLayer(codebook.prefix, numCb, codebookSize, codebookDim, codebook.threshold > 0);
            for (int k = 0; k < numCb; k++) {
                float[] c = new float[codebookSize];
                float[] sums = new float[codebookSize * codebookDim];
                be.accumulateStatistics(rows[k], rowsPer, codebookDim, idx[k], c, sums);
                layer.counts[k] = c;
                layer.sums[k] = sums;
                layer.rowCounts[k] = counts[k];
                if (layer.rows != null) {
                    layer.rows[k] = Arrays.copyOf(rows[k], counts[k] * codebookDim);
                }
            }
        } else if (updates && (emaUpdate || codebook.threshold > 0)) {
            for (int k = 0; k < numCb; k++) {
                codebook.track(params, k, rows[k], rowsPer, idx[k], be);
            }
            if (emaUpdate && !manualEmaUpdate) {
                codebook.renormalize(params);
            }
            replaced = codebook.expire(params, rows, counts, options.random(), trace);
        }
        if (train) {
            out.putScalar("dead_codes_replaced", replaced);
        }

        // 7. losses
        long[] indices = mergeIndices(idx, b, n);
        if (train) {
            float commit = 0f;
            float orth = 0f;
            float div = 0f;
            float loss = 0f;
            if (diversityWeight > 0) {
                div = diversityLoss(scores, rowsPer, n);
                loss += (float) (div * diversityWeight);
            }
            if (commitmentWeight > 0) {
                commit = commitCrossEntropy ? crossEntropy(scores, idx, rowsPer) : commitment(rows, quant, rowsPer);
                loss += (float) (commit * commitmentWeight);
            }
            if (orthogonalWeight > 0) {
                orth = orthogonalLoss(params, indices, options.random());
                loss += (float) (orth * orthogonalWeight);
            }
            out.putScalar("loss", loss);
            out.putScalar("commit_loss", commit);
            out.putScalar("orthogonal_reg_loss", orth);
            out.putScalar("codebook_diversity_loss", div);
        } else {
            out.putScalar("loss", 0f);
        }
        if (trace != null && train) {
            codebook.traceState(params, trace);
        }

        // 8. merge heads and project out
        float[] merged = mergeHeads(quant, b, n);
        float[] result = projects ? Nn.linear(be, params, prefix + "project_out.", merged, tokensCount, cd, dim) : merged;
        out.put("quantized", new Tensor(result, b, n, dim));
        out.put("indices", new LongTensor(indices, b, n, heads));
        return out;
    }

    @Override
    public int applyEmaLayer(Params params, EmaStatistics.Layer layer, RandomSource random) {
        if (!layer.prefix.equals(codebook.prefix)) {
            return -1;
        }
        if (layer.numCodebooks != codebook.numCodebooks || layer.size != codebook.size || layer.dim != codebook.dim) {
            throw new IllegalArgumentException(type() + ": statistics of codebook '" + layer.prefix + "' have another shape");
        }
        for (int k = 0; k < layer.numCodebooks; k++) {
            codebook.lerpToward(params, k, layer.counts[k], layer.sums[k]);
        }
        if (emaUpdate && !manualEmaUpdate) {
            codebook.renormalize(params);
        }
        if (layer.rows == null) {
            return 0;
        }
        return codebook.expire(params, layer.rows, layer.rowCounts, random, null);
    }

    private double temperature(ForwardOptions o) {
        return o.sampleCodebookTemp() != null ? o.sampleCodebookTemp() : sampleTemp;
    }

    /** project_in (+ LayerNorm); always returns a fresh array. */
    float[] codebookSpace(Params params, float[] x, int count, ComputeBackend be) {
        int cd = heads * codebookDim;
        if (!projects) {
            return x.clone();
        }
        float[] z = Nn.linear(be, params, projectInPrefix(), x, count, dim, cd);
        if (layernormAfterProjectIn) {
            Nn.layerNorm(z, count, cd, 1e-5f, params.get(prefix + "project_in.1.weight").data(),
                    params.get(prefix + "project_in.1.bias").data());
        }
        return z;
    }

    /**
     * Separate codebooks: block k holds head k of every token, (b, n) order. Shared codebook:
     * one block in (b, head, n) order. No heads: the tokens themselves.
     */
    float[][] splitHeads(float[] z, int b, int n) {
        int d = codebookDim;
        if (heads == 1) {
            return new float[][] {z};
        }
        int cd = heads * d;
        if (separate) {
            float[][] r = new float[heads][b * n * d];
            for (int t = 0; t < b * n; t++) {
                for (int h = 0; h < heads; h++) {
                    System.arraycopy(z, t * cd + h * d, r[h], t * d, d);
                }
            }
            return r;
        }
        float[] r = new float[b * heads * n * d];
        for (int beta = 0; beta < b; beta++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < n; i++) {
                    System.arraycopy(z, (beta * n + i) * cd + h * d, r, ((beta * heads + h) * n + i) * d, d);
                }
            }
        }
        return new float[][] {r};
    }

    /** Inverse of {@link #splitHeads}: back to tokens (b·n, heads·d). */
    float[] mergeHeads(float[][] blocks, int b, int n) {
        int d = codebookDim;
        if (heads == 1) {
            return blocks[0];
        }
        int cd = heads * d;
        float[] z = new float[b * n * cd];
        if (separate) {
            for (int t = 0; t < b * n; t++) {
                for (int h = 0; h < heads; h++) {
                    System.arraycopy(blocks[h], t * d, z, t * cd + h * d, d);
                }
            }
            return z;
        }
        for (int beta = 0; beta < b; beta++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < n; i++) {
                    System.arraycopy(blocks[0], ((beta * heads + h) * n + i) * d, z, (beta * n + i) * cd + h * d, d);
                }
            }
        }
        return z;
    }

    /** Per-codebook indices to token-major (b, n, heads). */
    long[] mergeIndices(int[][] idx, int b, int n) {
        long[] out = new long[b * n * heads];
        for (int beta = 0; beta < b; beta++) {
            for (int i = 0; i < n; i++) {
                for (int h = 0; h < heads; h++) {
                    int v = separate || heads == 1 ? idx[h][beta * n + i] : idx[0][(beta * heads + h) * n + i];
                    out[(beta * n + i) * heads + h] = v;
                }
            }
        }
        return out;
    }

    private static void pickIndices(float[] scores, int rows, double temperature, RandomSource random, int[] out) {
        int c = scores.length / Math.max(rows, 1);
        for (int r = 0; r < rows; r++) {
            int best = 0;
            double bestV = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) {
                double v = scores[r * c + j];
                if (temperature > 0) {
                    v = v / temperature + random.gumbel();
                }
                if (v > bestV) {
                    bestV = v;
                    best = j;
                }
            }
            out[r] = best;
        }
    }

    private float commitment(float[][] rows, float[][] quant, int rowsPer) {
        double s = 0;
        long count = 0;
        for (int k = 0; k < rows.length; k++) {
            int len = rowsPer * codebookDim;
            for (int i = 0; i < len; i++) {
                double diff = (double) quant[k][i] - rows[k][i];
                s += diff * diff;
            }
            count += len;
        }
        return (float) (s / count);
    }

    /** Mean cross-entropy of the scores (as logits) against the selected codes. */
    private float crossEntropy(float[][] scores, int[][] idx, int rowsPer) {
        double s = 0;
        long count = 0;
        double[] p = new double[codebookSize];
        for (int k = 0; k < scores.length; k++) {
            for (int r = 0; r < rowsPer; r++) {
                Nn.softmax(scores[k], r * codebookSize, codebookSize, 1.0, p, 0);
                s -= Math.log(p[idx[k][r]]);
                count++;
            }
        }
        return (float) (s / count);
    }

    /** −mean over positions of the entropy of the code distribution averaged over codebooks and batch. */
    private float diversityLoss(float[][] scores, int rowsPer, int n) {
        double[] avg = new double[n * codebookSize];
        double[] p = new double[codebookSize];
        int perPosition = scores.length * (rowsPer / n);
        for (float[] s : scores) {
            for (int r = 0; r < rowsPer; r++) {
                Nn.softmax(s, r * codebookSize, codebookSize, diversityTemperature, p, 0);
                int pos = r % n;
                for (int j = 0; j < codebookSize; j++) {
                    avg[pos * codebookSize + j] += p[j];
                }
            }
        }
        double h = 0;
        for (int pos = 0; pos < n; pos++) {
            for (int j = 0; j < codebookSize; j++) {
                avg[pos * codebookSize + j] /= perPosition;
            }
            h += Nn.entropy(avg, pos * codebookSize, codebookSize, 1e-5);
        }
        return (float) (-h / n);
    }

    /**
     * Orthogonal regulariser on the (updated) codebook:
     * <pre>L = Σ (ÊÊᵀ)² / (C·c'²) − 1/c',  Ê = l2norm(E)</pre>
     */
    private float orthogonalLoss(Params params, long[] indices, RandomSource random) {
        int numCb = codebook.numCodebooks;
        int d = codebookDim;
        float[] embed = params.get(codebook.embedName()).data();
        int[] codes;
        if (orthogonalActiveOnly) {
            TreeSet<Long> uniq = new TreeSet<>();
            for (long v : indices) {
                uniq.add(v);
            }
            codes = uniq.stream().mapToInt(Long::intValue).toArray();
        } else {
            codes = new int[codebookSize];
            for (int j = 0; j < codebookSize; j++) {
                codes[j] = j;
            }
        }
        if (orthogonalMaxCodes != null && codes.length > orthogonalMaxCodes) {
            int[] pick = random.deadCodeRows(codes.length, orthogonalMaxCodes);
            int[] sub = new int[pick.length];
            for (int i = 0; i < pick.length; i++) {
                sub[i] = codes[pick[i]];
            }
            codes = sub;
        }
        int m = codes.length;
        double total = 0;
        float[] normed = new float[m * d];
        for (int k = 0; k < numCb; k++) {
            for (int i = 0; i < m; i++) {
                System.arraycopy(embed, (k * codebookSize + codes[i]) * d, normed, i * d, d);
            }
            Nn.l2normRows(normed, 0, m, d, 1e-6f);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < m; j++) {
                    double s = 0;
                    for (int e = 0; e < d; e++) {
                        s += (double) normed[i * d + e] * normed[j * d + e];
                    }
                    total += s * s;
                }
            }
        }
        return (float) (total / ((double) numCb * m * m) - 1.0 / m);
    }

    // ---------------------------------------------------------------- decoding

    /** Codebook-space codes of token-major indices (m, heads) → (m, heads·d). */
    private float[] codesOf(Params params, long[] indices, int m) {
        float[] embed = params.get(codebook.embedName()).data();
        int d = codebookDim;
        float[] out = new float[m * heads * d];
        for (int t = 0; t < m; t++) {
            for (int h = 0; h < heads; h++) {
                long j = indices[t * heads + h];
                if (j < 0) {
                    continue;
                }
                if (j >= codebookSize) {
                    throw new IllegalArgumentException("VectorQuantize: code " + j + " out of range [0, " + codebookSize + ")");
                }
                int cb = separate ? h : 0;
                System.arraycopy(embed, (int) ((cb * codebookSize + j) * d), out, (t * heads + h) * d, d);
            }
        }
        return out;
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        int m = codes.size() / heads;
        float[] c = codesOf(params, codes.data(), m);
        float[] y = projects ? Nn.linear(ComputeBackendHolder.get(), params, prefix + "project_out.", c, m, heads * codebookDim, dim) : c;
        return new Tensor(y, m, dim);
    }

    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        int[] s = indices.shape();
        int tokenAxes = heads > 1 ? s.length - 1 : s.length;
        int[] lead = Arrays.copyOf(s, tokenAxes);
        int m = Math.toIntExact(Shapes.numel(lead));
        float[] c = codesOf(params, indices.data(), m);
        boolean channelFirst = !channelLast || acceptImageFmap || accept3dFmap;
        if (heads > 1 && !separate) {
            int[] shape = Arrays.copyOf(lead, lead.length + 2);
            shape[lead.length] = heads;
            shape[lead.length + 1] = codebookDim;
            Tensor t = new Tensor(c, shape);
            return channelFirst ? moveLastToAxis1(t) : t;
        }
        int[] shape = Arrays.copyOf(lead, lead.length + 1);
        shape[lead.length] = heads * codebookDim;
        Tensor t = new Tensor(c, shape);
        return channelFirst ? moveLastToAxis1(t) : t;
    }

    @Override
    public Tensor outputFromIndices(Params params, LongTensor indices) {
        if (!projects) {
            return codesFromIndices(params, indices);
        }
        int[] s = indices.shape();
        int tokenAxes = heads > 1 ? s.length - 1 : s.length;
        int[] lead = Arrays.copyOf(s, tokenAxes);
        int m = Math.toIntExact(Shapes.numel(lead));
        float[] c = codesOf(params, indices.data(), m);
        float[] y = Nn.linear(ComputeBackendHolder.get(), params, prefix + "project_out.", c, m, heads * codebookDim, dim);
        int[] shape = Arrays.copyOf(lead, lead.length + 1);
        shape[lead.length] = dim;
        Tensor t = new Tensor(y, shape);
        return (!channelLast || acceptImageFmap || accept3dFmap) ? moveLastToAxis1(t) : t;
    }

    static Tensor moveLastToAxis1(Tensor t) {
        int r = t.rank();
        int[] perm = new int[r];
        perm[0] = 0;
        perm[1] = r - 1;
        for (int i = 2; i < r; i++) {
            perm[i] = i - 1;
        }
        return t.permute(perm);
    }
}

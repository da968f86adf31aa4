package io.vqstream.core.quantize;

import io.vqstream.core.backend.BoundedRounding;
import io.vqstream.core.backend.CodebookVersions;
import org.apache.flink.annotation.Internal;
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
@Internal
public final class VectorQuantize implements Quantizer {
    /** Arguments that only change gradients, not forward values or EMA state: accepted without effect. */
    private static final List<String> GRADIENT_ONLY = List.of(
            "straight_through", "rotation_trick", "sync_update_v", "route_gradients_to_input",
            "manual_in_place_optimizer_update");
    /**
     * Data-parallel synchronisation: in the reference these all-reduce the EMA statistics
     * ({@code sync_codebook}), the kmeans and dead-code samples ({@code sync_kmeans}) and the affine
     * batch statistics ({@code sync_affine_param}) across torch.distributed workers. A vqstream
     * codebook is learnt by exactly one keyed operator instance (one writer per key), so there is
     * nothing to synchronise and each step already equals the reference's step on that key's
     * batch; they are accepted and have no effect. Combining statistics from several batches is
     * {@link CodebookStatistics#add}.
     */
    private static final List<String> SINGLE_WRITER = List.of("sync_codebook", "sync_kmeans", "sync_affine_param");
    private static final List<String> ACCEPTED_WITHOUT_EFFECT =
            java.util.stream.Stream.concat(GRADIENT_ONLY.stream(), SINGLE_WRITER.stream()).toList();
    private static final Map<String, Object> UNSUPPORTED = unsupported();

    private static Map<String, Object> unsupported() {
        Map<String, Object> m = new java.util.HashMap<>();
        m.put("directional_reparam", false);
        m.put("in_place_codebook_optimizer", null);
        m.put("vq_bridge", null);
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
    final boolean returnZerosForMaskedPadding;
    final String prefix;
    final EmaCodebook codebook;
    /** The affine re-parametrisation ({@code affine_param}), or null. */
    final AffineCodebook affine;

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
        this.returnZerosForMaskedPadding = k.getBool("return_zeros_for_masked_padding", true);
        boolean affineParam = k.getBool("affine_param", false);
        double affineBatchDecay = k.getDouble("affine_param_batch_decay", 0.99);
        double affineCodebookDecay = k.getDouble("affine_param_codebook_decay", 0.9);
        Boolean learnable = k.getBoolOrNull("learnable_codebook");
        if (Boolean.TRUE.equals(learnable) && emaUpdate) {
            throw new IllegalArgumentException(
                    "VectorQuantize: learnable_codebook is not compatible with the EMA update (set ema_update to false)");
        }
        if (affineParam && cosine) {
            throw new IllegalArgumentException("VectorQuantize: affine_param is only compatible with a euclidean codebook");
        }
        if (strict) {
            k.rejectUnused(ACCEPTED_WITHOUT_EFFECT, UNSUPPORTED);
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
        this.affine = affineParam
                ? new AffineCodebook(prefix, numCodebooks, codebookSize, codebookDim, affineBatchDecay, affineCodebookDecay)
                : null;
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
        List<ParamSpec> l = new ArrayList<>(List.of(
                new ParamSpec(codebook.inittedName(), new int[] {}, ParamSpec.Kind.FLAG),
                new ParamSpec(codebook.clusterSizeName(), new int[] {c, codebookSize}, ParamSpec.Kind.EMA_STATE),
                new ParamSpec(codebook.embedAvgName(), new int[] {c, codebookSize, codebookDim}, ParamSpec.Kind.EMA_STATE),
                new ParamSpec(codebook.embedName(), new int[] {c, codebookSize, codebookDim}, ParamSpec.Kind.EMA_STATE)));
        if (affine != null) {
            l.addAll(affine.specs());
        }
        return l;
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
        if (affine != null) {
            affine.init(p);
        }
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
        if (options.mask() != null && (spatial != null || onlyOne)) {
            throw new IllegalArgumentException("VectorQuantize: a mask needs a channel-last sequence input (b, n, dim)");
        }
        QuantizerOutput out = forwardTokens(params, x, options);
        if (options.topk() != null) {
            if (spatial != null || onlyOne) {
                throw new IllegalArgumentException("VectorQuantize: topk needs a channel-last sequence input (b, n, dim)");
            }
            return out;
        }
        Tensor q = out.quantized();
        LongTensor idx = out.indices();
        int b = x.dim(0);
        int n = x.dim(1);
        if (channelFirst) {
            out.put(QuantizerOutput.Name.QUANTIZED, Layouts.tokensToChannelFirst(q, spatial));
            out.put(QuantizerOutput.Name.INDICES, Layouts.spatialIndices(idx, b, spatial, heads, heads > 1));
        } else if (onlyOne) {
            out.put(QuantizerOutput.Name.QUANTIZED, q.reshape(b, dim));
            out.put(QuantizerOutput.Name.INDICES, heads > 1 ? idx.reshape(b, heads) : idx.reshape(b));
        } else if (heads == 1) {
            out.put(QuantizerOutput.Name.INDICES, idx.reshape(b, n));
        }
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        Layouts.requireLastDim(type(), tokens, dim);
        // without a projection the codebook-space rows are the input itself: only the cosine
        // variant normalises them in place (with a single head) and needs a copy, made during the check
        float[] copied = null;
        if (!projects && cosine && heads == 1) {
            copied = new float[tokens.data().length];
            if (!BoundedRounding.copyFinite(tokens.data(), 0, copied, 0, copied.length)) {
                Layouts.requireFinite(type(), tokens);
            }
        } else if (!projects) {
            if (!BoundedRounding.copyFinite(tokens.data(), 0, null, 0, tokens.data().length)) {
                Layouts.requireFinite(type(), tokens);
            }
            copied = tokens.data();
        } else {
            Layouts.requireFinite(type(), tokens);
        }
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int tokensCount = b * n;
        ComputeBackend be = options.backend();
        boolean train = options.training();
        QuantizerOutput out = new QuantizerOutput();
        QuantizerOutput trace = options.trace() ? out : null;
        boolean[] tokenMask = options.mask();
        if (tokenMask != null && tokenMask.length != tokensCount) {
            throw new IllegalArgumentException(type() + ": mask has " + tokenMask.length + " entries for " + tokensCount + " tokens");
        }
        Integer topk = options.topk();
        if (topk != null && heads > 1) {
            throw new IllegalArgumentException(type() + ": topk needs heads = 1");
        }

        // 1. project in
        int cd = heads * codebookDim;
        float[] z = copied != null ? copied : codebookSpace(params, tokens.data(), tokensCount, be);

        // 2. head split into per-codebook row blocks
        int numCb = codebook.numCodebooks;
        int rowsPer = separate || heads == 1 ? tokensCount : tokensCount * heads;
        float[][] rows = splitHeads(z, b, n);
        boolean[] rowMask = tokenMask == null ? null : rowMask(tokenMask, b, n);

        // 3. cosine
        if (cosine) {
            for (float[] r : rows) {
                Nn.l2normRows(r, 0, rowsPer, codebookDim, 1e-6f);
            }
        }
        // the rows that take part in learning: all, or the unmasked ones in order
        float[][] learnRows = rowMask == null ? rows : compact(rows, rowMask, rowsPer);
        int[] learnCounts = new int[numCb];
        Arrays.fill(learnCounts, rowMask == null ? rowsPer : countTrue(rowMask));

        // 4. kmeans init: the reference runs a pending init in every mode (its codebook forward
        //    calls init_embed_ without a training check), so a kmeans codebook is never used empty
        if (kmeansInit && !codebook.initted(params)) {
            codebook.kmeansInit(params, learnRows, learnCounts, be, options.random(), trace);
        }
        float[] embed = params.get(codebook.embedName()).data();
        if (affine != null) {
            affine.update(params, learnRows, learnCounts, embed, train);
            embed = affine.transformCodebook(params, embed);
            if (trace != null) {
                for (String nm : affine.names()) {
                    trace.put(nm.substring(nm.lastIndexOf('.') + 1), params.get(nm).copy());
                }
            }
        }
        if (topk != null) {
            return topk(params, tokens, rows[0], rowsPer, embed, topk, tokenMask, b, n, be, train, trace);
        }

        // 5. scores / assignment with the codebook before this step's update; versioned, so the
        //    backend packs it once per version (every in-place change marks it modified)
        CodebookVersions.track(embed);
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
        boolean updates = train && !freeze && !options.freezeCodebook();
        EmaStatistics deferred = options.emaStatistics();
        boolean collects = updates && (emaUpdate || codebook.threshold > 0);
        boolean squaredError = train && commitmentWeight > 0 && !commitCrossEntropy;
        float[][] quant = new float[numCb][rowsPer * codebookDim];
        CodebookStatistics stats = null;
        double fusedError = Double.NaN;
        if ((collects || squaredError) && rowMask == null && affine == null) {
            // the gather, this batch's statistics and the commitment's squared error of the same rows in one pass
            // consumed by this step's EMA update, unless recorded for a later step
            stats = !collects ? null
                    : deferred == null ? CodebookStatistics.scratch(numCb, codebookSize, codebookDim)
                    : new CodebookStatistics(numCb, codebookSize, codebookDim);
            double err = 0;
            for (int k = 0; k < numCb; k++) {
                int cbOff = k * codebookSize * codebookDim;
                err += stats != null
                        ? stats.collectGathered(k, rows[k], rowsPer, idx[k], embed, cbOff, quant[k], be)
                        : be.gatherStatistics(embed, cbOff, codebookSize, codebookDim, idx[k], rows[k], rowsPer, quant[k], null, 0, null, 0);
            }
            fusedError = err;
        } else {
            for (int k = 0; k < numCb; k++) {
                be.gather(embed, k * codebookSize * codebookDim, codebookSize, codebookDim, idx[k], rowsPer, quant[k], 0);
            }
        }

        // 6. EMA update (or accumulation), then dead-code expiry
        int replaced = 0;
        if (collects) {
            if (stats == null) {
                stats = collect(params, rows, idx, rowMask, rowsPer, be);
            }
            if (deferred == null) {
                replaced = applyStatistics(params, stats, learnRows, learnCounts, options, trace);
            } else {
                // recorded for a later step over the statistics of several batches (shared codebooks)
                if (sample) {
                    throw new IllegalArgumentException(type() + ": statistics for a later EMA step need deterministic codes;"
                            + " stochastic_sample_codes draws them at random");
                }
                if (options.accumEmaUpdate() || options.emaUpdateWeight() != null) {
                    throw new IllegalArgumentException(type() + ": accum_ema_update and ema_update_weight apply to this"
                            + " codebook's own step, not to statistics recorded for a later one");
                }
                EmaStatistics.Layer layer = deferred.startLayer(codebook.prefix, stats, codebook.threshold > 0);
                for (int k = 0; k < numCb; k++) {
                    layer.rowCounts[k] = learnCounts[k];
                    if (layer.rows != null) {
                        layer.rows[k] = Arrays.copyOf(learnRows[k], learnCounts[k] * codebookDim);
                    }
                }
            }
        }
        if (train) {
            out.putScalar(QuantizerOutput.Name.DEAD_CODES_REPLACED, replaced);
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
                if (commitCrossEntropy) {
                    commit = crossEntropy(scores, idx, rowMask, rowsPer);
                } else if (!Double.isNaN(fusedError)) {
                    long count = (long) numCb * rowsPer * codebookDim;
                    commit = count == 0 ? 0f : (float) (fusedError / count);
                } else if (rowMask != null && heads == 1 && !projects) {
                    // the reference measures a masked commitment against the raw input
                    commit = commitment(new float[][] {tokens.data()}, quant, rowMask, rowsPer);
                } else {
                    commit = commitment(rows, quant, rowMask, rowsPer);
                }
                loss += (float) (commit * commitmentWeight);
            }
            if (orthogonalWeight > 0) {
                orth = orthogonalLoss(params, indices, options.random());
                loss += (float) (orth * orthogonalWeight);
            }
            out.putScalar(QuantizerOutput.Name.LOSS, loss);
            out.putScalar(QuantizerOutput.Name.COMMIT_LOSS, commit);
            out.putScalar(QuantizerOutput.Name.ORTHOGONAL_REG_LOSS, orth);
            out.putScalar(QuantizerOutput.Name.CODEBOOK_DIVERSITY_LOSS, div);
        } else {
            out.putScalar(QuantizerOutput.Name.LOSS, 0f);
            out.putScalar(QuantizerOutput.Name.COMMIT_LOSS, 0f);
            out.putScalar(QuantizerOutput.Name.ORTHOGONAL_REG_LOSS, 0f);
            out.putScalar(QuantizerOutput.Name.CODEBOOK_DIVERSITY_LOSS, 0f);
        }
        if (trace != null) {
            codebook.traceState(params, trace);
        }

        // 8. merge heads and project out; masked tokens give 0 (or the input) and code −1
        float[] merged = mergeHeads(quant, b, n);
        float[] result = projects ? Nn.linear(be, params, prefix + "project_out.", merged, tokensCount, cd, dim) : merged;
        if (tokenMask != null) {
            applyMask(tokenMask, tokens.data(), result, indices, dim, heads);
        }
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(result, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(indices, b, n, heads));
        return out;
    }

    /** Per-row mask of the codebook blocks of {@link #splitHeads}. */
    private boolean[] rowMask(boolean[] tokenMask, int b, int n) {
        if (separate || heads == 1) {
            return tokenMask;
        }
        boolean[] r = new boolean[b * heads * n];
        for (int beta = 0; beta < b; beta++) {
            for (int h = 0; h < heads; h++) {
                System.arraycopy(tokenMask, beta * n, r, (beta * heads + h) * n, n);
            }
        }
        return r;
    }

    private float[][] compact(float[][] rows, boolean[] rowMask, int rowsPer) {
        int kept = countTrue(rowMask);
        float[][] out = new float[rows.length][kept * codebookDim];
        for (int k = 0; k < rows.length; k++) {
            int o = 0;
            for (int r = 0; r < rowsPer; r++) {
                if (rowMask[r]) {
                    System.arraycopy(rows[k], r * codebookDim, out[k], o * codebookDim, codebookDim);
                    o++;
                }
            }
        }
        return out;
    }

    private static int countTrue(boolean[] m) {
        int c = 0;
        for (boolean v : m) {
            if (v) {
                c++;
            }
        }
        return c;
    }

    /** Masked tokens: output 0 (or the input, {@code return_zeros_for_masked_padding=False}), codes −1. */
    private void applyMask(boolean[] tokenMask, float[] input, float[] result, long[] indices, int width, int codes) {
        for (int t = 0; t < tokenMask.length; t++) {
            if (tokenMask[t]) {
                continue;
            }
            if (returnZerosForMaskedPadding) {
                Arrays.fill(result, t * width, (t + 1) * width, 0f);
            } else {
                System.arraycopy(input, t * width, result, t * width, width);
            }
            Arrays.fill(indices, t * codes, (t + 1) * codes, -1L);
        }
    }

    /**
     * Collect step of the EMA update: this batch's per-code counts and sums in codebook space
     * (moved into codebook statistics with {@code affine_param}); masked rows take no part.
     */
    CodebookStatistics collect(Params params, float[][] rows, int[][] idx, boolean[] rowMask, int rowsPer, ComputeBackend be) {
        CodebookStatistics stats = new CodebookStatistics(codebook.numCodebooks, codebookSize, codebookDim);
        for (int k = 0; k < codebook.numCodebooks; k++) {
            float[] x = affine != null ? affine.inverseTransformRows(params, k, rows[k], rowsPer) : rows[k];
            int[] codes = idx[k];
            if (rowMask != null) {
                codes = codes.clone();
                for (int r = 0; r < rowsPer; r++) {
                    if (!rowMask[r]) {
                        codes[r] = -1;
                    }
                }
            }
            stats.collect(k, x, rowsPer, codes, be);
        }
        return stats;
    }

    /**
     * Apply step: with {@code accum_ema_update} the statistics are only added to the pending
     * ones; otherwise one EMA step (pending statistics included), re-normalisation and
     * dead-code expiry on {@code learnRows}. Returns the number of codes replaced.
     */
    int applyStatistics(Params params, CodebookStatistics stats, float[][] learnRows, int[] learnCounts,
                        ForwardOptions options, QuantizerOutput trace) {
        if (options.accumEmaUpdate()) {
            codebook.accumulate(params, stats);
            if (trace != null) {
                CodebookStatistics pend = codebook.pending(params);
                trace.put("accum.cluster_size", new Tensor(pend.counts().clone(), codebook.numCodebooks, codebookSize));
                trace.put("accum.embed_avg", new Tensor(pend.sums().clone(), codebook.numCodebooks, codebookSize, codebookDim));
            }
            return 0;
        }
        if (emaUpdate && !manualEmaUpdate) {
            codebook.applyAndRenormalize(params, stats, options.emaUpdateWeight());
        } else {
            codebook.apply(params, stats, options.emaUpdateWeight(), 0, codebook.numCodebooks);
        }
        return codebook.expire(params, learnRows, learnCounts, options.random(), trace);
    }

    /**
     * The reference's {@code topk}: the k nearest codes of each token, nearest first, with a
     * per-candidate commitment loss {@code (b, n, k)}; the codebook is not updated.
     */
    private QuantizerOutput topk(Params params, Tensor tokens, float[] rows, int m, float[] embed, int k, boolean[] tokenMask,
                                 int b, int n, ComputeBackend be, boolean train, QuantizerOutput trace) {
        int kk = Math.min(k, codebookSize);
        float[] scores = new float[m * codebookSize];
        be.scores(rows, m, codebookDim, embed, 0, codebookSize, codebook.metric(), scores);
        int[] top = new int[m * kk];
        for (int r = 0; r < m; r++) {
            topIndices(scores, r * codebookSize, codebookSize, kk, top, r * kk);
        }
        float[] codes = new float[m * kk * codebookDim];
        be.gather(embed, 0, codebookSize, codebookDim, top, m * kk, codes, 0);
        float[] result = projects ? Nn.linear(be, params, prefix + "project_out.", codes, m * kk, codebookDim, dim) : codes;
        long[] indices = new long[m * kk];
        for (int i = 0; i < indices.length; i++) {
            indices[i] = top[i];
        }
        float[] commit = new float[m * kk];
        float[] loss = new float[m * kk];
        float[] raw = tokens.data();
        for (int r = 0; r < m; r++) {
            boolean masked = tokenMask != null && !tokenMask[r];
            for (int j = 0; j < kk; j++) {
                int c = r * kk + j;
                if (masked) {
                    Arrays.fill(result, c * dim, (c + 1) * dim, 0f);
                    if (!returnZerosForMaskedPadding) {
                        System.arraycopy(raw, r * dim, result, c * dim, dim);
                    }
                    indices[c] = -1;
                    continue;
                }
                if (train) {
                    // measured against the raw input, as the reference does
                    commit[c] = Nn.mse(codes, c * codebookDim, projects ? rows : raw, r * codebookDim, codebookDim);
                    loss[c] = (float) (commit[c] * commitmentWeight);
                }
            }
        }
        QuantizerOutput out = new QuantizerOutput();
        if (trace != null) {
            trace.floats().forEach(out::put);
            if (train) {
                codebook.traceState(params, out);
            }
        }
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(result, b, n, kk, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(indices, b, n, kk));
        out.put(QuantizerOutput.Name.LOSS, new Tensor(loss, b, n, kk));
        out.put(QuantizerOutput.Name.COMMIT_LOSS, new Tensor(commit, b, n, kk));
        return out;
    }

    /** The {@code k} largest of {@code len} scores at {@code off}, best first (ties: lower index). */
    static void topIndices(float[] scores, int off, int len, int k, int[] out, int outOff) {
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int c = 0; c < len; c++) {
                boolean taken = false;
                for (int p = 0; p < j; p++) {
                    if (out[outOff + p] == c) {
                        taken = true;
                        break;
                    }
                }
                if (!taken && (best < 0 || scores[off + c] > scores[off + best])) {
                    best = c;
                }
            }
            out[outOff + j] = best;
        }
    }

    /**
     * The k nearest codes of each token with their distances (euclidean distance, or
     * {@code 1 − cosine} for cosine codebooks), nearest first, without any codebook update.
     * Returns {@code indices (m, heads, k)} and {@code distances (m, heads, k)}.
     */
    public QuantizerOutput nearestCodes(Params params, Tensor tokens, int k, ComputeBackend be) {
        Layouts.requireLastDim(type(), tokens, dim);
        int m = tokens.size() / dim;
        int kk = Math.min(k, codebookSize);
        float[] z = codebookSpace(params, tokens.data(), m, be);
        float[][] rows = splitHeads(z, 1, m);
        int rowsPer = separate || heads == 1 ? m : m * heads;
        if (cosine) {
            for (float[] r : rows) {
                Nn.l2normRows(r, 0, rowsPer, codebookDim, 1e-6f);
            }
        }
        float[] embed = params.get(codebook.embedName()).data();
        if (affine != null && !Float.isNaN(params.get(affine.names().get(0)).data()[0])) {
            embed = affine.transformCodebook(params, embed);
        }
        long[] idxOut = new long[m * heads * kk];
        float[] distOut = new float[m * heads * kk];
        int[] top = new int[kk];
        for (int cb = 0; cb < rows.length; cb++) {
            float[] scores = new float[rowsPer * codebookSize];
            be.scores(rows[cb], rowsPer, codebookDim, embed, cb * codebookSize * codebookDim, codebookSize, codebook.metric(), scores);
            for (int r = 0; r < rowsPer; r++) {
                topIndices(scores, r * codebookSize, codebookSize, kk, top, 0);
                int t;
                int h;
                if (separate || heads == 1) {
                    t = r;
                    h = cb;
                } else {
                    t = r % m;
                    h = r / m;
                }
                for (int j = 0; j < kk; j++) {
                    float s = scores[r * codebookSize + top[j]];
                    int o = (t * heads + h) * kk + j;
                    idxOut[o] = top[j];
                    distOut[o] = cosine ? 1f - s : -s;
                }
            }
        }
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(idxOut, m, heads, kk));
        out.put(QuantizerOutput.Name.DISTANCES, new Tensor(distOut, m, heads, kk));
        return out;
    }

    /**
     * The reference's {@code update_indices(x, indices, mask)}: one codebook update with the
     * given assignments instead of the nearest codes. {@code x (b, n, dim)}, indices
     * {@code (b, n)} or {@code (b, n, heads)}. As in the reference an index −1 counts as code 0
     * unless the mask excludes its token, and the EMA statistics are updated in any mode
     * (dead-code expiry only in training).
     */
    public QuantizerOutput updateIndices(Params params, Tensor x, LongTensor indices, ForwardOptions options) {
        if (x.rank() != 3) {
            throw new IllegalArgumentException(type() + ": update_indices expects (b, n, dim), got " + Shapes.str(x.shape()));
        }
        Layouts.requireLastDim(type(), x, dim);
        Layouts.requireFinite(type(), x);
        int b = x.dim(0);
        int n = x.dim(1);
        if (indices.size() != b * n * heads) {
            throw new IllegalArgumentException(type() + ": update_indices got indices " + Shapes.str(indices.shape())
                    + " for input " + Shapes.str(x.shape()));
        }
        ComputeBackend be = options.backend();
        int numCb = codebook.numCodebooks;
        int rowsPer = separate || heads == 1 ? b * n : b * n * heads;
        float[][] rows = splitHeads(codebookSpace(params, x.data(), b * n, be), b, n);
        if (cosine) {
            for (float[] r : rows) {
                Nn.l2normRows(r, 0, rowsPer, codebookDim, 1e-6f);
            }
        }
        int[][] idx = new int[numCb][rowsPer];
        long[] given = indices.data();
        for (int t = 0; t < b * n; t++) {
            int beta = t / n;
            int i = t % n;
            for (int h = 0; h < heads; h++) {
                long v = given[t * heads + h];
                if (v < -1 || v >= codebookSize) {
                    throw new IllegalArgumentException(type() + ": code " + v + " out of range [-1, " + codebookSize + ")");
                }
                int code = v < 0 ? 0 : (int) v;
                if (separate || heads == 1) {
                    idx[separate ? h : 0][t] = code;
                } else {
                    idx[0][(beta * heads + h) * n + i] = code;
                }
            }
        }
        boolean[] tokenMask = options.mask();
        boolean[] rowMask = tokenMask == null ? null : rowMask(tokenMask, b, n);
        float[][] learnRows = rowMask == null ? rows : compact(rows, rowMask, rowsPer);
        int[] learnCounts = new int[numCb];
        Arrays.fill(learnCounts, rowMask == null ? rowsPer : countTrue(rowMask));
        QuantizerOutput out = new QuantizerOutput();
        QuantizerOutput trace = options.trace() ? out : null;
        if (emaUpdate || codebook.threshold > 0) {
            CodebookStatistics stats = collect(params, rows, idx, rowMask, rowsPer, be);
            ForwardOptions o = options;
            if (!options.training()) {
                // expiry needs training mode; the statistics update does not
                CodebookStatistics keep = stats;
                if (o.accumEmaUpdate()) {
                    codebook.accumulate(params, keep);
                } else {
                    codebook.apply(params, keep, o.emaUpdateWeight(), 0, numCb);
                    if (emaUpdate && !manualEmaUpdate) {
                        codebook.renormalize(params);
                    }
                }
            } else {
                out.putScalar(QuantizerOutput.Name.DEAD_CODES_REPLACED, applyStatistics(params, stats, learnRows, learnCounts, o, trace));
            }
        }
        if (trace != null) {
            codebook.traceState(params, trace);
        }
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
        // apply folds pending accumulated statistics into its argument: step on a copy, the layer stays as recorded
        codebook.apply(params, layer.stats.copy(), null, 0, layer.numCodebooks);
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
        if (heads == 1) {
            // one codebook block already in token order: a plain widening copy (the loop below
            // runs once per step and, never compiled but on stack replacement, took ~0.08 ms at n = 4096)
            int[] only = idx[0];
            for (int t = 0; t < out.length; t++) {
                out[t] = only[t];
            }
            return out;
        }
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

    /** Mean squared difference over the elements of the unmasked rows ({@code rowMask} null: all). */
    private float commitment(float[][] rows, float[][] quant, boolean[] rowMask, int rowsPer) {
        // four partial sums: one chain of dependent double adds per element was the step's
        // largest cost after the assignment
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        long count = 0;
        int d = codebookDim;
        for (int k = 0; k < quant.length; k++) {
            float[] q = quant[k];
            float[] x = rows[k];
            for (int r = 0; r < rowsPer; r++) {
                if (rowMask != null && !rowMask[r]) {
                    continue;
                }
                int o = r * d;
                int e = 0;
                for (; e + 4 <= d; e += 4) {
                    double a0 = (double) q[o + e] - x[o + e];
                    double a1 = (double) q[o + e + 1] - x[o + e + 1];
                    double a2 = (double) q[o + e + 2] - x[o + e + 2];
                    double a3 = (double) q[o + e + 3] - x[o + e + 3];
                    s0 += a0 * a0;
                    s1 += a1 * a1;
                    s2 += a2 * a2;
                    s3 += a3 * a3;
                }
                for (; e < d; e++) {
                    double a = (double) q[o + e] - x[o + e];
                    s0 += a * a;
                }
                count += d;
            }
        }
        return count == 0 ? 0f : (float) (((s0 + s1) + (s2 + s3)) / count);
    }

    /** Mean cross-entropy of the scores (as logits) against the selected codes. */
    private float crossEntropy(float[][] scores, int[][] idx, boolean[] rowMask, int rowsPer) {
        double s = 0;
        long count = 0;
        double[] p = new double[codebookSize];
        for (int k = 0; k < scores.length; k++) {
            for (int r = 0; r < rowsPer; r++) {
                if (rowMask != null && !rowMask[r]) {
                    continue;
                }
                Nn.softmax(scores[k], r * codebookSize, codebookSize, 1.0, p, 0);
                s -= Math.log(p[idx[k][r]]);
                count++;
            }
        }
        return count == 0 ? 0f : (float) (s / count);
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

package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.Metric;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The random-projection quantizer of BEST-RQ (Chiu et al., "Self-supervised Learning with
 * Random-projection Quantizer for Speech Recognition", 2022), as
 * {@code RandomProjectionQuantizer} of vector-quantize-pytorch: a frozen random projection and
 * frozen random codebooks turn each input into prediction targets. Nothing is learnt.
 *
 * <pre>
 * x̃        = LayerNorm(x)                      (no affine, eps 1e-5; skipped if norm = False)
 * p[k]     = x̃ · rand_projs[k]                 k &lt; h = num_codebooks, rand_projs (h, dim, e)
 * indices  = VectorQuantize(dim = h·e, heads = h, use_cosine_sim, separate codebooks)(p), in eval
 * </pre>
 * The inner VectorQuantize gets no {@code codebook_dim}, so for {@code h > 1} it projects
 * {@code h·e → h·(h·e)} with a random Linear {@code vq.project_in} and its codebooks are
 * {@code (h, c, h·e)}; for {@code h = 1} there is no projection and the codebook is
 * {@code (1, c, e)}. The reference forces the inner quantizer into evaluation mode on every call,
 * so {@link Mode#TRAIN} behaves exactly as {@link Mode#EVAL} here.
 *
 * <p>Only indices are produced: {@code (b, n)} for one codebook, {@code (b, n, h)} otherwise;
 * token-major codes are {@code (b, n, h)}. The selected codes are unit vectors in a random
 * projection space and say nothing about the input's values, so {@link #forwardTokens} returns
 * no {@code quantized} tensor, and {@link #decodeTokens} / {@link #codesFromIndices} throw
 * {@link UnsupportedOperationException} (the reference has no index-to-code path either).
 */
@Internal
public final class RandomProjectionQuantizer implements Quantizer {
    private static final String TYPE = "RandomProjectionQuantizer";
    /** Set by this class on its inner quantizer; passing them too is an error in the reference. */
    private static final List<String> FIXED_INNER = List.of("heads", "use_cosine_sim", "separate_codebook_per_head");

    private final Map<String, Object> kwargs;
    final int dim;
    final int codebookSize;
    final int codebookDim;
    final int numCodebooks;
    final boolean norm;
    final VectorQuantize vq;

    public RandomProjectionQuantizer(Map<String, ?> kwargs) {
        Kwargs k = new Kwargs(TYPE, kwargs);
        this.kwargs = k.asMap();
        this.dim = k.requireInt("dim");
        this.codebookSize = k.requireInt("codebook_size");
        this.codebookDim = k.requireInt("codebook_dim");
        this.numCodebooks = k.getInt("num_codebooks", 1);
        this.norm = k.getBool("norm", true);
        if (dim <= 0) {
            throw new IllegalArgumentException(TYPE + ": dim must be positive, got " + dim);
        }
        if (codebookSize <= 0) {
            throw new IllegalArgumentException(TYPE + ": codebook_size must be positive, got " + codebookSize);
        }
        if (codebookDim <= 0) {
            throw new IllegalArgumentException(TYPE + ": codebook_dim must be positive, got " + codebookDim);
        }
        if (numCodebooks <= 0) {
            throw new IllegalArgumentException(TYPE + ": num_codebooks must be positive, got " + numCodebooks);
        }
        Map<String, Object> inner = k.without(List.of("dim", "codebook_size", "codebook_dim", "num_codebooks", "norm"));
        rejectInnerConflicts(inner);
        inner.put("dim", codebookDim * numCodebooks);
        inner.put("heads", numCodebooks);
        inner.put("codebook_size", codebookSize);
        inner.put("use_cosine_sim", true);
        inner.put("separate_codebook_per_head", true);
        k.markAllUsed();
        this.vq = new VectorQuantize(new Kwargs(TYPE, inner), "vq.", true);
    }

    /**
     * The remaining arguments go to the inner VectorQuantize. Those that would change how its
     * input is laid out, or start a kmeans initialisation that the reference runs on the first
     * (evaluation-mode) call and that would overwrite the frozen codebook, are rejected.
     */
    private static void rejectInnerConflicts(Map<String, Object> inner) {
        for (String key : FIXED_INNER) {
            if (inner.containsKey(key)) {
                throw new IllegalArgumentException(TYPE + ": argument '" + key + "' is set by " + TYPE
                        + " itself (heads = num_codebooks, cosine similarity, one codebook per head)");
            }
        }
        if (Boolean.FALSE.equals(inner.get("channel_last")) || Boolean.TRUE.equals(inner.get("accept_image_fmap"))
                || Boolean.TRUE.equals(inner.get("accept_3d_fmap"))) {
            throw new IllegalArgumentException(TYPE + ": channel_last=False, accept_image_fmap and accept_3d_fmap are not"
                    + " supported: the projected input is always (b, n, num_codebooks·codebook_dim)");
        }
        if (Boolean.TRUE.equals(inner.get("kmeans_init"))) {
            throw new IllegalArgumentException(TYPE + ": kmeans_init=True is not supported: the codebooks are random and"
                    + " frozen");
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
        return numCodebooks;
    }

    @Override
    public long[] codebookSizes() {
        long[] s = new long[numCodebooks];
        java.util.Arrays.fill(s, codebookSize);
        return s;
    }

    static String projectionsName() {
        return "rand_projs";
    }

    /**
     * {@code rand_projs}, the inner quantizer's input projection (when {@code h > 1}) and its
     * codebooks {@code vq._codebook.embed}: the tensors a call reads. The inner quantizer's
     * {@code project_out} and EMA statistics exist in the reference's state_dict but are never
     * used, so they are not required here.
     */
    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        l.add(new ParamSpec(projectionsName(), new int[] {numCodebooks, dim, codebookDim}, ParamSpec.Kind.PARAMETER));
        String embed = vq.codebook.embedName();
        for (ParamSpec s : vq.parameterSpecs()) {
            if (s.name().startsWith("vq.project_in.")) {
                l.add(s);
            } else if (s.name().equals(embed)) {
                l.add(new ParamSpec(s.name(), s.shape(), ParamSpec.Kind.PARAMETER));
            }
        }
        return l;
    }

    /**
     * {@code rand_projs} Xavier-normal as torch computes fans for a 3-D tensor
     * (std {@code √(2/(e·(dim + h)))}); the inner quantizer's tensors as it initialises them
     * (unit codebook rows, default Linear init).
     */
    @Override
    public Params initParams(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double std = Math.sqrt(2.0 / ((double) codebookDim * (dim + numCodebooks)));
        Params p = new Params();
        p.put(projectionsName(), Nn.normal(rng, std, numCodebooks, dim, codebookDim));
        Params inner = vq.initParams(rng.nextLong());
        for (ParamSpec s : parameterSpecs()) {
            if (!s.name().equals(projectionsName())) {
                p.put(s.name(), inner.get(s.name()));
            }
        }
        return p;
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        if (input.rank() != 3) {
            throw new IllegalArgumentException(TYPE + ": input must have shape (b, n, dim), got " + Shapes.str(input.shape()));
        }
        QuantizerOutput out = forwardTokens(params, input, options);
        if (numCodebooks == 1) {
            out.put(QuantizerOutput.Name.INDICES, out.indices().reshape(input.dim(0), input.dim(1)));
        }
        return out;
    }

    /** Indices {@code (b, n, h)} only; see the class comment for why there is no {@code quantized}. */
    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        if (tokens.rank() != 3) {
            throw new IllegalArgumentException(TYPE + ": tokens must have shape (b, n, dim), got " + Shapes.str(tokens.shape()));
        }
        Layouts.requireLastDim(TYPE, tokens, dim);
        Layouts.requireFinite(TYPE, tokens);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int m = b * n;
        ComputeBackend be = options.backend();

        float[] x = tokens.data().clone();
        if (norm) {
            Nn.layerNorm(x, m, dim, 1e-5f, null, null);
        }
        float[] projected = new float[m * numCodebooks * codebookDim];
        be.linear(x, m, dim, stackedProjection(params), null, numCodebooks * codebookDim, projected);

        // inner VectorQuantize in eval: project_in, head split, l2norm, argmax of the dot product
        float[] z = vq.codebookSpace(params, projected, m, be);
        float[][] heads = vq.splitHeads(z, b, n);
        int d = vq.codebookDim;
        float[] embed = params.require(vq.codebook.embedName(), numCodebooks, codebookSize, d).data();
        int[][] idx = new int[numCodebooks][m];
        for (int k = 0; k < numCodebooks; k++) {
            Nn.l2normRows(heads[k], 0, m, d, 1e-6f);
            be.assign(heads[k], m, d, embed, k * codebookSize * d, codebookSize, Metric.DOT, idx[k], null);
        }
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(vq.mergeIndices(idx, b, n), b, n, numCodebooks));
        return out;
    }

    /**
     * {@code rand_projs (h, dim, e)} as one Linear weight {@code (h·e, dim)}, row {@code k·e + j}
     * = column {@code j} of {@code rand_projs[k]}, so one backend call yields the concatenated
     * heads {@code (m, h·e)}.
     */
    private float[] stackedProjection(Params params) {
        float[] r = params.require(projectionsName(), numCodebooks, dim, codebookDim).data();
        int e = codebookDim;
        float[] w = new float[numCodebooks * e * dim];
        for (int k = 0; k < numCodebooks; k++) {
            for (int i = 0; i < dim; i++) {
                for (int j = 0; j < e; j++) {
                    w[(k * e + j) * dim + i] = r[(k * dim + i) * e + j];
                }
            }
        }
        return w;
    }

    // ---------------------------------------------------------------- decoding

    private UnsupportedOperationException noDecoding() {
        return new UnsupportedOperationException(TYPE + ": indices cannot be decoded; its codes are unit vectors in a"
                + " random projection space, not reconstructions of the input (use the indices as targets)");
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        throw noDecoding();
    }

    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        throw noDecoding();
    }
}

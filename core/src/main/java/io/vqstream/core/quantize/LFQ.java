package io.vqstream.core.quantize;

import io.vqstream.core.backend.BoundedRounding;
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
 * Lookup-free quantization (Yu et al., "Language Model Beats Diffusion — Tokenizer is Key to
 * Visual Generation", 2023), as {@code LFQ} of vector-quantize-pytorch. Each of the
 * {@code D = log2(codebook_size)} latent features of a codebook is quantized to its sign; the
 * codebook is implicit, so there is nothing to learn and nothing to look up.
 *
 * <pre>
 * z = project_in(x)  →  (tanh(z/v)·v)  →  split into K codebooks of D  →  (z·R)  →  (l2norm(z)·s)
 * q_j = +s if z_j &gt; 0 else −s          (exactly 0 gives −s)
 * index = Σ_j [z_j &gt; 0]·2^(D−1−j)        (feature 0 is the most significant bit)
 * quantized = project_out(merge((l2norm(q)·s)·Rᵀ))
 * </pre>
 * Training adds the entropy loss at the call's {@code inv_temperature} τ (default 100):
 * <pre>
 * aux_loss = w_e·(H̄(p_t) − γ·H(mean_t p_t)) + w_c·mse(z, q),   p_t = softmax_m(2τ·z_t·C_m)
 * </pre>
 * computed exactly but without a (tokens × 2^D) matrix; see {@link LfqEntropy}.
 *
 * <p>Token-major codes are {@code (b, n, num_codebooks)}; {@link #forward} returns indices
 * {@code (b, n)} (or {@code (b, spatial...)}) when {@code keep_num_codebooks_dim} is false.
 * {@code frac_per_sample_entropy < 1} draws its token subset from {@link ForwardOptions#random()};
 * {@code orthogonal_rotation} keeps its matrix as the persistent buffer {@code orthogonal_rot}.
 * The reference's persistent {@code mask} buffer (powers of two) is a constant and not read.
 */
@Internal
public final class LFQ implements Quantizer {
    /** The reference's default {@code inv_temperature} of {@code forward}. */
    static final double DEFAULT_INV_TEMPERATURE = 100.0;
    /** Largest D for which training allocates the 2^D entropy buffers. */
    static final int MAX_ENTROPY_BITS = 24;

    private static final List<String> GRADIENT_ONLY = List.of("straight_through_activation", "force_quantization_f32");

    private final Map<String, Object> kwargs;
    private final String owner;
    private final String prefix;
    final int dim;
    final int codebookSize;
    final int bits;
    final int numCodebooks;
    final boolean keepNumCodebooksDim;
    final boolean projects;
    final boolean projectionBias;
    final boolean cosineProjectIn;
    final float cosineProjectInScale;
    final double entropyLossWeight;
    final double commitmentLossWeight;
    final double diversityGamma;
    final float codebookScale;
    final double fracPerSampleEntropy;
    final Float softClamp;
    final boolean spherical;
    final Boolean channelFirst;
    final boolean softplusEntropyLoss;
    final double entropyLossOffset;
    final boolean orthogonalRotation;

    public LFQ(Map<String, ?> kwargs) {
        this(new Kwargs("LFQ", kwargs), "");
    }

    /** For nesting (ResidualLFQ layers): parameter names get {@code prefix}. */
    LFQ(Kwargs k, String prefix) {
        this.kwargs = k.asMap();
        this.owner = k.owner();
        this.prefix = prefix;
        Integer dimArg = k.getIntOrNull("dim");
        Integer sizeArg = k.getIntOrNull("codebook_size");
        if (dimArg == null && sizeArg == null) {
            throw new IllegalArgumentException(owner + ": either 'dim' or 'codebook_size' must be given");
        }
        if (sizeArg != null) {
            if (sizeArg < 2 || Integer.bitCount(sizeArg) != 1) {
                int suggested = sizeArg < 2 ? 2 : Integer.highestOneBit(sizeArg) << 1;
                throw new IllegalArgumentException(owner + ": codebook_size must be a power of 2 (at least 2), got "
                        + sizeArg + " (suggested " + suggested + ")");
            }
            this.codebookSize = sizeArg;
        } else {
            if (dimArg < 1 || dimArg > 30) {
                throw new IllegalArgumentException(owner + ": without codebook_size, dim sets codebook_size = 2^dim and must be in [1, 30], got " + dimArg);
            }
            this.codebookSize = 1 << dimArg;
        }
        this.bits = Integer.numberOfTrailingZeros(codebookSize);
        this.numCodebooks = k.getInt("num_codebooks", 1);
        if (numCodebooks < 1) {
            throw new IllegalArgumentException(owner + ": num_codebooks must be at least 1, got " + numCodebooks);
        }
        int codebookDims = bits * numCodebooks;
        this.dim = dimArg != null ? dimArg : codebookDims;
        if (dim < 1) {
            throw new IllegalArgumentException(owner + ": dim must be positive, got " + dim);
        }
        Boolean hasProjections = k.getBoolOrNull("has_projections");
        this.projects = hasProjections != null ? hasProjections : dim != codebookDims;
        if (!projects && dim != codebookDims) {
            throw new IllegalArgumentException(owner + ": has_projections = false needs dim (" + dim
                    + ") == num_codebooks · log2(codebook_size) (" + codebookDims + ")");
        }
        this.projectionBias = k.getBool("projection_has_bias", true);
        this.codebookScale = (float) k.getDouble("codebook_scale", 1.0);
        if (!(codebookScale > 0)) {
            throw new IllegalArgumentException(owner + ": codebook_scale must be positive, got " + codebookScale);
        }
        this.cosineProjectIn = k.getBool("cosine_sim_project_in", false);
        Double cosScale = k.getDoubleOrNull("cosine_sim_project_in_scale");
        this.cosineProjectInScale = cosScale != null ? cosScale.floatValue() : codebookScale;
        Boolean keep = k.getBoolOrNull("keep_num_codebooks_dim");
        this.keepNumCodebooksDim = keep != null ? keep : numCodebooks > 1;
        if (numCodebooks > 1 && !keepNumCodebooksDim) {
            throw new IllegalArgumentException(owner + ": keep_num_codebooks_dim = false is only possible with num_codebooks = 1");
        }
        this.entropyLossWeight = k.getDouble("entropy_loss_weight", 0.1);
        this.commitmentLossWeight = k.getDouble("commitment_loss_weight", 0.0);
        this.diversityGamma = k.getDouble("diversity_gamma", 1.0);
        this.fracPerSampleEntropy = k.getDouble("frac_per_sample_entropy", 1.0);
        if (!(fracPerSampleEntropy > 0 && fracPerSampleEntropy <= 1)) {
            throw new IllegalArgumentException(owner + ": frac_per_sample_entropy must be in (0, 1], got " + fracPerSampleEntropy);
        }
        Double clamp = k.getDoubleOrNull("soft_clamp_input_value");
        if (clamp != null && !(clamp >= codebookScale)) {
            throw new IllegalArgumentException(owner + ": soft_clamp_input_value (" + clamp
                    + ") must be at least codebook_scale (" + codebookScale + ")");
        }
        this.softClamp = clamp == null ? null : clamp.floatValue();
        this.spherical = k.getBool("spherical", false);
        this.channelFirst = k.getBoolOrNull("channel_first");
        this.softplusEntropyLoss = k.getBool("experimental_softplus_entropy_loss", false);
        this.entropyLossOffset = k.getDouble("entropy_loss_offset", 5.0);
        this.orthogonalRotation = k.getBool("orthogonal_rotation", false);
        k.rejectUnused(GRADIENT_ONLY, Map.of());
    }

    @Override
    public String type() {
        return "LFQ";
    }

    @Override
    public Map<String, Object> kwargs() {
        return kwargs;
    }

    @Override
    public int dim() {
        return dim;
    }

    /** D: features (bits) per codebook. */
    int bits() {
        return bits;
    }

    @Override
    public int codesPerToken() {
        return numCodebooks;
    }

    @Override
    public long[] codebookSizes() {
        long[] s = new long[numCodebooks];
        Arrays.fill(s, codebookSize);
        return s;
    }

    private int codebookDims() {
        return bits * numCodebooks;
    }

    private String rotationName() {
        return prefix + "orthogonal_rot";
    }

    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        int cd = codebookDims();
        if (projects) {
            if (cosineProjectIn) {
                // CosineSimLinear stores its weight as (in, out), unlike nn.Linear
                l.add(new ParamSpec(prefix + "project_in.weight", new int[] {dim, cd}, ParamSpec.Kind.PARAMETER));
            } else {
                l.addAll(ParamSpec.linear(prefix + "project_in.", dim, cd, projectionBias));
            }
            l.addAll(ParamSpec.linear(prefix + "project_out.", cd, dim, projectionBias));
        }
        if (orthogonalRotation) {
            l.add(new ParamSpec(rotationName(), new int[] {bits, bits}, ParamSpec.Kind.PARAMETER));
        }
        return l;
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        initInto(p, new SplittableRandom(seed));
        return p;
    }

    /** Reference-like random init: torch Linear, {@code randn} for CosineSimLinear, a Haar orthogonal rotation. */
    void initInto(Params p, SplittableRandom rng) {
        int cd = codebookDims();
        if (projects) {
            if (cosineProjectIn) {
                p.put(prefix + "project_in.weight", Nn.normal(rng, 1.0, dim, cd));
            } else {
                Nn.initLinear(p, prefix + "project_in.", dim, cd, projectionBias, rng);
            }
            Nn.initLinear(p, prefix + "project_out.", cd, dim, projectionBias, rng);
        }
        if (orthogonalRotation) {
            p.put(rotationName(), randomOrthogonal(bits, rng));
        }
    }

    /**
     * As {@code nn.init.orthogonal_} for a square matrix: Q of the QR decomposition of a
     * Gaussian matrix with R's diagonal made positive (Gram–Schmidt on the columns gives
     * exactly that Q).
     */
    static Tensor randomOrthogonal(int n, SplittableRandom rng) {
        float[] g = Nn.normal(rng, 1.0, n, n).data();
        double[][] cols = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                cols[j][i] = g[i * n + j];
            }
        }
        for (int j = 0; j < n; j++) {
            for (int pass = 0; pass < 2; pass++) {
                for (int prev = 0; prev < j; prev++) {
                    double dot = 0;
                    for (int i = 0; i < n; i++) {
                        dot += cols[j][i] * cols[prev][i];
                    }
                    for (int i = 0; i < n; i++) {
                        cols[j][i] -= dot * cols[prev][i];
                    }
                }
            }
            double norm = 0;
            for (int i = 0; i < n; i++) {
                norm += cols[j][i] * cols[j][i];
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < n; i++) {
                cols[j][i] /= norm;
            }
        }
        float[] q = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                q[i * n + j] = (float) cols[j][i];
            }
        }
        return new Tensor(q, n, n);
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        boolean transpose = channelFirst != null ? channelFirst : input.rank() >= 4;
        if (transpose) {
            if (input.rank() < 3) {
                throw new IllegalArgumentException(owner + ": channel-first input needs (b, dim, ...), got " + Shapes.str(input.shape()));
            }
            if (input.dim(1) != dim) {
                throw new IllegalArgumentException(owner + ": input channel size " + input.dim(1) + " != dim " + dim
                        + " (channel-first input shape " + Shapes.str(input.shape()) + ")");
            }
            int[] spatial = Layouts.spatial(input);
            QuantizerOutput out = forwardTokens(params, Layouts.channelFirstToTokens(input), options);
            int b = input.dim(0);
            out.put(QuantizerOutput.Name.QUANTIZED, Layouts.tokensToChannelFirst(out.quantized(), spatial));
            out.put(QuantizerOutput.Name.INDICES, Layouts.spatialIndices(out.indices(), b, spatial, numCodebooks, keepNumCodebooksDim));
            return out;
        }
        if (input.rank() != 3) {
            throw new IllegalArgumentException(owner + ": expected (b, n, dim) or a channel-first image/video, got " + Shapes.str(input.shape()));
        }
        QuantizerOutput out = forwardTokens(params, input, options);
        if (!keepNumCodebooksDim) {
            out.put(QuantizerOutput.Name.INDICES, out.indices().reshape(input.dim(0), input.dim(1)));
        }
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        if (tokens.rank() != 3) {
            throw new IllegalArgumentException(owner + ": expected tokens (b, n, dim), got " + Shapes.str(tokens.shape()));
        }
        Layouts.requireLastDim(owner, tokens, dim);
        // without a projection or a transform before the signs, the sign pass reads the input
        // itself and checks it on the way
        boolean checkedBySigns = !projects && softClamp == null && !orthogonalRotation && !spherical;
        if (!checkedBySigns) {
            Layouts.requireFinite(owner, tokens);
        }
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int count = b * n;
        ComputeBackend be = options.backend();
        float[] z = projects ? projectIn(params, tokens.data(), count, be) : tokens.data();
        Latents r = quantizeLatents(params, z, count, options, checkedBySigns ? tokens : null);
        float[] y = projects ? Nn.linear(be, params, prefix + "project_out.", r.output(), count, codebookDims(), dim) : r.output();
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(y, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(r.indices(), b, n, numCodebooks));
        out.putScalar(QuantizerOutput.Name.AUX_LOSS, r.auxLoss());
        out.putScalar(QuantizerOutput.Name.PER_SAMPLE_ENTROPY, r.perSampleEntropy());
        out.putScalar(QuantizerOutput.Name.BATCH_ENTROPY, r.batchEntropy());
        out.putScalar(QuantizerOutput.Name.COMMITMENT, r.commitment());
        return out;
    }

    /**
     * One call's result in codebook space: {@code output (count, K·D)} (rotated back, before
     * project_out), {@code indices (count, K)} and the loss terms (0 in eval).
     */
    record Latents(float[] output, long[] indices, float auxLoss, float perSampleEntropy, float batchEntropy, float commitment) {}

    /** project_in: a Linear, a cosine-similarity projection, or a copy. */
    private float[] projectIn(Params params, float[] x, int count, ComputeBackend be) {
        int cd = codebookDims();
        if (!projects) {
            return x.clone();
        }
        if (!cosineProjectIn) {
            return Nn.linear(be, params, prefix + "project_in.", x, count, dim, cd);
        }
        // l2norm(x) · l2norm_columns(W) · scale, W (dim, cd)
        float[] w = params.require(prefix + "project_in.weight", dim, cd).data();
        float[] wt = new float[cd * dim];
        for (int o = 0; o < cd; o++) {
            double s = 0;
            for (int i = 0; i < dim; i++) {
                s += (double) w[i * cd + o] * w[i * cd + o];
            }
            float norm = Math.max((float) Math.sqrt(s), 1e-12f);
            for (int i = 0; i < dim; i++) {
                wt[o * dim + i] = w[i * cd + o] / norm;
            }
        }
        float[] xn = x.clone();
        Nn.l2normRows(xn, 0, count, dim, 1e-12f);
        float[] y = new float[count * cd];
        be.linear(xn, count, dim, wt, null, cd, y);
        for (int i = 0; i < y.length; i++) {
            y[i] *= cosineProjectInScale;
        }
        return y;
    }

    /**
     * Everything between project_in and project_out, on {@code z (count, K·D)} (left unchanged).
     * In training the output is the straight-through value {@code u + (q − u)} in float32, as
     * the reference returns it; in eval it is {@code q}.
     */
    Latents quantizeLatents(Params params, float[] z, int count, ForwardOptions options) {
        return quantizeLatents(params, z, count, options, null);
    }

    /**
     * As {@link #quantizeLatents(Params, float[], int, ForwardOptions)}; with {@code unchecked}
     * non-null, {@code z} is that input's data, not yet checked for NaN and ±∞: the sign pass
     * checks it and a failure throws {@link Layouts#requireFinite}'s error.
     */
    Latents quantizeLatents(Params params, float[] z, int count, ForwardOptions options, Tensor unchecked) {
        int k = numCodebooks;
        int d = bits;
        int rows = count * k;
        float s = codebookScale;
        // u is z itself unless a transform below changes it (z stays unchanged either way)
        boolean transforms = softClamp != null || orthogonalRotation || spherical;
        float[] u = transforms ? z.clone() : z;
        if (softClamp != null) {
            float v = softClamp;
            for (int i = 0; i < u.length; i++) {
                u[i] = (float) Math.tanh(u[i] / v) * v;
            }
        }
        float[] rot = orthogonalRotation ? params.require(rotationName(), d, d).data() : null;
        if (rot != null) {
            rotate(u, rows, d, rot, false);
        }
        if (spherical) {
            Nn.l2normRows(u, 0, rows, d, 1e-12f);
            for (int i = 0; i < u.length; i++) {
                u[i] *= s;
            }
        }
        float[] q = new float[u.length];
        long[] indices = new long[rows];
        if (!BoundedRounding.lfqSigns(u, rows, d, s, q, indices) && unchecked != null) {
            Layouts.requireFinite(owner, unchecked);
        }
        if (spherical) {
            Nn.l2normRows(q, 0, rows, d, 1e-12f);
            for (int i = 0; i < q.length; i++) {
                q[i] *= s;
            }
        }

        boolean train = options.training();
        float[] output;
        if (train) {
            output = new float[u.length];
            for (int i = 0; i < u.length; i++) {
                output[i] = u[i] + (q[i] - u[i]);
            }
        } else {
            // q is this call's own array and is not read again in eval
            output = q;
        }
        float aux = 0f;
        float perSample = 0f;
        float batch = 0f;
        float commit = 0f;
        if (train) {
            if (d > MAX_ENTROPY_BITS) {
                throw new IllegalArgumentException(owner + ": the entropy loss over 2^" + d
                        + " codes is not supported in training (at most 2^" + MAX_ENTROPY_BITS + " codes per codebook)");
            }
            double tau = options.invTemperature() != null ? options.invTemperature() : DEFAULT_INV_TEMPERATURE;
            // codebook entries are ±s, or ±s/√D after the spherical l2norm·s
            double entry = spherical ? s / Math.sqrt(d) : s;
            double[] h = LfqEntropy.compute(u, k, d, 4.0 * tau * entry, entropyTokens(count, options.random()));
            double entropyAux = h[0] - diversityGamma * h[1];
            if (softplusEntropyLoss) {
                entropyAux = LfqEntropy.softplus(entropyAux + entropyLossOffset);
            }
            double commitment = commitmentLossWeight > 0 ? Nn.mse(u, q) : 0.0;
            perSample = (float) h[0];
            batch = (float) h[1];
            commit = (float) commitment;
            aux = (float) (entropyAux * entropyLossWeight + commitment * commitmentLossWeight);
        }
        if (rot != null) {
            rotate(output, rows, d, rot, true);
        }
        return new Latents(output, indices, aux, perSample, batch, commit);
    }

    /**
     * The tokens the entropy is measured on: all, or a uniformly random subset of
     * {@code floor(T·frac_per_sample_entropy)} (at least one; the reference would average over
     * an empty set and return NaN).
     */
    private int[] entropyTokens(int count, RandomSource random) {
        int[] all = new int[count];
        for (int i = 0; i < count; i++) {
            all[i] = i;
        }
        if (fracPerSampleEntropy >= 1) {
            return all;
        }
        int sampled = Math.max(1, (int) (count * fracPerSampleEntropy));
        for (int i = 0; i < sampled; i++) {
            int j = i + (int) Math.floor(random.uniform() * (count - i));
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] pick = Arrays.copyOf(all, sampled);
        Arrays.sort(pick);
        return pick;
    }

    /** Rows of D in place: {@code v·R}, or {@code v·Rᵀ} when {@code transposed}. */
    private static void rotate(float[] v, int rows, int d, float[] rot, boolean transposed) {
        double[] tmp = new double[d];
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            for (int j = 0; j < d; j++) {
                double acc = 0;
                for (int i = 0; i < d; i++) {
                    acc += (double) v[o + i] * (transposed ? rot[j * d + i] : rot[i * d + j]);
                }
                tmp[j] = acc;
            }
            for (int j = 0; j < d; j++) {
                v[o + j] = (float) tmp[j];
            }
        }
    }

    // ---------------------------------------------------------------- decoding

    /** Codes of token-major indices {@code (m, K)} in codebook space, rotated back: {@code (m, K·D)}. */
    float[] latentCodes(Params params, long[] indices, int m) {
        int d = bits;
        int rows = m * numCodebooks;
        float s = codebookScale;
        float[] c = new float[rows * d];
        for (int r = 0; r < rows; r++) {
            long index = indices[r];
            if (index < 0 || index >= codebookSize) {
                throw new IllegalArgumentException(owner + ": code " + index + " at position " + r
                        + " out of range [0, " + codebookSize + ")");
            }
            for (int j = 0; j < d; j++) {
                boolean set = ((index >>> (d - 1 - j)) & 1L) != 0;
                c[r * d + j] = set ? s : -s;
            }
        }
        if (spherical) {
            Nn.l2normRows(c, 0, rows, d, 1e-12f);
            for (int i = 0; i < c.length; i++) {
                c[i] *= s;
            }
        }
        if (orthogonalRotation) {
            rotate(c, rows, d, params.require(rotationName(), d, d).data(), true);
        }
        return c;
    }

    private float[] decode(Params params, long[] indices, int m) {
        float[] c = latentCodes(params, indices, m);
        return projects ? Nn.linear(ComputeBackendHolder.get(), params, prefix + "project_out.", c, m, codebookDims(), dim) : c;
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        if (codes.dim(-1) != numCodebooks || (codes.rank() != 2 && !(codes.rank() == 1 && numCodebooks == 1))) {
            throw new IllegalArgumentException(owner + ": codes must be (m, " + numCodebooks + "), got " + Shapes.str(codes.shape()));
        }
        int m = codes.size() / numCodebooks;
        return new Tensor(decode(params, codes.data(), m), m, dim);
    }

    /**
     * {@code indices_to_codes}: {@code (..., K)} (or {@code (...)} without the codebook axis) to
     * {@code (..., dim)}, moved to channel-first for images/videos (rank ≥ 3 + keep) or when
     * {@code channel_first} says so.
     */
    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        int[] s = indices.shape();
        int[] lead;
        if (keepNumCodebooksDim) {
            if (s.length == 0 || s[s.length - 1] != numCodebooks) {
                throw new IllegalArgumentException(owner + ": indices must end in the codebook axis of size " + numCodebooks
                        + ", got " + Shapes.str(s));
            }
            lead = Arrays.copyOf(s, s.length - 1);
        } else {
            lead = s;
        }
        int m = Math.toIntExact(Shapes.numel(lead));
        float[] y = decode(params, indices.data(), m);
        int[] shape = Arrays.copyOf(lead, lead.length + 1);
        shape[lead.length] = dim;
        Tensor t = new Tensor(y, shape);
        boolean transpose = channelFirst != null ? channelFirst : s.length >= 3 + (keepNumCodebooksDim ? 1 : 0);
        return transpose && t.rank() >= 2 ? VectorQuantize.moveLastToAxis1(t) : t;
    }
}

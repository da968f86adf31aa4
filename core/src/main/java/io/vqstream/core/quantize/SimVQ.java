package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.Metric;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * SimVQ (Zhu et al., "Addressing Representation Collapse in Vector Quantized Models with One
 * Linear Layer", 2024), as {@code SimVQ} of vector-quantize-pytorch: the codebook is a frozen
 * random matrix seen through a trained linear map, so every code moves when the map is trained
 * and none can collapse.
 *
 * <pre>
 * E    = frozen_codebook · Wᵀ                      (c, dim), recomputed on every call
 * i*   = argmin_j ‖x − E_j‖
 * q    = E[i*]
 * loss = commitment_weight · (1 + input_to_quantize_commit_loss_weight) · mse(x, q)
 * </pre>
 * The loss is returned in evaluation mode too (the reference computes it unconditionally).
 * The returned value is {@code q} passed through the rotation trick ({@link #rotateTo}) or
 * through the straight-through form {@code (q − x) + x}; both have the value {@code q} up to one
 * float rounding, except that the rotation trick maps a zero input to 0. Nothing is learnt
 * online: {@code W} is trained by backpropagation elsewhere.
 *
 * <p>Nearest codes use the backend's clamped squared distance ({@link Metric#L2}); it orders
 * codes as torch's {@code cdist} does except among codes closer than 1e-4 to the input.
 * Token-major codes are {@code (b, n, 1)}.
 */
@Internal
public final class SimVQ implements Quantizer, ImplicitCodebook {
    private static final String TYPE = "SimVQ";

    private final Map<String, Object> kwargs;
    private final String owner;
    final int dim;
    final int codebookSize;
    final int frozenDim;
    final boolean channelFirst;
    final boolean rotationTrick;
    final double inputToQuantizeWeight;
    final double commitmentWeight;
    final String prefix;

    public SimVQ(Map<String, ?> kwargs) {
        this(new Kwargs(TYPE, kwargs), "", true);
    }

    /** For nesting inside ResidualSimVQ: state_dict names get {@code prefix} ({@code layers.0.}). */
    SimVQ(Kwargs k, String prefix, boolean strict) {
        this.owner = k.owner();
        this.kwargs = k.asMap();
        this.prefix = prefix;
        this.dim = k.requireInt("dim");
        this.codebookSize = k.requireInt("codebook_size");
        Integer fd = k.getIntOrNull("frozen_codebook_dim");
        this.frozenDim = fd == null ? dim : fd;
        this.channelFirst = k.getBool("channel_first", false);
        this.rotationTrick = k.getBool("rotation_trick", true);
        this.inputToQuantizeWeight = k.getDouble("input_to_quantize_commit_loss_weight", 0.25);
        this.commitmentWeight = k.getDouble("commitment_weight", 1.0);
        rejectModuleArguments(k);
        if (strict) {
            k.rejectUnused(List.of(), Map.of());
        }
        if (dim <= 0) {
            throw new IllegalArgumentException(owner + ": dim must be positive, got " + dim);
        }
        if (codebookSize <= 0) {
            throw new IllegalArgumentException(owner + ": codebook_size must be positive, got " + codebookSize);
        }
        if (frozenDim <= 0) {
            throw new IllegalArgumentException(owner + ": frozen_codebook_dim must be positive, got " + frozenDim);
        }
        requireWeight("input_to_quantize_commit_loss_weight", inputToQuantizeWeight);
        requireWeight("commitment_weight", commitmentWeight);
    }

    /**
     * {@code codebook_transform} is a torch module and {@code init_fn} a Python callable: neither
     * can be described by a configuration, so only their defaults (a bias-free Linear, identity)
     * are accepted.
     */
    private void rejectModuleArguments(Kwargs k) {
        k.markUsed("codebook_transform", "init_fn");
        if (k.has("codebook_transform")) {
            throw new IllegalArgumentException(owner + ": argument 'codebook_transform' cannot be set from a configuration;"
                    + " only the default Linear(frozen_codebook_dim -> dim, bias=False) with weight '"
                    + prefix + "code_transform.weight' is supported");
        }
        if (k.has("init_fn") && !"identity".equals(k.asMap().get("init_fn"))) {
            throw new IllegalArgumentException(owner + ": argument 'init_fn' = " + k.asMap().get("init_fn")
                    + " cannot be set from a configuration; only the identity is supported"
                    + " (load a frozen_codebook produced by another init_fn instead)");
        }
    }

    private void requireWeight(String name, double v) {
        if (!Double.isFinite(v) || v < 0) {
            throw new IllegalArgumentException(owner + ": " + name + " must be a finite number >= 0, got " + v);
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
        return 1;
    }

    @Override
    public long[] codebookSizes() {
        return new long[] {codebookSize};
    }

    String frozenName() {
        return prefix + "frozen_codebook";
    }

    String transformName() {
        return prefix + "code_transform.weight";
    }

    @Override
    public List<ParamSpec> parameterSpecs() {
        return List.of(
                new ParamSpec(frozenName(), new int[] {codebookSize, frozenDim}, ParamSpec.Kind.PARAMETER),
                new ParamSpec(transformName(), new int[] {dim, frozenDim}, ParamSpec.Kind.PARAMETER));
    }

    /**
     * {@code frozen_codebook ~ N(0, 1)·fd^(−1/2)} (unit expected row norm) and torch's default
     * Linear init {@code W ~ U(±1/√fd)}.
     */
    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        SplittableRandom rng = new SplittableRandom(seed);
        p.put(frozenName(), Nn.normal(rng, 1.0 / Math.sqrt(frozenDim), codebookSize, frozenDim));
        p.put(transformName(), Nn.uniform(rng, (float) (1.0 / Math.sqrt(frozenDim)), dim, frozenDim));
        return p;
    }

    /** The implicit codebook {@code E = frozen_codebook · Wᵀ}, shape {@code (c, dim)}. */
    @Override
    public Tensor implicitCodebook(Params params) {
        return new Tensor(codebook(params, ComputeBackendHolder.get()), codebookSize, dim);
    }

    float[] codebook(Params params, ComputeBackend be) {
        float[] frozen = params.require(frozenName(), codebookSize, frozenDim).data();
        return Nn.linear(be, params, prefix + "code_transform.", frozen, codebookSize, frozenDim, dim);
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        TokenLayout layout = TokenLayout.of(owner, input, dim, channelFirst);
        Layouts.requireFinite(owner, input);
        Tensor tokens = layout.toTokens(input);
        int m = tokens.dim(0) * tokens.dim(1);
        Step s = quantize(params, tokens.data(), m, options.backend());
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, layout.fromTokens(new Tensor(s.value, layout.b, layout.n, dim)));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(toLong(s.indices), layout.indexShape(-1)));
        out.putScalar(QuantizerOutput.Name.LOSS, s.loss);
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        requireTokens(owner, tokens, dim);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        Step s = quantize(params, tokens.data(), b * n, options.backend());
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(s.value, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(toLong(s.indices), b, n, 1));
        out.putScalar(QuantizerOutput.Name.LOSS, s.loss);
        return out;
    }

    /** One quantization of {@code m} channel-last rows: indices, codes, forward value and loss. */
    record Step(int[] indices, float[] codes, float[] value, float loss) {}

    Step quantize(Params params, float[] x, int m, ComputeBackend be) {
        float[] e = codebook(params, be);
        int[] idx = new int[m];
        be.assign(x, m, dim, e, 0, codebookSize, Metric.L2, idx, null);
        float[] q = new float[m * dim];
        be.gather(e, 0, codebookSize, dim, idx, m, q, 0);
        float[] value = new float[m * dim];
        if (rotationTrick) {
            double[] scratch = new double[3 * dim];
            for (int t = 0; t < m; t++) {
                rotateTo(x, t * dim, q, t * dim, value, t * dim, dim, scratch);
            }
        } else {
            for (int i = 0; i < value.length; i++) {
                value[i] = (q[i] - x[i]) + x[i];
            }
        }
        return new Step(idx, q, value, loss(x, q));
    }

    /**
     * {@code mse(x.detach(), q) + mse(x, q.detach())·w}, scaled by {@code commitment_weight}:
     * the two terms have the same value and differ only in where gradients flow.
     */
    private float loss(float[] x, float[] q) {
        float mse = Nn.mse(x, q);
        float commit = mse + mse * (float) inputToQuantizeWeight;
        return commit * (float) commitmentWeight;
    }

    /**
     * The rotation trick (Fifty et al., "Restructuring Vector Quantization with the Rotation
     * Trick", 2024, §4.2): the forward value of {@code q} written as a rotation and rescaling of
     * {@code x}, so that gradients reach {@code x} through that linear map.
     * <pre>
     * u = x / max(‖x‖, 1e-6),  q̂ = q / max(‖q‖, 1e-6),  w = (u + q̂) / max(‖u + q̂‖, 1e-6)
     * r = x − 2(x·w)w + 2(x·u)q̂
     * out = r · ‖q‖ / max(‖x‖, 1e-6)
     * </pre>
     * For {@code x ≠ 0} this equals {@code q} up to rounding; for {@code x = 0} it is 0. It is
     * evaluated in double and rounded once: when {@code q} points nearly opposite to {@code x},
     * {@code ‖u + q̂‖} falls below the 1e-6 clamp and float32 cancellation in {@code x·w} (as in
     * the reference) would move the result visibly away from {@code q}; in double it stays at
     * {@code q}. Elsewhere the two agree within float32 rounding.
     *
     * @param scratch at least {@code 3·d} doubles
     */
    static void rotateTo(float[] x, int xo, float[] q, int qo, float[] out, int oo, int d, double[] scratch) {
        double normX = 0;
        double normQ = 0;
        for (int e = 0; e < d; e++) {
            normX += (double) x[xo + e] * x[xo + e];
            normQ += (double) q[qo + e] * q[qo + e];
        }
        normX = Math.sqrt(normX);
        normQ = Math.sqrt(normQ);
        double safeX = Math.max(normX, 1e-6);
        double safeQ = Math.max(normQ, 1e-6);
        int u = 0;
        int qh = d;
        int w = 2 * d;
        double normW = 0;
        for (int e = 0; e < d; e++) {
            scratch[u + e] = x[xo + e] / safeX;
            scratch[qh + e] = q[qo + e] / safeQ;
            scratch[w + e] = scratch[u + e] + scratch[qh + e];
            normW += scratch[w + e] * scratch[w + e];
        }
        double safeW = Math.max(Math.sqrt(normW), 1e-6);
        double xw = 0;
        double xu = 0;
        for (int e = 0; e < d; e++) {
            scratch[w + e] /= safeW;
            xw += x[xo + e] * scratch[w + e];
            xu += x[xo + e] * scratch[u + e];
        }
        double scale = normQ / safeX;
        for (int e = 0; e < d; e++) {
            double r = x[xo + e] - 2 * xw * scratch[w + e] + 2 * xu * scratch[qh + e];
            out[oo + e] = (float) (r * scale);
        }
    }

    // ---------------------------------------------------------------- decoding

    /**
     * Codes of {@code m} indices, {@code (m, dim)}: {@code transform(frozen_codebook[i])} as the
     * reference's {@code indices_to_codes}; {@code −1} gives a zero row when {@code allowMissing}
     * (ResidualSimVQ's dropped layers).
     */
    float[] codesOf(Params params, long[] indices, int from, int stride, int m, boolean allowMissing) {
        float[] frozen = params.require(frozenName(), codebookSize, frozenDim).data();
        float[] rows = new float[m * frozenDim];
        boolean[] missing = new boolean[m];
        for (int t = 0; t < m; t++) {
            long j = indices[from + t * stride];
            if (j == -1 && allowMissing) {
                missing[t] = true;
                continue;
            }
            if (j < 0 || j >= codebookSize) {
                throw new IllegalArgumentException(owner + ": code index " + j + " out of range [0, " + codebookSize + ")"
                        + (allowMissing ? " (-1 marks a dropped layer)" : ""));
            }
            System.arraycopy(frozen, (int) j * frozenDim, rows, t * frozenDim, frozenDim);
        }
        float[] codes = Nn.linear(ComputeBackendHolder.get(), params, prefix + "code_transform.", rows, m, frozenDim, dim);
        for (int t = 0; t < m; t++) {
            if (missing[t]) {
                Arrays.fill(codes, t * dim, (t + 1) * dim, 0f);
            }
        }
        return codes;
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        if (codes.rank() != 2 || codes.dim(1) != 1) {
            throw new IllegalArgumentException(owner + ": codes must have shape (m, 1), got " + Shapes.str(codes.shape()));
        }
        int m = codes.dim(0);
        return new Tensor(codesOf(params, codes.data(), 0, 1, m, false), m, dim);
    }

    /** {@code indices (b, ...)} → {@code (b, ..., dim)}, or {@code (b, dim, ...)} when channel-first. */
    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        if (indices.rank() < 1) {
            throw new IllegalArgumentException(owner + ": indices need a batch axis, got shape " + Shapes.str(indices.shape()));
        }
        int m = indices.size();
        int[] shape = Arrays.copyOf(indices.shape(), indices.rank() + 1);
        shape[indices.rank()] = dim;
        Tensor t = new Tensor(codesOf(params, indices.data(), 0, 1, m, false), shape);
        return channelFirst ? VectorQuantize.moveLastToAxis1(t) : t;
    }

    // ---------------------------------------------------------------- helpers shared with ResidualSimVQ

    static void requireTokens(String owner, Tensor tokens, int dim) {
        if (tokens.rank() != 3) {
            throw new IllegalArgumentException(owner + ": tokens must have shape (b, n, dim), got " + Shapes.str(tokens.shape()));
        }
        Layouts.requireLastDim(owner, tokens, dim);
        Layouts.requireFinite(owner, tokens);
    }

    static long[] toLong(int[] v) {
        long[] r = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = v[i];
        }
        return r;
    }

    /**
     * The reference's {@code pack_one(x, 'b * d')} after an optional channel-first move: any
     * input {@code (b, ..., dim)} (or {@code (b, dim, ...)}) becomes tokens {@code (b, n, dim)}
     * with {@code n} the product of the middle axes ({@code 1} for a 2-D input), and back.
     */
    static final class TokenLayout {
        final int b;
        final int n;
        final int[] middle;
        final boolean channelFirst;

        private TokenLayout(int b, int[] middle, boolean channelFirst) {
            this.b = b;
            this.middle = middle;
            this.n = Math.toIntExact(Shapes.numel(middle));
            this.channelFirst = channelFirst;
        }

        static TokenLayout of(String owner, Tensor input, int dim, boolean channelFirst) {
            int r = input.rank();
            if (r < 2) {
                throw new IllegalArgumentException(owner + ": input needs a batch and a feature axis, got shape "
                        + Shapes.str(input.shape()));
            }
            int featureAxis = channelFirst ? 1 : r - 1;
            if (input.dim(featureAxis) != dim) {
                throw new IllegalArgumentException(owner + ": input feature size " + input.dim(featureAxis) + " (axis "
                        + featureAxis + (channelFirst ? ", channel_first" : "") + ") != dim " + dim
                        + " (input shape " + Shapes.str(input.shape()) + ")");
            }
            int[] s = input.shape();
            int[] middle = channelFirst ? Arrays.copyOfRange(s, 2, r) : Arrays.copyOfRange(s, 1, r - 1);
            return new TokenLayout(s[0], middle, channelFirst);
        }

        Tensor toTokens(Tensor input) {
            int d = channelFirst ? input.dim(1) : input.dim(-1);
            if (channelFirst && input.rank() > 2) {
                return Layouts.channelFirstToTokens(input);
            }
            return input.reshape(b, n, d);
        }

        /** Tokens {@code (b, n, d)} back to the input layout. */
        Tensor fromTokens(Tensor tokens) {
            int d = tokens.dim(2);
            if (channelFirst) {
                return middle.length == 0 ? tokens.reshape(b, d) : Layouts.tokensToChannelFirst(tokens, middle);
            }
            int[] shape = new int[middle.length + 2];
            shape[0] = b;
            System.arraycopy(middle, 0, shape, 1, middle.length);
            shape[shape.length - 1] = d;
            return tokens.reshape(shape);
        }

        /** {@code (b, middle...)}, with a trailing axis of {@code k} when {@code k ≥ 0}. */
        int[] indexShape(int k) {
            int[] shape = new int[middle.length + 1 + (k >= 0 ? 1 : 0)];
            shape[0] = b;
            System.arraycopy(middle, 0, shape, 1, middle.length);
            if (k >= 0) {
                shape[shape.length - 1] = k;
            }
            return shape;
        }
    }
}

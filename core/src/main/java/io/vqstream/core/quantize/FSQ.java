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
 * Finite scalar quantization (Mentzer et al., "Finite Scalar Quantization: VQ-VAE Made Simple",
 * 2023), as {@code FSQ} of vector-quantize-pytorch: every latent dimension is bounded and
 * rounded to one of {@code L_i} values, so the codebook is the implicit grid {@code Π L_i × D}
 * and nothing is learnt.
 *
 * <pre>
 * standard:   hl = (L−1)(1+1e-3)/2,  off = L even ? 0.5 : 0,  shift = atanh(off/hl)
 *             ẑ = round(tanh(z + shift)·hl − off) / (L div 2)
 * symmetric:  k = floor((L−1)(tanh(z)+1)/2 + 0.5),  ẑ = k·(2/(L−1)) − 1   (preserve_symmetry)
 * index     = Σ_i k_i·Π_{j&lt;i} L_j          (first dimension least significant)
 * </pre>
 * {@code bound_hard_clamp} replaces tanh by clamp(·, −1, 1) (and atanh by the identity).
 * Every step is evaluated in float32 in the reference's order, so codes are bit-identical.
 *
 * <p>Layouts: inputs of rank ≥ 4 (images, video) or with {@code channel_first} are
 * channel-first. Token-major codes are {@code (b, n, num_codebooks)}; codebook {@code k} of a
 * token quantizes features {@code [k·D, (k+1)·D)} after {@code project_in}.
 *
 * <p>Options: {@code orthogonal_rotation} is implemented (its matrix is the persistent buffer
 * {@code orthogonal_rot}, {@code z ← z·R} before and {@code ẑ ← ẑ·Rᵀ} after quantization);
 * {@code noise_dropout} is implemented for training (each code element, with probability p,
 * gets {@code U(−0.5, 0.5)} added and is clamped to [−1, 1], after its index is taken), drawn
 * from {@link ForwardOptions#random()}. {@code scale}, {@code allowed_dtypes} and
 * {@code force_quantization_f32} have no effect on float32 values and are accepted.
 * With {@code return_indices=False} {@link #forward} omits the indices (forwardTokens keeps them).
 * Indices are computed exactly in integers; the reference sums them in float32, which is exact
 * up to codebooks of 2^24 codes.
 */
@Internal
public final class FSQ implements Quantizer, ImplicitCodebook {
    private static final List<String> NO_EFFECT = List.of("scale", "allowed_dtypes", "force_quantization_f32");

    private final String owner;
    private final Map<String, Object> kwargs;
    private final String prefix;
    final int[] levels;
    final long[] basis;
    /** {@link #basis} as floats for the indexed kernels, or null when the codebook is too large for them. */
    private final float[] basisFloats;
    final int codebookDim;
    final int numCodebooks;
    final boolean keepNumCodebooksDim;
    final int dim;
    final boolean channelFirst;
    final boolean projectionHasBias;
    final boolean returnIndices;
    final boolean preserveSymmetry;
    final boolean boundHardClamp;
    final double noiseDropout;
    final boolean orthogonalRotation;
    final boolean projects;
    final long codebookSize;

    // per-dimension float32 constants of the bound functions, as the reference's buffers hold them
    private final float[] halfL;
    private final float[] offset;
    private final float[] shift;
    private final float[] halfWidth;
    private final float[] levelsMinus1;
    private final float[] symStep;

    public FSQ(Map<String, ?> kwargs) {
        this(new Kwargs("FSQ", kwargs), "", true);
    }

    /** For nesting (ResidualFSQ layers): parameter names get {@code prefix}, messages name {@code k.owner()}. */
    FSQ(Kwargs k, String prefix, boolean strict) {
        this.owner = k.owner();
        this.kwargs = k.asMap();
        this.prefix = prefix;
        Object rawLevels = k.getIntOrList("levels");
        if (rawLevels != null && !(rawLevels instanceof List<?>)) {
            throw new IllegalArgumentException(owner + ": argument 'levels' must be a list of integers, got " + rawLevels);
        }
        this.preserveSymmetry = k.getBool("preserve_symmetry", false);
        this.levels = FsqSupport.requireLevels(owner, k.getIntList("levels", 0));
        this.codebookDim = levels.length;
        this.numCodebooks = k.getInt("num_codebooks", 1);
        Boolean keep = k.getBoolOrNull("keep_num_codebooks_dim");
        this.keepNumCodebooksDim = keep != null ? keep : numCodebooks > 1;
        Integer dimArg = k.getIntOrNull("dim");
        this.dim = dimArg != null ? dimArg : codebookDim * numCodebooks;
        this.channelFirst = k.getBool("channel_first", false);
        this.projectionHasBias = k.getBool("projection_has_bias", true);
        this.returnIndices = k.getBool("return_indices", true);
        this.noiseDropout = k.getDouble("noise_dropout", 0.0);
        this.boundHardClamp = k.getBool("bound_hard_clamp", false);
        this.orthogonalRotation = k.getBool("orthogonal_rotation", false);
        if (strict) {
            k.rejectUnused(NO_EFFECT, Map.of());
        }

        for (int i = 0; i < levels.length; i++) {
            if (levels[i] == 2 && !preserveSymmetry) {
                throw new IllegalArgumentException(owner + ": levels[" + i + "] = 2 needs preserve_symmetry=True "
                        + "(the standard bound has no zero-offset grid for 2 levels); use preserve_symmetry or a level > 2");
            }
        }
        if (numCodebooks < 1) {
            throw new IllegalArgumentException(owner + ": num_codebooks must be at least 1, got " + numCodebooks);
        }
        if (numCodebooks > 1 && !keepNumCodebooksDim) {
            throw new IllegalArgumentException(owner + ": keep_num_codebooks_dim must be True when num_codebooks = "
                    + numCodebooks + " > 1");
        }
        if (dim < 1) {
            throw new IllegalArgumentException(owner + ": dim must be positive, got " + dim);
        }
        if (!(noiseDropout >= 0 && noiseDropout <= 1)) {
            throw new IllegalArgumentException(owner + ": noise_dropout must be in [0, 1], got " + noiseDropout);
        }
        if (noiseDropout > 0 && !preserveSymmetry) {
            throw new IllegalArgumentException(owner + ": noise_dropout > 0 needs preserve_symmetry=True");
        }
        this.basis = FsqSupport.basis(levels);
        this.codebookSize = FsqSupport.product(levels);
        if (codebookSize <= BoundedRounding.MAX_INDEXED_CODEBOOK) {
            basisFloats = new float[basis.length];
            for (int i = 0; i < basis.length; i++) {
                basisFloats[i] = basis[i];
            }
        } else {
            basisFloats = null;
        }
        this.projects = dim != codebookDim * numCodebooks;

        int d = codebookDim;
        halfL = new float[d];
        offset = new float[d];
        shift = new float[d];
        halfWidth = new float[d];
        levelsMinus1 = new float[d];
        symStep = new float[d];
        for (int i = 0; i < d; i++) {
            int l = levels[i];
            levelsMinus1[i] = l - 1;
            halfL[i] = (float) (l - 1) * 1.001f / 2f;
            offset[i] = l % 2 == 0 ? 0.5f : 0f;
            float ratio = offset[i] / halfL[i];
            shift[i] = boundHardClamp ? ratio : (float) atanh(ratio);
            halfWidth[i] = l / 2;
            symStep[i] = 2f / (float) (l - 1);
        }
    }

    private static double atanh(double x) {
        return 0.5 * Math.log((1 + x) / (1 - x));
    }

    @Override
    public String type() {
        return "FSQ";
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
        Arrays.fill(s, codebookSize);
        return s;
    }

    /** Width after project_in: {@code num_codebooks · len(levels)}. */
    int effectiveDim() {
        return numCodebooks * codebookDim;
    }

    String rotationName() {
        return prefix + "orthogonal_rot";
    }

    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        int e = effectiveDim();
        if (projects) {
            l.addAll(ParamSpec.linear(prefix + "project_in.", dim, e, projectionHasBias));
            l.addAll(ParamSpec.linear(prefix + "project_out.", e, dim, projectionHasBias));
        }
        if (orthogonalRotation) {
            l.add(new ParamSpec(rotationName(), new int[] {codebookDim, codebookDim}, ParamSpec.Kind.PARAMETER));
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
        int e = effectiveDim();
        if (projects) {
            Nn.initLinear(p, prefix + "project_in.", dim, e, projectionHasBias, rng);
            Nn.initLinear(p, prefix + "project_out.", e, dim, projectionHasBias, rng);
        }
        if (orthogonalRotation) {
            p.put(rotationName(), FsqSupport.randomOrthogonal(rng, codebookDim));
        }
    }

    // ---------------------------------------------------------------- quantization core

    /**
     * Quantizes {@code rows} rows of {@code D} latent values in place: {@code z} becomes the
     * codes (rotated back and, in training with noise dropout, noised), {@code indices[r]} the
     * code index of row {@code r} (taken before any noise).
     */
    void quantizeInPlace(Params params, float[] z, int rows, long[] indices, ForwardOptions options) {
        int d = codebookDim;
        float[] rot = orthogonalRotation ? params.require(rotationName(), d, d).data() : null;
        float[] tmp = rot != null ? new float[d] : null;
        boolean noise = noiseDropout > 0 && options.training();
        RandomSource random = noise ? options.random() : null;
        if (rot == null && !noise) {
            // the common case in one vectorised pass over all rows (same codes and floats as below)
            int[] digits = new int[rows * d];
            if (preserveSymmetry) {
                BoundedRounding.fsqSymmetric(z, rows, d, levelsMinus1, symStep, boundHardClamp, digits);
            } else {
                BoundedRounding.fsqStandard(z, rows, d, shift, halfL, offset, halfWidth, boundHardClamp, digits);
            }
            for (int r = 0; r < rows; r++) {
                long index = 0;
                for (int i = 0, o = r * d; i < d; i++) {
                    index += digits[o + i] * basis[i];
                }
                indices[r] = index;
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            if (rot != null) {
                rotate(z, o, rot, false, tmp);
            }
            long index = 0;
            for (int i = 0; i < d; i++) {
                int digit;
                if (preserveSymmetry) {
                    float t = boundHardClamp ? Math.max(-1f, Math.min(1f, z[o + i])) : (float) Math.tanh(z[o + i]);
                    float bracket = levelsMinus1[i] * (t + 1f) / 2f + 0.5f;
                    float k = (float) Math.floor(bracket);
                    z[o + i] = symStep[i] * k - 1f;
                    digit = (int) k;
                } else {
                    float s = z[o + i] + shift[i];
                    float bounded = boundHardClamp ? Math.max(-1f, Math.min(1f, s)) : (float) Math.tanh(s);
                    float y = bounded * halfL[i] - offset[i];
                    float rounded = (float) Math.rint(y);
                    z[o + i] = rounded / halfWidth[i];
                    digit = (int) rounded + (int) halfWidth[i];
                }
                index += digit * basis[i];
            }
            indices[r] = index;
            if (noise) {
                for (int i = 0; i < d; i++) {
                    if (random.uniform() < noiseDropout) {
                        float v = z[o + i] + (float) (random.uniform() - 0.5);
                        z[o + i] = Math.max(-1f, Math.min(1f, v));
                    }
                }
            }
            if (rot != null) {
                rotate(z, o, rot, true, tmp);
            }
        }
    }

    /**
     * Bound and round of {@code rows} rows from {@code src} into {@code dst} (the same array
     * allowed) with their indices, in one vectorised pass that also checks that {@code src} is
     * finite: false when it is not.
     */
    private boolean quantizeIndexed(float[] src, float[] dst, int rows, long[] indices) {
        int d = codebookDim;
        if (basisFloats != null) {
            return preserveSymmetry
                    ? BoundedRounding.fsqSymmetricIndexed(src, dst, rows, d, levelsMinus1, symStep, boundHardClamp, basisFloats, indices)
                    : BoundedRounding.fsqStandardIndexed(src, dst, rows, d, shift, halfL, offset, halfWidth, boundHardClamp, basisFloats,
                            indices);
        }
        for (int f = 0; f < rows * d; f++) {
            if (!Float.isFinite(src[f])) {
                return false;
            }
        }
        if (dst != src) {
            System.arraycopy(src, 0, dst, 0, rows * d);
        }
        int[] digits = new int[rows * d];
        if (preserveSymmetry) {
            BoundedRounding.fsqSymmetric(dst, rows, d, levelsMinus1, symStep, boundHardClamp, digits);
        } else {
            BoundedRounding.fsqStandard(dst, rows, d, shift, halfL, offset, halfWidth, boundHardClamp, digits);
        }
        for (int r = 0; r < rows; r++) {
            long index = 0;
            for (int i = 0, o = r * d; i < d; i++) {
                index += digits[o + i] * basis[i];
            }
            indices[r] = index;
        }
        return true;
    }

    /** {@code v ← v·R} or, with {@code transposed}, {@code v ← v·Rᵀ}, for the D values at {@code o}. */
    private void rotate(float[] v, int o, float[] rot, boolean transposed, float[] tmp) {
        int d = codebookDim;
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int i = 0; i < d; i++) {
                s += (double) v[o + i] * (transposed ? rot[j * d + i] : rot[i * d + j]);
            }
            tmp[j] = (float) s;
        }
        System.arraycopy(tmp, 0, v, o, d);
    }

    /** The unrotated code of {@code index} written to {@code out[o..o+D)}; the reference's {@code _indices_to_codes}. */
    void codeOf(long index, float[] out, int o) {
        for (int i = 0; i < codebookDim; i++) {
            int k = (int) ((index / basis[i]) % levels[i]);
            out[o + i] = preserveSymmetry ? (float) k * symStep[i] - 1f : ((float) k - halfWidth[i]) / halfWidth[i];
        }
    }

    /** Codes of {@code rows} indices, rotated back when the quantizer rotates (the inverse of quantization). */
    void codesOf(Params params, long[] indices, int rows, float[] out) {
        float[] rot = orthogonalRotation ? params.require(rotationName(), codebookDim, codebookDim).data() : null;
        float[] tmp = rot != null ? new float[codebookDim] : null;
        for (int r = 0; r < rows; r++) {
            codeOf(indices[r], out, r * codebookDim);
            if (rot != null) {
                rotate(out, r * codebookDim, rot, true, tmp);
            }
        }
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        boolean moveChannels = input.rank() >= 4 || channelFirst;
        Tensor tokens;
        int[] spatial = null;
        if (moveChannels) {
            spatial = Layouts.spatial(requireChannels(input));
            tokens = FsqSupport.channelFirstTokens(owner, input);
        } else {
            if (input.rank() != 3) {
                throw new IllegalArgumentException(owner + ": expected an input (b, n, " + dim + ") or a channel-first (b, "
                        + dim + ", h, w[, ...]) image, got " + Shapes.str(input.shape()));
            }
            tokens = input;
        }
        QuantizerOutput tok = forwardTokens(params, tokens, options);
        int b = tokens.dim(0);
        QuantizerOutput out = new QuantizerOutput();
        if (moveChannels) {
            out.put(QuantizerOutput.Name.QUANTIZED, Layouts.tokensToChannelFirst(tok.quantized(), spatial));
            if (returnIndices) {
                out.put(QuantizerOutput.Name.INDICES, Layouts.spatialIndices(tok.indices(), b, spatial, numCodebooks, keepNumCodebooksDim));
            }
        } else {
            out.put(QuantizerOutput.Name.QUANTIZED, tok.quantized());
            if (returnIndices) {
                LongTensor idx = tok.indices();
                out.put(QuantizerOutput.Name.INDICES, keepNumCodebooksDim ? idx : idx.reshape(b, tokens.dim(1)));
            }
        }
        return out;
    }

    private Tensor requireChannels(Tensor input) {
        if (input.rank() < 2 || input.dim(1) != dim) {
            throw new IllegalArgumentException(owner + ": channel-first input must have dim = " + dim + " features on axis 1, got "
                    + Shapes.str(input.shape()));
        }
        return input;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        int b = tokens.rank() == 3 ? tokens.dim(0) : 0;
        int n = tokens.rank() == 3 ? tokens.dim(1) : 0;
        int m = b * n;
        ComputeBackend be = options.backend();
        int e = effectiveDim();
        boolean noise = noiseDropout > 0 && options.training();
        if (!projects && !orthogonalRotation && !noise && tokens.rank() == 3) {
            // input check, bound, round and indices in one pass from the input into the output
            Layouts.requireLastDim(owner, tokens, dim);
            float[] y = new float[m * e];
            long[] indices = new long[m * numCodebooks];
            if (!quantizeIndexed(tokens.data(), y, m * numCodebooks, indices)) {
                Layouts.requireFinite(owner, tokens);
            }
            QuantizerOutput out = new QuantizerOutput();
            out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(y, b, n, dim));
            out.put(QuantizerOutput.Name.INDICES, new LongTensor(indices, b, n, numCodebooks));
            return out;
        }
        FsqSupport.requireTokens(owner, tokens, dim);
        float[] z = projects ? Nn.linear(be, params, prefix + "project_in.", tokens.data(), m, dim, e) : tokens.data().clone();
        long[] indices = new long[m * numCodebooks];
        quantizeInPlace(params, z, m * numCodebooks, indices, options);
        float[] y = projects ? Nn.linear(be, params, prefix + "project_out.", z, m, e, dim) : z;
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(y, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(indices, b, n, numCodebooks));
        return out;
    }

    // ---------------------------------------------------------------- decoding

    /** {@code (m · num_codebooks)} indices → {@code (m, dim)}: codes, rotation back, project_out. */
    private float[] decode(Params params, long[] indices, int[] shape, int m) {
        for (int i = 0; i < indices.length; i++) {
            FsqSupport.requireCodeInRange(owner, indices[i], codebookSize, shape, i);
        }
        int e = effectiveDim();
        float[] c = new float[m * e];
        codesOf(params, indices, m * numCodebooks, c);
        return projects ? Nn.linear(ComputeBackendHolder.get(), params, prefix + "project_out.", c, m, e, dim) : c;
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        FsqSupport.requireCodes(owner, codes, numCodebooks);
        int m = codes.dim(0);
        return new Tensor(decode(params, codes.data(), codes.shape(), m), m, dim);
    }

    /**
     * The reference's {@code indices_to_codes}: {@code (…)} or, keeping the codebook axis,
     * {@code (…, num_codebooks)} indices to projected codes {@code (…, dim)}, channel-first
     * {@code (b, dim, …)} when the indices have image rank or {@code channel_first} is set.
     */
    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        int[] s = indices.shape();
        boolean image = s.length >= 3 + (keepNumCodebooksDim ? 1 : 0);
        int[] lead = s;
        if (keepNumCodebooksDim) {
            if (s.length < 1 || s[s.length - 1] != numCodebooks) {
                throw new IllegalArgumentException(owner + ": indices must end with the codebook axis of size " + numCodebooks
                        + ", got " + Shapes.str(s));
            }
            lead = Arrays.copyOf(s, s.length - 1);
        }
        int m = Math.toIntExact(Shapes.numel(lead));
        Tensor t = new Tensor(decode(params, indices.data(), s, m), FsqSupport.append(lead, dim));
        return image || channelFirst ? FsqSupport.moveLastToAxis1(t) : t;
    }

    /** The grid {@code (Π L, D)} in index order, without rotation (the reference's {@code implicit_codebook}). */
    @Override
    public Tensor implicitCodebook(Params params) {
        long size = codebookSize * codebookDim;
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(owner + ": implicit codebook of " + codebookSize + " codes is too large to materialise");
        }
        float[] c = new float[(int) size];
        for (long i = 0; i < codebookSize; i++) {
            codeOf(i, c, (int) (i * codebookDim));
        }
        return new Tensor(c, (int) codebookSize, codebookDim);
    }
}

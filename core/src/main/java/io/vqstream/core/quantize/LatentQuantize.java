package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Latent quantization (Hsu et al., "Disentanglement via Latent Quantization", 2023), as
 * {@code LatentQuantize} of vector-quantize-pytorch: each latent dimension {@code i} snaps to
 * the nearest entry of its own value table {@code v_i} ({@code L_i} learnable scalars,
 * parameters {@code values_per_latent.{i}}), the tables shared by all codebooks.
 *
 * <pre>
 * k_i = argmin_j |z_i − v_i[j]|   (first minimum),   r_i = fl(z_i + fl(v_i[k_i] − z_i))
 * t_i = fl(fl(fl(r_i·2)·half_i) + half_i),  half_i = L_i div 2
 * index = trunc(Σ_i fl(t_i·basis_i))   (float32 sum in dimension order, basis_i = Π_{j&lt;i} L_j)
 * loss  = (w_commit + w_quant)·mse(out, x)   in training, 0 in eval
 * </pre>
 * The index follows the reference's float32 recipe exactly (spec §9.2 step 4), not the argmin
 * composition {@code Σ k_i·basis_i}: the two differ for tables that are not exact in binary
 * (L = 6, 7, …) when {@code |z|} is far outside the table, and for trained tables; the
 * {@code lq_nondyadic_eval} conformance case checks this recipe.
 *
 * <p>The input of {@link #forward} is always channel-first, {@code (b, dim, …)} (a rank-2
 * {@code (b, dim)} is one token per row), as in the reference. Token-major codes are
 * {@code (b, n, num_codebooks)}. Decoding ({@link #decodeTokens}, {@link #codesFromIndices})
 * is the reference's {@code indices_to_codes}: code {@code (k_i − half_i)/half_i/2}, the
 * <em>initial</em> table values whatever the tables hold now.
 * {@code optimize_values=False} makes the tables fixed derived values instead of parameters.
 * {@code in_place_codebook_optimizer} is rejected (its code path fails in the reference).
 */
@Internal
public final class LatentQuantize implements Quantizer, ImplicitCodebook {
    private static final String OWNER = "LatentQuantize";
    private static final Map<String, Object> UNSUPPORTED = new HashMap<>();

    static {
        UNSUPPORTED.put("in_place_codebook_optimizer", null);
    }

    private final Map<String, Object> kwargs;
    final int[] levels;
    final long[] basis;
    final int dim;
    final int codebookDim;
    final int numCodebooks;
    final boolean keepNumCodebooksDim;
    final boolean optimizeValues;
    final float commitmentWeight;
    final float quantizationWeight;
    final boolean projects;
    final long codebookSize;
    private final float[] halfWidth;
    private final float[][] initialTables;

    public LatentQuantize(Map<String, ?> kwargs) {
        Kwargs k = new Kwargs(OWNER, kwargs);
        this.kwargs = k.asMap();
        this.dim = k.requireInt("dim");
        int cbDimArg = k.getInt("codebook_dim", -1);
        Object rawLevels = k.getIntOrList("levels");
        int[] lv;
        if (rawLevels instanceof Number) {
            if (cbDimArg <= 0) {
                throw new IllegalArgumentException(OWNER + ": an integer 'levels' needs codebook_dim > 0 (how often to repeat it), got "
                        + cbDimArg);
            }
            lv = k.getIntList("levels", cbDimArg);
        } else {
            lv = k.getIntList("levels", 0);
        }
        this.levels = FsqSupport.requireLevels(OWNER, lv);
        if (cbDimArg > 0 && cbDimArg != levels.length) {
            throw new IllegalArgumentException(OWNER + ": codebook_dim " + cbDimArg + " must equal len(levels) = " + levels.length);
        }
        this.codebookDim = levels.length;
        Double wc = k.getDoubleOrNull("commitment_loss_weight");
        Double wq = k.getDoubleOrNull("quantization_loss_weight");
        this.commitmentWeight = wc == null ? 0.1f : wc.floatValue();
        this.quantizationWeight = wq == null ? 0.1f : wq.floatValue();
        this.numCodebooks = k.getInt("num_codebooks", 1);
        Boolean keep = k.getBoolOrNull("keep_num_codebooks_dim");
        this.keepNumCodebooksDim = keep != null && keep ? true : numCodebooks > 1;
        Boolean opt = k.getBoolOrNull("optimize_values");
        this.optimizeValues = opt == null || opt;
        k.rejectUnused(List.of(), UNSUPPORTED);

        if (dim < 1) {
            throw new IllegalArgumentException(OWNER + ": dim must be positive, got " + dim);
        }
        if (numCodebooks < 1) {
            throw new IllegalArgumentException(OWNER + ": num_codebooks must be at least 1, got " + numCodebooks);
        }
        if (!Float.isFinite(commitmentWeight) || !Float.isFinite(quantizationWeight)) {
            throw new IllegalArgumentException(OWNER + ": commitment_loss_weight and quantization_loss_weight must be finite");
        }
        this.basis = FsqSupport.basis(levels);
        this.codebookSize = FsqSupport.product(levels);
        this.projects = dim != numCodebooks * codebookDim;
        this.halfWidth = new float[codebookDim];
        this.initialTables = new float[codebookDim][];
        for (int i = 0; i < codebookDim; i++) {
            halfWidth[i] = levels[i] / 2;
            initialTables[i] = initialTable(levels[i]);
        }
    }

    /**
     * The reference's initial values: odd L → torch's float32 {@code linspace(−0.5, 0.5, L)}
     * (entries below L div 2 as {@code −0.5 + k·s}, the rest as {@code 0.5 − (L−1−k)·s},
     * {@code s = fl(1/(L−1))}, each rounded once); even L → {@code fl(fl(k/L) − 0.5)}.
     */
    static float[] initialTable(int l) {
        float[] v = new float[l];
        if (l % 2 == 1) {
            float step = 1f / (float) (l - 1);
            for (int k = 0; k < l; k++) {
                v[k] = k < l / 2 ? Math.fma((float) k, step, -0.5f) : Math.fma(-(float) (l - 1 - k), step, 0.5f);
            }
        } else {
            for (int k = 0; k < l; k++) {
                v[k] = (float) k / (float) l - 0.5f;
            }
        }
        return v;
    }

    @Override
    public String type() {
        return OWNER;
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

    private int effectiveDim() {
        return numCodebooks * codebookDim;
    }

    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        int e = effectiveDim();
        if (projects) {
            l.addAll(ParamSpec.linear("project_in.", dim, e, true));
            l.addAll(ParamSpec.linear("project_out.", e, dim, true));
        }
        if (optimizeValues) {
            for (int i = 0; i < codebookDim; i++) {
                l.add(new ParamSpec("values_per_latent." + i, new int[] {levels[i]}, ParamSpec.Kind.PARAMETER));
            }
        }
        return l;
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        SplittableRandom rng = new SplittableRandom(seed);
        int e = effectiveDim();
        if (projects) {
            Nn.initLinear(p, "project_in.", dim, e, true, rng);
            Nn.initLinear(p, "project_out.", e, dim, true, rng);
        }
        if (optimizeValues) {
            for (int i = 0; i < codebookDim; i++) {
                p.put("values_per_latent." + i, new Tensor(initialTables[i].clone(), levels[i]));
            }
        }
        return p;
    }

    private float[][] tables(Params params) {
        if (!optimizeValues) {
            return initialTables;
        }
        float[][] t = new float[codebookDim][];
        for (int i = 0; i < codebookDim; i++) {
            t[i] = params.require("values_per_latent." + i, levels[i]).data();
        }
        return t;
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        if (input.rank() < 2 || input.dim(1) != dim) {
            throw new IllegalArgumentException(OWNER + ": input feature size " + (input.rank() < 2 ? "?" : input.dim(1))
                    + " on axis 1 != dim " + dim + "; the input is channel-first (b, dim, ...), got " + Shapes.str(input.shape()));
        }
        int[] spatial = Layouts.spatial(input);
        Tensor tokens = FsqSupport.channelFirstTokens(OWNER, input);
        QuantizerOutput tok = forwardTokens(params, tokens, options);
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, Layouts.tokensToChannelFirst(tok.quantized(), spatial));
        out.put(QuantizerOutput.Name.INDICES, Layouts.spatialIndices(tok.indices(), tokens.dim(0), spatial, numCodebooks, keepNumCodebooksDim));
        out.put(QuantizerOutput.Name.LOSS, tok.get(QuantizerOutput.Name.LOSS));
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        FsqSupport.requireTokens(OWNER, tokens, dim);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int m = b * n;
        int d = codebookDim;
        int e = effectiveDim();
        ComputeBackend be = options.backend();
        float[][] tables = tables(params);
        float[] z = projects ? Nn.linear(be, params, "project_in.", tokens.data(), m, dim, e) : tokens.data().clone();
        int rows = m * numCodebooks;
        long[] indices = new long[rows];
        for (int r = 0; r < rows; r++) {
            float acc = 0f;
            for (int i = 0; i < d; i++) {
                int o = r * d + i;
                float zi = z[o];
                float[] v = tables[i];
                int best = 0;
                float bestDist = Math.abs(zi - v[0]);
                for (int j = 1; j < v.length; j++) {
                    float dist = Math.abs(zi - v[j]);
                    if (dist < bestDist) {
                        bestDist = dist;
                        best = j;
                    }
                }
                float ri = zi + (v[best] - zi);
                z[o] = ri;
                float t = ri * 2f * halfWidth[i] + halfWidth[i];
                acc += t * (float) basis[i];
            }
            indices[r] = (long) (int) acc;
        }
        float[] y = projects ? Nn.linear(be, params, "project_out.", z, m, e, dim) : z;
        QuantizerOutput out = new QuantizerOutput();
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(y, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(indices, b, n, numCodebooks));
        float loss = 0f;
        if (options.training()) {
            float mse = Nn.mse(y, tokens.data());
            loss = (commitmentWeight != 0 ? commitmentWeight * mse : 0f) + (quantizationWeight != 0 ? quantizationWeight * mse : 0f);
        }
        out.putScalar(QuantizerOutput.Name.LOSS, loss);
        return out;
    }

    // ---------------------------------------------------------------- decoding

    /** {@code (m · num_codebooks)} indices → {@code (m, dim)} through the initial-value formula and project_out. */
    private float[] decode(Params params, long[] indices, int[] shape, int m) {
        int d = codebookDim;
        float[] c = new float[m * effectiveDim()];
        for (int r = 0; r < indices.length; r++) {
            FsqSupport.requireCodeInRange(OWNER, indices[r], codebookSize, shape, r);
            codeOf(indices[r], c, r * d);
        }
        return projects ? Nn.linear(ComputeBackendHolder.get(), params, "project_out.", c, m, effectiveDim(), dim) : c;
    }

    /** {@code (k_i − half_i)/half_i/2} with {@code k_i = (index div basis_i) mod L_i}, in float32. */
    private void codeOf(long index, float[] out, int o) {
        for (int i = 0; i < codebookDim; i++) {
            int k = (int) ((index / basis[i]) % levels[i]);
            out[o + i] = ((float) k - halfWidth[i]) / halfWidth[i] / 2f;
        }
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        FsqSupport.requireCodes(OWNER, codes, numCodebooks);
        int m = codes.dim(0);
        return new Tensor(decode(params, codes.data(), codes.shape(), m), m, dim);
    }

    /** The reference's {@code indices_to_codes}: {@code (b, …[, num_codebooks])} → channel-first {@code (b, dim, …)}. */
    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        int[] s = indices.shape();
        int[] lead = s;
        if (keepNumCodebooksDim) {
            if (s.length < 1 || s[s.length - 1] != numCodebooks) {
                throw new IllegalArgumentException(OWNER + ": indices must end with the codebook axis of size " + numCodebooks
                        + ", got " + Shapes.str(s));
            }
            lead = Arrays.copyOf(s, s.length - 1);
        }
        if (lead.length < 1) {
            throw new IllegalArgumentException(OWNER + ": indices need a batch axis, got " + Shapes.str(s));
        }
        int m = Math.toIntExact(Shapes.numel(lead));
        Tensor t = new Tensor(decode(params, indices.data(), s, m), FsqSupport.append(lead, dim));
        return FsqSupport.moveLastToAxis1(t);
    }

    /** The reference's {@code implicit_codebook}: {@code (Π L, D)} from the initial-value formula. */
    @Override
    public Tensor implicitCodebook(Params params) {
        long size = codebookSize * codebookDim;
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(OWNER + ": implicit codebook of " + codebookSize + " codes is too large to materialise");
        }
        float[] c = new float[(int) size];
        for (long i = 0; i < codebookSize; i++) {
            codeOf(i, c, (int) (i * codebookDim));
        }
        return new Tensor(c, (int) codebookSize, codebookDim);
    }
}

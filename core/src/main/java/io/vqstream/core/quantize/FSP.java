package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Finite scalar perturbation (VP-VAE), as {@code FSP} of vector-quantize-pytorch: every latent
 * dimension is mapped to [0, 1] by a CDF activation and cut into {@code L_i} equal bins; the
 * code is the bin centre, mapped back. In training a fraction {@code 1 − quantize_rate} of the
 * values is replaced by a random perturbation inside ±half a bin instead of the bin centre.
 *
 * <pre>
 * a     = act(z)                                  (tanh: (tanh z + 1)/2, normal: (1 + erf(z/√2))/2, ...)
 * level = floor(min(a, 1 − 2⁻²³) · L)
 * â     = (level + 0.5) / L
 * code  = need_inv_act ? act⁻¹(clamp(â, ε, 1 − ε)) : (â − 0.5) / 0.28867513459481287
 * index = Σ_i level_i · Π_{j&lt;i} L_j             (first dimension least significant)
 * </pre>
 * The vector-norm loss {@code Σ w_k · mean((s_k − t_k)²)} over the per-dimension mean,
 * unbiased variance, skewness and excess kurtosis of the projected input is computed in every
 * mode, as in the reference ({@code vector_norm} presets none, var, kurt, var_tanh,
 * var_sigmoid, var_laplace). Token-major codes are {@code (b, n, 1)}.
 */
@Internal
public final class FSP implements Quantizer, ImplicitCodebook {
    private static final double UNIT_STD = 0.28867513459481287;
    private static final float FORWARD_EPS = 0x1p-23f;
    private static final double DECODE_EPS = 1e-6;

    private final Map<String, Object> kwargs;
    final int[] levels;
    final long[] basis;
    final int codebookDim;
    final int dim;
    final boolean channelFirst;
    final boolean projectionHasBias;
    final String act;
    final double quantizeRate;
    final boolean needInvAct;
    final String vectorNorm;
    final double[] normTargets;
    final double[] normWeights;
    final boolean projects;
    final long codebookSize;

    public FSP(Map<String, ?> kwargs) {
        Kwargs k = new Kwargs("FSP", kwargs);
        this.kwargs = k.asMap();
        this.levels = FsqSupport.requireLevels("FSP", k.getIntList("levels", 0));
        this.codebookDim = levels.length;
        Integer d = k.getIntOrNull("dim");
        this.dim = d != null ? d : codebookDim;
        this.channelFirst = k.getBool("channel_first", false);
        this.projectionHasBias = k.getBool("projection_has_bias", true);
        Object a = k.asMap().get("act_name");
        k.markUsed("act_name", "vector_norm");
        this.act = a == null ? "tanh" : a.toString();
        this.quantizeRate = k.getDouble("quantize_rate", 0.0);
        this.needInvAct = k.getBool("need_inv_act", false);
        Object vn = k.asMap().get("vector_norm");
        this.vectorNorm = vn == null ? "var_tanh" : vn.toString();
        k.rejectUnused(List.of(), Map.of());
        if (!List.of("tanh", "sigmoid", "normal", "laplace", "cauchy").contains(act)) {
            throw new IllegalArgumentException("FSP: act_name must be one of tanh, sigmoid, normal, laplace, cauchy; got " + act);
        }
        if (!(quantizeRate >= 0 && quantizeRate <= 1)) {
            throw new IllegalArgumentException("FSP: quantize_rate must be in [0, 1], got " + quantizeRate);
        }
        if (dim < 1) {
            throw new IllegalArgumentException("FSP: dim must be positive, got " + dim);
        }
        // (mean, variance, skewness, kurtosis) targets and weights of the presets
        double[] w;
        double varTarget = 1.0;
        switch (vectorNorm) {
            case "none" -> w = new double[] {0, 0, 0, 0};
            case "var" -> w = new double[] {0.1, 0.07, 0, 0};
            case "kurt" -> w = new double[] {0.1, 0.07, 0.06, 0.05};
            case "var_tanh" -> {
                w = new double[] {0.1, 0.07, 0, 0};
                varTarget = 0.8225;
            }
            case "var_sigmoid" -> {
                w = new double[] {0.1, 0.07, 0, 0};
                varTarget = 3.29;
            }
            case "var_laplace" -> {
                w = new double[] {0.1, 0.07, 0, 0};
                varTarget = 2.0;
            }
            default -> throw new IllegalArgumentException(
                    "FSP: vector_norm must be one of none, var, kurt, var_tanh, var_sigmoid, var_laplace; got " + vectorNorm);
        }
        this.normWeights = w;
        this.normTargets = new double[] {0, varTarget, 0, 0};
        this.basis = FsqSupport.basis(levels);
        this.codebookSize = FsqSupport.product(levels);
        this.projects = dim != codebookDim;
    }

    @Override
    public String type() {
        return "FSP";
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

    @Override
    public List<ParamSpec> parameterSpecs() {
        List<ParamSpec> l = new ArrayList<>();
        if (projects) {
            l.addAll(ParamSpec.linear("project_in.", dim, codebookDim, projectionHasBias));
            l.addAll(ParamSpec.linear("project_out.", codebookDim, dim, projectionHasBias));
        }
        return l;
    }

    @Override
    public Params initParams(long seed) {
        Params p = new Params();
        if (projects) {
            SplittableRandom rng = new SplittableRandom(seed);
            Nn.initLinear(p, "project_in.", dim, codebookDim, projectionHasBias, rng);
            Nn.initLinear(p, "project_out.", codebookDim, dim, projectionHasBias, rng);
        }
        return p;
    }

    // ---------------------------------------------------------------- activations

    private double activate(double z) {
        return switch (act) {
            case "tanh" -> (Math.tanh(z) + 1.0) / 2.0;
            case "sigmoid" -> 1.0 / (1.0 + Math.exp(-z));
            case "normal" -> (1.0 + SpecialFunctions.erf(z / Math.sqrt(2.0))) / 2.0;
            case "laplace" -> 0.5 * (1.0 + Math.signum(z) * (1.0 - Math.exp(-Math.abs(z))));
            default -> Math.atan(z) / Math.PI + 0.5;
        };
    }

    private double inverse(double p) {
        return switch (act) {
            case "tanh" -> {
                double y = p * 2.0 - 1.0;
                yield 0.5 * Math.log((1 + y) / (1 - y));
            }
            case "sigmoid" -> Math.log(p / (1 - p));
            case "normal" -> SpecialFunctions.erfinv(2.0 * p - 1.0) * Math.sqrt(2.0);
            case "laplace" -> -Math.signum(p - 0.5) * Math.log(1.0 - 2.0 * Math.abs(p - 0.5));
            default -> Math.tan((p - 0.5) * Math.PI);
        };
    }

    /** The code value of an activation value {@code â} (bin centre or perturbed). */
    private float code(float actValue, double eps) {
        if (needInvAct) {
            double c = Math.min(Math.max(actValue, eps), 1.0 - eps);
            return (float) inverse((float) c);
        }
        return (actValue - 0.5f) / (float) UNIT_STD;
    }

    // ---------------------------------------------------------------- forward

    @Override
    public QuantizerOutput forward(Params params, Tensor input, ForwardOptions options) {
        Tensor x = input;
        int[] spatial = null;
        if (channelFirst) {
            spatial = Layouts.spatial(x);
            x = Layouts.channelFirstToTokens(x);
        }
        int[] lead = Arrays.copyOf(x.shape(), x.rank() - 1);
        int m = Math.toIntExact(Shapes.numel(lead));
        QuantizerOutput out = forwardTokens(params, x.reshape(1, m, x.dim(-1)), options);
        int[] qShape = Arrays.copyOf(lead, lead.length + 1);
        qShape[lead.length] = dim;
        Tensor q = out.quantized().reshape(qShape);
        if (channelFirst) {
            int b = input.dim(0);
            q = Layouts.tokensToChannelFirst(q.reshape(b, m / b, dim), spatial);
        }
        out.put(QuantizerOutput.Name.QUANTIZED, q);
        out.put(QuantizerOutput.Name.INDICES, out.indices().reshape(lead));
        int[] lShape = Arrays.copyOf(lead, lead.length + 1);
        lShape[lead.length] = codebookDim;
        out.put(QuantizerOutput.Name.LEVEL_INDICES, out.getLong(QuantizerOutput.Name.LEVEL_INDICES).reshape(lShape));
        return out;
    }

    @Override
    public QuantizerOutput forwardTokens(Params params, Tensor tokens, ForwardOptions options) {
        Layouts.requireLastDim(type(), tokens, dim);
        Layouts.requireFinite(type(), tokens);
        int b = tokens.dim(0);
        int n = tokens.dim(1);
        int m = b * n;
        int d = codebookDim;
        float[] z = projects
                ? Nn.linear(options.backend(), params, "project_in.", tokens.data(), m, dim, d)
                : tokens.data().clone();

        QuantizerOutput out = new QuantizerOutput();
        normStatistics(z, m, out);

        float[] actZ = new float[m * d];
        float[] qAct = new float[m * d];
        long[] levelIdx = new long[m * d];
        long[] indices = new long[m];
        for (int t = 0; t < m; t++) {
            long index = 0;
            for (int i = 0; i < d; i++) {
                int o = t * d + i;
                float a = (float) activate(z[o]);
                actZ[o] = a;
                float level = (float) Math.floor(Math.min(a, 1f - FORWARD_EPS) * (float) levels[i]);
                levelIdx[o] = (long) level;
                qAct[o] = (level + 0.5f) / (float) levels[i];
                index += (long) level * basis[i];
            }
            indices[t] = index;
        }
        double rate = options.training() ? quantizeRate : 1.0;
        if (rate < 1.0) {
            RandomSource rnd = options.random();
            float[] perturbed = new float[m * d];
            int accepted = 0;
            for (int o = 0; o < m * d; o++) {
                float pMax = 1f / (levels[o % d] * 2f);
                float proposal = actZ[o] + pMax * ((float) rnd.uniform() * 2f - 1f);
                boolean accept = proposal > 0f && proposal < 1f;
                accepted += accept ? 1 : 0;
                perturbed[o] = accept ? proposal : actZ[o];
            }
            for (int o = 0; o < m * d; o++) {
                if (rnd.uniform() > rate) {
                    qAct[o] = perturbed[o];
                }
            }
            out.putScalar(QuantizerOutput.Name.P_ACCEPT_PROB, (float) accepted / (m * d));
        }
        float[] qz = new float[m * d];
        for (int o = 0; o < m * d; o++) {
            float c = code(qAct[o], FORWARD_EPS);
            // the reference's straight-through z + (code − z): forward value equals code up to rounding
            qz[o] = needInvAct ? z[o] + (c - z[o]) : c;
        }
        float[] y = projects ? Nn.linear(options.backend(), params, "project_out.", qz, m, d, dim) : qz;
        out.put(QuantizerOutput.Name.QUANTIZED, new Tensor(y, b, n, dim));
        out.put(QuantizerOutput.Name.INDICES, new LongTensor(indices, b, n, 1));
        out.put(QuantizerOutput.Name.LEVEL_INDICES, new LongTensor(levelIdx, b, n, d));
        return out;
    }

    /** Mean, unbiased variance, skewness, excess kurtosis per dimension, and the weighted norm loss. */
    private void normStatistics(float[] z, int m, QuantizerOutput out) {
        int d = codebookDim;
        float[][] stats = new float[4][d];
        double loss = 0;
        double[] sq = new double[4];
        for (int i = 0; i < d; i++) {
            double s = 0;
            for (int t = 0; t < m; t++) {
                s += z[t * d + i];
            }
            double mean = s / m;
            double q = 0;
            for (int t = 0; t < m; t++) {
                double dl = z[t * d + i] - mean;
                q += dl * dl;
            }
            double var = m > 1 ? q / (m - 1) : Double.NaN;
            double std = Math.max(Math.sqrt(var), 1e-8);
            double s3 = 0;
            double s4 = 0;
            for (int t = 0; t < m; t++) {
                double zs = (z[t * d + i] - mean) / std;
                s3 += zs * zs * zs;
                s4 += zs * zs * zs * zs;
            }
            double[] v = {mean, var, s3 / m, s4 / m - 3.0};
            for (int k = 0; k < 4; k++) {
                stats[k][i] = (float) v[k];
                double e = v[k] - normTargets[k];
                sq[k] += e * e;
            }
        }
        for (int k = 0; k < 4; k++) {
            loss += sq[k] / d * normWeights[k];
        }
        out.putScalar(QuantizerOutput.Name.NORM_LOSS, (float) loss);
        out.putScalar(QuantizerOutput.Name.LOSS, (float) loss);
        String[] names = {"mean", "variance", "skewness", "kurtosis"};
        for (int k = 0; k < 4; k++) {
            out.put("norm_info." + names[k], new Tensor(stats[k], d));
        }
    }

    // ---------------------------------------------------------------- indices

    /** The reference's {@code indices_to_level_indices}: {@code (idx // basis) % L}, shape {@code (..., len(L))}. */
    public LongTensor levelIndicesFromIndices(LongTensor indices) {
        int d = codebookDim;
        long[] idx = indices.data();
        long[] out = new long[idx.length * d];
        for (int t = 0; t < idx.length; t++) {
            if (idx[t] < 0 || idx[t] >= codebookSize) {
                throw new IllegalArgumentException("FSP: code " + idx[t] + " out of range [0, " + codebookSize + ")");
            }
            for (int i = 0; i < d; i++) {
                out[t * d + i] = (idx[t] / basis[i]) % levels[i];
            }
        }
        int[] shape = Arrays.copyOf(indices.shape(), indices.rank() + 1);
        shape[indices.rank()] = d;
        return new LongTensor(out, shape);
    }

    /** The reference's {@code level_indices_to_indices}: {@code Σ level_i · basis_i} over the last axis. */
    public LongTensor indicesFromLevelIndices(LongTensor levelIndices) {
        int d = codebookDim;
        if (levelIndices.dim(-1) != d) {
            throw new IllegalArgumentException("FSP: level indices need a last axis of " + d + ", got " + Shapes.str(levelIndices.shape()));
        }
        long[] l = levelIndices.data();
        long[] out = new long[l.length / d];
        for (int t = 0; t < out.length; t++) {
            long s = 0;
            for (int i = 0; i < d; i++) {
                s += l[t * d + i] * basis[i];
            }
            out[t] = s;
        }
        return new LongTensor(out, Arrays.copyOf(levelIndices.shape(), levelIndices.rank() - 1));
    }

    /** Codebook-space codes {@code (m, len(L))} of indices. */
    private float[] codes(long[] idx) {
        int d = codebookDim;
        float[] out = new float[idx.length * d];
        for (int t = 0; t < idx.length; t++) {
            if (idx[t] < 0 || idx[t] >= codebookSize) {
                throw new IllegalArgumentException("FSP: code " + idx[t] + " out of range [0, " + codebookSize + ")");
            }
            for (int i = 0; i < d; i++) {
                long level = (idx[t] / basis[i]) % levels[i];
                float a = ((float) level + 0.5f) / (float) levels[i];
                out[t * d + i] = code(a, DECODE_EPS);
            }
        }
        return out;
    }

    @Override
    public Tensor decodeTokens(Params params, LongTensor codes) {
        int m = codes.size();
        float[] c = codes(codes.data());
        float[] y = projects ? Nn.linear(ComputeBackendHolder.get(), params, "project_out.", c, m, codebookDim, dim) : c;
        return new Tensor(y, m, dim);
    }

    @Override
    public Tensor codesFromIndices(Params params, LongTensor indices) {
        Tensor t = decodeTokens(params, indices);
        int[] shape = Arrays.copyOf(indices.shape(), indices.rank() + 1);
        shape[indices.rank()] = dim;
        Tensor r = t.reshape(shape);
        return channelFirst && r.rank() > 2 ? VectorQuantize.moveLastToAxis1(r) : r;
    }

    /** Every code {@code (∏L, dim)} (after project_out). */
    @Override
    public Tensor implicitCodebook(Params params) {
        long[] all = new long[Math.toIntExact(codebookSize)];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        return decodeTokens(params, new LongTensor(all, all.length));
    }
}

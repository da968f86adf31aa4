package io.vqstream.core.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LfqTest {

    private static LFQ lfq(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return new LFQ(m);
    }

    private static ForwardOptions train(double invTemperature) {
        return ForwardOptions.builder().mode(Mode.TRAIN).invTemperature(invTemperature).build();
    }

    private static Tensor randomTokens(long seed, int b, int n, int d) {
        return Nn.normal(new SplittableRandom(seed), 1.0, b, n, d);
    }

    // ------------------------------------------------------------ hand-made bit order

    @Test
    void featureZeroIsTheMostSignificantBitAndZeroMapsToMinusScale() {
        LFQ q = lfq("dim", 3, "codebook_size", 8, "codebook_scale", 0.5);
        Tensor x = new Tensor(new float[] {
            0.5f, -0.2f, 0.1f,   // +,-,+ -> 101b = 5
            0f, 1f, -1f,         // 0 counts as negative: -,+,- -> 010b = 2
            -0.3f, -0.3f, 0f     // all non-positive -> 0
        }, 1, 3, 3);
        QuantizerOutput out = q.forward(new Params(), x, ForwardOptions.eval());
        assertArrayEquals(new int[] {1, 3}, out.indices().shape());
        assertArrayEquals(new long[] {5, 2, 0}, out.indices().data());
        assertArrayEquals(new float[] {0.5f, -0.5f, 0.5f, -0.5f, 0.5f, -0.5f, -0.5f, -0.5f, -0.5f}, out.quantized().data());
        assertEquals(0f, out.floatOrNull("aux_loss").item());
        assertEquals(0, out.floatOrNull("aux_loss").rank());
    }

    @Test
    void everyCodeRoundTripsThroughDecodeAndForward() {
        LFQ q = lfq("codebook_size", 16, "codebook_scale", 2.0);
        assertEquals(4, q.dim());
        Params p = q.initParams(1);
        long[] all = new long[16];
        for (int i = 0; i < 16; i++) {
            all[i] = i;
        }
        Tensor codes = q.decodeTokens(p, new LongTensor(all, 16, 1));
        // code 6 = 0110b -> (-2, +2, +2, -2)
        assertArrayEquals(new float[] {-2f, 2f, 2f, -2f}, java.util.Arrays.copyOfRange(codes.data(), 24, 28));
        QuantizerOutput out = q.forward(p, codes.reshape(1, 16, 4), ForwardOptions.eval());
        assertArrayEquals(all, out.indices().data());
        assertArrayEquals(codes.data(), out.quantized().data());
        assertArrayEquals(codes.data(), q.codesFromIndices(p, new LongTensor(all, 1, 16)).data());
    }

    @Test
    void severalCodebooksWithProjectionRoundTrip() {
        LFQ q = lfq("dim", 10, "codebook_size", 32, "num_codebooks", 3);
        assertEquals(3, q.codesPerToken());
        Params p = q.initParams(7);
        q.validate(p);
        Tensor x = randomTokens(3, 2, 5, 10);
        QuantizerOutput out = q.forward(p, x, ForwardOptions.eval());
        assertArrayEquals(new int[] {2, 5, 3}, out.indices().shape());
        for (long i : out.indices().data()) {
            assertTrue(i >= 0 && i < 32);
        }
        Tensor fromIdx = q.codesFromIndices(p, out.indices());
        assertArrayEquals(new int[] {2, 5, 10}, fromIdx.shape());
        assertArrayEquals(out.quantized().data(), fromIdx.data(), 1e-6f);
        Tensor decoded = q.decodeTokens(p, out.indices().reshape(10, 3));
        assertArrayEquals(out.quantized().data(), decoded.data(), 1e-6f);
        // the indices are the signs of the projected latents, split into codebooks of 5 bits
        float[] z = Nn.linear(ForwardOptions.eval().backend(), p, "project_in.", x.data(), 10, 10, 15);
        for (int t = 0; t < 10; t++) {
            for (int k = 0; k < 3; k++) {
                long want = 0;
                for (int j = 0; j < 5; j++) {
                    want = want * 2 + (z[t * 15 + k * 5 + j] > 0 ? 1 : 0);
                }
                assertEquals(want, out.indices().data()[t * 3 + k]);
            }
        }
    }

    @Test
    void channelFirstImageIsQuantizedPerPixel() {
        LFQ q = lfq("dim", 4, "codebook_size", 16);
        Tensor img = Nn.normal(new SplittableRandom(5), 1.0, 2, 4, 3, 2);
        QuantizerOutput out = q.forward(new Params(), img, ForwardOptions.eval());
        assertArrayEquals(new int[] {2, 3, 2}, out.indices().shape());
        assertArrayEquals(new int[] {2, 4, 3, 2}, out.quantized().shape());
        for (int b = 0; b < 2; b++) {
            for (int h = 0; h < 3; h++) {
                for (int w = 0; w < 2; w++) {
                    long want = 0;
                    for (int c = 0; c < 4; c++) {
                        float v = img.get(b, c, h, w);
                        want = want * 2 + (v > 0 ? 1 : 0);
                        assertEquals(v > 0 ? 1f : -1f, out.quantized().get(b, c, h, w));
                    }
                    assertEquals(want, out.indices().data()[(b * 3 + h) * 2 + w]);
                }
            }
        }
        Tensor codes = q.codesFromIndices(new Params(), out.indices());
        assertArrayEquals(new int[] {2, 4, 3, 2}, codes.shape());
        assertArrayEquals(out.quantized().data(), codes.data());
    }

    @Test
    void sphericalCodesAreUnitVectorsTimesScale() {
        LFQ q = lfq("dim", 4, "codebook_size", 16, "spherical", true, "codebook_scale", 3.0);
        Tensor x = new Tensor(new float[] {0.2f, -5f, 0.1f, 0.3f}, 1, 1, 4);
        QuantizerOutput out = q.forward(new Params(), x, ForwardOptions.eval());
        assertEquals(0b1011, out.indices().data()[0]);
        float c = 3f / 2f; // s/sqrt(4)
        assertArrayEquals(new float[] {c, -c, c, c}, out.quantized().data(), 1e-6f);
        assertArrayEquals(out.quantized().data(), q.codesFromIndices(new Params(), out.indices()).data(), 1e-6f);
    }

    @Test
    void orthogonalRotationQuantizesInTheRotatedBasis() {
        LFQ q = lfq("dim", 2, "codebook_size", 4, "orthogonal_rotation", true);
        assertEquals(List.of("orthogonal_rot"), q.parameterSpecs().stream().map(ParamSpec::name).toList());
        Params p = new Params().put("orthogonal_rot", new Tensor(new float[] {0, 1, 1, 0}, 2, 2));
        // z·R swaps the features: (0.3, -0.2) -> (-0.2, 0.3) -> index 01b; code (-1, 1)·Rᵀ = (1, -1)
        QuantizerOutput out = q.forward(p, new Tensor(new float[] {0.3f, -0.2f}, 1, 1, 2), ForwardOptions.eval());
        assertEquals(1, out.indices().data()[0]);
        assertArrayEquals(new float[] {1f, -1f}, out.quantized().data());
        assertArrayEquals(new float[] {1f, -1f}, q.decodeTokens(p, new LongTensor(new long[] {1}, 1, 1)).data());
    }

    @Test
    void initialisedRotationIsOrthogonal() {
        LFQ q = lfq("codebook_size", 64, "orthogonal_rotation", true);
        float[] r = q.initParams(11).get("orthogonal_rot").data();
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                double dot = 0;
                for (int e = 0; e < 6; e++) {
                    dot += (double) r[i * 6 + e] * r[j * 6 + e];
                }
                assertEquals(i == j ? 1.0 : 0.0, dot, 1e-6);
            }
        }
        assertNotEquals(r[0], q.initParams(12).get("orthogonal_rot").data()[0]);
    }

    @Test
    void cosineSimProjectInNormalisesInputAndWeightColumns() {
        LFQ q = lfq("dim", 3, "codebook_size", 4, "cosine_sim_project_in", true, "commitment_loss_weight", 1.0,
                "entropy_loss_weight", 0.0);
        List<ParamSpec> specs = q.parameterSpecs();
        assertEquals("project_in.weight", specs.get(0).name());
        assertArrayEquals(new int[] {3, 2}, specs.get(0).shape());
        assertTrue(specs.stream().noneMatch(s -> s.name().equals("project_in.bias")));
        Params p = q.initParams(3);
        p.put("project_in.weight", new Tensor(new float[] {1, 0, 0, 2, 0, 0}, 3, 2));
        // l2norm(3, -4, 0) = (0.6, -0.8, 0); normalised columns pick features 0 and 1 -> z = (0.6, -0.8)
        QuantizerOutput out = q.forward(p, new Tensor(new float[] {3f, -4f, 0f}, 1, 1, 3), train(100));
        assertEquals(0b10, out.indices().data()[0]);
        assertEquals(((0.6 - 1) * (0.6 - 1) + (-0.8 + 1) * (-0.8 + 1)) / 2, out.floatOrNull("commitment").item(), 1e-6);
        assertEquals(out.floatOrNull("commitment").item(), out.floatOrNull("aux_loss").item(), 1e-7);
    }

    @Test
    void softClampSquashesLatentsBeforeTheCommitment() {
        LFQ q = lfq("dim", 2, "codebook_size", 4, "soft_clamp_input_value", 2.0, "commitment_loss_weight", 1.0,
                "entropy_loss_weight", 0.0);
        QuantizerOutput out = q.forward(new Params(), new Tensor(new float[] {3f, -0.5f}, 1, 1, 2), train(100));
        double u0 = Math.tanh(1.5) * 2;
        double u1 = Math.tanh(-0.25) * 2;
        assertEquals(((u0 - 1) * (u0 - 1) + (u1 + 1) * (u1 + 1)) / 2, out.floatOrNull("commitment").item(), 1e-6);
    }

    // ------------------------------------------------------------ entropy by hand (D = 2)

    /** −Σ p·log(max(p, 1e-5)) of the softmax of explicit logits. */
    private static double clampedEntropy(double[] p) {
        double h = 0;
        for (double v : p) {
            h -= v * Math.log(Math.max(v, 1e-5));
        }
        return h;
    }

    /** softmax over the 4 codes of D = 2: rows (−c,−c), (−c,+c), (+c,−c), (+c,+c), logit 2τ·u·C_m. */
    private static double[] codeDistribution(double u0, double u1, double c, double tau) {
        double[][] codebook = {{-c, -c}, {-c, c}, {c, -c}, {c, c}};
        double[] logits = new double[4];
        double max = Double.NEGATIVE_INFINITY;
        for (int m = 0; m < 4; m++) {
            logits[m] = 2 * tau * (u0 * codebook[m][0] + u1 * codebook[m][1]);
            max = Math.max(max, logits[m]);
        }
        double sum = 0;
        double[] p = new double[4];
        for (int m = 0; m < 4; m++) {
            p[m] = Math.exp(logits[m] - max);
            sum += p[m];
        }
        for (int m = 0; m < 4; m++) {
            p[m] /= sum;
        }
        return p;
    }

    @Test
    void entropyLossOfTwoBitCodesMatchesTheFormulaByHand() {
        double tau = 100;
        LFQ q = lfq("dim", 2, "codebook_size", 4, "entropy_loss_weight", 0.1, "diversity_gamma", 1.5,
                "commitment_loss_weight", 0.25);
        float[] u = {0.035f, -0.035f, -0.02f, 0.03f};
        QuantizerOutput out = q.forward(new Params(), new Tensor(u, 1, 2, 2), train(tau));

        double[] p1 = codeDistribution(u[0], u[1], 1, tau);
        double[] p2 = codeDistribution(u[2], u[3], 1, tau);
        double perSample = (clampedEntropy(p1) + clampedEntropy(p2)) / 2;
        double[] avg = new double[4];
        for (int m = 0; m < 4; m++) {
            avg[m] = (p1[m] + p2[m]) / 2;
        }
        double batch = clampedEntropy(avg);
        double commit = 0;
        float[] qv = {1, -1, -1, 1};
        for (int i = 0; i < 4; i++) {
            commit += (u[i] - qv[i]) * (double) (u[i] - qv[i]) / 4;
        }
        double aux = 0.1 * (perSample - 1.5 * batch) + 0.25 * commit;

        assertEquals(perSample, out.floatOrNull("per_sample_entropy").item(), 1e-6 * perSample);
        assertEquals(batch, out.floatOrNull("batch_entropy").item(), 1e-6 * batch);
        assertEquals(commit, out.floatOrNull("commitment").item(), 1e-7);
        assertEquals(aux, out.floatOrNull("aux_loss").item(), 1e-6);
        // the clamp matters here: token 0's runner-up codes have p ≈ 8e-7, token 1's ≈ 6e-6, below 1e-5
        assertTrue(p1[0] < 1e-5 && p1[3] < 1e-5 && p2[0] < 1e-5);
        double unclamped = 0;
        for (double[] p : new double[][] {p1, p2}) {
            for (double v : p) {
                unclamped -= v * Math.log(v) / 2;
            }
        }
        assertTrue(Math.abs(unclamped - perSample) > 1e-4 * perSample, "a sum of bit entropies would pass too");
        // eval mode: every loss is 0
        QuantizerOutput eval = q.forward(new Params(), new Tensor(u, 1, 2, 2), ForwardOptions.eval());
        assertEquals(0f, eval.floatOrNull("per_sample_entropy").item());
        assertEquals(0f, eval.floatOrNull("aux_loss").item());
    }

    @Test
    void sphericalEntropyScoresAgainstTheNormalisedCodebook() {
        double tau = 0.5;
        LFQ q = lfq("dim", 2, "codebook_size", 4, "spherical", true, "codebook_scale", 2.0, "entropy_loss_weight", 1.0,
                "diversity_gamma", 0.0);
        QuantizerOutput out = q.forward(new Params(), new Tensor(new float[] {0.3f, -0.4f}, 1, 1, 2), train(tau));
        // u = l2norm(0.3, -0.4)·2 = (1.2, -1.6); codebook entries ±2/√2
        double[] p = codeDistribution(1.2, -1.6, 2 / Math.sqrt(2), tau);
        double want = clampedEntropy(p);
        assertTrue(want > 0.1);
        assertEquals(want, out.floatOrNull("per_sample_entropy").item(), 1e-6 * want);
        assertEquals(want, out.floatOrNull("aux_loss").item(), 1e-6 * want);
        // scoring against the unnormalised ±2 entries would give a clearly different value
        assertTrue(Math.abs(clampedEntropy(codeDistribution(1.2, -1.6, 2, tau)) - want) > 1e-3);
    }

    @Test
    void defaultInverseTemperatureIsOneHundred() {
        LFQ q = lfq("dim", 2, "codebook_size", 4);
        Tensor x = new Tensor(new float[] {0.004f, -0.003f}, 1, 1, 2);
        QuantizerOutput byDefault = q.forward(new Params(), x, ForwardOptions.train(RandomSource.seeded(0)));
        double expected = clampedEntropy(codeDistribution(0.004, -0.003, 1, 100));
        assertEquals(expected, byDefault.floatOrNull("per_sample_entropy").item(), 1e-6 * expected);
        QuantizerOutput hotter = q.forward(new Params(), x, train(10));
        assertNotEquals(byDefault.floatOrNull("per_sample_entropy").item(), hotter.floatOrNull("per_sample_entropy").item());
    }

    @Test
    void softplusEntropyLossShiftsAndSquashes() {
        LFQ q = lfq("dim", 2, "codebook_size", 4, "experimental_softplus_entropy_loss", true, "entropy_loss_offset", 1.0,
                "entropy_loss_weight", 1.0);
        QuantizerOutput out = q.forward(new Params(), new Tensor(new float[] {0.01f, 0.02f}, 1, 1, 2), train(100));
        double h = out.floatOrNull("per_sample_entropy").item() - out.floatOrNull("batch_entropy").item();
        assertEquals(Math.log1p(Math.exp(h + 1.0)), out.floatOrNull("aux_loss").item(), 1e-6);
    }

    @Test
    void fracPerSampleEntropyUsesTheDrawnTokenSubset() {
        LFQ q = lfq("dim", 2, "codebook_size", 4, "frac_per_sample_entropy", 0.5, "entropy_loss_weight", 1.0);
        Tensor x = new Tensor(new float[] {0.01f, -0.004f, -0.002f, 0.003f}, 1, 2, 2);
        double h0 = clampedEntropy(codeDistribution(0.01, -0.004, 1, 100));
        double h1 = clampedEntropy(codeDistribution(-0.002, 0.003, 1, 100));
        for (int pick = 0; pick < 2; pick++) {
            ForwardOptions o = ForwardOptions.builder().mode(Mode.TRAIN).random(RandomSource.seeded(1).withUniform(pick == 0 ? 0.0 : 0.99)).build();
            QuantizerOutput out = q.forward(new Params(), x, o);
            double want = pick == 0 ? h0 : h1;
            // one token: its distribution is also the batch distribution
            assertEquals(want, out.floatOrNull("per_sample_entropy").item(), 1e-6 * want);
            assertEquals(want, out.floatOrNull("batch_entropy").item(), 1e-6 * want);
        }
    }

    // ------------------------------------------------------------ validation

    @Test
    void invalidConstructorArgumentsAreRejectedWithTheirName() {
        assertMessage(() -> lfq("dim", 8, "codebook_size", 100), "codebook_size must be a power of 2");
        assertMessage(() -> lfq("dim", 8, "codebook_size", 1), "codebook_size must be a power of 2");
        assertMessage(() -> lfq("num_codebooks", 2), "either 'dim' or 'codebook_size'");
        assertMessage(() -> lfq("dim", 8, "codebook_size", 16, "num_codebooks", 0), "num_codebooks");
        assertMessage(() -> lfq("dim", 8, "codebook_size", 16, "frac_per_sample_entropy", 0.0), "frac_per_sample_entropy");
        assertMessage(() -> lfq("dim", 8, "codebook_size", 16, "soft_clamp_input_value", 0.5), "soft_clamp_input_value");
        assertMessage(() -> lfq("dim", 8, "codebook_size", 16, "num_codebooks", 2, "keep_num_codebooks_dim", false),
                "keep_num_codebooks_dim");
        assertMessage(() -> lfq("dim", 8, "codebook_size", 16, "has_projections", false), "has_projections");
        assertMessage(() -> lfq("dim", 8, "codebook_size", 16, "codebook_scale", -1.0), "codebook_scale");
        assertMessage(() -> lfq("dim", 8, "codebook_size", 16, "codebok_scale", 1.0), "unknown argument codebok_scale");
    }

    @Test
    void nonFiniteAndWronglySizedInputsAreRejected() {
        LFQ q = lfq("dim", 4, "codebook_size", 16);
        assertMessage(() -> q.forward(new Params(), new Tensor(new float[] {0, Float.NaN, 0, 0}, 1, 1, 4), ForwardOptions.eval()), "NaN");
        assertMessage(() -> q.forward(new Params(), new Tensor(new float[] {0, 0, Float.POSITIVE_INFINITY, 0}, 1, 1, 4),
                ForwardOptions.eval()), "Infinity");
        assertMessage(() -> q.forward(new Params(), Tensor.zeros(1, 2, 5), ForwardOptions.eval()), "input feature size 5 != dim 4");
        assertMessage(() -> q.forward(new Params(), Tensor.zeros(2, 4), ForwardOptions.eval()), "expected (b, n, dim)");
        assertMessage(() -> q.forward(new Params(), Tensor.zeros(1, 3, 2, 2), ForwardOptions.eval()), "channel size 3 != dim 4");
    }

    @Test
    void outOfRangeCodesAreRejected() {
        LFQ q = lfq("dim", 3, "codebook_size", 8);
        assertMessage(() -> q.decodeTokens(new Params(), new LongTensor(new long[] {8}, 1, 1)), "code 8");
        assertMessage(() -> q.codesFromIndices(new Params(), new LongTensor(new long[] {-1}, 1, 1)), "out of range [0, 8)");
        LFQ multi = lfq("dim", 6, "codebook_size", 8, "num_codebooks", 2);
        assertMessage(() -> multi.codesFromIndices(new Params(), new LongTensor(new long[] {1, 2, 3}, 1, 3)), "codebook axis of size 2");
    }

    @Test
    void missingProjectionWeightsAreNamed() {
        LFQ q = lfq("dim", 6, "codebook_size", 8);
        assertMessage(() -> q.validate(new Params()), "project_in.weight");
    }

    static void assertMessage(org.junit.jupiter.api.function.Executable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }
}

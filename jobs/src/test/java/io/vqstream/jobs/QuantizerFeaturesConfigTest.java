package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.QuantizerOutput;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.QuantizeOperatorConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference's further features from YAML: learn.accumulate, output.topk, ResidualVQ beam
 * search and QINCo codebooks loaded from a PyTorch state_dict file, FSP as a quantizer.
 */
class QuantizerFeaturesConfigTest {
    @TempDir
    Path dir;

    private JobConfig load(String yaml) throws Exception {
        Path f = dir.resolve("job.yaml");
        Files.writeString(f, yaml);
        return JobConfig.load(f);
    }

    private static Tensor gaussian(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) r.nextGaussian();
        }
        return t;
    }

    @Test
    void learnAccumulateAndOutputTopkReachTheOperator() throws Exception {
        JobConfig c = load("""
                quantizer: {type: VectorQuantize, dim: 4, codebook_size: 8}
                learn: {accumulate: 3}
                output: {topk: 2}
                """);
        assertTrue(c.learn);
        QuantizeOperatorConfig oc = OperatorConfigs.quantize(c);
        assertEquals(3, oc.accumulate());
        assertEquals(2, oc.topk());
        assertTrue(oc.learn());
        JobConfig plain = load("quantizer: {type: VectorQuantize, dim: 4, codebook_size: 8}\nlearn: true\n");
        assertEquals(1, OperatorConfigs.quantize(plain).accumulate());
        assertTrue(assertThrows(ConfigException.class, () -> load("""
                quantizer: {type: VectorQuantize, dim: 4, codebook_size: 8}
                learn: {accumulate: 0}
                """)).getMessage().contains("learn.accumulate"));
        assertTrue(assertThrows(ConfigException.class, () -> OperatorConfigs.quantize(load("""
                quantizer: {type: FSQ, levels: [5, 5]}
                output: {topk: 2}
                """))).getMessage().contains("topk"));
    }

    @Test
    void beamSearchWithQincoCodebooksLoadsFromAStateDictFile() throws Exception {
        String yaml = """
                quantizer:
                  type: ResidualVQ
                  dim: 6
                  num_quantizers: 3
                  codebook_size: 8
                  beam_size: 3
                  beam_score_quantizer_weights: [1.0, 0.5, 2.0]
                  implicit_neural_codebook: true
                  mlp_kwargs: {depth: 2, dim_hidden: 10}
                codebook:
                  file: model.safetensors
                """;
        Quantizer q = load(yaml.replace("codebook:\n  file: model.safetensors\n", "")).createQuantizer();
        Params trained = q.initParams(17);
        // a PyTorch state_dict names these layers.{l}._codebook.embed and mlps.{m}.layers.{i}.{0,2}.weight
        assertTrue(trained.has("mlps.1.layers.1.2.weight") && trained.has("layers.2._codebook.embed"));
        QuantizerFiles.save(trained, dir.resolve("model.safetensors"), Map.of());
        QuantizeOperatorConfig oc = OperatorConfigs.quantize(load(yaml));
        Quantizer fromYaml = oc.createQuantizer();
        Params loaded = oc.sharedParams(fromYaml);
        for (String name : trained.names()) {
            assertArrayEquals(trained.get(name).data(), loaded.get(name).data(), name);
        }
        Tensor x = gaussian(3, 2, 5, 6);
        QuantizerOutput beam = fromYaml.forwardTokens(loaded, x, ForwardOptions.eval());
        float[] xb = x.data();
        // decoding the beam's codes reproduces its output (codes conditioned layer by layer)
        Tensor decoded = fromYaml.decodeTokens(loaded, beam.indices().reshape(10, 3));
        for (int i = 0; i < xb.length; i++) {
            assertEquals(beam.quantized().data()[i], decoded.data()[i], 1e-5);
        }
    }

    @Test
    void fspIsAQuantizerLikeFsq() throws Exception {
        Quantizer q = load("quantizer: {type: FSP, levels: [8, 5, 5], dim: 7}\n").createQuantizer();
        assertEquals("FSP", q.type());
        assertArrayEquals(new long[] {200}, q.codebookSizes());
        Params p = q.initParams(2);
        Tensor x = gaussian(4, 3, 4, 7);
        QuantizerOutput out = q.forwardTokens(p, x, ForwardOptions.eval());
        Tensor decoded = q.decodeTokens(p, out.indices().reshape(12, 1));
        for (int i = 0; i < x.size(); i++) {
            assertEquals(out.quantized().data()[i], decoded.data()[i], 1e-5, "decode(codes) equals the quantized output");
        }
    }
}

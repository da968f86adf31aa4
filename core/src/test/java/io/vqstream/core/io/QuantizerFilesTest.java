package io.vqstream.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading a quantizer's parameters by the reference's state_dict names. */
class QuantizerFilesTest {

    @Test
    void savedParametersLoadBitIdentically(@TempDir Path dir) throws Exception {
        Quantizer q = Quantizers.create("ResidualVQ", Map.of("dim", 8, "codebook_dim", 4, "num_quantizers", 3, "codebook_size", 16));
        Params p = q.initParams(3);
        Path f = dir.resolve("rvq.safetensors");
        QuantizerFiles.save(p, f, Map.of("note", "x"));
        Params back = QuantizerFiles.load(q, f);
        assertTrue(back.bitEquals(p));
        assertTrue(SafeTensors.read(f).contains("layers.2._codebook.embed"), "reference state_dict names");
        assertEquals(DType.BOOL, SafeTensors.read(f).entry("layers.0._codebook.initted").dtype());
    }

    @Test
    void embedAloneIsEnoughAndEmaBuffersStartAsTheReferenceStartsThem(@TempDir Path dir) throws Exception {
        Quantizer q = Quantizers.create("VectorQuantize", Map.of("dim", 4, "codebook_size", 3));
        Tensor embed = new Tensor(new float[] {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}, 1, 3, 4);
        Path f = dir.resolve("vq.safetensors");
        SafeTensors.writer().put("_codebook.embed", embed, DType.F16).write(f);
        Params p = QuantizerFiles.load(q, f);
        assertArrayEquals(embed.data(), p.get("_codebook.embed").data());
        assertArrayEquals(embed.data(), p.get("_codebook.embed_avg").data());
        assertArrayEquals(new float[] {1, 1, 1}, p.get("_codebook.cluster_size").data());
        assertEquals(1f, p.get("_codebook.initted").item());
    }

    @Test
    void aSharedCodebookSavedUnderAnyLayerNameLoads(@TempDir Path dir) throws Exception {
        Quantizer q = Quantizers.create("ResidualVQ", Map.of("dim", 4, "num_quantizers", 3, "codebook_size", 5, "shared_codebook", true));
        Tensor embed = new Tensor(new float[20], 1, 5, 4);
        embed.data()[7] = 2f;
        Path f = dir.resolve("shared.safetensors");
        SafeTensors.writer().put("layers.2._codebook.embed", embed).write(f);
        assertEquals(2f, QuantizerFiles.load(q, f).get("layers.0._codebook.embed").data()[7]);
    }

    @Test
    void wrongShapeDtypeOrMissingTensorIsAClearError(@TempDir Path dir) throws Exception {
        Quantizer q = Quantizers.create("VectorQuantize", Map.of("dim", 8, "codebook_dim", 4, "codebook_size", 3));
        Params p = q.initParams(1);
        Path wrongShape = dir.resolve("a.safetensors");
        SafeTensors.Writer w = SafeTensors.writer();
        p.asMap().forEach(w::put);
        w.put("project_in.weight", Tensor.zeros(4, 7)).write(wrongShape);
        TensorFormatException e1 = assertThrows(TensorFormatException.class, () -> QuantizerFiles.load(q, wrongShape));
        assertTrue(e1.getMessage().contains("'project_in.weight'") && e1.getMessage().contains("(4, 8)"), e1.getMessage());

        Path wrongDtype = dir.resolve("b.safetensors");
        SafeTensors.Writer w2 = SafeTensors.writer();
        p.asMap().forEach(w2::put);
        w2.put("_codebook.embed", new LongTensor(new long[12], 1, 3, 4)).write(wrongDtype);
        TensorFormatException e2 = assertThrows(TensorFormatException.class, () -> QuantizerFiles.load(q, wrongDtype));
        assertTrue(e2.getMessage().contains("'_codebook.embed'") && e2.getMessage().contains("I64"), e2.getMessage());

        Path missing = dir.resolve("c.safetensors");
        SafeTensors.writer().put("_codebook.embed", p.get("_codebook.embed")).write(missing);
        TensorFormatException e3 = assertThrows(TensorFormatException.class, () -> QuantizerFiles.load(q, missing));
        assertTrue(e3.getMessage().contains("project_in.weight"), e3.getMessage());

        Path nan = dir.resolve("d.safetensors");
        Tensor bad = p.get("_codebook.embed").copy();
        bad.data()[5] = Float.NaN;
        SafeTensors.Writer w4 = SafeTensors.writer();
        p.asMap().forEach(w4::put);
        w4.put("_codebook.embed", bad).write(nan);
        TensorFormatException e4 = assertThrows(TensorFormatException.class, () -> QuantizerFiles.load(q, nan));
        assertTrue(e4.getMessage().contains("NaN"), e4.getMessage());
    }

    @Test
    void aPrefixSelectsASubmodule(@TempDir Path dir) throws Exception {
        Quantizer q = Quantizers.create("VectorQuantize", Map.of("dim", 4, "codebook_size", 3));
        Params p = q.initParams(9);
        Path f = dir.resolve("model.safetensors");
        SafeTensors.Writer w = SafeTensors.writer();
        p.asMap().forEach((k, v) -> w.put("model.vq." + k, v));
        w.put("model.encoder.weight", Tensor.zeros(2, 2)).write(f);
        assertTrue(QuantizerFiles.load(q, SafeTensors.read(f), "model.vq.").bitEquals(p));
    }
}

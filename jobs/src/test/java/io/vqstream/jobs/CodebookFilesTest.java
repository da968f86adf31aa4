package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.io.Npy;
import io.vqstream.core.io.TensorFormatException;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An .npy codebook is checked by its full shape, not only by its element count. */
class CodebookFilesTest {
    private static final int K = 8;
    private static final int D = 4;

    private static float[] ramp(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = i * 0.25f - 3f;
        }
        return f;
    }

    @Test
    void aCodebookOfShapeKByDIsLoadedWithOrWithoutItsUnitAxes(@TempDir Path dir) throws Exception {
        Quantizer q = Quantizers.create("VectorQuantize", Map.of("dim", D, "codebook_size", K));
        for (int[] shape : new int[][] {{K, D}, {1, K, D}, {1, 1, K, D}}) {
            Path f = dir.resolve("cb" + shape.length + ".npy");
            Npy.write(f, new Tensor(ramp(K * D), shape));
            assertArrayEquals(ramp(K * D), CodebookFiles.load(q, f, 1).get("_codebook.embed").data());
        }
    }

    @Test
    void aTransposedOrReshapedCodebookIsRefusedNamingTheExpectedShape(@TempDir Path dir) throws Exception {
        Quantizer q = Quantizers.create("VectorQuantize", Map.of("dim", D, "codebook_size", K));
        for (int[] shape : new int[][] {{D, K}, {K * D}, {2, K / 2, D}, {K, D, 1, 2}}) {
            Path f = dir.resolve("bad.npy");
            int n = 1;
            for (int s : shape) {
                n *= s;
            }
            Npy.write(f, new Tensor(ramp(n), shape));
            TensorFormatException e = assertThrows(TensorFormatException.class, () -> CodebookFiles.load(q, f, 1),
                    java.util.Arrays.toString(shape));
            assertTrue(e.getMessage().contains("expected shape (8, 4)"), e.getMessage());
        }
        Quantizer rvq = Quantizers.create("ResidualVQ", Map.of("dim", D, "codebook_size", K, "num_quantizers", 3));
        Path f = dir.resolve("rvq.npy");
        Npy.write(f, new Tensor(ramp(3 * K * D), 3, D, K));
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> CodebookFiles.load(rvq, f, 1));
        assertTrue(e.getMessage().contains("expected shape (3, 8, 4)"), e.getMessage());
        Npy.write(f, new Tensor(ramp(3 * K * D), 3, K, D));
        CodebookFiles.load(rvq, f, 1);
    }
}

package io.vqstream.operators;

import static io.vqstream.operators.OperatorTestSupport.codes;
import static io.vqstream.operators.OperatorTestSupport.deadLetters;
import static io.vqstream.operators.OperatorTestSupport.harness;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.io.KeyFileNames;
import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Per-key codebook files: any key finds its file, a malformed file dead-letters only that key's records. */
class QuantizeOperatorPerKeyFilesTest {
    private static final Map<String, Object> VQ = Map.of("dim", 4, "codebook_size", 8);

    @Test
    void anyKeyFindsItsFileAndAMalformedFileOnlyDeadLettersItsKey(@TempDir Path dir) throws Exception {
        Quantizer q = Quantizers.create("VectorQuantize", VQ);
        String nul = "a\u0000b";
        String longKey = "é".repeat(150);
        Params pNul = q.initParams(1);
        Params pLong = q.initParams(2);
        QuantizerFiles.save(pNul, dir.resolve(KeyFileNames.nameOf(nul) + ".safetensors"), Map.of());
        QuantizerFiles.save(pLong, dir.resolve(KeyFileNames.nameOf(longKey) + ".safetensors"), Map.of());
        Files.write(dir.resolve("broken.safetensors"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        var config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.PER_KEY).perKeyDir(dir.toString())
                .batchSize(1).maxDelay(Duration.ZERO).build();
        float[] v = {0.3f, -1.2f, 0.5f, 2.0f};
        try (var h = harness(config)) {
            h.open();
            h.processElement1(new VectorRecord(nul, 0, 1000, v), 1000);
            h.processElement1(new VectorRecord("broken", 0, 1000, v), 1000);
            h.processElement1(new VectorRecord(longKey, 0, 1000, v), 1000);
            h.processElement1(new VectorRecord("broken", 1, 1000, v), 1000);
            h.processElement1(new VectorRecord("../etc", 0, 1000, v), 1000);
            List<CodeRecord> out = codes(h);
            assertEquals(2, out.size());
            assertEquals(nul, out.get(0).key());
            assertEquals(code(q, pNul, v), out.get(0).codes()[0]);
            assertEquals(longKey, out.get(1).key());
            assertEquals(code(q, pLong, v), out.get(1).codes()[0]);
            List<DeadLetter> dead = deadLetters(h);
            assertEquals(3, dead.size());
            for (int i = 0; i < 2; i++) {
                assertEquals("broken", dead.get(i).key());
                assertEquals(DeadLetter.Stage.QUANTIZE, dead.get(i).stage());
                assertTrue(dead.get(i).reason().startsWith("the codebook file of key 'broken' cannot be used"), dead.get(i).reason());
            }
            assertTrue(dead.get(2).reason().contains("no codebook for key '../etc'"), dead.get(2).reason());
            assertTrue(dead.get(2).reason().contains("%2E%2E%2Fetc.safetensors"), dead.get(2).reason());
        }
    }

    private static long code(Quantizer q, Params p, float[] v) {
        return q.forwardTokens(p, new Tensor(v.clone(), 1, 1, 4), ForwardOptions.eval()).indices().data()[0];
    }
}

package io.vqstream.operators.batch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.core.backend.JvmBackend;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The warm-up runs every quantizer configuration of the conformance cases without an error (a
 * failing warm-up would log a warning at every operator start and warm nothing).
 */
class KernelWarmUpQuantizersTest {
    @Test
    void everyConformanceConfigurationWarmsUp() throws Exception {
        Path shared = Path.of(System.getProperty("vqstream.shared.dir", "../../shared"));
        List<String> failed = new ArrayList<>();
        int n = 0;
        for (String folder : new String[] {"golden", "golden-features"}) {
            List<Path> cases;
            try (Stream<Path> files = Files.list(shared.resolve(folder))) {
                cases = files.filter(f -> f.toString().endsWith(".safetensors")).sorted().toList();
            }
            for (Path p : cases) {
                SafeTensorsFile f = SafeTensors.read(p);
                Map<String, Object> kw = new ObjectMapper().readValue(f.metadata("kwargs"), new TypeReference<Map<String, Object>>() {});
                Quantizer q = Quantizers.create(f.metadata("class"), kw);
                try {
                    KernelWarmUp.Report r = KernelWarmUp.runHere(q, 4, JvmBackend.get(), 30);
                    assertTrue(r.rounds() > 0, p.getFileName().toString());
                } catch (RuntimeException e) {
                    failed.add(p.getFileName() + ": " + e);
                }
                n++;
            }
        }
        assertTrue(n >= 60, "conformance cases found: " + n);
        assertTrue(failed.isEmpty(), String.join("\n", failed));
    }
}

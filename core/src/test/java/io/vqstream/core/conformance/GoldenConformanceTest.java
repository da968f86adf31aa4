package io.vqstream.core.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.TestData;
import io.vqstream.core.backend.ScalarBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Every golden case of ../shared/golden must pass at the reference tolerance. */
class GoldenConformanceTest {

    static Stream<Path> cases() throws IOException {
        return Files.list(TestData.goldenDir()).filter(p -> p.toString().endsWith(".safetensors")).sorted();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void caseMatchesReference(Path file) {
        ConformanceRunner.CaseResult r = new ConformanceRunner(ScalarBackend.INSTANCE).runCase(file);
        assertTrue(r.passed(), r.name() + ": " + r.mismatch());
        assertTrue(r.compared() >= 2, r.name() + " compared only " + r.compared() + " tensors");
    }

    @Test
    void allFiftyFourCasesArePresentAndPass() throws IOException {
        ConformanceRunner.Summary s = new ConformanceRunner(ScalarBackend.INSTANCE).runDirectory(TestData.goldenDir(), null);
        assertEquals(54, s.results().size());
        assertEquals(54, s.passed());
    }
}

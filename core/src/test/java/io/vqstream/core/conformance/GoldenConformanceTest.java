package io.vqstream.core.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.TestData;
import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.JvmBackend;
import io.vqstream.core.backend.ScalarBackend;
import io.vqstream.core.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every golden case of ../shared/golden must pass at the reference tolerance, under every
 * compute backend this JVM can run: the reference, the JVM kernels (Vector API and plain
 * loops), ND4J when it is on the class path, and auto.
 */
class GoldenConformanceTest {

    static List<ComputeBackend> backends() {
        List<ComputeBackend> l = new ArrayList<>();
        l.add(ScalarBackend.INSTANCE);
        l.add(JvmBackend.get());
        l.add(JvmBackend.plainLoops());
        ComputeBackend nd4j = Backends.nd4jOrNull();
        if (nd4j != null) {
            l.add(nd4j);
        }
        l.add(Backends.byName("auto"));
        return l;
    }

    static List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(TestData.goldenDir())) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    static Stream<Arguments> cases() throws IOException {
        List<Arguments> l = new ArrayList<>();
        List<Path> files = files();
        for (ComputeBackend b : backends()) {
            for (Path p : files) {
                l.add(Arguments.of(new Named(b), p.getFileName().toString(), p));
            }
        }
        return l.stream();
    }

    /** Gives a backend a readable test name (the plain-loop JVM backend is also named "jvm"). */
    record Named(ComputeBackend backend) {
        @Override
        public String toString() {
            return backend instanceof JvmBackend j ? "jvm[" + j.describe() + "]" : backend.name();
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void caseMatchesReference(Named backend, String name, Path file) throws IOException {
        ConformanceRunner.CaseResult r = new ConformanceRunner(backend.backend()).runCase(file);
        assertTrue(r.passed(), backend + " " + r.name() + ": " + r.mismatch());
        // at least two tensors, or every expected tensor of a case that has fewer (rpq: indices only)
        long expected = SafeTensors.read(file).names().stream().filter(n -> n.contains("expected.")).count();
        assertTrue(r.compared() >= Math.min(2, expected), r.name() + " compared only " + r.compared() + " tensors");
    }

    static Stream<Named> namedBackends() {
        return backends().stream().map(Named::new);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("namedBackends")
    void allFiftyFourCasesArePresentAndPass(Named backend) throws IOException {
        ConformanceRunner.Summary s = new ConformanceRunner(backend.backend()).runDirectory(TestData.goldenDir(), null);
        assertEquals(54, s.results().size());
        assertEquals(54, s.passed());
    }
}

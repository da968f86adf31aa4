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
 * Every conformance case of ../shared/golden (54) and ../shared/golden-features (14) must pass
 * at the reference tolerance, under every compute backend this JVM can run: the reference, the
 * JVM kernels (Vector API and plain loops), ND4J when it is on the class path, and auto.
 */
class GoldenConformanceTest {

    /** A folder of cases and how many it must hold. */
    record Suite(String name, Path dir, int size) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Suite> suites() {
        return List.of(new Suite("golden", TestData.goldenDir(), 54),
                new Suite("golden-features", TestData.goldenFeaturesDir(), 14));
    }

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

    static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    static Stream<Arguments> cases() throws IOException {
        List<Arguments> l = new ArrayList<>();
        for (Suite suite : suites()) {
            List<Path> files = files(suite.dir());
            for (ComputeBackend b : backends()) {
                for (Path p : files) {
                    l.add(Arguments.of(new Named(b), suite.name() + "/" + p.getFileName().toString(), p));
                }
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

    static Stream<Arguments> suitesAndBackends() {
        List<Arguments> l = new ArrayList<>();
        for (Suite suite : suites()) {
            for (ComputeBackend b : backends()) {
                l.add(Arguments.of(suite, new Named(b)));
            }
        }
        return l.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("suitesAndBackends")
    void everyCaseOfTheSuiteIsPresentAndPasses(Suite suite, Named backend) throws IOException {
        ConformanceRunner.Summary s = new ConformanceRunner(backend.backend()).runDirectory(suite.dir(), null);
        assertEquals(suite.size(), s.results().size());
        assertEquals(suite.size(), s.passed());
    }
}

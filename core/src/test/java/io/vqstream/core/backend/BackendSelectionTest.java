package io.vqstream.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The provider: names, fallbacks, and what a JVM without the Vector API or ND4J gets. */
class BackendSelectionTest {

    @Test
    void namesResolve() {
        assertSame(ScalarBackend.INSTANCE, Backends.byName("jvm-scalar"));
        assertSame(JvmBackend.get(), Backends.byName(" JVM "));
        assertEquals("auto", Backends.byName("auto").name());
        assertSame(Backends.byName("auto"), Backends.fromOption("auto"));
        assertSame(Backends.getDefault(), Backends.fromOption(null));
        assertSame(Backends.getDefault(), Backends.fromOption(" "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.byName("gpu"));
        assertTrue(e.getMessage().contains("expected jvm, nd4j, auto or jvm-scalar"), e.getMessage());
    }

    @Test
    void testJvmHasTheVectorApiAndNd4j() {
        // surefire starts the test JVM with --add-modules jdk.incubator.vector; ND4J is an optional dependency
        assertTrue(JvmBackend.vectorApiAvailable());
        assertTrue(JvmBackend.get().describe().startsWith("Vector API"), JvmBackend.get().describe());
        assertEquals("nd4j", Backends.byName("nd4j").name());
    }

    @Test
    void autoSplitsByShape() {
        ComputeBackend nd4j = Backends.byName("nd4j");
        AutoBackend auto = new AutoBackend(JvmBackend.get(), () -> nd4j, new AutoBackend.Rule(64, 0, 1L << 20),
                new AutoBackend.Rule(1024, 512, 0));
        assertSame(JvmBackend.get(), auto.pick(16, 1024, 128));       // too few rows
        assertSame(JvmBackend.get(), auto.pick(64, 16, 16));          // too little work
        assertSame(nd4j, auto.pick(4096, 1024, 256));
        assertSame(JvmBackend.get(), auto.pickLinear(4096, 1024, 256)); // too shallow
        assertSame(nd4j, auto.pickLinear(4096, 1024, 512));
        AutoBackend without = new AutoBackend(JvmBackend.get(), () -> null, new AutoBackend.Rule(1, 0, 0),
                new AutoBackend.Rule(1, 0, 0));
        assertSame(JvmBackend.get(), without.pick(4096, 1024, 256));
    }

    @Test
    void measuredDefaultsKeepAssignmentOnTheJvm() {
        AutoBackend auto = new AutoBackend(JvmBackend.get(), () -> {
            throw new AssertionError("ND4J must not be loaded for assignment");
        });
        for (int n : new int[] {1, 16, 256, 4096, 65536}) {
            assertSame(JvmBackend.get(), auto.pick(n, 8192, 512));
        }
        assertSame(JvmBackend.get(), auto.pickLinear(512, 1024, 512));
        assertSame(JvmBackend.get(), auto.pickLinear(4096, 256, 512));    // measured 0.69× on ND4J
        assertTrue(AutoBackend.LINEAR.nd4j(4096, 1024, 512));              // measured 1.11–1.33× on ND4J
    }

    @Test
    void withoutTheVectorModuleThePlainLoopsRunAndSaySo() throws Exception {
        List<String> out = probe(false, System.getProperty("java.class.path"));
        assertTrue(out.contains("vector=false"), out.toString());
        assertTrue(out.contains("jvm=plain loops"), out.toString());
        assertTrue(out.stream().anyMatch(l -> l.contains("--add-modules jdk.incubator.vector") && l.contains("plain loops")),
                "a log line tells how to enable the Vector API: " + out);
        assertTrue(out.contains("auto=auto idx=1"), out.toString());
    }

    @Test
    void withoutNd4jTheNamedBackendFailsClearlyAndAutoFallsBack() throws Exception {
        String cp = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(p -> !p.contains("nd4j") && !p.contains("bytedeco"))
                .collect(Collectors.joining(File.pathSeparator));
        List<String> out = probe(true, cp);
        assertTrue(out.contains("nd4jOnClassPath=false"), out.toString());
        assertTrue(out.stream().anyMatch(l -> l.startsWith("nd4jError=") && l.contains("needs ND4J on the class path")),
                out.toString());
        assertTrue(out.contains("auto=auto idx=1"), out.toString());
        assertTrue(out.stream().anyMatch(l -> l.contains("ND4J not on the class path: jvm only")), out.toString());
    }

    private static List<String> probe(boolean vectorModule, String classPath) throws IOException, InterruptedException {
        // the provider logs its choices at INFO; the test logging configuration keeps WARN only
        Path log4j = Files.createTempFile("vqstream-probe-log4j2", ".properties");
        Files.writeString(log4j, String.join("\n", "rootLogger.level = INFO", "rootLogger.appenderRef.out.ref = out",
                "appender.out.type = Console", "appender.out.name = out", "appender.out.layout.type = PatternLayout",
                "appender.out.layout.pattern = LOG %c{1} %m%n"));
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        cmd.add("-Dlog4j.configurationFile=" + log4j);
        if (vectorModule) {
            cmd.add("--add-modules=jdk.incubator.vector");
        }
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(BackendProbe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), text);
        Files.deleteIfExists(log4j);
        return Arrays.asList(text.split("\\R"));
    }
}

package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A vqstream command in a JVM of its own (as {@code bin/vqstream} starts it), for tests that kill it or check what it leaves. */
final class ChildJvm {
    private ChildJvm() {}

    /** The options of this test JVM, without its temporary directory and agents (a child gets its own). */
    static List<String> thisJvmOptions() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-Djava.io.tmpdir") && !a.startsWith("-agentlib") && !a.startsWith("-javaagent"))
                .toList();
    }

    /** Starts {@code vqstream args...} on this test's class path; stdout and stderr go to {@code log}. */
    static Process start(List<String> jvmOptions, Path tmpDir, Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-Djava.io.tmpdir=" + tmpDir);
        cmd.add("-Dlog4j2.configurationFile=classpath:vqstream-log4j2.properties");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(VqstreamCli.class.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** SIGKILL of the whole process tree. */
    static void kill(Process p) throws InterruptedException {
        List<ProcessHandle> descendants = p.descendants().toList();
        p.destroyForcibly();
        descendants.forEach(ProcessHandle::destroyForcibly);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "killed process ended");
    }

    /** The last 40 lines of a child's log, for failure messages. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.contains("Name collision")).toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}

package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/vqstream in a copy of the project layout, with stand-ins for {@code mvn} and {@code java}
 * on the PATH that record how they were called: the project root found through a symlink,
 * build progress and Maven's own error, and a rebuild when VQSTREAM_MAVEN_ARGS change.
 */
class LauncherTest {
    @TempDir
    Path dir;

    private Path project;
    private Path calls;
    private Path fakeBin;

    record Run(int exit, String out, String err) {}

    @BeforeEach
    void layout() throws Exception {
        project = Files.createDirectories(dir.resolve("project"));
        Files.createDirectories(project.resolve("bin"));
        Files.copy(Path.of("..", "bin", "vqstream"), project.resolve("bin/vqstream"));
        executable(project.resolve("bin/vqstream"));
        Files.writeString(project.resolve("pom.xml"), "<project/>");
        calls = dir.resolve("calls.txt");
        fakeBin = Files.createDirectories(dir.resolve("fake-bin"));
        Files.writeString(fakeBin.resolve("mvn"), """
                #!/usr/bin/env bash
                echo "mvn in $PWD: $*" >> "$CALLS"
                echo "[INFO] Scanning for projects..."
                echo "[INFO] Building vqstream-core 0.1.0                                      [1/2]"
                if [ -n "${FAIL_BUILD:-}" ]; then
                  echo "[ERROR] /src/Foo.java:[3,1] cannot find symbol"
                  echo "[ERROR] Failed to execute goal compile -> [Help 1]"
                  echo "[ERROR] Re-run Maven using the -X switch to enable full debug logging."
                  exit 1
                fi
                echo "[INFO] Building vqstream-jobs 0.1.0                                      [2/2]"
                mkdir -p jobs/target repo && touch jobs/target/vqstream-jobs.jar repo/flink.jar
                echo "$PWD/repo/flink.jar" > jobs/target/provided-classpath.txt
                """);
        Files.writeString(fakeBin.resolve("java"), """
                #!/usr/bin/env bash
                echo "java $*" >> "$CALLS"
                for a in "$@"; do
                  case "$a" in
                    -XX:ArchiveClassesAtExit=*) [ -n "${FAIL_CDS:-}" ] || echo archive > "${a#*=}" ;;
                  esac
                done
                """);
        executable(fakeBin.resolve("mvn"));
        executable(fakeBin.resolve("java"));
    }

    private static void executable(Path p) throws Exception {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private Run run(Path script, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(script.toString(), "demo").directory(dir.toFile());
        pb.environment().put("PATH", fakeBin + ":" + System.getenv("PATH"));
        pb.environment().put("CALLS", calls.toString());
        pb.environment().remove("VQSTREAM_MAVEN_ARGS");
        pb.environment().put("VQSTREAM_CDS", "off"); // the class-data archive has a test of its own
        pb.environment().putAll(env);
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private List<String> calls() throws Exception {
        return Files.exists(calls) ? Files.readAllLines(calls, StandardCharsets.UTF_8) : List.of();
    }

    @Test
    void throughASymlinkBuildsInTheProjectAndShowsProgressAndMavensError() throws Exception {
        Path link = Files.createDirectories(dir.resolve("elsewhere")).resolve("vq");
        Files.createSymbolicLink(link, project.resolve("bin/vqstream"));
        Run r = run(link, Map.of("FAIL_BUILD", "1"));
        assertEquals(1, r.exit(), r.toString());
        assertEquals("mvn in " + project.toRealPath() + ": -B -Dstyle.color=never -DskipTests -pl jobs -am install", calls().get(0));
        assertTrue(r.err().contains("vqstream:   Building vqstream-core 0.1.0"), "progress: " + r.err());
        assertTrue(r.err().contains("[ERROR] /src/Foo.java:[3,1] cannot find symbol"), "Maven's error: " + r.err());
        assertFalse(r.err().contains("Re-run Maven"), "no generic advice: " + r.err());
        assertTrue(r.err().contains("full log in " + project.toRealPath().resolve("jobs/target/build.log")), r.err());

        Run ok = run(link, Map.of());
        assertEquals(0, ok.exit(), ok.toString());
        assertTrue(calls().get(2).startsWith("java ") && calls().get(2).endsWith("io.vqstream.jobs.VqstreamCli demo"), calls().toString());
    }

    @Test
    void rebuildsWhenTheMavenArgsDifferFromTheLastBuilds() throws Exception {
        Path script = project.resolve("bin/vqstream");
        assertEquals(0, run(script, Map.of()).exit());
        assertEquals(0, run(script, Map.of()).exit());
        assertEquals(1, calls().stream().filter(c -> c.startsWith("mvn")).count(), "a fresh jar is reused: " + calls());

        Run cuda = run(script, Map.of("VQSTREAM_MAVEN_ARGS", "-Pcuda"));
        assertEquals(0, cuda.exit(), cuda.toString());
        List<String> builds = calls().stream().filter(c -> c.startsWith("mvn")).toList();
        assertEquals(2, builds.size(), calls().toString());
        assertTrue(builds.get(1).contains(" -Pcuda "), builds.get(1));
        assertEquals(0, run(script, Map.of("VQSTREAM_MAVEN_ARGS", "-Pcuda")).exit());
        assertEquals(2, calls().stream().filter(c -> c.startsWith("mvn")).count(), "same args, no rebuild: " + calls());
        assertEquals(0, run(script, Map.of()).exit());
        assertEquals(3, calls().stream().filter(c -> c.startsWith("mvn")).count(), "back to the default build: " + calls());
    }

    @Test
    void rebuildsWhenARuntimeJarOfTheRecordedClassPathIsGone() throws Exception {
        Path script = project.resolve("bin/vqstream");
        assertEquals(0, run(script, Map.of()).exit());
        assertEquals(0, run(script, Map.of()).exit());
        assertEquals(1, calls().stream().filter(c -> c.startsWith("mvn")).count(), "the jars are there, no rebuild: " + calls());
        // a cleaned local Maven repository, or a build made with another user.home that is gone
        Files.delete(project.resolve("repo/flink.jar"));
        Run r = run(script, Map.of());
        assertEquals(0, r.exit(), r.toString());
        assertEquals(2, calls().stream().filter(c -> c.startsWith("mvn")).count(), "rebuilt: " + calls());
        assertTrue(r.err().contains("the Maven repository changed"), r.err());
        assertTrue(Files.isRegularFile(project.resolve("repo/flink.jar")));
    }

    @Test
    void makesTheClassDataArchiveOncePerBuildAndStartsWithIt() throws Exception {
        Path script = project.resolve("bin/vqstream");
        Path archive = project.resolve("jobs/target/vqstream-classes.jsa");
        Run first = run(script, Map.of("VQSTREAM_CDS", "on"));
        assertEquals(0, first.exit(), first.toString());
        List<String> javaCalls = calls().stream().filter(c -> c.startsWith("java ")).toList();
        assertEquals(2, javaCalls.size(), calls().toString());
        assertTrue(javaCalls.get(0).contains(" -XX:ArchiveClassesAtExit=") && javaCalls.get(0).contains(" tokenize-audio "), javaCalls.get(0));
        assertTrue(Files.isRegularFile(archive));
        assertTrue(javaCalls.get(1).startsWith("java -XX:SharedArchiveFile=" + project.toRealPath().resolve("jobs/target/vqstream-classes.jsa")
                + " -Xlog:cds=off") && javaCalls.get(1).endsWith(" demo"), javaCalls.get(1));

        assertEquals(0, run(script, Map.of("VQSTREAM_CDS", "on")).exit());
        assertEquals(1, calls().stream().filter(c -> c.contains("ArchiveClassesAtExit")).count(), "made once: " + calls());
        assertTrue(calls().get(calls().size() - 1).contains("-XX:SharedArchiveFile="), calls().toString());

        // a new build makes a new archive; a failed attempt runs without one and is not repeated until the next build
        Thread.sleep(1100); // file times of one second
        Files.setLastModifiedTime(project.resolve("jobs/target/vqstream-jobs.jar"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
        Run failed = run(script, Map.of("VQSTREAM_CDS", "on", "FAIL_CDS", "1"));
        assertEquals(0, failed.exit(), failed.toString());
        assertTrue(failed.err().contains("no class-data archive; running without it"), failed.err());
        assertFalse(Files.exists(archive), "the stale archive is gone");
        assertFalse(calls().get(calls().size() - 1).contains("SharedArchiveFile"), calls().toString());
        assertEquals(0, run(script, Map.of("VQSTREAM_CDS", "on")).exit());
        assertEquals(2, calls().stream().filter(c -> c.contains("ArchiveClassesAtExit")).count(), "not retried: " + calls());
        assertEquals(0, run(script, Map.of("VQSTREAM_CDS", "off")).exit());
        assertFalse(calls().get(calls().size() - 1).contains("SharedArchiveFile"), calls().toString());
    }
}

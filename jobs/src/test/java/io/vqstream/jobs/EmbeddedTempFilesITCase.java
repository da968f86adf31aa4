package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An embedded run in its own JVM, as bin/vqstream starts it, with java.io.tmpdir pointed at an
 * empty directory: the mini-cluster unpacks its RPC system jar (21 MB) and blobs there, and
 * nothing of it may be left once the process has exited. With the launcher's logging
 * configuration, a routine run prints no warnings.
 */
class EmbeddedTempFilesITCase {

    @Test
    void anEmbeddedRunLeavesNothingInTheTemporaryDirectory(@TempDir Path dir) throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path config = dir.resolve("vq.yaml");
        Files.writeString(config, """
                quantizer:
                  type: VectorQuantize
                  dim: 2
                  codebook_size: 4
                batch:
                  size: 4
                  max-delay: none
                seed: 1
                """);
        StringBuilder vectors = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            vectors.append("{\"key\":\"k\",\"seq\":").append(i).append(",\"vector\":[").append(i).append(",").append(-i).append("]}\n");
        }
        Path input = dir.resolve("in.jsonl");
        Files.writeString(input, vectors);
        Path output = dir.resolve("codes.jsonl");

        Path log = dir.resolve("run.log");
        Process p = ChildJvm.start(ChildJvm.thisJvmOptions(), tmp, log,
                "quantize", "--config", config.toString(), "--input", input.toString(), "--output", output.toString());
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "the run ends");
        assertEquals(0, p.exitValue(), Files.readString(log));
        assertEquals(20, Files.readAllLines(output).size(), Files.readString(log));
        List<String> warnings = Files.readAllLines(log).stream().filter(l -> l.contains(" WARN ") || l.contains(" ERROR ")).toList();
        assertEquals(List.of(), warnings, "a routine run logs no warnings");
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.map(f -> f.getFileName().toString()).toList(), "left in java.io.tmpdir");
        }
    }
}

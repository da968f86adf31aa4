package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.jobs.config.JobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The configuration block of README.md, pasted into a file as it is, loads and runs. */
class ReadmeConfigITCase {

    static String readmeConfigBlock() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        int section = readme.indexOf("\n## Configuration\n");
        assertTrue(section > 0, "README.md has a Configuration section");
        int start = readme.indexOf("```yaml\n", section);
        int end = readme.indexOf("\n```", start + 8);
        assertTrue(start > 0 && end > start, "the Configuration section has a yaml block");
        return readme.substring(start + 8, end + 1);
    }

    @Test
    void theReadmeConfigBlockLoadsAndRunsAsItIs(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("job.yaml");
        Files.writeString(config, readmeConfigBlock());
        JobConfig c = JobConfig.load(config);
        assertEquals("VectorQuantize", c.quantizerType);
        assertEquals(16, c.createQuantizer().dim());
        OperatorConfigs.quantize(c);

        SplittableRandom r = new SplittableRandom(1);
        StringBuilder in = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            in.append("{\"key\":\"k").append(i % 2).append("\",\"seq\":").append(i / 2).append(",\"ts\":").append(i).append(",\"vector\":[");
            for (int e = 0; e < 16; e++) {
                in.append(e == 0 ? "" : ",").append(r.nextGaussian());
            }
            in.append("]}\n");
        }
        Path vectors = Files.writeString(dir.resolve("vectors.jsonl"), in);
        Path codes = dir.resolve("codes.jsonl");
        Cli.Result q = Cli.run("learn", "--config", config.toString(), "--input", vectors.toString(), "--output", codes.toString());
        assertEquals(0, q.exitCode(), q.toString());
        assertEquals(100, Files.readAllLines(codes).size(), q.toString());
    }
}

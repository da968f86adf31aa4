package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configuration that would fail at run time (OOM, unreadable state, Flink errors) is refused when parsed: exit 2, one line naming the bound. */
class ConfigBoundsTest {
    @TempDir
    Path dir;

    private Cli.Result quantize(String yaml) throws Exception {
        Path c = dir.resolve("job.yaml");
        Files.writeString(c, yaml);
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, "{\"key\":\"a\",\"seq\":0,\"vector\":[1,2,3,4]}\n");
        return Cli.run("quantize", "--config", c.toString(), "--input", in.toString(), "--output", dir.resolve("out.jsonl").toString());
    }

    private static void assertRefused(Cli.Result r, String... parts) {
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(1, r.errLines().size(), r.toString());
        for (String p : parts) {
            assertTrue(r.err().contains(p), "'" + p + "' in " + r.err());
        }
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), r.toString());
    }

    private static String vq(String args) {
        return "quantizer:\n  type: VectorQuantize\n  dim: 4\n" + args;
    }

    @Test
    void quantizerStateBeyondTheBoundsIsRefusedNamingTheBound() throws Exception {
        assertRefused(quantize(vq("  codebook_size: 200000000\n")), "bound is 268435456", "1 GiB");
        assertRefused(quantize(vq("  codebook_size: 8\n  heads: 2147483647\n")), "quantizer");
        assertRefused(quantize("quantizer:\n  type: ResidualVQ\n  dim: 4\n  codebook_size: 2\n  num_quantizers: 20000\n"),
                "'quantizer.num_quantizers' must be at most 16384");
    }

    @Test
    void nanAndInfinityInQuantizerArgumentsAreRefused() throws Exception {
        assertRefused(quantize(vq("  codebook_size: 8\n  decay: .nan\n")), "'quantizer.decay' must be a finite number, got NaN");
        assertRefused(quantize(vq("  codebook_size: 8\n  eps: .inf\n")), "'quantizer.eps' must be a finite number, got Infinity");
    }

    @Test
    void jobAndAudioSettingsAreBounded() throws Exception {
        String q = vq("  codebook_size: 8\n");
        assertRefused(quantize(q + "job:\n  parallelism: 100000\n"), "'job.parallelism' must be at most 32768");
        assertRefused(quantize(q + "job:\n  checkpoint-interval: 0\n"), "'job.checkpoint-interval' must be at least 10 ms");
        assertRefused(quantize(q + "job:\n  checkpoint-interval: -1\n"), "'job.checkpoint-interval' must be at least 10 ms");
        assertRefused(quantize(q + "audio:\n  chunk-samples: 0\n"), "'audio.chunk-samples' must be in [1, 16777216], got 0");
    }

    @Test
    void aKeyGivenTwiceIsRefused() throws Exception {
        assertRefused(quantize(vq("  codebook_size: 8\nseed: 1\nseed: 2\n")), "duplicate key seed");
    }

    @Test
    void kafkaOnlySettingsAreRefusedInFileModeInsteadOfIgnored() throws Exception {
        String q = vq("  codebook_size: 8\n");
        assertRefused(quantize(q + "output:\n  format: binary\n"), "files are read and written as JSON lines");
        assertRefused(quantize(q + "input:\n  format: binary\n"), "files are read and written as JSON lines");
        Path chk = java.nio.file.Files.createDirectories(dir.resolve("chk-1"));
        java.nio.file.Files.write(chk.resolve("_metadata"), new byte[] {1});
        assertRefused(quantize(q + "job:\n  restore-from: " + chk + "\n"), "a job over files does not resume from a checkpoint");
    }

    @Test
    void aPipeAsInputIsReportedAsSuch() throws Exception {
        Path fifo = dir.resolve("in.jsonl");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "mkfifo failed");
        Path c = dir.resolve("job.yaml");
        Files.writeString(c, vq("  codebook_size: 8\n"));
        assertRefused(Cli.run("quantize", "--config", c.toString(), "--input", fifo.toString(), "--output", dir.resolve("o.jsonl").toString()),
                "is not a regular file");
    }
}

package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.vqstream.core.io.Npy;
import io.vqstream.core.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Empty inputs give empty outputs: no phantom dead letter, no exception. */
class EmptyInputITCase {
    private static Path config(Path dir) throws Exception {
        Path c = dir.resolve("vq.yaml");
        Files.writeString(c, "quantizer:\n  type: VectorQuantize\n  dim: 4\n  codebook_size: 8\nseed: 1\n");
        return c;
    }

    @Test
    void anEmptyOrBlankJsonLinesFileGivesNoCodesAndNoDeadLetters(@TempDir Path dir) throws Exception {
        for (String content : new String[] {"", "\n", "\r\n\n  \n", " "}) {
            Path in = dir.resolve("in.jsonl");
            Files.writeString(in, content);
            Path out = dir.resolve("codes.jsonl");
            Path dead = dir.resolve("dead.jsonl");
            Cli.Result r = Cli.run("quantize", "--config", config(dir).toString(), "--input", in.toString(), "--output", out.toString(),
                    "--dead-letters", dead.toString());
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals("", Files.readString(out), r.toString());
            assertEquals("", Files.readString(dead), "no phantom dead letter for " + content.replace("\n", "\\n"));
            assertFalse(r.err().contains("dead letter"), r.toString());
        }
    }

    @Test
    void anNpyWithZeroRowsGivesZeroCodes(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("none.npy");
        Npy.write(in, new Tensor(new float[0], 0, 4));
        Path out = dir.resolve("codes.jsonl");
        Cli.Result r = Cli.run("quantize", "--config", config(dir).toString(), "--input", in.toString(), "--output", out.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals("", Files.readString(out));
    }
}

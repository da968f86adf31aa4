package io.vqstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The bench command line: its ops in --help, and usage errors as one line with exit code 2 (nothing is measured here). */
class BenchCliTest {
    record Result(int exit, String out, String err) {}

    static synchronized Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = BenchCli.execute(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void helpListsEveryOp() {
        Result r = run("--help");
        assertEquals(0, r.exit(), r.toString());
        for (String op : new String[] {"assign", "ema", "rvq", "fsq", "lfq", "operator", "kafka-quantize", "demo", "soak", "audio-streams"}) {
            assertTrue(r.out().contains("\n  " + op + " "), op + " in:\n" + r.out());
        }
        Result assign = run("assign", "--help");
        assertTrue(assign.out().contains("--codebook-size") && assign.out().contains("--metric"), assign.toString());
    }

    @Test
    void usageErrorsAreOneLineWithExitCodeTwo() {
        Result unknown = run("asign");
        assertEquals(2, unknown.exit(), unknown.toString());
        assertTrue(unknown.err().startsWith("vqstream bench: Unmatched argument at index 0: 'asign'"), unknown.err());
        assertEquals(1, unknown.err().lines().count(), unknown.err());

        Result metric = run("assign", "--metric", "manhattan");
        assertEquals(2, metric.exit(), metric.toString());
        assertEquals("vqstream bench assign: --metric must be l2 or cosine (see 'vqstream bench assign --help')", metric.err().strip());

        Result notANumber = run("rvq", "--quantizers", "many");
        assertEquals(2, notANumber.exit(), notANumber.toString());
        assertTrue(notANumber.err().contains("--quantizers"), notANumber.err());

        Result lfq = run("lfq", "--codebook-size", "1000");
        assertEquals(2, lfq.exit(), lfq.toString());
        assertTrue(lfq.err().contains("power of two"), lfq.err());
    }
}

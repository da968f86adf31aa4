package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Runs {@link VqstreamCli#execute} in this JVM and captures what it prints. */
final class Cli {
    private Cli() {}

    record Result(int exitCode, String out, String err, long millis) {
        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + " after " + millis + " ms\n--- stdout ---\n" + out + "\n--- stderr ---\n" + err;
        }
    }

    /** One command line; System.out and System.err are swapped for buffers while it runs (not thread-safe). */
    static synchronized Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = VqstreamCli.execute(args);
        } finally {
            System.out.flush();
            System.err.flush();
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), millis);
    }

    /** One command line that must succeed (exit 0, else the failure shows its output); echoes its output, returns its stdout. */
    static String succeed(String... args) {
        Result r = run(args);
        System.out.print(r.out());
        System.err.print(r.err());
        assertEquals(0, r.exitCode(), "vqstream " + String.join(" ", args) + "\n" + r);
        return r.out();
    }
}

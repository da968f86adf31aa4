package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line in this JVM: help, usage and configuration errors, an unreachable broker, conformance. */
class CliTest {
    private static final String FSQ = "quantizer:\n  type: FSQ\n  levels: [8, 5, 5, 5]\n";

    @TempDir
    Path dir;

    private Path config(String text) throws Exception {
        Path p = dir.resolve("job.yaml");
        Files.writeString(p, text);
        return p;
    }

    /** A usage or configuration error: exit 2 and exactly one line on stderr, naming the problem, no stack trace. */
    private static void assertOneLineError(Cli.Result r, String expectedLine) {
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(expectedLine, r.errLines().size() == 1 ? r.errLines().get(0) : r.err(), r.toString());
        assertNoStackTrace(r);
    }

    private static void assertNoStackTrace(Cli.Result r) {
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception") || r.err().contains("caused by"), r.toString());
    }

    @Test
    void aCancelledJobIsToldApartFromAFailedOne() {
        Exception cancelled = new java.util.concurrent.ExecutionException(new org.apache.flink.runtime.client.JobCancellationException(
                new org.apache.flink.api.common.JobID(), "Job was cancelled.", null));
        assertTrue(VqstreamCli.cancelled(cancelled));
        assertFalse(VqstreamCli.cancelled(new java.util.concurrent.ExecutionException(new IllegalStateException("task failed"))));
    }

    @Test
    void helpListsTheCommands() {
        Cli.Result r = Cli.run("--help");
        assertEquals(0, r.exitCode(), r.toString());
        for (String cmd : new String[] {"demo", "tokenize-audio", "quantize", "learn", "decode", "savepoint", "conformance", "bench"}) {
            assertTrue(r.out().contains("\n  " + cmd + " "), "--help lists " + cmd + ":\n" + r.out());
        }
        // each command's whole description, not only its first line (words may wrap onto the next line)
        String text = r.out().replaceAll("\\s+", " ");
        for (String end : new String[] {"--bootstrap-servers/--input-topic/--output-topic.", "--input VECTORS --output CODES.jsonl.",
                "--codebooks DIR --output VECTORS.jsonl.", "bench/README.md)."}) {
            assertTrue(text.contains(end), "--help shows the description up to '" + end + "':\n" + r.out());
        }
        assertEquals("", r.err());
        Cli.Result none = Cli.run();
        assertEquals(0, none.exitCode(), none.toString());
        assertTrue(none.out().startsWith("Usage: vqstream"), none.toString());
    }

    @Test
    void subcommandHelpListsTheFlags() {
        Cli.Result r = Cli.run("quantize", "--help");
        assertEquals(0, r.exitCode(), r.toString());
        for (String flag : new String[] {"--config", "--bootstrap-servers", "--input-topic", "--output-topic", "--dead-letter-topic",
                "--codebook-topic", "--checkpoint-dir", "--checkpoint-interval", "--restore-from", "--exactly-once"}) {
            assertTrue(r.out().contains(flag), "quantize --help lists " + flag + ":\n" + r.out());
        }
        Cli.Result t = Cli.run("tokenize-audio", "--help");
        assertEquals(0, t.exitCode(), t.toString());
        assertTrue(t.out().contains("--input") && t.out().contains("--output"), t.toString());
    }

    @Test
    void unknownFlag() {
        assertOneLineError(Cli.run("quantize", "--bogus"),
                "vqstream quantize: Unknown option: '--bogus'; did you mean --bootstrap-servers? (see 'vqstream quantize --help')");
        assertOneLineError(Cli.run("quantize", "--zzz", "1"), "vqstream quantize: Unknown options: '--zzz', '1' (see 'vqstream quantize --help')");
    }

    @Test
    void unknownCommand() {
        assertOneLineError(Cli.run("quantise"), "vqstream: Unmatched argument at index 0: 'quantise'; did you mean quantize or "
                + "savepoint or conformance? (see 'vqstream --help')");
    }

    @Test
    void flagValueOfTheWrongType() {
        assertOneLineError(Cli.run("quantize", "--parallelism", "many"),
                "vqstream quantize: Invalid value for option '--parallelism': 'many' is not an int (see 'vqstream quantize --help')");
        assertOneLineError(Cli.run("savepoint", "export", "--config"),
                "vqstream savepoint export: Missing required parameter for option '--config' (FILE) (see 'vqstream savepoint export --help')");
    }

    @Test
    void quantizeWithoutConfig() {
        assertOneLineError(Cli.run("quantize", "--bootstrap-servers", "127.0.0.1:9", "--input-topic", "a", "--output-topic", "b"),
                "vqstream quantize: --config FILE is required");
    }

    @Test
    void configFileThatDoesNotExist() {
        Path missing = dir.resolve("missing.yaml");
        assertOneLineError(Cli.run("quantize", "--config", missing.toString()), "vqstream quantize: config file not found: " + missing);
        assertOneLineError(Cli.run("learn", "--config", missing.toString()), "vqstream learn: config file not found: " + missing);
    }

    @Test
    void unknownConfigKey() throws Exception {
        Path cfg = config(FSQ + "batch:\n  size: 8\n  max_delay: 5ms\n");
        assertOneLineError(Cli.run("quantize", "--config", cfg.toString()), "vqstream quantize: unknown config key batch.max_delay");
    }

    @Test
    void badQuantizerArgument() throws Exception {
        Path cfg = config("quantizer:\n  type: VectorQuantize\n  dim: 4\n  codebook_size: 16\n  kmeans_inti: true\n");
        assertOneLineError(Cli.run("learn", "--config", cfg.toString()), "vqstream learn: quantizer: VectorQuantize: unknown argument kmeans_inti");
    }

    @Test
    void missingKafkaSettings() throws Exception {
        Path cfg = config(FSQ);
        assertOneLineError(Cli.run("quantize", "--config", cfg.toString(), "--input-topic", "a", "--output-topic", "b"),
                "vqstream quantize: --bootstrap-servers (or kafka.bootstrap-servers) is required");
        assertOneLineError(Cli.run("quantize", "--config", cfg.toString(), "--bootstrap-servers", "127.0.0.1:9", "--output-topic", "b"),
                "vqstream quantize: a Kafka topic is missing: give --input-topic and --output-topic (or kafka.input-topic/output-topic)");
    }

    @Test
    void tokenizeAudioWithoutInputOrOutput() {
        assertOneLineError(Cli.run("tokenize-audio", "--output", dir.resolve("codes.jsonl").toString()),
                "vqstream tokenize-audio: give --input WAV_OR_DIR and --output CODES.jsonl (or Kafka flags)");
        Path missing = dir.resolve("nothing.wav");
        assertOneLineError(Cli.run("tokenize-audio", "--input", missing.toString(), "--output", dir.resolve("codes.jsonl").toString()),
                "vqstream tokenize-audio: no such file or directory: " + missing);
    }

    @Test
    void unreachableBrokerFailsFastWithAClearMessage() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path cfg = config(FSQ);
        Cli.Result r = Cli.run("quantize", "--config", cfg.toString(), "--bootstrap-servers", "127.0.0.1:" + port,
                "--input-topic", "vectors", "--output-topic", "codes");
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(1, r.errLines().size(), r.toString());
        assertTrue(r.errLines().get(0).startsWith("vqstream quantize: cannot reach Kafka at 127.0.0.1:" + port), r.toString());
        assertNoStackTrace(r);
        // the requirement is "a clear message within about 15 s, not a hang"
        assertTrue(r.millis() < 20_000, "took " + r.millis() + " ms");
    }

    @Test
    void conformanceAgainstTheGoldenCases() {
        Path golden = Path.of(System.getProperty("vqstream.shared.dir", "../../shared")).resolve("golden");
        assertTrue(Files.isDirectory(golden), "golden cases at " + golden.toAbsolutePath());
        Cli.Result r = Cli.run("conformance", golden.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("54 passed, 0 failed"), r.toString());
    }

    @Test
    void conformanceOnAFolderWithoutCases() throws Exception {
        Cli.Result r = Cli.run("conformance", Files.createDirectories(dir.resolve("empty")).toString());
        assertTrue(r.exitCode() != 0, "no cases is not a pass: " + r);
        assertNoStackTrace(r);
    }
}

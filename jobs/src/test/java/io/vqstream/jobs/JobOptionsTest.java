package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The shared job flags: each one overrides the same setting of the config file. */
class JobOptionsTest {
    @TempDir
    Path dir;

    private static JobOptions parse(String... args) {
        JobOptions o = new JobOptions();
        new CommandLine(o).parseArgs(args);
        return o;
    }

    private Path config() throws Exception {
        Path p = dir.resolve("job.yaml");
        Files.writeString(p, """
                quantizer:
                  type: FSQ
                  levels: [8, 5, 5, 5]
                kafka:
                  bootstrap-servers: file-host:9092
                  input-topic: file-in
                  output-topic: file-out
                  dead-letter-topic: file-dead
                  codebook-topic: file-books
                  control-topic: file-control
                  delivery: at-least-once
                job:
                  parallelism: 2
                  checkpoint-dir: /file/chk
                  checkpoint-interval: 30s
                  restore-from: /file/chk/x/chk-1
                """);
        return p;
    }

    @Test
    void withoutFlagsTheFileDecides() throws Exception {
        JobConfig c = parse("--config", config().toString()).resolve(null);
        assertEquals("file-host:9092", c.bootstrapServers);
        assertEquals("file-in", c.inputTopic);
        assertEquals("file-out", c.outputTopic);
        assertEquals("file-dead", c.deadLetterTopic);
        assertEquals("file-books", c.codebookTopic);
        assertEquals("file-control", c.controlTopic);
        assertEquals(2, c.parallelism);
        assertEquals(Path.of("/file/chk"), c.checkpointDir);
        assertEquals(Duration.ofSeconds(30), c.checkpointInterval);
        assertEquals(Path.of("/file/chk/x/chk-1"), c.restoreFrom);
        assertEquals(JobConfig.Delivery.AT_LEAST_ONCE, c.delivery);
    }

    @Test
    void flagsOverrideTheFile() throws Exception {
        JobConfig c = parse("--config", config().toString(), "--bootstrap-servers", "127.0.0.1:1", "--input-topic", "in",
                "--output-topic", "out", "--dead-letter-topic", "dead", "--codebook-topic", "books", "--control-topic", "ctl",
                "--parallelism", "5", "--checkpoint-dir", "/flag/chk", "--checkpoint-interval", "500",
                "--restore-from", "/flag/chk/y/chk-3", "--exactly-once").resolve(null);
        assertEquals("127.0.0.1:1", c.bootstrapServers);
        assertEquals("in", c.inputTopic);
        assertEquals("out", c.outputTopic);
        assertEquals("dead", c.deadLetterTopic);
        assertEquals("books", c.codebookTopic);
        assertEquals("ctl", c.controlTopic);
        assertEquals(5, c.parallelism);
        assertEquals(Path.of("/flag/chk"), c.checkpointDir);
        assertEquals(Duration.ofMillis(500), c.checkpointInterval);
        assertEquals(Path.of("/flag/chk/y/chk-3"), c.restoreFrom);
        assertEquals(JobConfig.Delivery.EXACTLY_ONCE, c.delivery);
        assertEquals("FSQ", c.quantizerType, "settings without a flag still come from the file");
    }

    @Test
    void fallbackWhenNoConfigFile() throws Exception {
        JobConfig fallback = JobConfig.defaults();
        JobConfig c = parse("--bootstrap-servers", "127.0.0.1:2").resolve(fallback);
        assertSame(fallback, c);
        assertEquals("127.0.0.1:2", c.bootstrapServers);
        assertEquals("--config FILE is required", assertThrows(ConfigException.class, () -> parse().resolve(null)).getMessage());
    }

    @Test
    void badFlagValues() throws Exception {
        String cfg = config().toString();
        assertEquals("--parallelism must be at least 1, got 0",
                assertThrows(ConfigException.class, () -> parse("--config", cfg, "--parallelism", "0").resolve(null)).getMessage());
        assertEquals("--checkpoint-interval must be at least 10 ms, got 5 ms",
                assertThrows(ConfigException.class, () -> parse("--config", cfg, "--checkpoint-interval", "5").resolve(null)).getMessage());
        // the flag has the key's whole check: the upper bound too, and its type
        assertEquals("--parallelism must be at most 32768 (Flink's maximum), got 40000",
                assertThrows(ConfigException.class, () -> parse("--config", cfg, "--parallelism", "40000").resolve(null)).getMessage());
        assertEquals("Invalid value for option '--parallelism': 'four' is not an int",
                assertThrows(CommandLine.ParameterException.class, () -> parse("--config", cfg, "--parallelism", "four")).getMessage());
    }

    @Test
    void everyKeyWithAFlagGetsItFromItsOption() throws Exception {
        CommandLine cl = new CommandLine(new JobOptions());
        for (io.vqstream.core.config.ConfigOption<?> key : io.vqstream.jobs.config.ConfigKeys.withFlags()) {
            CommandLine.Model.OptionSpec flag = cl.getCommandSpec().findOption(key.flag());
            assertNotNull(flag, key.flag());
            assertTrue(String.join(" ", flag.description()).contains(key.key()), "the flag's help names its key: " + key);
        }
        assertEquals(java.util.List.of("--bootstrap-servers", "--input-topic", "--output-topic", "--dead-letter-topic", "--codebook-topic",
                "--control-topic", "--exactly-once", "--parallelism", "--checkpoint-dir", "--checkpoint-interval", "--restore-from"),
                io.vqstream.jobs.config.ConfigKeys.withFlags().stream().map(io.vqstream.core.config.ConfigOption::flag).toList());
        // a duration flag takes the key's units as well as milliseconds
        assertEquals(Duration.ofSeconds(10), parse("--config", config().toString(), "--checkpoint-interval", "10s").resolve(null)
                .checkpointInterval);
    }
    @Test
    void jobManagerAndDetachedSubmitToACluster() throws Exception {
        JobConfig c = parse("--config", config().toString(), "--jobmanager", "localhost:8081", "--detached").resolve(null);
        assertEquals("localhost:8081", c.jobManager);
        assertEquals(true, c.detached);
        JobConfig attached = parse("--config", config().toString(), "--jobmanager", "jm.example:18081").resolve(null);
        assertEquals("jm.example:18081", attached.jobManager);
        assertEquals(false, attached.detached);
    }

    @Test
    void detachedWithoutJobManagerAndAJobManagerWithoutPortAreErrors() throws Exception {
        String cfg = config().toString();
        ConfigException e = assertThrows(ConfigException.class, () -> parse("--config", cfg, "--detached").resolve(null));
        assertEquals("--detached needs --jobmanager HOST:PORT (under flink run use flink run -d)", e.getMessage());
        e = assertThrows(ConfigException.class, () -> parse("--config", cfg, "--jobmanager", "localhost").resolve(null));
        assertEquals("--jobmanager: expected HOST:PORT (the REST address), got 'localhost'", e.getMessage());
    }

    @Test
    void restoreFromTakesTheSavepointPathAsFlinkPrintsIt() throws Exception {
        JobConfig c = parse("--config", config().toString(), "--restore-from", "file:/tmp/vq/savepoints/savepoint-3f0c7a-5d2b").resolve(null);
        assertEquals(Path.of("/tmp/vq/savepoints/savepoint-3f0c7a-5d2b"), c.restoreFrom);
    }
}

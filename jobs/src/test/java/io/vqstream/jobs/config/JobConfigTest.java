package io.vqstream.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.CodebookSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** The strict YAML job configuration: every section, defaults, and errors that name the key. */
class JobConfigTest {
    private static final String FSQ = "quantizer:\n  type: FSQ\n  levels: [8, 5, 5, 5]\n";

    @TempDir
    Path dir;

    private static Map<?, ?> yaml(String text) {
        return new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
    }

    private static JobConfig parse(String text) {
        return JobConfig.fromMap(yaml(text), true);
    }

    private static String error(String text) {
        return assertThrows(ConfigException.class, () -> parse(text)).getMessage();
    }

    private Path file(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void everySectionParses() throws Exception {
        JobConfig c = JobConfig.load(file("full.yaml", """
                quantizer:
                  type: VectorQuantize
                  dim: 16
                  codebook_size: 64
                  decay: 0.8
                  use_cosine_sim: true
                learn: true
                seed: 1234567890123
                backend: jvm-scalar
                batch:
                  size: 32
                  max-delay: 50ms
                codebook:
                  file: books/start.npy
                  init-min-vectors: 500
                  publish-every: 4
                output:
                  quantized: true
                  error: false
                  format: binary
                input:
                  format: binary
                kafka:
                  bootstrap-servers: 127.0.0.1:9092,127.0.0.1:9093
                  input-topic: vectors
                  output-topic: codes
                  dead-letter-topic: dead
                  codebook-topic: books
                  control-topic: control
                  group-id: my-group
                  delivery: exactly-once
                  transactional-id-prefix: tx
                  properties:
                    security.protocol: PLAINTEXT
                    max.poll.records: 100
                audio:
                  sample-rate: 22050
                  win-length: 512
                  hop: 256
                  n-fft: 1024
                  n-mels: 64
                  fmin: 20
                  fmax: 8000.5
                  features: raw
                  chunk-samples: 4410
                  max-buffered-chunks: 8
                job:
                  name: my-job
                  parallelism: 3
                  state-backend: rocksdb
                  checkpoint-dir: /tmp/chk
                  checkpoint-interval: 2min
                  restore-from: /tmp/chk/abc/chk-7
                """));
        assertEquals("VectorQuantize", c.quantizerType);
        assertEquals(Map.of("dim", 16, "codebook_size", 64, "decay", 0.8, "use_cosine_sim", true), c.quantizerArgs);
        assertEquals(16, c.createQuantizer().dim());
        assertTrue(c.learn);
        assertEquals(1234567890123L, c.seed);
        assertEquals("jvm-scalar", c.backend);
        assertEquals(32, c.batchSize);
        assertEquals(Duration.ofMillis(50), c.maxDelay);
        assertEquals(CodebookSource.FILE, c.source, "a codebook.file without codebook.source means source: file");
        assertEquals(dir.resolve("books/start.npy"), c.codebookFile, "relative paths resolve against the config file's folder");
        assertNull(c.codebookDir);
        assertEquals(500, c.initMinVectors);
        assertEquals(4, c.publishEvery);
        assertTrue(c.emitQuantized);
        assertFalse(c.emitError);
        assertEquals(JobConfig.Format.BINARY, c.outputFormat);
        assertEquals(JobConfig.Format.BINARY, c.inputFormat);
        assertEquals("127.0.0.1:9092,127.0.0.1:9093", c.bootstrapServers);
        assertEquals("vectors", c.inputTopic);
        assertEquals("codes", c.outputTopic);
        assertEquals("dead", c.deadLetterTopic);
        assertEquals("books", c.codebookTopic);
        assertEquals("control", c.controlTopic);
        assertEquals("my-group", c.groupId);
        assertEquals(JobConfig.Delivery.EXACTLY_ONCE, c.delivery);
        assertEquals("tx", c.transactionalIdPrefix);
        assertEquals(Map.of("security.protocol", "PLAINTEXT", "max.poll.records", "100"), c.kafkaProperties);
        assertEquals(22050, c.sampleRate);
        assertEquals(512, c.winLength);
        assertEquals(256, c.hop);
        assertEquals(1024, c.nFft);
        assertEquals(64, c.nMels);
        assertEquals(20.0, c.fmin);
        assertEquals(8000.5, c.fmax);
        assertEquals(JobConfig.Features.RAW, c.features);
        assertEquals(4410, c.chunkSamples);
        assertEquals(8, c.maxBufferedChunks);
        assertEquals("my-job", c.jobName);
        assertEquals(3, c.parallelism);
        assertEquals(JobConfig.StateBackend.ROCKSDB, c.stateBackend);
        assertEquals(Path.of("/tmp/chk"), c.checkpointDir);
        assertEquals(Duration.ofMinutes(2), c.checkpointInterval);
        assertEquals(Path.of("/tmp/chk/abc/chk-7"), c.restoreFrom);
    }

    @Test
    void codebookScope() {
        assertEquals(io.vqstream.operators.CodebookScope.KEY, parse(FSQ).scope, "key scope unless asked");
        JobConfig shared = parse(FSQ + "codebook:\n  scope: shared\n  round-timeout: 20ms\n");
        assertEquals(io.vqstream.operators.CodebookScope.SHARED, shared.scope);
        assertEquals(Duration.ofMillis(20), shared.roundTimeout);
        String msg = error(FSQ + "codebook:\n  scope: global\n");
        assertTrue(msg.contains("codebook.scope") && msg.contains("shared"), msg);
    }

    @Test
    void defaults() {
        JobConfig c = parse(FSQ);
        assertEquals("FSQ", c.quantizerType);
        assertEquals(Map.of("levels", List.of(8, 5, 5, 5)), c.quantizerArgs, "'type' is not passed on as an argument");
        assertFalse(c.learn);
        assertEquals(0, c.seed);
        assertNull(c.backend, "no backend: the vqstream.backend property, else auto");
        assertEquals(256, c.batchSize);
        assertEquals(Duration.ofMillis(100), c.maxDelay);
        assertEquals(CodebookSource.INIT, c.source);
        assertNull(c.codebookFile);
        assertEquals(-1, c.initMinVectors);
        assertEquals(1, c.publishEvery);
        assertFalse(c.emitQuantized);
        assertTrue(c.emitError);
        assertEquals(JobConfig.Format.JSON, c.outputFormat);
        assertEquals(JobConfig.Format.JSON, c.inputFormat);
        assertNull(c.bootstrapServers);
        assertNull(c.inputTopic);
        assertNull(c.outputTopic);
        assertEquals("vqstream-dead-letters", c.deadLetterTopic);
        assertNull(c.codebookTopic);
        assertNull(c.controlTopic);
        assertEquals("vqstream", c.groupId);
        assertEquals(JobConfig.Delivery.AT_LEAST_ONCE, c.delivery);
        assertEquals("vqstream", c.transactionalIdPrefix);
        assertTrue(c.kafkaProperties.isEmpty());
        assertEquals(16000, c.sampleRate);
        assertEquals(400, c.winLength);
        assertEquals(160, c.hop);
        assertEquals(512, c.nFft);
        assertEquals(80, c.nMels);
        assertEquals(0.0, c.fmin);
        assertEquals(8000.0, c.fmax, "fmax defaults to half the sample rate");
        assertEquals(JobConfig.Features.LOG_MEL, c.features);
        assertEquals(1600, c.chunkSamples);
        assertEquals(64, c.maxBufferedChunks);
        assertNull(c.jobName);
        // left to the cluster's Flink configuration
        assertNull(c.parallelism);
        assertNull(c.stateBackend);
        assertNull(c.checkpointDir);
        assertNull(c.checkpointInterval);
        assertNull(c.restoreFrom);

        assertEquals(11025.0, parse(FSQ + "audio:\n  sample-rate: 22050\n").fmax, "fmax follows a configured sample rate");
        assertEquals(CodebookSource.PER_KEY, parse(FSQ + "codebook:\n  dir: books\n").source, "codebook.dir alone means per-key");
        assertEquals(CodebookSource.CONTROL, parse(FSQ + "codebook:\n  source: control\n").source);
    }

    @ParameterizedTest
    @CsvSource({"50ms, 50", "10s, 10000", "2min, 120000", "2m, 120000", "1h, 3600000", "1.5s, 1500", "'250', 250", "none, 0", "OFF, 0"})
    void durationStrings(String text, long millis) {
        assertEquals(Duration.ofMillis(millis), parse(FSQ + "batch:\n  max-delay: '" + text + "'\n").maxDelay);
    }

    @Test
    void plainNumbersAreMilliseconds() {
        assertEquals(Duration.ofMillis(750), parse(FSQ + "batch:\n  max-delay: 750\n").maxDelay);
        assertEquals(Duration.ofMillis(500), parse(FSQ + "job:\n  checkpoint-interval: 500\n").checkpointInterval);
    }

    @Test
    void enumsAcceptDashesAndAnyCase() {
        JobConfig c = parse(FSQ + "kafka:\n  delivery: Exactly-Once\ncodebook:\n  source: per-key\n  dir: x\njob:\n  state-backend: RocksDB\n"
                + "audio:\n  features: log-mel\n");
        assertEquals(JobConfig.Delivery.EXACTLY_ONCE, c.delivery);
        assertEquals(CodebookSource.PER_KEY, c.source);
        assertEquals(JobConfig.StateBackend.ROCKSDB, c.stateBackend);
        assertEquals(JobConfig.Features.LOG_MEL, c.features);
        assertEquals(JobConfig.Delivery.AT_LEAST_ONCE, parse(FSQ + "kafka:\n  delivery: at_least_once\n").delivery);
    }

    @Test
    void unknownKeysAreErrorsNamingTheFullPath() {
        assertEquals("unknown config key batchsize", error(FSQ + "batchsize: 3\n"));
        assertEquals("unknown config key batch.max_delay", error(FSQ + "batch:\n  max_delay: 5ms\n"));
        assertEquals("unknown config key job.checkpoint", error(FSQ + "job:\n  checkpoint:\n    dir: /tmp\n"));
        assertEquals("unknown config keys kafka.topic, kafka.brokers", error(FSQ + "kafka:\n  topic: a\n  brokers: b\n"));
        assertEquals("unknown config key audio.samplerate", error(FSQ + "audio:\n  samplerate: 8000\n"));
        assertEquals("unknown config key codebook.path", error(FSQ + "codebook:\n  path: x.npy\n"));
        assertEquals("unknown config key output.quantised", error(FSQ + "output:\n  quantised: true\n"));
        assertEquals("unknown config key input.encoding", error(FSQ + "input:\n  encoding: json\n"));
        // anything goes under kafka.properties: it is handed to the Kafka clients as it is
        assertEquals(Map.of("linger.ms", "5"), parse(FSQ + "kafka:\n  properties:\n    linger.ms: 5\n").kafkaProperties);
    }

    @Test
    void wrongTypesNameTheKey() {
        assertEquals("config key 'batch.size' must be an integer, got 'ten'", error(FSQ + "batch:\n  size: ten\n"));
        assertEquals("config key 'batch.size' must be an integer, got 2.5", error(FSQ + "batch:\n  size: 2.5\n"));
        assertEquals("config key 'job.parallelism' must be an integer, got 3000000000", error(FSQ + "job:\n  parallelism: 3000000000\n"));
        assertEquals("config key 'learn' must be true or false, got 'sometimes'", error(FSQ + "learn: sometimes\n"));
        assertEquals("config key 'seed' must be an integer, got 'abc'", error(FSQ + "seed: abc\n"));
        assertEquals("config key 'audio.fmin' must be a number, got 'low'", error(FSQ + "audio:\n  fmin: low\n"));
        assertEquals("config key 'batch' must be a mapping, got 5", error(FSQ + "batch: 5\n"));
        assertEquals("config key 'quantizer.type' must be a string, got [a]", error("quantizer:\n  type: [a]\n"));
        assertEquals("config key 'kafka.input-topic' must be a string, got [a, b]", error(FSQ + "kafka:\n  input-topic: [a, b]\n"));
        assertEquals("config key 'batch.max-delay' must be a duration like 50ms, 10s or 2min, got 'soon'",
                error(FSQ + "batch:\n  max-delay: soon\n"));
        assertEquals("config key 'batch.max-delay' must be a duration like 50ms, 10s or 2min, got '-5ms'",
                error(FSQ + "batch:\n  max-delay: -5ms\n"));
        assertEquals("config key 'kafka.delivery' must be one of at-least-once, exactly-once, got 'twice'",
                error(FSQ + "kafka:\n  delivery: twice\n"));
        assertEquals("config key 'job.state-backend' must be one of hashmap, rocksdb, got 'memory'",
                error(FSQ + "job:\n  state-backend: memory\n"));
    }

    @Test
    void invalidValuesNameTheKey() {
        assertEquals("config key 'batch.size' must be at least 1, got 0", error(FSQ + "batch:\n  size: 0\n"));
        assertEquals("config key 'job.parallelism' must be at least 1, got 0", error(FSQ + "job:\n  parallelism: 0\n"));
        assertTrue(error(FSQ + "backend: gpu9\n").startsWith("config key 'backend': "), "names the key");
    }

    @Test
    void quantizerTypeIsRequired() throws Exception {
        String noQuantizer = "batch:\n  size: 4\n";
        assertTrue(error(noQuantizer).startsWith("config key 'quantizer.type' is required"), error(noQuantizer));
        assertTrue(error("quantizer:\n  dim: 4\n").startsWith("config key 'quantizer.type' is required"));
        ConfigException e = assertThrows(ConfigException.class, () -> JobConfig.load(file("empty.yaml", "")));
        assertTrue(e.getMessage().startsWith("config key 'quantizer.type' is required"), e.getMessage());
        // commands that set the quantizer themselves (decode) do without
        JobConfig d = JobConfig.defaults();
        assertNull(d.quantizerType);
        assertEquals(256, d.batchSize);
    }

    @Test
    void quantizerArgumentErrorsNameTheArgument() {
        assertEquals("quantizer: VectorQuantize: unknown argument codebok_dim",
                error("quantizer:\n  type: VectorQuantize\n  dim: 4\n  codebook_size: 8\n  codebok_dim: 2\n"));
        assertEquals("quantizer: VectorQuantize: argument 'codebook_size' is required",
                error("quantizer:\n  type: VectorQuantize\n  dim: 4\n"));
        assertEquals("quantizer: VectorQuantize: decay must be in [0, 1], got 1.5",
                error("quantizer:\n  type: VectorQuantize\n  dim: 4\n  codebook_size: 8\n  decay: 1.5\n"));
        String unknownType = error("quantizer:\n  type: VectorQuantizer\n  dim: 4\n");
        assertTrue(unknownType.startsWith("quantizer: unknown quantizer type 'VectorQuantizer' (known: "), unknownType);
        assertTrue(unknownType.contains("VectorQuantize,"), unknownType);
    }

    @Test
    void fileErrors() throws Exception {
        ConfigException missing = assertThrows(ConfigException.class, () -> JobConfig.load(dir.resolve("nope.yaml")));
        assertEquals("config file not found: " + dir.resolve("nope.yaml"), missing.getMessage());
        Path broken = file("broken.yaml", "quantizer: [type: FSQ\n");
        ConfigException bad = assertThrows(ConfigException.class, () -> JobConfig.load(broken));
        assertTrue(bad.getMessage().startsWith("config file " + broken + " is not valid YAML: "), bad.getMessage());
        assertFalse(bad.getMessage().contains("\n"), "one line: " + bad.getMessage());
        Path list = file("list.yaml", "- a\n- b\n");
        assertEquals("config file " + list + " must hold a YAML mapping at the top level",
                assertThrows(ConfigException.class, () -> JobConfig.load(list)).getMessage());
    }

    @Test
    void absolutePathsStayAsTheyAre() throws Exception {
        JobConfig c = JobConfig.load(file("abs.yaml", FSQ + "codebook:\n  dir: /srv/books\n"));
        assertEquals(Path.of("/srv/books"), c.codebookDir);
        assertEquals(CodebookSource.PER_KEY, c.source);
    }
}

package io.vqstream.jobs;

import org.apache.flink.annotation.Internal;
import io.vqstream.connectors.audio.AudioFormatException;
import io.vqstream.connectors.kafka.KafkaUnreachableException;
import io.vqstream.core.conformance.ConformanceMain;
import io.vqstream.core.io.TensorFormatException;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.state.SavepointBootstrap;
import io.vqstream.state.SavepointExport;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code bin/vqstream} command line. The same main class runs under {@code flink run}. */
@Command(name = "vqstream", mixinStandardHelpOptions = true, version = "vqstream 0.1.0",
        description = "Vector quantizers (vector-quantize-pytorch semantics) as keyed, stateful Flink operators.",
        subcommands = {VqstreamCli.Demo.class, VqstreamCli.TokenizeAudio.class, VqstreamCli.Quantize.class, VqstreamCli.Learn.class,
                VqstreamCli.Decode.class, VqstreamCli.Savepoint.class, VqstreamCli.Conformance.class, VqstreamCli.Bench.class,
                ClusterCommand.class})
@Internal
public final class VqstreamCli implements Callable<Integer> {

    public static void main(String[] args) {
        int code = execute(args);
        if (!JobEnvironment.underFlinkClient()) {
            System.exit(code);
        }
        // under flink run (application mode in particular) exiting the JVM would take the JobManager with it
        if (code != 0) {
            throw new IllegalStateException("vqstream exited with code " + code);
        }
    }

    /**
     * Runs a command line and returns its exit code: 0 ok, 1 failure, 2 usage or configuration
     * error, 3 a run over files in which every record became a dead letter.
     */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new VqstreamCli());
        // a bad flag or command: one line naming it (picocli would print the whole usage after it)
        cl.setParameterExceptionHandler((ex, badArgs) -> {
            CommandLine cmd = ex.getCommandLine();
            String name = cmd.getCommandSpec().qualifiedName();
            String hint = "";
            if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
                hint = "; did you mean " + String.join(" or ", u.getSuggestions()) + "?";
            }
            cmd.getErr().println(name + ": " + ex.getMessage().lines().findFirst().orElse("") + hint + " (see '" + name + " --help')");
            return cmd.getCommandSpec().exitCodeOnInvalidInput();
        });
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable t = rootUserError(e);
            if (t != null) {
                cmd.getErr().println("vqstream " + cmd.getCommandName() + ": " + t.getMessage());
                return 2;
            }
            // a failure: one line naming the root cause (Flink's wrappers say only "Job restarted")
            cmd.getErr().println("vqstream " + cmd.getCommandName() + ": failed: "
                    + (e instanceof JobFailedException ? e.getMessage() : JobFailedException.rootCause(e)));
            return 1;
        });
        return cl.execute(args);
    }

    /** The user-facing error behind an exception (bad config, file or broker), or null for an internal failure. */
    static Throwable rootUserError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConfigException || t instanceof AudioFormatException || t instanceof TensorFormatException
                    || t instanceof KafkaUnreachableException || t instanceof java.nio.file.NoSuchFileException) {
                return t;
            }
        }
        return null;
    }

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }

    static int runForeground(StreamExecutionEnvironment env, String name) throws Exception {
        JobClient client = JobEnvironment.start(env, name);
        if (JobEnvironment.detached(env)) {
            System.err.println("vqstream: submitted job " + client.getJobID() + " (" + name + ")");
            System.out.println(client.getJobID()); // alone on stdout: JOB=$(vqstream quantize ... --detached)
            return 0;
        }
        System.err.println("vqstream: job " + client.getJobID() + " running (" + name + "); Ctrl-C or SIGTERM stops it");
        try {
            client.getJobExecutionResult().get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (!cancelled(e)) {
                throw e;
            }
            // a deliberate stop (SIGTERM, Ctrl-C, flink cancel, the web UI): one line, not a failure report
            System.err.println("vqstream: job " + client.getJobID() + " cancelled");
        }
        return 0;
    }

    /** Whether a job ended because someone cancelled it (its result then carries a JobCancellationException). */
    static boolean cancelled(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.flink.runtime.client.JobCancellationException) {
                return true;
            }
        }
        return false;
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Tokenize the bundled speech recording on the embedded Flink mini-cluster and print a summary.")
    static final class Demo implements Callable<Integer> {
        @Option(names = "--config", paramLabel = "FILE", description = "YAML config instead of the built-in demo config.")
        Path config;

        @Option(names = "--input", paramLabel = "WAV", description = "A WAV file instead of the bundled recording.")
        Path input;

        @Option(names = "--no-progress", description = "Do not draw the progress bar.")
        boolean noProgress;

        @Override
        public Integer call() throws Exception {
            JobConfig c = config != null ? JobConfig.load(config) : DemoCommand.defaultConfig();
            DemoCommand demo = new DemoCommand(System.out, System.err);
            Path wav = input != null ? input : DemoCommand.bundledRecording();
            demo.print(demo.run(c, wav, !noProgress), c);
            return 0;
        }
    }

    @Command(name = "tokenize-audio", mixinStandardHelpOptions = true,
            description = "Audio to codes: WAV files to a JSON-lines file on the embedded cluster, "
                    + "or a Kafka audio topic to a Kafka codes topic with --bootstrap-servers/--input-topic/--output-topic.")
    static final class TokenizeAudio implements Callable<Integer> {
        @Mixin
        JobOptions options;

        @Option(names = "--input", paramLabel = "WAV_OR_DIR", description = "A WAV file or a directory of WAV files (one stream per file).")
        Path input;

        @Option(names = "--output", paramLabel = "CODES.jsonl", description = "Where to write the codes, one JSON object per line.")
        Path output;

        @Option(names = "--codebooks-out", paramLabel = "DIR",
                description = "Write each codebook version as DIR/<key>@<version>.safetensors, for decode --codebooks DIR.")
        Path codebooksOut;

        @Override
        public Integer call() throws Exception {
            JobConfig c = options.resolve(DemoCommand.defaultConfig());
            if (c.bootstrapServers != null) {
                StreamingJobs.requireKafka(c, c.inputTopic, c.outputTopic);
                StreamingJobs.prepareTopics(c, List.of(c.inputTopic, c.outputTopic, c.deadLetterTopic), listOf(c.codebookTopic));
                StreamExecutionEnvironment env = JobEnvironment.create(c, c.delivery == JobConfig.Delivery.EXACTLY_ONCE, false);
                StreamingJobs.tokenizeAudio(env, c);
                return runForeground(env, name(c, "vqstream-tokenize-audio"));
            }
            if (input == null || output == null) {
                throw new ConfigException("give --input WAV_OR_DIR and --output CODES.jsonl (or Kafka flags)");
            }
            return new TokenizeAudioFiles(System.err).run(c, input, output, codebooksOut);
        }
    }

    /** Embedded-mode file options of quantize and learn. */
    static final class VectorFiles {
        @Option(names = "--input", paramLabel = "VECTORS", description = "Vectors as JSON lines (the Kafka JSON format) or an (N, D) .npy, instead of Kafka.")
        Path input;

        @Option(names = "--output", paramLabel = "CODES.jsonl", description = "Where to write the codes, one JSON object per line.")
        Path output;

        @Option(names = "--codebooks-out", paramLabel = "DIR", description = "Write each codebook version as DIR/<key>@<version>.safetensors.")
        Path codebooksOut;

        @Option(names = "--dead-letters", paramLabel = "FILE.jsonl", description = "Write the dead letters as JSON lines.")
        Path deadLetters;

        boolean given() {
            return input != null || output != null;
        }
    }

    @Command(name = "quantize", mixinStandardHelpOptions = true,
            description = "Kafka vectors to Kafka codes (plus codebook snapshots and dead letters), any quantizer from --config; "
                    + "or, embedded, --input VECTORS --output CODES.jsonl.")
    static final class Quantize implements Callable<Integer> {
        @Mixin
        JobOptions options;

        @Mixin
        VectorFiles files;

        @Override
        public Integer call() throws Exception {
            JobConfig c = options.resolve(null);
            return files.given() ? runFiles(c, files) : runQuantize(c, "vqstream-quantize");
        }
    }

    static int runFiles(JobConfig c, VectorFiles f) throws Exception {
        if (c.jobManager != null) {
            throw new ConfigException("--jobmanager submits the Kafka jobs; --input/--output run embedded");
        }
        if (f.input == null || f.output == null) {
            throw new ConfigException("give both --input and --output (or the Kafka flags)");
        }
        return new FileJobs(System.err).quantize(c, f.input, f.output, f.codebooksOut, f.deadLetters);
    }

    @Command(name = "learn", mixinStandardHelpOptions = true,
            description = "Online codebook adaptation: like quantize with learning on, publishing codebooks to a compacted topic.")
    static final class Learn implements Callable<Integer> {
        @Mixin
        JobOptions options;

        @Mixin
        VectorFiles files;

        @Override
        public Integer call() throws Exception {
            JobConfig c = options.resolve(null);
            c.learn = true;
            if (files.given()) {
                return runFiles(c, files);
            }
            if (c.codebookTopic == null) {
                c.codebookTopic = io.vqstream.jobs.config.KafkaOptions.LEARN_CODEBOOK_TOPIC;
            }
            return runQuantize(c, "vqstream-learn");
        }
    }

    static int runQuantize(JobConfig c, String defaultName) throws Exception {
        StreamingJobs.requireKafka(c, c.inputTopic, c.outputTopic);
        OperatorConfigs.quantize(c);
        StreamingJobs.prepareTopics(c, List.of(c.inputTopic, c.outputTopic, c.deadLetterTopic), listOf(c.codebookTopic, c.controlTopic));
        StreamExecutionEnvironment env = JobEnvironment.create(c, c.delivery == JobConfig.Delivery.EXACTLY_ONCE, false);
        StreamingJobs.quantize(env, c);
        return runForeground(env, name(c, defaultName));
    }

    @Command(name = "decode", mixinStandardHelpOptions = true,
            description = "Codes + codebook snapshots (Kafka topics) to vectors, each code decoded with the codebook version that "
                    + "produced it; or, embedded, --input CODES.jsonl --codebooks DIR --output VECTORS.jsonl.")
    static final class Decode implements Callable<Integer> {
        @Mixin
        JobOptions options;

        @Option(names = "--input", paramLabel = "CODES.jsonl", description = "Codes as JSON lines, instead of Kafka.")
        Path input;

        @Option(names = "--codebooks", paramLabel = "DIR", description = "Codebook snapshots as written by --codebooks-out.")
        Path codebooks;

        @Option(names = "--output", paramLabel = "VECTORS.jsonl")
        Path output;

        @Option(names = "--dead-letters", paramLabel = "FILE.jsonl")
        Path deadLetters;

        @Option(names = "--max-versions", description = "Codebook versions kept per key (default ${DEFAULT-VALUE}).", defaultValue = "64")
        int maxVersions;

        @Option(names = "--max-waiting", description = "Codes per key waiting for their codebook version (default ${DEFAULT-VALUE}).",
                defaultValue = "100000")
        int maxWaiting;

        @Override
        public Integer call() throws Exception {
            JobConfig c = options.resolve(JobConfig.defaults());
            if (input != null || output != null || codebooks != null) {
                if (input == null || output == null || codebooks == null) {
                    throw new ConfigException("give --input, --codebooks and --output (or the Kafka flags)");
                }
                return new FileJobs(System.err).decode(c, input, codebooks, output, deadLetters, maxVersions, maxWaiting);
            }
            StreamingJobs.requireKafka(c, c.inputTopic, c.outputTopic, c.codebookTopic);
            StreamingJobs.prepareTopics(c, List.of(c.inputTopic, c.outputTopic, c.deadLetterTopic), List.of(c.codebookTopic));
            StreamExecutionEnvironment env = JobEnvironment.create(c, c.delivery == JobConfig.Delivery.EXACTLY_ONCE, false);
            StreamingJobs.decode(env, c, maxVersions, maxWaiting);
            return runForeground(env, name(c, "vqstream-decode"));
        }
    }

    @Command(name = "savepoint", mixinStandardHelpOptions = true, description = "Write or read the per-key codebooks of a savepoint.",
            subcommands = {SavepointBootstrapCommand.class, SavepointExportCommand.class})
    static final class Savepoint implements Callable<Integer> {
        @Override
        public Integer call() {
            new CommandLine(this).usage(System.out);
            return 0;
        }
    }

    @Command(name = "bootstrap", mixinStandardHelpOptions = true,
            description = "A savepoint holding one codebook per key, from DIR/<key>.safetensors (state_dict names).")
    static final class SavepointBootstrapCommand implements Callable<Integer> {
        @Option(names = "--config", required = true, paramLabel = "FILE")
        Path config;

        @Option(names = "--codebooks", required = true, paramLabel = "DIR")
        Path codebooks;

        @Option(names = "--output", required = true, paramLabel = "SAVEPOINT_DIR")
        Path output;

        @Option(names = "--max-parallelism", defaultValue = "128", description = "Max parallelism of the job that will restore it (default ${DEFAULT-VALUE}).")
        int maxParallelism;

        @Override
        public Integer call() throws Exception {
            Quantizer q = JobConfig.load(config).createQuantizer();
            if (!java.nio.file.Files.isDirectory(codebooks)) {
                throw new ConfigException("--codebooks: not a directory: " + codebooks);
            }
            List<String> keys = SavepointBootstrap.bootstrap(q, codebooks, output, "vq-quantize", maxParallelism);
            System.out.println("wrote savepoint " + output.toAbsolutePath() + " with " + keys.size() + " keys: " + keys);
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = "Every key's codebook (and EMA buffers, version) of a savepoint as DIR/<key>.safetensors.")
    static final class SavepointExportCommand implements Callable<Integer> {
        @Option(names = "--config", required = true, paramLabel = "FILE")
        Path config;

        @Option(names = "--savepoint", required = true, paramLabel = "SAVEPOINT_DIR")
        Path savepoint;

        @Option(names = "--output", required = true, paramLabel = "DIR")
        Path output;

        @Override
        public Integer call() throws Exception {
            JobConfig c = JobConfig.load(config);
            Quantizer q = c.createQuantizer();
            if (!java.nio.file.Files.exists(savepoint.resolve("_metadata"))) {
                throw new ConfigException("--savepoint: " + savepoint + " holds no _metadata");
            }
            SavepointExport.Result r;
            try {
                r = c.codebookFile != null
                        ? SavepointExport.export(q, savepoint, output, "vq-quantize", CodebookFiles.load(q, c.codebookFile, c.seed))
                        : SavepointExport.export(q, savepoint, output, "vq-quantize");
            } catch (IllegalArgumentException e) {
                // a savepoint that is none, or state that does not fit the configuration: the user's input
                throw new ConfigException("--savepoint: " + e.getMessage(), e);
            }
            System.out.println("exported " + r.exported().size() + " keys to " + output.toAbsolutePath());
            if (!r.sharedDefault().isEmpty()) {
                System.out.println("keys on the shared default codebook (no own state; give codebook.file in the config to write them): "
                        + r.sharedDefault());
            }
            return 0;
        }
    }

    @Command(name = "conformance", mixinStandardHelpOptions = true,
            description = "Run every *.safetensors conformance case in DIR; prints failures and 'N passed, M failed'.")
    static final class Conformance implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "Directory of golden cases.")
        Path dir;

        @Option(names = "--backend", description = "Compute backend: jvm, jvm-scalar, nd4j, auto (default: auto).")
        String backend;

        @Override
        public Integer call() throws Exception {
            return ConformanceMain.run(dir, backend);
        }
    }

    /** Listed here so that --help names it; bin/vqstream runs it from the benchmark jar, which holds JMH and the peers' workloads. */
    @Command(name = "bench", description = "Benchmarks with the peers measured in the same run (see bin/vqstream bench --help and bench/README.md).")
    static final class Bench implements Callable<Integer> {
        @Parameters(arity = "0..*", hidden = true)
        List<String> args;

        @Override
        public Integer call() {
            System.err.println("vqstream bench: runs from the benchmark jar: bin/vqstream bench --help (see bench/README.md)");
            return 2;
        }
    }

    private static String name(JobConfig c, String def) {
        return c.jobName != null ? c.jobName : def;
    }

    private static List<String> listOf(String... topics) {
        java.util.List<String> l = new java.util.ArrayList<>();
        for (String t : topics) {
            if (t != null) {
                l.add(t);
            }
        }
        return l;
    }
}

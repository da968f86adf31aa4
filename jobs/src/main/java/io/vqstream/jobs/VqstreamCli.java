package io.vqstream.jobs;

import io.vqstream.core.conformance.ConformanceMain;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** The {@code bin/vqstream} command line. */
@Command(name = "vqstream", mixinStandardHelpOptions = true, version = "vqstream 0.1.0",
        description = "Vector quantizers as keyed, stateful Flink operators.",
        subcommands = {VqstreamCli.Demo.class, VqstreamCli.Conformance.class})
public final class VqstreamCli implements Callable<Integer> {

    public static void main(String[] args) {
        int code = new CommandLine(new VqstreamCli()).execute(args);
        System.exit(code);
    }

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }

    /** The README's main job: the bundled speech recording through a learning ResidualVQ. */
    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Tokenize the bundled speech recording on the embedded Flink mini-cluster and print a summary.")
    static final class Demo implements Callable<Integer> {
        @CommandLine.Option(names = "--config", description = "YAML config to use instead of the built-in demo config.")
        Path config;

        @CommandLine.Option(names = "--input", description = "A WAV file to tokenize instead of the bundled recording.")
        Path input;

        @CommandLine.Option(names = "--no-progress", description = "Do not draw the progress bar.")
        boolean noProgress;

        @Override
        public Integer call() throws Exception {
            io.vqstream.jobs.config.JobConfig c = config != null ? io.vqstream.jobs.config.JobConfig.load(config) : DemoCommand.defaultConfig();
            DemoCommand demo = new DemoCommand(System.out, System.err);
            Path wav = input != null ? input : DemoCommand.bundledRecording();
            demo.print(demo.run(c, wav, !noProgress), c);
            return 0;
        }
    }

    /** Runs the conformance cases of a directory against this build. */
    @Command(name = "conformance", mixinStandardHelpOptions = true,
            description = "Run every *.safetensors conformance case in DIR; prints failures and 'N passed, M failed'.")
    static final class Conformance implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "Directory of golden cases.")
        Path dir;

        @CommandLine.Option(names = "--backend", description = "Compute backend: jvm, jvm-scalar, nd4j, auto (default: auto).")
        String backend;

        @Override
        public Integer call() throws Exception {
            return ConformanceMain.run(dir, backend);
        }
    }
}

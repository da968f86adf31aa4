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
        subcommands = {VqstreamCli.Conformance.class})
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

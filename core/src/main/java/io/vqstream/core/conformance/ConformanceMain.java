package io.vqstream.core.conformance;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.backend.Backends;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code ConformanceMain DIR [BACKEND]}: runs every case in DIR, prints one line per failing
 * case and {@code N passed, M failed}; exit code 0 only if nothing failed and something passed.
 */
@Internal
public final class ConformanceMain {
    private ConformanceMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: conformance DIR [jvm|jvm-scalar|nd4j]");
            System.exit(2);
        }
        System.exit(run(Path.of(args[0]), args.length > 1 ? args[1] : null));
    }

    /** Runs the suite and returns the process exit code. */
    public static int run(Path dir, String backend) throws Exception {
        if (!Files.isDirectory(dir)) {
            System.err.println("conformance: not a directory: " + dir);
            return 2;
        }
        ConformanceRunner runner = new ConformanceRunner(backend == null ? Backends.getDefault() : Backends.byName(backend));
        return runner.runDirectory(dir, System.out).ok() ? 0 : 1;
    }
}

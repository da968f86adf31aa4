package io.vqstream.bench.e2e;

import io.vqstream.operators.CodebookScope;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * The option types of the end-to-end ops: integers written with underscores ({@code 200_000}),
 * durations as the YAML writes them ({@code 50ms}, {@code 1s}, {@code 2min}), values from a fixed
 * set, and the options every job op takes. A bad value fails while parsing, before any job
 * starts, with a message naming the option.
 */
public final class E2eOptions {
    /** The help footer of every end-to-end op. */
    static final String FOOTER = "%nOne JSON line per result on stdout, progress on stderr; what is measured: bench/README.md, section \"End-to-end\".";

    private E2eOptions() {}

    /** The base of each end-to-end command: quiet logs, then the op; the caller exits the JVM (Flink's threads are not daemons). */
    abstract static class Op implements Callable<Integer> {
        @Override
        public final Integer call() throws Exception {
            E2e.quietLogs();
            int code = run();
            System.out.flush();
            return code;
        }

        abstract int run() throws Exception;
    }

    /** {@code --backend} and {@code --seed}, taken by every op that runs a quantizer. */
    static final class Job {
        @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto", description = "Compute backend: jvm, nd4j, auto or jvm-scalar (default ${DEFAULT-VALUE}).")
        String backend;

        @Option(names = "--seed", paramLabel = "SEED", defaultValue = "7", description = "Seed of the generated vectors and the codebooks (default ${DEFAULT-VALUE}).")
        long seed;
    }

    /** The stream's shape: {@code --keys}, {@code --dim}, {@code --codebook-size}. */
    static final class Shape {
        @Option(names = "--keys", paramLabel = "KEYS", defaultValue = "1000", description = "Keys, round-robin (default ${DEFAULT-VALUE}).")
        int keys;

        @Option(names = "--dim", paramLabel = "D", defaultValue = "128", description = "Vector dimension (default ${DEFAULT-VALUE}).")
        int dim;

        @Option(names = "--codebook-size", paramLabel = "K", defaultValue = "1024", description = "Codes per codebook (default ${DEFAULT-VALUE}).")
        int codebookSize;
    }

    /** {@code --quantizer} and {@code --quantizers}. */
    static final class Quantizer {
        @Option(names = "--quantizer", paramLabel = "TYPE", defaultValue = "VectorQuantize", description = "Quantizer type (default ${DEFAULT-VALUE}).")
        String type;

        @Option(names = "--quantizers", paramLabel = "Q", description = "num_quantizers of a residual quantizer (default: the quantizer's own).")
        Integer quantizers;
    }

    /** A duration as typed ({@code text}, as it goes into configs and JSON lines) and its value. */
    public record DurationArg(String text, Duration value) {
        @Override
        public String toString() {
            return text;
        }
    }

    /** 50ms, 2s, 1min (as the YAML durations). */
    public static DurationArg duration(String s) {
        String t = s.trim();
        try {
            if (t.endsWith("ms")) {
                return new DurationArg(t, Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2))));
            } else if (t.endsWith("min")) {
                return new DurationArg(t, Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 3))));
            } else if (t.endsWith("s")) {
                return new DurationArg(t, Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1))));
            }
        } catch (NumberFormatException e) {
            // fall through to the conversion error
        }
        throw new TypeConversionException("a duration must look like 20ms, 1s or 2min, got '" + s + "'");
    }

    /** Registers the converters of the types above (and of integers with underscores) on a command line and its subcommands. */
    public static CommandLine registerConverters(CommandLine cl) {
        ITypeConverter<Integer> ints = s -> {
            try {
                return Integer.valueOf(s.trim().replace("_", ""));
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + s + "' is not an integer");
            }
        };
        ITypeConverter<Long> longs = s -> {
            try {
                return Long.valueOf(s.trim().replace("_", ""));
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + s + "' is not an integer");
            }
        };
        return cl.registerConverter(Integer.class, ints).registerConverter(int.class, ints)
                .registerConverter(Long.class, longs).registerConverter(long.class, longs)
                .registerConverter(DurationArg.class, E2eOptions::duration)
                .registerConverter(CodebookScope.class, E2eOptions::scope);
    }

    static CodebookScope scope(String s) {
        try {
            return CodebookScope.byName(s.trim().toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException("'" + s + "' is not key or shared");
        }
    }

    /** A value from a fixed set, for {@code converter =} (and, with {@code split = ","}, each element of a list). */
    abstract static class OneOf implements ITypeConverter<String> {
        private final List<String> values;

        OneOf(String... values) {
            this.values = List.of(values);
        }

        @Override
        public String convert(String s) {
            String t = s.trim();
            if (!values.contains(t)) {
                throw new TypeConversionException("'" + s + "' is not one of " + String.join(", ", values));
            }
            return t;
        }
    }

    static final class Deliveries extends OneOf {
        Deliveries() {
            super("at-least-once", "exactly-once");
        }
    }

    static final class Formats extends OneOf {
        Formats() {
            super("json", "binary");
        }
    }

    static final class CodebookSources extends OneOf {
        CodebookSources() {
            super("file", "init");
        }
    }

    static final class DemoModes extends OneOf {
        DemoModes() {
            super("in-process", "fresh-jvm");
        }
    }
}

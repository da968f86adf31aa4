package io.vqstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.bench.e2e.E2eOptions.DurationArg;
import io.vqstream.operators.CodebookScope;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** The options of the end-to-end ops: names, defaults, typed values and usage errors, parsed without running any op. */
class EndToEndOptionsTest {
    /** Every op's option names, as bench/README.md and earlier runs use them. */
    static final Map<String, Set<String>> OPTIONS = Map.of(
            "operator", Set.of("quantizer", "dim", "codebook-size", "quantizers", "learn", "batch", "keys", "parallelism", "records", "reps",
                    "backend", "seed", "publish-every", "warmup-records", "scope", "codebook-sink"),
            "kafka-quantize", Set.of("vectors", "keys", "dim", "codebook-size", "delivery", "reps", "batch", "max-delay", "parallelism",
                    "backend", "seed", "checkpoint-interval", "learn", "timeout", "scope", "format", "exactly-once", "codebook", "peer", "rate", "publish-every",
                    "kafka-property", "warmup-vectors"),
            "demo", Set.of("reps", "mode"),
            "soak", Set.of("minutes", "rate", "keys", "dim", "codebook-size", "quantizer", "quantizers", "batch", "max-delay", "backend", "seed",
                    "checkpoint-interval", "report-every", "warmup-seconds", "parallelism", "learn", "publish-every"),
            "audio-streams", Set.of("streams", "seconds", "batch", "max-delay", "checkpoint-interval", "backend", "seed", "p99-limit-ms",
                    "parallelism"));

    /** Parses {@code op args} as bin/vqstream bench does and returns the op's parsed model (nothing runs). */
    private static CommandSpec parse(String op, String... args) {
        CommandLine bench = BenchCli.commandLine();
        String[] all = new String[args.length + 1];
        all[0] = op;
        System.arraycopy(args, 0, all, 1, args.length);
        bench.parseArgs(all);
        return bench.getSubcommands().get(op).getCommandSpec();
    }

    private static Object value(CommandSpec spec, String option) {
        OptionSpec o = spec.findOption(option);
        assertTrue(o != null, option + " of " + spec.name());
        return o.getValue();
    }

    @Test
    void everyOpKeepsItsOptionNamesAndDescribesEachWithItsDefault() {
        for (Map.Entry<String, Set<String>> op : OPTIONS.entrySet()) {
            CommandSpec spec = parse(op.getKey());
            Set<String> names = spec.options().stream().map(OptionSpec::longestName).filter(n -> !n.equals("--help") && !n.equals("--version"))
                    .map(n -> n.substring(2)).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(new TreeSet<>(op.getValue()), names, op.getKey());
            String help = spec.commandLine().getUsageMessage(CommandLine.Help.Ansi.OFF);
            for (OptionSpec o : spec.options()) {
                if (o.usageHelp() || o.versionHelp()) {
                    continue;
                }
                String description = String.join(" ", o.description());
                assertTrue(description.contains("default"), o.longestName() + " of " + op.getKey() + ": " + description);
                assertTrue(help.contains(o.longestName()), o.longestName() + " in:\n" + help);
                if (o.defaultValue() != null) {
                    // picocli wraps long lines (also after a comma of a list)
                    assertTrue(help.replaceAll("\\s+", "").contains("(default" + o.defaultValue() + ")"),
                            o.longestName() + " default " + o.defaultValue() + " in:\n" + help);
                }
            }
        }
    }

    @Test
    void defaultsAreTodays() {
        CommandSpec operator = parse("operator");
        assertEquals("VectorQuantize", value(operator, "--quantizer"));
        assertEquals(List.of(false, true), value(operator, "--learn"));
        assertEquals(List.of(1, 16, 256), value(operator, "--batch"));
        assertEquals(List.of(1, 2), value(operator, "--parallelism"));
        assertEquals(100_000L, value(operator, "--warmup-records"));
        assertEquals(CodebookScope.KEY, value(operator, "--scope"));
        assertNull(value(operator, "--records"));
        assertNull(value(operator, "--quantizers"));
        assertEquals("auto", value(operator, "--backend"));
        assertEquals(7L, value(operator, "--seed"));
        assertEquals(false, value(operator, "--codebook-sink"), "no reader of the codebooks, as a job without a codebook topic");
        assertEquals(true, value(parse("operator", "--codebook-sink"), "--codebook-sink"));
        assertEquals(false, value(parse("operator", "--codebook-sink", "false"), "--codebook-sink"));

        CommandSpec kafka = parse("kafka-quantize");
        assertEquals(200_000L, value(kafka, "--vectors"));
        assertEquals(List.of("at-least-once", "exactly-once"), value(kafka, "--delivery"));
        assertEquals(Duration.ofMillis(50), ((DurationArg) value(kafka, "--max-delay")).value());
        assertEquals(List.of(1), value(kafka, "--parallelism"));
        assertNull(value(kafka, "--checkpoint-interval"));
        assertEquals(false, value(kafka, "--exactly-once"));
        assertEquals(true, value(kafka, "--peer"));
        assertEquals("file", value(kafka, "--codebook"));
        assertEquals(900L, value(kafka, "--timeout"));
        assertEquals(Map.of(), value(kafka, "--kafka-property"));
        assertEquals(600_000L, value(kafka, "--warmup-vectors"));

        CommandSpec demo = parse("demo");
        assertEquals(5, value(demo, "--reps"));
        assertEquals(List.of("in-process", "fresh-jvm"), value(demo, "--mode"));

        CommandSpec soak = parse("soak");
        assertEquals(10.0, value(soak, "--minutes"));
        assertEquals(10_000L, value(soak, "--checkpoint-interval"));
        assertEquals(true, value(soak, "--learn"));
        assertEquals(0, value(soak, "--publish-every"));

        CommandSpec audio = parse("audio-streams");
        assertEquals(List.of(100, 200, 300, 400), value(audio, "--streams"));
        assertEquals("1s", value(audio, "--checkpoint-interval").toString());
        assertEquals(Duration.ofMillis(20), ((DurationArg) value(audio, "--max-delay")).value());
        assertEquals(200.0, value(audio, "--p99-limit-ms"));
    }

    @Test
    void givenValuesAreTypedAndReplaceTheDefaults() {
        CommandSpec kafka = parse("kafka-quantize", "--vectors", "1_000_000", "--delivery", "exactly-once", "--max-delay=10s", "--peer", "false",
                "--exactly-once", "--scope", "shared", "--parallelism", "1,2", "--checkpoint-interval", "2min");
        assertEquals(1_000_000L, value(kafka, "--vectors"));
        assertEquals(List.of("exactly-once"), value(kafka, "--delivery"));
        assertEquals(Duration.ofSeconds(10), ((DurationArg) value(kafka, "--max-delay")).value());
        assertEquals("10s", value(kafka, "--max-delay").toString());
        assertEquals(false, value(kafka, "--peer"));
        assertEquals(true, value(kafka, "--exactly-once"));
        assertEquals(CodebookScope.SHARED, value(kafka, "--scope"));
        assertEquals(List.of(1, 2), value(kafka, "--parallelism"));
        assertEquals(Duration.ofMinutes(2), ((DurationArg) value(kafka, "--checkpoint-interval")).value());
        assertEquals(0L, value(parse("kafka-quantize", "--warmup-vectors", "0"), "--warmup-vectors"));
        assertEquals(Map.of("linger.ms", "20", "batch.size", "262144"), value(parse("kafka-quantize", "--kafka-property", "linger.ms=20",
                "--kafka-property", "batch.size=262144"), "--kafka-property"));

        assertEquals(List.of(100, 250), value(parse("audio-streams", "--streams", "100,250"), "--streams"));
        CommandSpec operator = parse("operator", "--learn", "true", "--batch", "16", "--keys=10", "--quantizers", "4", "--records", "2_000");
        assertEquals(List.of(true), value(operator, "--learn"));
        assertEquals(List.of(16), value(operator, "--batch"));
        assertEquals(10, value(operator, "--keys"));
        assertEquals(4, value(operator, "--quantizers"));
        assertEquals(2_000L, value(operator, "--records"));
        assertEquals(false, value(parse("soak", "--learn", "false"), "--learn"));
        assertEquals(List.of("fresh-jvm"), value(parse("demo", "--mode", "fresh-jvm"), "--mode"));
    }

    @Test
    void aBadValueIsAOneLineUsageErrorNamingTheOption() {
        String[][] cases = {
            {"--delivery", "kafka-quantize", "--delivery", "at-least-once,at-most-once"},
            {"--format", "kafka-quantize", "--format", "avro"},
            {"--scope", "kafka-quantize", "--scope", "global"},
            {"--vectors", "kafka-quantize", "--vectors", "lots"},
            {"--batch", "operator", "--batch", "1,x"},
            {"--learn", "operator", "--learn", "maybe"},
            {"--keys", "operator", "--keys"},
            {"--mode", "demo", "--mode", "warm"},
            {"--max-delay", "soak", "--max-delay", "50"},
            {"--minutes", "soak", "--minutes", "ten"},
            {"--nope", "soak", "--nope", "1"},
            {"--checkpoint-interval", "audio-streams", "--checkpoint-interval", "1h"},
            {"--streams", "audio-streams", "--streams", "100,x"},
        };
        for (String[] c : cases) {
            String[] args = java.util.Arrays.copyOfRange(c, 1, c.length);
            BenchCliTest.Result r = BenchCliTest.run(args);
            assertEquals(2, r.exit(), String.join(" ", args) + ": " + r);
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith("vqstream bench " + c[1] + ": ") && r.err().contains(c[0]), String.join(" ", args) + ": " + r.err());
            assertEquals("", r.out(), r.toString());
        }
    }

    @Test
    void theCommandLinesOfTheDocsStillParse() {
        String[] documented = {
            "audio-streams --streams 100,200,300,400 --seconds 20",
            "audio-streams --streams 100,250 --seconds 8",
            "demo --reps 3",
            "kafka-quantize --scope shared --delivery at-least-once,exactly-once",
            "kafka-quantize --scope shared --vectors 100000 --reps 1 --codebook file",
            "operator --scope shared --learn false --batch 256 --records 300000",
            "soak --minutes 10 --max-delay 1s",
            "soak --minutes 10 --warmup-seconds 120 --max-delay 1s --backend nd4j --rate 300",
        };
        for (String line : documented) {
            String[] words = line.split(" ");
            CommandSpec spec = parse(words[0], java.util.Arrays.copyOfRange(words, 1, words.length));
            assertEquals(words[0], spec.name(), line);
        }
    }
}

package io.vqstream.bench.e2e;

import io.vqstream.bench.report.JsonLine;
import java.util.ArrayList;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;

/**
 * The end-to-end ops of {@code bin/vqstream bench}: whole Flink jobs on an in-process
 * mini-cluster, and the Kafka pipelines against a one-node broker on 127.0.0.1.
 *
 * <ul>
 *   <li>{@code operator}: records/s through the keyed quantize operator ({@link OperatorBench});</li>
 *   <li>{@code kafka-quantize}: vectors/s of the {@code quantize} command, Kafka to Kafka ({@link KafkaQuantizeBench});</li>
 *   <li>{@code demo}: wall time and frames/s of {@code bin/vqstream demo} ({@link DemoBench});</li>
 *   <li>{@code audio-streams}: EnCodec-shaped streams per core in real time, shared frozen RVQ ({@link AudioStreamsBench});</li>
 *   <li>{@code soak}: the {@code quantize} command with learning and checkpoints for minutes, with
 *       throughput, checkpoint and memory reports every 30 s ({@link SoakBench}).</li>
 * </ul>
 * Every op prints JSON lines on stdout; logs (warnings, and vqstream's own INFO lines) go to stderr.
 */
public final class E2e {
    /** The ops handled here; the bench command line hands them over with their options unparsed. */
    public static final List<String> OPS = List.of("operator", "kafka-quantize", "demo", "soak", "audio-streams");

    private E2e() {}

    public static boolean handles(String op) {
        return OPS.contains(op.toLowerCase(Locale.ROOT));
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !handles(args[0])) {
            System.err.println("usage: bench <" + String.join("|", OPS) + "> [options]");
            System.exit(2);
        }
        run(args[0].toLowerCase(Locale.ROOT), Arrays.copyOfRange(args, 1, args.length));
    }

    public static void run(String op, String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            System.out.println(usage(op));
            return;
        }
        quietLogs();
        int code;
        try {
            code = switch (op) {
                case "operator" -> OperatorBench.run(Opts.parse(op, args, OperatorBench.OPTIONS));
                case "kafka-quantize" -> KafkaQuantizeBench.run(Opts.parse(op, args, KafkaQuantizeBench.OPTIONS));
                case "demo" -> DemoBench.run(Opts.parse(op, args, DemoBench.OPTIONS));
                case "soak" -> SoakBench.run(Opts.parse(op, args, SoakBench.OPTIONS));
                case "audio-streams" -> AudioStreamsBench.run(Opts.parse(op, args, AudioStreamsBench.OPTIONS));
                default -> throw new Opts.UsageException("unknown op " + op);
            };
        } catch (Opts.UsageException e) {
            System.err.println("vqstream bench " + op + ": " + e.getMessage());
            code = 2;
        }
        System.out.flush();
        // Flink's and Kafka's non-daemon threads would keep the JVM alive after the last job
        System.exit(code);
    }

    /** The options an end-to-end op takes (each {@code --name VALUE}); what they mean and their defaults are in bench/README.md. */
    static String usage(String op) {
        java.util.Set<String> options = switch (op) {
            case "operator" -> OperatorBench.OPTIONS;
            case "kafka-quantize" -> KafkaQuantizeBench.OPTIONS;
            case "demo" -> DemoBench.OPTIONS;
            case "soak" -> SoakBench.OPTIONS;
            case "audio-streams" -> AudioStreamsBench.OPTIONS;
            default -> java.util.Set.of();
        };
        StringBuilder b = new StringBuilder("usage: vqstream bench " + op);
        for (String o : new java.util.TreeSet<>(options)) {
            b.append(" [--").append(o).append(" VALUE]");
        }
        return b.append("\nOne JSON line per result on stdout, progress on stderr; the options, their defaults and what is measured:"
                + " bench/README.md, section \"End-to-end\".").toString();
    }

    /** Warnings only from Flink and Kafka (their INFO lines run to thousands per job); vqstream's own INFO stays. */
    static void quietLogs() {
        Configurator.setRootLevel(Level.WARN);
        Configurator.setLevel("io.vqstream", Level.INFO);
        // the Kafka sink's writer and committer register metrics under the same names (warned at every checkpoint)
        Configurator.setLevel("org.apache.flink.metrics", Level.ERROR);
        Configurator.setLevel("org.apache.flink.streaming.api.operators.collect", Level.ERROR);
        // a mini-cluster has no log file and no delegation tokens: two warnings per job that say only that
        Configurator.setLevel("org.apache.flink.runtime.webmonitor.WebMonitorUtils", Level.ERROR);
        Configurator.setLevel("org.apache.flink.runtime.security.token.DefaultDelegationTokenManager", Level.ERROR);
    }

    static void print(Map<String, Object> json) {
        JsonLine.print(json);
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        if (n == 0) {
            return Double.NaN;
        }
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** The 1-minute load average, as {@code uptime} shows it (NaN where unavailable). */
    /** 50ms, 2s, 1min (as the YAML durations). */
    static Duration duration(String s) {
        String t = s.trim();
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            } else if (t.endsWith("min")) {
                return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 3)));
            } else if (t.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
            }
        } catch (NumberFormatException e) {
            // fall through to the usage error
        }
        throw new Opts.UsageException("a duration must look like 20ms, 1s or 2min, got " + s);
    }

    static double loadAverage() {
        return round(java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), 2);
    }

    /** {@code --name value} / {@code --name=value} options, each checked against the op's list. */
    static final class Opts {
        private final Map<String, String> values;

        private Opts(Map<String, String> values) {
            this.values = values;
        }

        static final class UsageException extends RuntimeException {
            UsageException(String message) {
                super(message);
            }
        }

        /** {@code --name value} and {@code --name=value}, each checked against {@code known}. */
        static Opts parse(String op, String[] args, Set<String> known) {
            Map<String, String> o = new java.util.LinkedHashMap<>();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (!a.startsWith("--")) {
                    throw new UsageException("unexpected argument " + a);
                }
                String key = a.substring(2);
                String value;
                int eq = key.indexOf('=');
                if (eq >= 0) {
                    value = key.substring(eq + 1);
                    key = key.substring(0, eq);
                } else {
                    if (i + 1 >= args.length) {
                        throw new UsageException("missing value for " + a);
                    }
                    value = args[++i];
                }
                if (!known.contains(key)) {
                    throw new UsageException("unknown option --" + key + " (known: --" + String.join(", --", known.stream().sorted().toList()) + ")");
                }
                o.put(key, value);
            }
            return new Opts(o);
        }

        String str(String key, String def) {
            return values.getOrDefault(key, def);
        }

        int integer(String key, int def) {
            String v = values.get(key);
            try {
                return v == null ? def : Integer.parseInt(v.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new UsageException("--" + key + " must be an integer, got " + v);
            }
        }

        long longValue(String key, long def) {
            String v = values.get(key);
            try {
                return v == null ? def : Long.parseLong(v.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new UsageException("--" + key + " must be an integer, got " + v);
            }
        }

        double dbl(String key, double def) {
            String v = values.get(key);
            try {
                return v == null ? def : Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new UsageException("--" + key + " must be a number, got " + v);
            }
        }

        List<Integer> ints(String key, String def) {
            List<Integer> out = new ArrayList<>();
            for (String s : str(key, def).split(",")) {
                try {
                    out.add(Integer.parseInt(s.trim().replace("_", "")));
                } catch (NumberFormatException e) {
                    throw new UsageException("--" + key + " must be a comma-separated list of integers, got " + str(key, def));
                }
            }
            return out;
        }

        List<String> strings(String key, String def) {
            List<String> out = new ArrayList<>();
            for (String s : str(key, def).split(",")) {
                if (!s.isBlank()) {
                    out.add(s.trim());
                }
            }
            return out;
        }

        boolean has(String key) {
            return values.containsKey(key);
        }
    }
}

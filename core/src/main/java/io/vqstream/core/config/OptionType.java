package io.vqstream.core.config;

import org.apache.flink.annotation.PublicEvolving;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a configuration value of one type is read from a parsed YAML value (a {@code Number},
 * {@code String}, {@code Boolean}, {@code Map} or {@code List}) or from a command-line flag's
 * text, and how it is written in the table of keys. Errors say {@code <subject> must be <type>}.
 *
 * @param <T> the Java type of the value
 */
@PublicEvolving
public abstract class OptionType<T> {
    private static final Pattern DURATION_TEXT = Pattern.compile("^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|min|m|h)?\\s*$");

    private final String name;

    OptionType(String name) {
        this.name = name;
    }

    /** The type's name in the table of keys, e.g. {@code integer}, {@code duration}. */
    public String name() {
        return name;
    }

    /** The value of a YAML node; {@code subject} names the key in the error. */
    public abstract T fromYaml(Object raw, String subject);

    /** The value of a command-line flag's text. */
    public T fromText(String text, String subject) {
        return fromYaml(text, subject);
    }

    /** The value as a user writes it (the table's default column). */
    public String format(T value) {
        return String.valueOf(value);
    }

    /** A value as the error messages show it: strings quoted. */
    public static String shown(Object v) {
        return v instanceof String s ? "'" + s + "'" : String.valueOf(v);
    }

    static OptionValueException wrong(String subject, String what, Object raw) {
        return new OptionValueException(subject, subject + " must be " + what + ", got " + shown(raw));
    }

    /** A 32-bit integer. */
    public static final OptionType<Integer> INT = new OptionType<>("integer") {
        @Override
        public Integer fromYaml(Object v, String subject) {
            if (v instanceof Integer || v instanceof Long) {
                long l = ((Number) v).longValue();
                if (l == (int) l) {
                    return (int) l;
                }
            }
            throw wrong(subject, "an integer", v);
        }

        @Override
        public Integer fromText(String text, String subject) {
            try {
                return Integer.parseInt(text.trim());
            } catch (NumberFormatException e) {
                throw wrong(subject, "an integer", text);
            }
        }
    };

    /** A 64-bit integer. */
    public static final OptionType<Long> LONG = new OptionType<>("integer (64-bit)") {
        @Override
        public Long fromYaml(Object v, String subject) {
            if (v instanceof Integer || v instanceof Long) {
                return ((Number) v).longValue();
            }
            throw wrong(subject, "an integer", v);
        }

        @Override
        public Long fromText(String text, String subject) {
            try {
                return Long.parseLong(text.trim());
            } catch (NumberFormatException e) {
                throw wrong(subject, "an integer", text);
            }
        }
    };

    /** A real number ({@code .nan} and {@code .inf} parse; the option's checks decide). */
    public static final OptionType<Double> DOUBLE = new OptionType<>("number") {
        @Override
        public Double fromYaml(Object v, String subject) {
            if (v instanceof Number n) {
                return n.doubleValue();
            }
            throw wrong(subject, "a number", v);
        }

        @Override
        public Double fromText(String text, String subject) {
            try {
                return Double.parseDouble(text.trim());
            } catch (NumberFormatException e) {
                throw wrong(subject, "a number", text);
            }
        }

        @Override
        public String format(Double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf(d.longValue()) : String.valueOf(d);
        }
    };

    /** {@code true} or {@code false}. */
    public static final OptionType<Boolean> BOOLEAN = new OptionType<>("boolean") {
        @Override
        public Boolean fromYaml(Object v, String subject) {
            if (v instanceof Boolean b) {
                return b;
            }
            throw wrong(subject, "true or false", v);
        }

        @Override
        public Boolean fromText(String text, String subject) {
            return switch (text.trim().toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw wrong(subject, "true or false", text);
            };
        }
    };

    /** Text; a YAML number or boolean is taken as written (a topic named {@code 2024}). */
    public static final OptionType<String> STRING = new OptionType<>("string") {
        @Override
        public String fromYaml(Object v, String subject) {
            if (v instanceof String || v instanceof Number || v instanceof Boolean) {
                return String.valueOf(v);
            }
            throw wrong(subject, "a string", v);
        }
    };

    /**
     * A duration: a whole number of milliseconds, or text such as {@code 50ms}, {@code 1.5s},
     * {@code 2min}, {@code 2m}, {@code 1h}; {@code none} and {@code off} are zero.
     */
    public static final OptionType<Duration> DURATION = new OptionType<>("duration") {
        @Override
        public Duration fromYaml(Object v, String subject) {
            if (v instanceof Integer || v instanceof Long) {
                return Duration.ofMillis(((Number) v).longValue());
            }
            if (v instanceof String s) {
                if (s.equalsIgnoreCase("none") || s.equalsIgnoreCase("off")) {
                    return Duration.ZERO;
                }
                Matcher m = DURATION_TEXT.matcher(s.toLowerCase(Locale.ROOT));
                if (m.matches()) {
                    double amount = Double.parseDouble(m.group(1));
                    String unit = m.group(2) == null ? "ms" : m.group(2);
                    double ms = switch (unit) {
                        case "ms" -> amount;
                        case "s" -> amount * 1000;
                        case "m", "min" -> amount * 60_000;
                        case "h" -> amount * 3_600_000;
                        default -> throw new IllegalStateException(unit);
                    };
                    return Duration.ofMillis(Math.round(ms));
                }
                if (s.trim().matches("-\\d+")) {
                    // a negative number of milliseconds from a flag: a value for the option's bound to refuse
                    return Duration.ofMillis(Long.parseLong(s.trim()));
                }
            }
            throw wrong(subject, "a duration like 50ms, 10s or 2min", v);
        }

        @Override
        public String format(Duration d) {
            long ms = d.toMillis();
            if (ms != 0 && ms % 60_000 == 0) {
                return ms / 60_000 + "min";
            }
            return ms != 0 && ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
        }
    };

    /** A file or folder; {@code file:} URIs (as Flink prints savepoint paths) are taken as paths. */
    public static final OptionType<Path> PATH = new OptionType<>("path") {
        @Override
        public Path fromYaml(Object v, String subject) {
            String s = STRING.fromYaml(v, subject);
            try {
                return s.startsWith("file:") ? Path.of(java.net.URI.create(s.replaceFirst("^file:/+", "file:///"))) : Path.of(s);
            } catch (IllegalArgumentException e) {
                throw wrong(subject, "a path", v);
            }
        }
    };

    /** A mapping of names to values, each value taken as text (client properties handed on as they are). */
    public static final OptionType<Map<String, String>> STRING_MAP = new OptionType<>("mapping") {
        @Override
        public Map<String, String> fromYaml(Object v, String subject) {
            if (!(v instanceof Map<?, ?> m)) {
                throw wrong(subject, "a mapping", v);
            }
            Map<String, String> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), String.valueOf(x)));
            return out;
        }

        @Override
        public Map<String, String> fromText(String text, String subject) {
            throw new OptionValueException(subject, subject + " cannot be given as text");
        }

        @Override
        public String format(Map<String, String> m) {
            return m.isEmpty() ? "{}" : m.toString();
        }
    };

    /** One of an enum's constants, written in lower case with dashes ({@code at-least-once}), any case accepted. */
    public static <E extends Enum<E>> OptionType<E> enumType(Class<E> type) {
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(name(e));
        }
        return new OptionType<>(String.join(" | ", names)) {
            @Override
            public E fromYaml(Object v, String subject) {
                String s = STRING.fromYaml(v, subject);
                String norm = s.trim().toUpperCase(Locale.ROOT).replace('-', '_');
                for (E e : type.getEnumConstants()) {
                    if (e.name().equals(norm)) {
                        return e;
                    }
                }
                throw new OptionValueException(subject, subject + " must be one of " + String.join(", ", names) + ", got '" + s + "'");
            }

            @Override
            public String format(E e) {
                return name(e);
            }
        };
    }

    /** An enum constant as a configuration file writes it: lower case, dashes. */
    public static String name(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}

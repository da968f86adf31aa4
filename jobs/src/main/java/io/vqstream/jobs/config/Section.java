package io.vqstream.jobs.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One mapping of the YAML configuration, read key by key. Every key read is remembered, so
 * {@link #rejectUnknown()} names any key nobody understood (a typo must not pass silently).
 */
final class Section {
    private static final Pattern DURATION = Pattern.compile("^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|min|m|h)?\\s*$");

    private final String path;
    private final Map<String, Object> values;
    private final Set<String> read = new HashSet<>();

    Section(String path, Map<?, ?> values) {
        this.path = path;
        this.values = new LinkedHashMap<>();
        if (values != null) {
            values.forEach((k, v) -> this.values.put(String.valueOf(k), v));
        }
    }

    private String where(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        return values.containsKey(key);
    }

    Object raw(String key) {
        read.add(key);
        return values.get(key);
    }

    Section section(String key) {
        Object v = raw(key);
        if (v == null) {
            return new Section(where(key), Map.of());
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw new ConfigException("config key '" + where(key) + "' must be a mapping, got " + describe(v));
        }
        return new Section(where(key), m);
    }

    String string(String key, String def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof String || v instanceof Number || v instanceof Boolean) {
            return String.valueOf(v);
        }
        throw new ConfigException("config key '" + where(key) + "' must be a string, got " + describe(v));
    }

    int integer(String key, int def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Integer || v instanceof Long) {
            long l = ((Number) v).longValue();
            if (l == (int) l) {
                return (int) l;
            }
        }
        throw new ConfigException("config key '" + where(key) + "' must be an integer, got " + describe(v));
    }

    long longValue(String key, long def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Integer || v instanceof Long) {
            return ((Number) v).longValue();
        }
        throw new ConfigException("config key '" + where(key) + "' must be an integer, got " + describe(v));
    }

    double number(String key, double def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw new ConfigException("config key '" + where(key) + "' must be a number, got " + describe(v));
    }

    boolean bool(String key, boolean def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw new ConfigException("config key '" + where(key) + "' must be true or false, got " + describe(v));
    }

    /** A duration: a number of milliseconds, or a string such as {@code 50ms}, {@code 10s}, {@code 2min}; null if absent. */
    Duration duration(String key, Duration def) {
        Object v = raw(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Integer || v instanceof Long) {
            return Duration.ofMillis(((Number) v).longValue());
        }
        if (v instanceof String s) {
            if (s.equalsIgnoreCase("none") || s.equalsIgnoreCase("off")) {
                return Duration.ZERO;
            }
            Matcher m = DURATION.matcher(s.toLowerCase(Locale.ROOT));
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
        }
        throw new ConfigException("config key '" + where(key) + "' must be a duration like 50ms, 10s or 2min, got " + describe(v));
    }

    <E extends Enum<E>> E choice(String key, Class<E> type, E def) {
        String s = string(key, null);
        if (s == null) {
            return def;
        }
        String norm = s.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(norm)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        throw new ConfigException("config key '" + where(key) + "' must be one of " + String.join(", ", names) + ", got '" + s + "'");
    }

    /** All key/values of this mapping (all marked read), e.g. the quantizer's constructor arguments. */
    Map<String, Object> all() {
        read.addAll(values.keySet());
        return new LinkedHashMap<>(values);
    }

    void rejectUnknown() {
        List<String> unknown = new ArrayList<>();
        for (String k : values.keySet()) {
            if (!read.contains(k)) {
                unknown.add(where(k));
            }
        }
        if (!unknown.isEmpty()) {
            throw new ConfigException("unknown config key" + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown));
        }
    }

    private static String describe(Object v) {
        return v instanceof String s ? "'" + s + "'" : String.valueOf(v);
    }
}

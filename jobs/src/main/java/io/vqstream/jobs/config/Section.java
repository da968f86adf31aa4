package io.vqstream.jobs.config;

import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionType;
import io.vqstream.core.config.OptionValueException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One mapping of the YAML configuration, read key by key. Every key read is remembered, so
 * {@link #rejectUnknown()} names any key nobody understood (a typo must not pass silently).
 */
final class Section {
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
            throw new ConfigException("config key '" + where(key) + "' must be a mapping, got " + OptionType.shown(v));
        }
        return new Section(where(key), m);
    }

    /** The value of an option of this section: its default when absent, else type-checked and bounded by the option. */
    <T> T get(ConfigOption<T> option) {
        if (!option.section().equals(path)) {
            throw new IllegalArgumentException(option.key() + " is not a key of section '" + path + "'");
        }
        try {
            return option.fromYaml(raw(option.leaf()));
        } catch (OptionValueException e) {
            throw new ConfigException(e.getMessage(), e);
        }
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
}

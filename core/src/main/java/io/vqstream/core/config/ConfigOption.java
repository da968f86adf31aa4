package io.vqstream.core.config;

import org.apache.flink.annotation.PublicEvolving;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One configuration key, defined once: its dotted name as written in the YAML job configuration
 * ({@code batch.size}), its type, its default, the checks a value must pass, what it means, and
 * the command-line flag (if any) that overrides it. The YAML reader, the builders' validation,
 * the flags and the table of keys in {@code docs/configuration.md} are all derived from it.
 *
 * <pre>
 * static final ConfigOption&lt;Integer&gt; BATCH_SIZE = ConfigOption.key("batch.size", OptionType.INT)
 *         .defaultValue(256).check(Check.atLeast(1)).description("Records per micro-batch of one key.");
 * </pre>
 *
 * Immutable: every {@code with}-style method returns a new option.
 *
 * @param <T> the value type
 */
@PublicEvolving
public final class ConfigOption<T> {
    private final String key;
    private final OptionType<T> type;
    private final T defaultValue;
    private final String defaultDescription;
    private final List<Check<? super T>> checks;
    private final String description;
    private final String flag;
    private final String flagLabel;
    private final T switchValue;

    private ConfigOption(String key, OptionType<T> type, T defaultValue, String defaultDescription, List<Check<? super T>> checks,
            String description, String flag, String flagLabel, T switchValue) {
        this.key = key;
        this.type = type;
        this.defaultValue = defaultValue;
        this.defaultDescription = defaultDescription;
        this.checks = List.copyOf(checks);
        this.description = description;
        this.flag = flag;
        this.flagLabel = flagLabel;
        this.switchValue = switchValue;
    }

    /** A key without default, checks or description. */
    public static <T> ConfigOption<T> key(String key, OptionType<T> type) {
        if (!key.matches("[a-z][a-z0-9_-]*(\\.[a-z][a-z0-9_-]*)*")) {
            throw new IllegalArgumentException("not a configuration key: " + key);
        }
        return new ConfigOption<>(key, Objects.requireNonNull(type), null, null, List.of(), "", null, null, null);
    }

    /** The value when the key is absent (defaults are not checked: null stands for "not set"). */
    public ConfigOption<T> defaultValue(T value) {
        return new ConfigOption<>(key, type, value, defaultDescription, checks, description, flag, flagLabel, switchValue);
    }

    /** What an absent key means when no single value says it (e.g. "the largest codebook size"). */
    public ConfigOption<T> defaultDescription(String text) {
        return new ConfigOption<>(key, type, defaultValue, text, checks, description, flag, flagLabel, switchValue);
    }

    /** One more rule every value must pass (in the YAML file, through a flag and in the builders). */
    public ConfigOption<T> check(Check<? super T> check) {
        List<Check<? super T>> all = new ArrayList<>(checks);
        all.add(Objects.requireNonNull(check));
        return new ConfigOption<>(key, type, defaultValue, defaultDescription, all, description, flag, flagLabel, switchValue);
    }

    public ConfigOption<T> description(String text) {
        return new ConfigOption<>(key, type, defaultValue, defaultDescription, checks, text, flag, flagLabel, switchValue);
    }

    /** A command-line flag {@code name LABEL} that overrides this key (its text read as {@link OptionType#fromText}). */
    public ConfigOption<T> flag(String name, String label) {
        return new ConfigOption<>(key, type, defaultValue, defaultDescription, checks, description, name, label, null);
    }

    /** A command-line switch (no value) that sets this key to {@code value}. */
    public ConfigOption<T> flagSwitch(String name, T value) {
        return new ConfigOption<>(key, type, defaultValue, defaultDescription, checks, description, name, null, value);
    }

    /** The dotted key, e.g. {@code batch.size}. */
    public String key() {
        return key;
    }

    /** The key inside its section ({@code size} for {@code batch.size}). */
    public String leaf() {
        return key.substring(key.lastIndexOf('.') + 1);
    }

    /** The section path ({@code batch} for {@code batch.size}; empty at the top level). */
    public String section() {
        int dot = key.lastIndexOf('.');
        return dot < 0 ? "" : key.substring(0, dot);
    }

    public OptionType<T> type() {
        return type;
    }

    /** The default, or null where the key has none. */
    public T defaultValue() {
        return defaultValue;
    }

    /** The default as the table of keys shows it. */
    public String defaultText() {
        if (defaultDescription != null) {
            return defaultDescription;
        }
        return defaultValue == null ? "none" : type.format(defaultValue);
    }

    public List<Check<? super T>> checks() {
        return checks;
    }

    public String description() {
        return description;
    }

    /** The overriding flag ({@code --parallelism}), or null. */
    public String flag() {
        return flag;
    }

    /** The flag's parameter label, or null for a switch. */
    public String flagLabel() {
        return flagLabel;
    }

    /** The value a switch flag sets, or null for a flag with a parameter. */
    public T switchValue() {
        return switchValue;
    }

    /** How errors about this key start: {@code config key 'batch.size'}. */
    public String subject() {
        return "config key '" + key + "'";
    }

    /** {@code value} if it passes every check, else an {@link OptionValueException} naming the key. */
    public T validate(T value) {
        return validate(value, subject());
    }

    /** A YAML value read, type-checked and validated (null: absent, the default). */
    public T fromYaml(Object raw) {
        return raw == null ? defaultValue : validate(type.fromYaml(raw, subject()), subject());
    }

    /** The value of this key's flag: the text read and validated, errors naming the flag. */
    public T fromFlag(String text) {
        if (switchValue != null) {
            return switchValue;
        }
        return validate(type.fromText(text, flag), flag);
    }

    private T validate(T value, String subject) {
        if (value == null) {
            return null;
        }
        for (Check<? super T> c : checks) {
            @SuppressWarnings("unchecked")
            Check<T> check = (Check<T>) c;
            if (!check.test(value)) {
                throw new OptionValueException(key, subject + check.violation(value, OptionType.shown(value)));
            }
        }
        return value;
    }

    @Override
    public String toString() {
        return key;
    }
}

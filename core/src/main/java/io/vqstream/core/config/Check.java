package io.vqstream.core.config;

import org.apache.flink.annotation.PublicEvolving;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * One rule a configuration value must follow (a bound, finiteness, a set of names). The rule
 * reads the same in the error a wrong value gets and in the generated table of keys.
 *
 * @param <T> the value type it checks
 */
@PublicEvolving
public final class Check<T> {
    private final Predicate<T> ok;
    private final String rule;
    private final java.util.function.BiFunction<T, String, String> violation;
    private final Object violatingExample;

    private Check(Predicate<T> ok, String rule, java.util.function.BiFunction<T, String, String> violation, Object violatingExample) {
        this.ok = ok;
        this.rule = rule;
        this.violation = violation;
        this.violatingExample = violatingExample;
    }

    /**
     * A rule with the common message {@code <subject> must be <rule>, got <value>}.
     *
     * @param rule what a valid value is, e.g. {@code "at least 1"}
     * @param violatingExample a value the rule refuses, as a configuration file gives it (tests feed it to every option)
     */
    public static <T> Check<T> of(Predicate<T> ok, String rule, Object violatingExample) {
        return new Check<>(ok, rule, (v, shown) -> " must be " + rule + ", got " + shown, violatingExample);
    }

    /** A rule whose message after the subject is {@code tail} (kept where users and scripts know the wording). */
    public static <T> Check<T> withMessage(Predicate<T> ok, String rule, java.util.function.BiFunction<T, String, String> tail,
            Object violatingExample) {
        return new Check<>(ok, rule, tail, violatingExample);
    }

    /** {@code v >= min}. */
    public static <N extends Number> Check<N> atLeast(long min) {
        return of(v -> v.longValue() >= min, "at least " + min, min - 1);
    }

    /** {@code v <= max}; {@code why} (or null) says where the bound comes from. */
    public static <N extends Number> Check<N> atMost(long max, String why) {
        return withMessage(v -> v.longValue() <= max, "at most " + max,
                (v, shown) -> " must be at most " + max + (why == null ? "" : " (" + why + ")") + ", got " + shown, max + 1);
    }

    /** {@code min <= v <= max}. */
    public static <N extends Number> Check<N> inRange(long min, long max) {
        return of(v -> v.longValue() >= min && v.longValue() <= max, "in [" + min + ", " + max + "]", max + 1);
    }

    /** A finite number: NaN passes every comparison ({@code NaN < 0} is false), so bounds alone let it through. */
    public static Check<Double> finite() {
        return of(v -> Double.isFinite(v), "a finite number", Double.NaN);
    }

    /** {@code v <= max} for a real number (NaN refused as well). */
    public static Check<Double> atMost(double max, String why) {
        return withMessage(v -> v <= max, "at most " + fmt(max),
                (v, shown) -> " must be at most " + fmt(max) + (why == null ? "" : " (" + why + ")") + ", got " + shown, max + 1);
    }

    /** A duration of at least {@code min}. */
    public static Check<Duration> atLeast(Duration min) {
        return withMessage(v -> v.compareTo(min) >= 0, "at least " + min.toMillis() + " ms",
                (v, shown) -> " must be at least " + min.toMillis() + " ms, got " + v.toMillis() + " ms", min.toMillis() - 1);
    }

    /** A duration of zero or more. */
    public static Check<Duration> notNegative() {
        return withMessage(v -> !v.isNegative(), "not negative", (v, shown) -> " must not be negative", -1L);
    }

    /** A positive duration. */
    public static Check<Duration> positive() {
        return withMessage(v -> !v.isNegative() && !v.isZero(), "positive", (v, shown) -> " must be positive, got " + v.toMillis() + " ms",
                0L);
    }

    /** One of {@code names} (compared trimmed and case-insensitively). */
    public static Check<String> oneOf(List<String> names) {
        return of(v -> names.contains(v.trim().toLowerCase(Locale.ROOT)), "one of " + String.join(", ", names), "no-such-" + names.get(0));
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : String.valueOf(d);
    }

    boolean test(T value) {
        return ok.test(value);
    }

    /** What a valid value is, e.g. {@code at least 1} (for the table of keys). */
    public String rule() {
        return rule;
    }

    /** The message after the subject for a refused value ({@code shown} is the value as the user wrote it). */
    String violation(T value, String shown) {
        return violation.apply(value, shown);
    }

    /** A value this check refuses, as a configuration file would give it (tests feed it to every option). */
    public Object violatingExample() {
        return violatingExample;
    }
}

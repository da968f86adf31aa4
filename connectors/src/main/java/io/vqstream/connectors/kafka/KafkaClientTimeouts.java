package io.vqstream.connectors.kafka;

import org.apache.flink.annotation.Internal;
import java.time.Duration;
import java.util.Properties;

/**
 * Bounded client timeouts, so a job against unreachable brokers fails (and restarts by its
 * restart strategy) instead of waiting forever. With the client timeout T (default 30 s):
 * <pre>
 *   consumers and the source's admin client:  request.timeout.ms = T, default.api.timeout.ms = T
 *   producers:                                request.timeout.ms = T, max.block.ms = T,
 *                                             delivery.timeout.ms = 2·T
 * </pre>
 * Properties set explicitly on a builder win over these.
 */
@Internal
public final class KafkaClientTimeouts {
    public static final Duration DEFAULT = Duration.ofSeconds(30);

    private KafkaClientTimeouts() {}

    static void applyConsumer(Properties p, Duration t) {
        String ms = Long.toString(millis(t));
        p.setProperty("request.timeout.ms", ms);
        p.setProperty("default.api.timeout.ms", ms);
    }

    static void applyProducer(Properties p, Duration t) {
        long ms = millis(t);
        p.setProperty("request.timeout.ms", Long.toString(ms));
        p.setProperty("max.block.ms", Long.toString(ms));
        p.setProperty("delivery.timeout.ms", Long.toString(2 * ms));
    }

    static long millis(Duration t) {
        if (t == null || t.isNegative() || t.isZero()) {
            throw new IllegalArgumentException("client timeout must be positive, got " + t);
        }
        if (t.toMillis() > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("client timeout " + t + " is too long (at most " + Integer.MAX_VALUE / 2 + " ms)");
        }
        return t.toMillis();
    }

    /** "10 s" for whole seconds, else "1500 ms". */
    static String human(Duration t) {
        long ms = t.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }
}

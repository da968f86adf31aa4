package io.vqstream.core.backend;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the compute backend once per JVM. Override with the system property
 * {@code vqstream.backend} ({@code jvm}, {@code jvm-scalar}, {@code nd4j}, {@code auto}).
 */
public final class Backends {
    public static final String PROPERTY = "vqstream.backend";
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    private static volatile ComputeBackend defaultBackend;

    private Backends() {}

    /** The backend chosen by {@value #PROPERTY} (default {@code auto}). */
    public static ComputeBackend getDefault() {
        ComputeBackend b = defaultBackend;
        if (b == null) {
            synchronized (Backends.class) {
                b = defaultBackend;
                if (b == null) {
                    b = byName(System.getProperty(PROPERTY, "auto"));
                    LOG.info("vqstream compute backend: {}", b.name());
                    defaultBackend = b;
                }
            }
        }
        return b;
    }

    /** A backend by its configuration name. */
    public static ComputeBackend byName(String name) {
        return switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "jvm-scalar", "scalar" -> ScalarBackend.INSTANCE;
            case "jvm", "auto" -> ScalarBackend.INSTANCE;
            default -> throw new IllegalArgumentException("unknown backend '" + name + "' (expected jvm, jvm-scalar, nd4j or auto)");
        };
    }
}

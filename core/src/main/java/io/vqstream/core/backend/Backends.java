package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the compute backend. The system property {@value #PROPERTY} (or the job option of the
 * same name, passed to {@link #fromOption}) names one of
 * <ul>
 *   <li>{@code jvm}: {@link JvmBackend}, the Vector API kernels (plain loops without the module);</li>
 *   <li>{@code nd4j}: {@link Nd4jBackend} on whatever ND4J backend is on the class path (CPU or
 *       CUDA); an error when ND4J is missing;</li>
 *   <li>{@code auto} (default): {@link AutoBackend}, per call by shape; JVM-only when ND4J is missing;</li>
 *   <li>{@code jvm-scalar}: {@link ScalarBackend}, the double-accumulating reference.</li>
 * </ul>
 */
@Internal
public final class Backends {
    public static final String PROPERTY = "vqstream.backend";

    /** The backend names {@link #byName} knows ({@code scalar} is an alias of {@code jvm-scalar}). */
    public static final java.util.List<String> NAMES = java.util.List.of("auto", "jvm", "jvm-scalar", "nd4j");
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    private static final String ND4J_CLASS = "org.nd4j.linalg.factory.Nd4j";
    private static volatile ComputeBackend defaultBackend;
    private static volatile ComputeBackend nd4j;
    private static volatile AutoBackend auto;

    private Backends() {}

    /** The backend chosen by {@value #PROPERTY} (default {@code auto}), created once per JVM. */
    public static ComputeBackend getDefault() {
        ComputeBackend b = defaultBackend;
        if (b == null) {
            synchronized (Backends.class) {
                b = defaultBackend;
                if (b == null) {
                    b = byName(System.getProperty(PROPERTY, "auto"));
                    LOG.info("vqstream compute backend: {} ({}={})", b.name(), PROPERTY, System.getProperty(PROPERTY, "auto"));
                    defaultBackend = b;
                }
            }
        }
        return b;
    }

    /** A job option's backend: its value when set, otherwise {@link #getDefault()}. */
    public static ComputeBackend fromOption(String value) {
        return value == null || value.isBlank() ? getDefault() : byName(value);
    }

    /** A backend by its configuration name (see the class comment). */
    public static ComputeBackend byName(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "jvm-scalar", "scalar" -> ScalarBackend.INSTANCE;
            case "jvm" -> JvmBackend.get();
            case "nd4j" -> nd4j();
            case "auto" -> auto();
            default -> throw new IllegalArgumentException("unknown backend '" + name + "' (expected jvm, nd4j, auto or jvm-scalar)");
        };
    }

    /** Whether ND4J's classes are on the class path (says nothing about its native libraries). */
    public static boolean nd4jOnClassPath() {
        try {
            Class.forName(ND4J_CLASS, false, Backends.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** The ND4J backend, or null (logged) when ND4J is missing or fails to start. */
    public static ComputeBackend nd4jOrNull() {
        try {
            return nd4j();
        } catch (IllegalStateException e) {
            LOG.info("vqstream: ND4J backend unavailable ({})", e.getMessage());
            return null;
        }
    }

    private static ComputeBackend nd4j() {
        ComputeBackend b = nd4j;
        if (b != null) {
            return b;
        }
        synchronized (Backends.class) {
            if (nd4j != null) {
                return nd4j;
            }
            if (!nd4jOnClassPath()) {
                throw new IllegalStateException("backend 'nd4j' needs ND4J on the class path (org.nd4j:nd4j-native "
                        + "with the linux-x86_64 classifier, or nd4j-cuda-11.6 with -Pcuda); use 'jvm' or 'auto' without it");
            }
            try {
                // by name: Nd4jBackend links against ND4J, which is an optional dependency
                b = (ComputeBackend) Class.forName("io.vqstream.core.backend.Nd4jBackend").getConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                Throwable cause = e instanceof java.lang.reflect.InvocationTargetException ite ? ite.getCause() : e;
                throw new IllegalStateException("ND4J is on the class path but did not start: " + cause, cause);
            }
            nd4j = b;
            return b;
        }
    }

    private static ComputeBackend auto() {
        AutoBackend a = auto;
        if (a == null) {
            synchronized (Backends.class) {
                a = auto;
                if (a == null) {
                    a = new AutoBackend(JvmBackend.get(), nd4jOnClassPath() ? Backends::nd4jOrNull : () -> null);
                    auto = a;
                }
            }
        }
        return a;
    }
}

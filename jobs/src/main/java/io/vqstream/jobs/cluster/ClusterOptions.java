package io.vqstream.jobs.cluster;

import org.apache.flink.annotation.Internal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What {@link StandaloneCluster#start} starts: the number of TaskManagers and their slots, the
 * cluster directory (configuration, logs, checkpoints, savepoints), the REST port, the Flink
 * configuration it starts from and the class path of Flink's runtime.
 */
@Internal
public final class ClusterOptions {
    /** Flink's REST (and web UI) port unless another is given. */
    public static final int DEFAULT_REST_PORT = 8081;

    final Path dir;
    final int taskManagers;
    final Integer slots;
    final int restPort;
    final Path flinkConfDir;
    final List<Path> classpath;
    final Map<String, String> config;

    private ClusterOptions(Builder b) {
        this.dir = b.dir.toAbsolutePath().normalize();
        this.taskManagers = b.taskManagers;
        this.slots = b.slots;
        this.restPort = b.restPort;
        this.flinkConfDir = b.flinkConfDir.toAbsolutePath().normalize();
        this.classpath = List.copyOf(b.classpath);
        this.config = Map.copyOf(b.config);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Path dir() {
        return dir;
    }

    /** Builder of {@link ClusterOptions}. */
    public static final class Builder {
        private Path dir;
        private int taskManagers = 2;
        private Integer slots;
        private int restPort = DEFAULT_REST_PORT;
        private Path flinkConfDir;
        private final List<Path> classpath = new ArrayList<>();
        private final Map<String, String> config = new LinkedHashMap<>();

        private Builder() {}

        /** Where the cluster keeps its configuration, logs, checkpoints and savepoints. */
        public Builder dir(Path dir) {
            this.dir = dir;
            return this;
        }

        /** TaskManagers started with the JobManager (default 2). */
        public Builder taskManagers(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("at least one TaskManager, got " + n);
            }
            this.taskManagers = n;
            return this;
        }

        /** Slots per TaskManager; null keeps {@code taskmanager.numberOfTaskSlots} of the configuration. */
        public Builder slots(Integer slots) {
            if (slots != null && slots < 1) {
                throw new IllegalArgumentException("at least one slot per TaskManager, got " + slots);
            }
            this.slots = slots;
            return this;
        }

        /** The REST port (default 8081); 0 picks a free one. */
        public Builder restPort(int port) {
            this.restPort = port;
            return this;
        }

        /** The folder holding the {@code config.yaml} the cluster starts from (flink-conf/local). */
        public Builder flinkConfDir(Path dir) {
            this.flinkConfDir = dir;
            return this;
        }

        /** Flink's runtime: the jars every JobManager and TaskManager process runs on. */
        public Builder classpath(List<Path> jars) {
            this.classpath.addAll(jars);
            return this;
        }

        /** A Flink setting on top of the configuration file, for every process. */
        public Builder config(String key, String value) {
            this.config.put(key, value);
            return this;
        }

        public ClusterOptions build() {
            Objects.requireNonNull(dir, "dir");
            Objects.requireNonNull(flinkConfDir, "flinkConfDir");
            if (classpath.isEmpty()) {
                throw new IllegalArgumentException("the class path of Flink's runtime is empty");
            }
            return new ClusterOptions(this);
        }
    }
}

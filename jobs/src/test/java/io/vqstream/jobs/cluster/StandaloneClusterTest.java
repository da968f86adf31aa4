package io.vqstream.jobs.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.jobs.config.ConfigException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cluster stop} ends the processes the cluster recorded, and only those: a pid is trusted only with its start time. */
class StandaloneClusterTest {
    @TempDir
    Path dir;

    private Process sleeper;

    @AfterEach
    void endSleeper() {
        if (sleeper != null) {
            sleeper.destroyForcibly();
        }
    }

    private void record(String name, long pid, long startMillis) throws Exception {
        Properties p = new Properties();
        p.setProperty("rest.port", "1");
        p.setProperty("classpath", "");
        p.setProperty(name + ".pid", Long.toString(pid));
        p.setProperty(name + ".start", Long.toString(startMillis));
        p.setProperty(name + ".metrics-port", "2");
        Files.createDirectories(dir.resolve("conf"));
        Files.createDirectories(dir.resolve("tmp/work"));
        Files.createDirectories(dir.resolve("logs"));
        Files.writeString(dir.resolve("logs/taskmanager-1.log"), "kept");
        try (OutputStream out = Files.newOutputStream(dir.resolve(StandaloneCluster.STATE_FILE))) {
            p.store(out, null);
        }
    }

    @Test
    void aReusedPidIsNotTouched() throws Exception {
        sleeper = new ProcessBuilder("sleep", "60").start();
        long start = sleeper.info().startInstant().orElseThrow().toEpochMilli();
        record("taskmanager-1", sleeper.pid(), start - 5_000); // same pid, another start time: not ours

        StandaloneCluster c = StandaloneCluster.attach(dir);
        assertFalse(c.members().get(0).alive());
        assertEquals(List.of(), c.stop());
        assertTrue(sleeper.isAlive(), "a process the cluster did not start keeps running");
        assertFalse(Files.exists(dir.resolve(StandaloneCluster.STATE_FILE)));
    }

    @Test
    void stopEndsTheRecordedProcessAndKeepsOnlyLogsCheckpointsAndSavepoints() throws Exception {
        sleeper = new ProcessBuilder("sleep", "60").start();
        record("taskmanager-1", sleeper.pid(), sleeper.info().startInstant().orElseThrow().toEpochMilli());

        StandaloneCluster c = StandaloneCluster.attach(dir);
        assertTrue(c.members().get(0).alive());
        assertEquals(List.of("taskmanager-1"), c.stop().stream().map(StandaloneCluster.Member::name).toList());
        assertTrue(sleeper.waitFor(10, TimeUnit.SECONDS), "SIGTERM ended it");
        assertFalse(Files.exists(dir.resolve("conf")));
        assertFalse(Files.exists(dir.resolve("tmp")));
        assertEquals("kept", Files.readString(dir.resolve("logs/taskmanager-1.log")));
    }

    @Test
    void attachWithoutAClusterNamesTheDirectory() {
        ConfigException e = assertThrows(ConfigException.class, () -> StandaloneCluster.attach(dir));
        assertEquals("no cluster was started from " + dir.toAbsolutePath().normalize()
                + " (no cluster.properties); start one with: vqstream cluster start", e.getMessage());
    }
}

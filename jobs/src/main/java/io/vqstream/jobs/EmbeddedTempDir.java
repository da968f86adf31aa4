package io.vqstream.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.util.FileUtils;

/**
 * The temporary directory of an embedded mini-cluster: one per JVM under java.io.tmpdir, removed
 * when the JVM exits (also after Ctrl-C or SIGTERM). The mini-cluster unpacks its RPC system (a
 * 21 MB flink-rpc-akka jar), blobs and web uploads into {@code io.tmp.dirs} and removes them only
 * if it shuts down before the JVM exits; pointing it here leaves nothing behind in /tmp.
 */
@Internal
public final class EmbeddedTempDir {
    private static Path dir;

    private EmbeddedTempDir() {}

    /** The directory, created on first use. */
    public static synchronized Path get() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("vqstream-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a temporary directory in " + System.getProperty("java.io.tmpdir"), e);
            }
            Path d = dir;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> FileUtils.deleteDirectoryQuietly(d.toFile()), "vqstream-tmp-cleanup"));
        }
        return dir;
    }

    /** Sets the mini-cluster's temporary directories of {@code conf} to {@link #get()}; returns {@code conf}. */
    public static Configuration applyTo(Configuration conf) {
        conf.set(CoreOptions.TMP_DIRS, get().toString());
        conf.set(WebOptions.TMP_DIR, get().toString());
        return conf;
    }
}

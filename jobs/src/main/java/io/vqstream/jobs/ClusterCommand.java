package io.vqstream.jobs;

import io.vqstream.jobs.cluster.ClusterOptions;
import io.vqstream.jobs.cluster.StandaloneCluster;
import io.vqstream.jobs.config.ConfigException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vqstream cluster ...}: a standalone Flink session cluster on this machine (see {@link StandaloneCluster}). */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = "A standalone Flink session cluster on this machine: one JobManager and TaskManager processes.",
        subcommands = {ClusterCommand.Start.class, ClusterCommand.Status.class, ClusterCommand.Stop.class,
                ClusterCommand.StartTaskManager.class, ClusterCommand.StopJob.class})
final class ClusterCommand implements Callable<Integer> {
    /** Where a cluster keeps its files unless --dir says otherwise. */
    static final Path DEFAULT_DIR = Path.of(System.getProperty("java.io.tmpdir"), "vqstream-cluster");

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }

    /** The --dir option every subcommand shares. */
    static final class DirOption {
        @Option(names = "--dir", paramLabel = "DIR", description = "Cluster directory: configuration, logs, checkpoints, savepoints "
                + "(default: ${java.io.tmpdir}/vqstream-cluster).")
        Path dir;

        Path dir() {
            return dir != null ? dir : DEFAULT_DIR;
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Start a JobManager and N TaskManagers, each its own JVM, from flink-conf/local/config.yaml plus these options;"
                    + " returns once every TaskManager has registered.")
    static final class Start implements Callable<Integer> {
        @CommandLine.Mixin
        DirOption dir;

        @Option(names = "--taskmanagers", paramLabel = "N", defaultValue = "2", description = "TaskManagers (default ${DEFAULT-VALUE}).")
        int taskManagers;

        @Option(names = "--slots", paramLabel = "S", description = "Slots per TaskManager (default: taskmanager.numberOfTaskSlots of the configuration, 2).")
        Integer slots;

        @Option(names = "--port", paramLabel = "P", defaultValue = "8081", description = "REST and web UI port (default ${DEFAULT-VALUE}).")
        int port;

        @Option(names = "--flink-conf", paramLabel = "DIR", description = "Folder of the config.yaml to start from (default: flink-conf/local).")
        Path flinkConf;

        @Option(names = "-D", paramLabel = "KEY=VALUE", description = "A Flink setting on top of the configuration, e.g. -D taskmanager.memory.process.size=1g.")
        Map<String, String> settings = Map.of();

        @Override
        public Integer call() throws Exception {
            ClusterOptions.Builder b = ClusterOptions.builder().dir(dir.dir()).taskManagers(taskManagers).slots(slots).restPort(port)
                    .flinkConfDir(flinkConf != null ? flinkConf : home().resolve("flink-conf/local")).classpath(flinkClasspath());
            settings.forEach(b::config);
            StandaloneCluster c = StandaloneCluster.start(b.build());
            System.out.println("REST http://" + c.restAddress() + " (web UI; submit with --jobmanager " + c.restAddress() + ")");
            for (StandaloneCluster.Member m : c.members()) {
                System.out.println(m.name().equals("jobmanager") ? "jobmanager pid " + m.pid()
                        : "taskmanager " + m.name().substring("taskmanager-".length()) + " pid " + m.pid());
            }
            System.out.println("logs " + c.dir().resolve("logs") + ", checkpoints " + c.dir().resolve("checkpoints") + ", savepoints "
                    + c.dir().resolve("savepoints"));
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Processes, TaskManagers and their slots, jobs.")
    static final class Status implements Callable<Integer> {
        @CommandLine.Mixin
        DirOption dir;

        @Override
        public Integer call() throws Exception {
            StandaloneCluster.attach(dir.dir()).status().forEach(System.out::println);
            return 0;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "End every process the cluster started (SIGTERM, SIGKILL after 20 s) and remove its configuration and"
                    + " temporary files; logs, checkpoints and savepoints stay. Running jobs end with it: stop-job first to keep their state.")
    static final class Stop implements Callable<Integer> {
        @CommandLine.Mixin
        DirOption dir;

        @Override
        public Integer call() throws Exception {
            StandaloneCluster c = StandaloneCluster.attach(dir.dir());
            List<StandaloneCluster.Member> ended = c.stop();
            List<StandaloneCluster.Member> left = c.members().stream().filter(StandaloneCluster.Member::alive).toList();
            for (StandaloneCluster.Member m : ended) {
                System.out.println("stopped " + m.name() + " pid " + m.pid());
            }
            if (!left.isEmpty()) {
                throw new IOException("still running: " + left);
            }
            return 0;
        }
    }

    @Command(name = "start-taskmanager", mixinStandardHelpOptions = true,
            description = "Start one more TaskManager (for instance after one failed) and wait until it has registered.")
    static final class StartTaskManager implements Callable<Integer> {
        @CommandLine.Mixin
        DirOption dir;

        @Override
        public Integer call() throws Exception {
            StandaloneCluster.Member m = StandaloneCluster.attach(dir.dir()).startTaskManager();
            System.out.println("taskmanager " + m.name().substring("taskmanager-".length()) + " pid " + m.pid());
            return 0;
        }
    }

    @Command(name = "stop-job", mixinStandardHelpOptions = true,
            description = "Stop a job with a savepoint (the sinks commit, the sources keep their offsets) and print the savepoint's path.")
    static final class StopJob implements Callable<Integer> {
        @CommandLine.Mixin
        DirOption dir;

        @Parameters(index = "0", paramLabel = "JOB_ID")
        String jobId;

        @Option(names = "--savepoint", required = true, paramLabel = "DIR", description = "Where the savepoint goes.")
        Path savepoint;

        @Override
        public Integer call() throws Exception {
            System.out.println(StandaloneCluster.attach(dir.dir()).stopJobWithSavepoint(jobId, savepoint.toAbsolutePath()));
            return 0;
        }
    }

    /** The project folder: -Dvqstream.home (set by bin/vqstream), else the one the job jar was built in. */
    static Path home() {
        String h = System.getProperty("vqstream.home");
        if (h != null) {
            return Path.of(h);
        }
        Path jar = JobEnvironment.jobJar();
        return jar.toAbsolutePath().getParent().getParent().getParent(); // <home>/jobs/target/vqstream-jobs.jar
    }

    /**
     * Flink's runtime for the cluster processes: the jars listed in provided-classpath.txt and
     * cluster-classpath-extras.txt next to the job jar (written by the jobs build). The job jar
     * itself is not on it: it travels with each submission.
     */
    static List<Path> flinkClasspath() throws IOException {
        Path target = JobEnvironment.jobJar().toAbsolutePath().getParent();
        List<Path> jars = new ArrayList<>();
        for (String f : List.of("provided-classpath.txt", "cluster-classpath-extras.txt")) {
            Path p = target.resolve(f);
            if (!Files.exists(p)) {
                throw new ConfigException("no " + p + ": build the job jar first (mvn -pl jobs -am package)");
            }
            for (String e : Files.readString(p).trim().split(File.pathSeparator)) {
                if (!e.isBlank()) {
                    jars.add(Path.of(e));
                }
            }
        }
        return jars;
    }
}

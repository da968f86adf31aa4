package io.vqstream.jobs.cluster;

import org.apache.flink.annotation.Internal;
import com.fasterxml.jackson.databind.JsonNode;
import io.vqstream.jobs.config.ConfigException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ConfigurationUtils;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

/**
 * A standalone Flink session cluster on this machine: one JobManager process
 * ({@code StandaloneSessionClusterEntrypoint}) and TaskManager processes
 * ({@code TaskManagerRunner}), each its own JVM on Flink's runtime jars, started the way Flink's
 * own scripts start them: JVM flags from {@code env.java.opts.*}, heap and direct memory sizes
 * computed from the configured process sizes by Flink's memory model.
 *
 * <p>Everything lives under the cluster directory:
 * <pre>
 * DIR/cluster.properties   the processes it started (pid, start time, ports)
 * DIR/conf/                config.yaml (flink-conf/local + options) and log4j.properties
 * DIR/logs/                jobmanager.log, taskmanager-N.log (+ .out: stdout and stderr)
 * DIR/checkpoints/         execution.checkpointing.dir
 * DIR/savepoints/          execution.checkpointing.savepoint-dir
 * DIR/tmp/                 io.tmp.dirs, blobs, web uploads, working directories, java.io.tmpdir
 * </pre>
 * {@link #stop} ends exactly the processes recorded in {@code cluster.properties} (a process is
 * recognised by pid and start time, so a reused pid is never touched) and removes
 * {@code cluster.properties}, {@code conf/} and {@code tmp/}; logs, checkpoints and savepoints
 * stay.
 */
@Internal
public final class StandaloneCluster {
    static final String STATE_FILE = "cluster.properties";
    static final String JOBMANAGER_MAIN = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
    static final String TASKMANAGER_MAIN = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
    static final String METRICS_PORT_KEY = "metrics.reporter.prom.port";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration STOP_GRACE = Duration.ofSeconds(20);
    private static final String LOG4J = """
            # written by vqstream cluster start: one log file per process (log.file), Kafka's client chatter at WARN,
            # and no "Name collision" warnings for the Kafka sinks' metrics (as in bin/vqstream's logging)
            monitorInterval = 30
            rootLogger.level = INFO
            rootLogger.appenderRef.file.ref = MainAppender
            appender.main.name = MainAppender
            appender.main.type = File
            appender.main.fileName = ${sys:log.file}
            appender.main.append = true
            appender.main.layout.type = PatternLayout
            appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
            logger.kafka.name = org.apache.kafka
            logger.kafka.level = WARN
            logger.pekko.name = org.apache.pekko
            logger.pekko.level = WARN
            logger.zookeeper.name = org.apache.zookeeper
            logger.zookeeper.level = WARN
            logger.metricgroup.name = org.apache.flink.metrics
            logger.metricgroup.level = ERROR
            """;

    private final Path dir;
    private final Properties state;

    private StandaloneCluster(Path dir, Properties state) {
        this.dir = dir;
        this.state = state;
    }

    /** One process of the cluster as recorded at its start. */
    public record Member(String name, long pid, long startMillis, int metricsPort) {
        /** The running process, if it is still the one that was started (same pid and start time). */
        public Optional<ProcessHandle> process() {
            return ProcessHandle.of(pid).filter(h -> h.isAlive()
                    && h.info().startInstant().map(i -> i.toEpochMilli() == startMillis).orElse(false));
        }

        public boolean alive() {
            return process().isPresent();
        }
    }

    /**
     * Starts a JobManager and {@code options.taskManagers} TaskManagers and returns once every
     * TaskManager has registered with the JobManager.
     */
    public static StandaloneCluster start(ClusterOptions o) throws IOException, InterruptedException {
        Path dir = o.dir;
        Optional<StandaloneCluster> running = find(dir);
        if (running.isPresent() && running.get().members().stream().anyMatch(Member::alive)) {
            throw new ConfigException("a cluster started from " + dir + " is still running (stop it with: vqstream cluster stop --dir "
                    + dir + ")");
        }
        for (String sub : List.of("conf", "logs", "checkpoints", "savepoints", "tmp/blobs", "tmp/web", "tmp/work", "tmp/java")) {
            Files.createDirectories(dir.resolve(sub));
        }
        Configuration conf = GlobalConfiguration.loadConfiguration(o.flinkConfDir.toString());
        int restPort = o.restPort == 0 ? freePort() : o.restPort;
        if (!portFree(restPort)) {
            throw new ConfigException("port " + restPort + " is in use on localhost: another Flink cluster or web server? Give --port");
        }
        conf.set(RestOptions.PORT, restPort);
        conf.set(RestOptions.BIND_PORT, Integer.toString(restPort));
        conf.set(JobManagerOptions.PORT, freePort());
        if (o.slots != null) {
            conf.set(TaskManagerOptions.NUM_TASK_SLOTS, o.slots);
        }
        // nothing outside the cluster directory: temp files, blobs, uploads, working directories
        conf.set(CoreOptions.TMP_DIRS, dir.resolve("tmp").toString());
        conf.setString("blob.storage.directory", dir.resolve("tmp/blobs").toString());
        conf.setString("web.tmpdir", dir.resolve("tmp/web").toString());
        conf.setString("process.working-dir", dir.resolve("tmp/work").toString());
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.resolve("checkpoints").toUri().toString());
        conf.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, dir.resolve("savepoints").toUri().toString());
        o.config.forEach(conf::setString);
        Files.write(dir.resolve("conf/config.yaml"), ConfigurationUtils.convertConfigToWritableLines(conf, false), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("conf/log4j.properties"), LOG4J);

        Properties state = new Properties();
        state.setProperty("rest.port", Integer.toString(restPort));
        state.setProperty("classpath", String.join(File.pathSeparator, o.classpath.stream().map(Path::toString).toList()));
        StandaloneCluster c = new StandaloneCluster(dir, state);
        c.save();
        try {
            c.launch("jobmanager", JOBMANAGER_MAIN, conf);
            c.awaitRest();
            List<String> names = new ArrayList<>();
            for (int n = 1; n <= o.taskManagers; n++) {
                String name = "taskmanager-" + n;
                c.launch(name, TASKMANAGER_MAIN, conf);
                names.add(name);
            }
            c.awaitTaskManagers(names);
        } catch (IOException | RuntimeException | InterruptedException e) {
            c.stop();
            throw e;
        }
        return c;
    }

    /** The cluster started from {@code dir}; an error when none was. */
    public static StandaloneCluster attach(Path dir) throws IOException {
        return find(dir.toAbsolutePath().normalize()).orElseThrow(() -> new ConfigException(
                "no cluster was started from " + dir.toAbsolutePath().normalize() + " (no " + STATE_FILE + "); start one with: vqstream cluster start"));
    }

    private static Optional<StandaloneCluster> find(Path dir) throws IOException {
        Path f = dir.resolve(STATE_FILE);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(f)) {
            p.load(in);
        }
        return Optional.of(new StandaloneCluster(dir, p));
    }

    public Path dir() {
        return dir;
    }

    public int restPort() {
        return Integer.parseInt(state.getProperty("rest.port"));
    }

    /** {@code localhost:PORT}, what {@code --jobmanager} takes. */
    public String restAddress() {
        return "localhost:" + restPort();
    }

    ClusterRest rest() {
        return new ClusterRest("localhost", restPort());
    }

    /** The processes started, the JobManager first, then the TaskManagers by number. */
    public List<Member> members() {
        Map<String, Member> m = new TreeMap<>(Comparator.comparingInt(StandaloneCluster::order));
        for (String k : state.stringPropertyNames()) {
            if (k.endsWith(".pid")) {
                String name = k.substring(0, k.length() - 4);
                m.put(name, new Member(name, Long.parseLong(state.getProperty(k)), Long.parseLong(state.getProperty(name + ".start")),
                        Integer.parseInt(state.getProperty(name + ".metrics-port"))));
            }
        }
        return List.copyOf(m.values());
    }

    public Member member(String name) {
        return members().stream().filter(x -> x.name().equals(name)).findFirst()
                .orElseThrow(() -> new ConfigException("no process '" + name + "' in the cluster at " + dir));
    }

    private static int order(String name) {
        return name.equals("jobmanager") ? 0 : Integer.parseInt(name.substring(name.lastIndexOf('-') + 1));
    }

    public Path log(String name) {
        return dir.resolve("logs").resolve(name + ".log");
    }

    /** Starts one more TaskManager (numbered after the highest so far) and waits until it has registered. */
    public Member startTaskManager() throws IOException, InterruptedException {
        int next = members().stream().filter(x -> !x.name().equals("jobmanager")).mapToInt(x -> order(x.name())).max().orElse(0) + 1;
        String name = "taskmanager-" + next;
        Configuration conf = GlobalConfiguration.loadConfiguration(dir.resolve("conf").toString());
        launch(name, TASKMANAGER_MAIN, conf);
        awaitTaskManagers(List.of(name));
        return member(name);
    }

    private void launch(String name, String mainClass, Configuration conf) throws IOException {
        boolean jm = name.equals("jobmanager");
        int metricsPort = freePort();
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            // its own session: a Ctrl-C or hang-up in the terminal that ran `cluster start` does not reach the cluster
            cmd.add("/usr/bin/setsid");
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(split(conf.get(CoreOptions.FLINK_JVM_OPTIONS)));
        cmd.addAll(split(conf.get(jm ? CoreOptions.FLINK_JM_JVM_OPTIONS : CoreOptions.FLINK_TM_JVM_OPTIONS)));
        List<String> dynamic = new ArrayList<>();
        if (jm) {
            JobManagerProcessSpec spec = JobManagerProcessUtils.processSpecFromConfig(conf);
            cmd.addAll(split(JobManagerProcessUtils.generateJvmParametersStr(spec, conf)));
            dynamic.addAll(split(JobManagerProcessUtils.generateDynamicConfigsStr(spec)));
        } else {
            TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(conf);
            cmd.addAll(split(ProcessMemoryUtils.generateJvmParametersStr(spec)));
            dynamic.addAll(split(TaskExecutorProcessUtils.generateDynamicConfigsStr(spec)));
            dynamic.addAll(List.of("-D", TaskManagerOptions.TASK_MANAGER_RESOURCE_ID.key() + "=" + name));
        }
        dynamic.addAll(List.of("-D", METRICS_PORT_KEY + "=" + metricsPort));
        cmd.add("-XX:-UsePerfData"); // no /tmp/hsperfdata_<user>/<pid> left behind by a killed process
        cmd.add("-Djava.io.tmpdir=" + dir.resolve("tmp/java"));
        cmd.add("-Dlog.file=" + log(name));
        cmd.add("-Dlog4j.configurationFile=" + dir.resolve("conf/log4j.properties").toUri());
        cmd.add("-Dvqstream.cluster.dir=" + dir);
        cmd.add("-cp");
        cmd.add(state.getProperty("classpath"));
        cmd.add(mainClass);
        cmd.add("--configDir");
        cmd.add(dir.resolve("conf").toString());
        cmd.addAll(dynamic);
        Path out = dir.resolve("logs").resolve(name + ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        long start = p.info().startInstant().orElseThrow(() -> new IOException("no start time for pid " + p.pid())).toEpochMilli();
        state.setProperty(name + ".pid", Long.toString(p.pid()));
        state.setProperty(name + ".start", Long.toString(start));
        state.setProperty(name + ".metrics-port", Integer.toString(metricsPort));
        save();
    }

    private static List<String> split(String s) {
        return s == null || s.isBlank() ? List.of() : Arrays.asList(s.trim().split("\\s+"));
    }

    private void awaitRest() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        ClusterRest rest = rest();
        while (!rest.up()) {
            if (!member("jobmanager").alive()) {
                throw new IOException("the JobManager ended at start-up:\n" + tail(dir.resolve("logs/jobmanager.out"), tail(log("jobmanager"), "")));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("the JobManager's REST endpoint " + rest.base() + " did not answer within " + START_TIMEOUT.toSeconds()
                        + " s; see " + log("jobmanager"));
            }
            Thread.sleep(200);
        }
    }

    private void awaitTaskManagers(List<String> names) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            List<String> registered = taskManagerIds();
            if (registered.containsAll(names)) {
                return;
            }
            for (String n : names) {
                if (!member(n).alive()) {
                    throw new IOException(n + " ended at start-up:\n" + tail(dir.resolve("logs").resolve(n + ".out"), tail(log(n), "")));
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("TaskManagers not registered within " + START_TIMEOUT.toSeconds() + " s: " + names + " (registered: "
                        + registered + "); see " + dir.resolve("logs"));
            }
            Thread.sleep(200);
        }
    }

    /** The resource ids of the TaskManagers registered with the JobManager. */
    public List<String> taskManagerIds() throws IOException {
        List<String> ids = new ArrayList<>();
        try {
            for (JsonNode tm : rest().get("/taskmanagers").path("taskmanagers")) {
                ids.add(tm.path("id").asText());
            }
        } catch (IOException e) {
            if (!rest().up()) {
                return ids;
            }
            throw e;
        }
        return ids;
    }

    /** What {@code cluster status} prints: REST address, processes, TaskManagers and slots, jobs. */
    public List<String> status() throws IOException {
        List<String> lines = new ArrayList<>();
        boolean up = rest().up();
        lines.add("REST " + (up ? "http://" + restAddress() : "http://" + restAddress() + " (not answering)") + ", cluster directory " + dir);
        Map<String, JsonNode> tms = new LinkedHashMap<>();
        if (up) {
            for (JsonNode tm : rest().get("/taskmanagers").path("taskmanagers")) {
                tms.put(tm.path("id").asText(), tm);
            }
        }
        for (Member m : members()) {
            String s = (m.name().equals("jobmanager") ? "jobmanager" : "taskmanager " + order(m.name())) + " pid " + m.pid() + " "
                    + (m.alive() ? "running" : "not running") + ", metrics http://localhost:" + m.metricsPort() + "/metrics";
            JsonNode tm = tms.remove(m.name());
            if (tm != null) {
                s += ", slots " + tm.path("slotsNumber").asInt() + " (" + tm.path("freeSlots").asInt() + " free)";
            } else if (!m.name().equals("jobmanager") && up) {
                s += ", not registered";
            }
            lines.add(s);
        }
        tms.keySet().forEach(id -> lines.add("taskmanager " + id + " registered, not started by this cluster"));
        if (up) {
            JsonNode jobs = rest().get("/jobs/overview").path("jobs");
            lines.add("jobs: " + jobs.size());
            for (JsonNode j : jobs) {
                lines.add("  " + j.path("jid").asText() + " " + j.path("state").asText() + " " + j.path("name").asText());
            }
        }
        return lines;
    }

    /**
     * Stops a job with a savepoint in {@code target} (Flink's stop-with-savepoint: sources stop,
     * a final savepoint is taken, the sinks commit) and returns the savepoint's directory.
     */
    public Path stopJobWithSavepoint(String jobId, Path target) throws IOException, InterruptedException {
        if (!jobId.matches("[0-9a-f]{32}")) {
            throw new ConfigException("not a Flink job id (32 hex digits): " + jobId);
        }
        String state;
        try {
            state = rest().get("/jobs/" + jobId).path("state").asText();
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("HTTP 404")) {
                throw new ConfigException("no job " + jobId + " on the cluster at " + restAddress() + " (cluster status lists its jobs)");
            }
            throw e;
        }
        if (!"RUNNING".equals(state)) {
            throw new ConfigException("job " + jobId + " is " + state + ", not RUNNING: only a running job can be stopped with a savepoint");
        }
        Files.createDirectories(target);
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        String requestId = triggerStop(jobId, target);
        while (System.nanoTime() < deadline) {
            JsonNode r = rest().get("/jobs/" + jobId + "/savepoints/" + requestId);
            if ("COMPLETED".equals(r.path("status").path("id").asText())) {
                JsonNode op = r.path("operation");
                if (op.has("failure-cause") && op.path("failure-cause").path("stack-trace").asText().contains(NOT_ALL_TASKS_RUNNING)) {
                    // a task was (re)starting, e.g. just after a recovery: the savepoint was aborted
                    // before it was triggered, so nothing stopped; ask again once it runs
                    Thread.sleep(500);
                    requestId = triggerStop(jobId, target);
                    continue;
                }
                if (op.has("failure-cause")) {
                    // the first line and the innermost cause of Flink's stack trace
                    List<String> trace = op.path("failure-cause").path("stack-trace").asText().lines()
                            .filter(l -> !l.startsWith("\t")).toList();
                    throw new IOException("stop with savepoint of job " + jobId + " failed: " + (trace.isEmpty() ? "(no cause given)"
                            : trace.get(0) + (trace.size() > 1 ? "\n  " + trace.get(trace.size() - 1) : ""))
                            + "\nthe job keeps running (Flink restarts it if the stop had begun); see " + log("jobmanager"));
                }
                String location = op.path("location").asText();
                return location.startsWith("file:") ? Path.of(java.net.URI.create(location.replaceFirst("^file:/+", "file:///"))) : Path.of(location);
            }
            Thread.sleep(200);
        }
        throw new IOException("stop with savepoint of job " + jobId + " did not complete within 5 min");
    }

    /** Flink's reason for aborting a checkpoint or savepoint before triggering it while a task is not running. */
    static final String NOT_ALL_TASKS_RUNNING = "Not all required tasks are currently running";

    private String triggerStop(String jobId, Path target) throws IOException {
        JsonNode trigger = rest().post("/jobs/" + jobId + "/stop",
                Map.of("targetDirectory", target.toAbsolutePath().toUri().toString(), "drain", false, "formatType", "CANONICAL"));
        return trigger.path("request-id").asText();
    }

    /**
     * Ends every process this cluster started (SIGTERM, SIGKILL after 20 s), TaskManagers first,
     * and removes the state file, the generated configuration and the temporary files.
     *
     * @return the processes that were still running and are now ended
     */
    public List<Member> stop() throws IOException, InterruptedException {
        List<Member> ended = new ArrayList<>();
        List<Member> tms = members().stream().filter(m -> !m.name().equals("jobmanager")).toList();
        ended.addAll(terminate(tms));
        ended.addAll(terminate(members().stream().filter(m -> m.name().equals("jobmanager")).toList()));
        deleteTree(dir.resolve("tmp"));
        deleteTree(dir.resolve("conf"));
        Files.deleteIfExists(dir.resolve(STATE_FILE));
        return ended;
    }

    private static List<Member> terminate(List<Member> members) throws InterruptedException {
        List<Member> alive = members.stream().filter(Member::alive).toList();
        Map<Member, ProcessHandle> handles = new LinkedHashMap<>();
        for (Member m : alive) {
            m.process().ifPresent(h -> {
                handles.put(m, h);
                h.destroy();
            });
        }
        long deadline = System.nanoTime() + STOP_GRACE.toNanos();
        for (ProcessHandle h : handles.values()) {
            while (h.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
        for (ProcessHandle h : handles.values()) {
            try {
                h.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // reported by the caller's check of alive()
            }
        }
        return List.copyOf(handles.keySet());
    }

    private void save() throws IOException {
        Path tmp = dir.resolve(STATE_FILE + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            state.store(out, "vqstream cluster: the processes started from this directory");
        }
        Files.move(tmp, dir.resolve(STATE_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean portFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static String tail(Path file, String fallback) {
        try {
            List<String> lines = Files.readAllLines(file);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return fallback;
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }
}

package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vqstream.connectors.kafka.VqKafka;
import io.vqstream.connectors.kafka.VqSinkBuilder;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.metrics.QuantizerMetrics;
import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.BlobServerOptions;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ClusterOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.NettyShuffleEnvironmentOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.SecurityOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.state.rocksdb.RocksDBConfigurableOptions;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.util.NetUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import picocli.CommandLine;

/**
 * The deployment files (flink-conf/, docker/) against the code and Flink itself: Flink's own
 * loader reads the cluster configurations with the intended values, every key is a real Flink
 * option or a documented reporter key, the memory model works out as the TaskManager computes
 * it, and the compose file, Dockerfile and Prometheus configuration refer to things that exist.
 * No Docker engine is needed: what only a running engine can show is listed in docs/deployment.md.
 */
class DeploymentFilesTest {
    private static final Path ROOT = repositoryRoot();
    private static final Path PRODUCTION = ROOT.resolve("flink-conf/config.yaml");
    private static final Path LOCAL = ROOT.resolve("flink-conf/local/config.yaml");
    private static final Path DOCKER = ROOT.resolve("docker");
    private static final Path COMPOSE = DOCKER.resolve("docker-compose.yml");
    private static final Path DOCKERFILE = DOCKER.resolve("Dockerfile");
    private static final Path PROMETHEUS = DOCKER.resolve("prometheus.yml");
    private static final String PROM_FACTORY = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory";
    private static final List<String> FLINK_SERVICES = List.of("jobmanager", "taskmanager");
    private static final long MIB = 1L << 20;

    @TempDir
    Path tmp;

    // ------------------------------------------------------------------ flink-conf/config.yaml

    @Test
    void productionConfigLoadsWithTheIntendedValues() throws IOException {
        Configuration c = loadFlink(PRODUCTION);
        assertEquals("rocksdb", c.get(StateBackendOptions.STATE_BACKEND));
        assertTrue(c.get(CheckpointingOptions.INCREMENTAL_CHECKPOINTS), "incremental checkpoints");
        assertEquals(CheckpointingMode.EXACTLY_ONCE, c.get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE));
        assertEquals(Duration.ofMinutes(1), c.get(CheckpointingOptions.CHECKPOINTING_INTERVAL));
        assertEquals(Duration.ofSeconds(20), c.get(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS));
        assertEquals(Duration.ofMinutes(3), c.get(CheckpointingOptions.CHECKPOINTING_TIMEOUT));
        assertEquals(1, c.get(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER));
        assertEquals(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION, c.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION));
        assertEquals(3, c.get(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS));
        assertEquals("file:///flink-data/checkpoints", c.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
        assertEquals("file:///flink-data/savepoints", c.get(CheckpointingOptions.SAVEPOINT_DIRECTORY));
        assertTrue(c.get(CheckpointingOptions.LOCAL_BACKUP_ENABLED));
        assertTrue(c.get(StateRecoveryOptions.LOCAL_RECOVERY));
        assertEquals(128, c.get(PipelineOptions.MAX_PARALLELISM));
        assertEquals("exponential-delay", c.get(RestartStrategyOptions.RESTART_STRATEGY));
        assertEquals(Duration.ofSeconds(1), c.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF));
        assertEquals(Duration.ofMinutes(1), c.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF));
        assertNotNull(c.get(RestOptions.ADDRESS), "the JobManager's REST endpoint refuses to start without rest.address");
        assertJvmOptions(c);
    }

    @Test
    void productionCheckpointsFitInsideTheKafkaTransactionTimeout() throws IOException {
        Configuration c = loadFlink(PRODUCTION);
        // a sink transaction stays open until the next completed checkpoint (see the comment in the file)
        Duration worst = c.get(CheckpointingOptions.CHECKPOINTING_INTERVAL).plus(
                c.get(CheckpointingOptions.CHECKPOINTING_TIMEOUT).plus(c.get(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS))
                        .multipliedBy(c.get(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER) + 1L));
        assertTrue(worst.compareTo(VqSinkBuilder.DEFAULT_TRANSACTION_TIMEOUT) < 0,
                "worst transaction age " + worst + " must stay below " + VqSinkBuilder.DEFAULT_TRANSACTION_TIMEOUT);
    }

    @Test
    void productionMemoryWorksOutAsTheTaskManagerComputesIt() throws IOException {
        Configuration c = loadFlink(PRODUCTION);
        TaskExecutorProcessSpec tm = TaskExecutorProcessUtils.processSpecFromConfig(c);
        assertEquals(8192 * MIB, tm.getTotalProcessMemorySize().getBytes());
        assertEquals(4, tm.getNumSlots());
        assertEquals(1024 * MIB, tm.getTaskOffHeapSize().getBytes(), "ND4J's native budget");
        assertEquals(512 * MIB, tm.getJvmMetaspaceSize().getBytes());
        assertEquals(256 * MIB, tm.getNetworkMemSize().getBytes());
        // the numbers the comments in the file quote
        assertNear(2.0 * 1024, tm.getManagedMemorySize().getBytes() / (double) MIB, 30, "managed memory MiB");
        assertNear(3.2 * 1024, tm.getTaskHeapSize().getBytes() / (double) MIB, 50, "task heap MiB");
        assertNear(819, tm.getJvmOverheadSize().getBytes() / (double) MIB, 1, "JVM overhead MiB");
        assertTrue(tm.getTaskHeapSize().getBytes() / tm.getNumSlots() >= 768 * MIB, "at least 768 MiB of task heap per slot");

        JobManagerProcessSpec jm = JobManagerProcessUtils.processSpecFromConfig(c);
        assertEquals(1600 * MIB, jm.getTotalProcessMemorySize().getBytes());
        assertEquals(1024 * MIB, jm.getJvmHeapMemorySize().getBytes());
    }

    @Test
    void productionReporterIsPrometheusOnOnePort() throws Exception {
        Configuration c = loadFlink(PRODUCTION);
        assertReporter(c);
        assertEquals(9249, Integer.parseInt(reporterPort(c)), "one Flink process per container: a single port");
    }

    // ------------------------------------------------------------------ flink-conf/local/config.yaml

    @Test
    void localConfigLoadsWithTheIntendedValues() throws Exception {
        Configuration c = loadFlink(LOCAL);
        assertEquals("hashmap", c.get(StateBackendOptions.STATE_BACKEND));
        assertEquals(CheckpointingMode.EXACTLY_ONCE, c.get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE));
        assertEquals(Duration.ofSeconds(10), c.get(CheckpointingOptions.CHECKPOINTING_INTERVAL));
        assertEquals(JobEnvironment.DEFAULT_CHECKPOINT_INTERVAL, c.get(CheckpointingOptions.CHECKPOINTING_INTERVAL),
                "the same interval as a job's own default");
        assertEquals("file:///tmp/vqstream/checkpoints", c.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
        assertEquals(128, c.get(PipelineOptions.MAX_PARALLELISM), "the same key groups as production: savepoints move between them");
        assertEquals("localhost", c.get(RestOptions.BIND_ADDRESS));
        assertEquals("localhost", c.get(JobManagerOptions.BIND_HOST));
        assertEquals("localhost", c.get(TaskManagerOptions.BIND_HOST));
        assertJvmOptions(c);
        assertReporter(c);
        Iterator<Integer> ports = NetUtils.getPortRangeFromString(reporterPort(c));
        int n = 0;
        while (ports.hasNext()) {
            ports.next();
            n++;
        }
        assertEquals(2, n, "a port each for the JobManager and the TaskManager on one host");

        TaskExecutorProcessSpec tm = TaskExecutorProcessUtils.processSpecFromConfig(c);
        assertEquals(2, tm.getNumSlots());
        assertEquals(2048 * MIB, tm.getTotalProcessMemorySize().getBytes());
        assertEquals(256 * MIB, tm.getTaskOffHeapSize().getBytes());
        assertTrue(tm.getTaskHeapSize().getBytes() >= 512 * MIB, "HashMap state needs the heap");
        JobManagerProcessUtils.processSpecFromConfig(c);
    }

    // ------------------------------------------------------------------ every key is Flink's

    @Test
    void everyKeyIsARealFlinkOptionOrADocumentedReporterKey() throws Exception {
        Set<String> known = knownFlinkKeys();
        Set<String> reporterSuffixes = reporterSuffixes();
        for (Path file : List.of(PRODUCTION, LOCAL)) {
            Configuration c = loadFlink(file);
            Set<String> fileKeys = flatten(yaml(file)).keySet();
            assertEquals(new TreeSet<>(fileKeys), new TreeSet<>(c.keySet()), file + ": Flink's loader read every key of the file");
            List<String> reporters = c.get(MetricOptions.REPORTERS_LIST) == null ? List.of()
                    : List.of(c.get(MetricOptions.REPORTERS_LIST).split(","));
            List<String> unknown = new ArrayList<>();
            for (String key : fileKeys) {
                if (known.contains(key)) {
                    continue;
                }
                Matcher m = Pattern.compile("metrics\\.reporter\\.([^.]+)\\.(.+)").matcher(key);
                if (m.matches() && reporters.contains(m.group(1)) && reporterSuffixes.contains(m.group(2))) {
                    continue;
                }
                unknown.add(key);
            }
            assertTrue(unknown.isEmpty(), file + ": not a (current, non-deprecated) Flink option: " + unknown);
        }
    }

    // ------------------------------------------------------------------ docker/Dockerfile

    @Test
    void dockerfileBuildsOnThePinnedOfficialImageOfTheProjectsFlinkVersion() throws IOException {
        Dockerfile d = Dockerfile.read(DOCKERFILE);
        assertEquals("flink:" + pomProperty("flink.version") + "-scala_2.12-java17", d.from,
                "the official Flink image of the version the job is compiled against, Java 17");
        assertPinned(d.from);
    }

    @Test
    void dockerfileCopiesWhatTheRepositoryHasOrBuilds() throws IOException {
        Dockerfile d = Dockerfile.read(DOCKERFILE);
        List<String> ignore = Files.readAllLines(DOCKER.resolve("Dockerfile.dockerignore")).stream()
                .map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertEquals("*", ignore.get(0), "the context is cut down to the copied files");
        String jar = "jobs/target/" + finalName(ROOT.resolve("jobs/pom.xml")) + ".jar";
        boolean copiesJar = false;
        for (Map.Entry<String, String> copy : d.copies.entrySet()) {
            String src = copy.getKey();
            assertTrue(ignore.contains("!" + src), "Dockerfile.dockerignore lets " + src + " into the build context");
            if (src.endsWith(".jar")) {
                copiesJar = true;
                assertEquals(jar, src, "the jobs module's shaded jar (finalName in jobs/pom.xml)");
                Path built = ROOT.resolve(src);
                if (Files.exists(built)) {
                    try (JarFile j = new JarFile(built.toFile())) {
                        assertNotNull(j.getEntry(VqstreamCli.class.getName().replace('.', '/') + ".class"), "job jar holds the CLI");
                        assertEquals(null, j.getEntry("org/apache/flink/streaming/api/environment/StreamExecutionEnvironment.class"),
                                "job jar leaves Flink's runtime to the image");
                    }
                }
            } else {
                assertTrue(Files.exists(ROOT.resolve(src)), "COPY source exists: " + src);
            }
        }
        assertTrue(copiesJar, "the job jar is copied");
        assertEquals("/opt/flink/conf/config.yaml", d.copies.get("flink-conf/config.yaml"), "the production config replaces the image's");
    }

    // ------------------------------------------------------------------ docker/docker-compose.yml

    @Test
    void composeHasTheServicesOfTheDeploymentWithPinnedImages() throws IOException {
        Map<String, Object> services = map(yaml(COMPOSE).get("services"));
        for (String s : List.of("kafka", "topics", "jobmanager", "taskmanager", "submit", "prometheus")) {
            assertTrue(services.containsKey(s), "service " + s);
        }
        for (Map.Entry<String, Object> e : services.entrySet()) {
            Map<String, Object> svc = map(e.getValue());
            String image = (String) svc.get("image");
            assertNotNull(image, e.getKey() + " names its image");
            assertPinned(image);
            for (Object dep : dependsOn(svc)) {
                assertTrue(services.containsKey(dep), e.getKey() + " depends on existing service " + dep);
            }
        }
        assertEquals("apache/kafka:" + pomProperty("kafka.version"), services.get("kafka") instanceof Map<?, ?> k ? k.get("image") : null,
                "the broker runs the Kafka version the connector is built with");
        assertEquals(map(services.get("kafka")).get("image"), map(services.get("topics")).get("image"));
        // the Flink containers all run the image docker/Dockerfile builds
        for (String s : List.of("jobmanager", "taskmanager", "submit")) {
            Map<String, Object> svc = map(services.get(s));
            Map<String, Object> build = map(svc.get("build"));
            assertEquals(ROOT.normalize(), DOCKER.resolve((String) build.get("context")).normalize(), s + " builds from the repository root");
            assertEquals(DOCKERFILE.normalize(), ROOT.resolve((String) build.get("dockerfile")).normalize());
            assertEquals("jobmanager", map(svc.get("environment")).get("JOB_MANAGER_RPC_ADDRESS"));
        }
        assertEquals("jobmanager", map(services.get("jobmanager")).get("command"));
        assertEquals("taskmanager", map(services.get("taskmanager")).get("command"));
    }

    @Test
    void composeRunsKafkaInKraftModeWithSingleBrokerReplication() throws IOException {
        Map<String, Object> env = map(service("kafka").get("environment"));
        Set<String> roles = Set.of(String.valueOf(env.get("KAFKA_PROCESS_ROLES")).split(","));
        assertEquals(Set.of("broker", "controller"), roles);
        assertFalse(env.containsKey("KAFKA_ZOOKEEPER_CONNECT"));
        assertNotNull(env.get("CLUSTER_ID"));
        for (String rf : List.of("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR")) {
            assertEquals("1", String.valueOf(env.get(rf)), rf);
        }
        assertTrue(String.valueOf(env.get("KAFKA_ADVERTISED_LISTENERS")).contains("PLAINTEXT://kafka:9092"));
        assertTrue(ports(service("kafka")).containsKey(9094), "host clients reach the HOST listener");
    }

    @Test
    void composeVolumesAndPortsReferToThingsThatExist() throws IOException {
        Map<String, Object> compose = yaml(COMPOSE);
        Set<String> namedVolumes = map(compose.get("volumes")).keySet();
        Map<String, Object> services = map(compose.get("services"));
        for (Map.Entry<String, Object> e : services.entrySet()) {
            Map<String, Object> svc = map(e.getValue());
            for (Object v : list(svc.getOrDefault("volumes", List.of()))) {
                String[] parts = String.valueOf(v).split(":");
                if (parts[0].startsWith(".") || parts[0].startsWith("/")) {
                    assertTrue(Files.exists(DOCKER.resolve(parts[0])), e.getKey() + ": bind mount source exists: " + parts[0]);
                } else {
                    assertTrue(namedVolumes.contains(parts[0]), e.getKey() + ": volume " + parts[0] + " is declared");
                }
            }
            ports(svc); // every published port parses
        }
        // checkpoints and savepoints go to the volume that the JobManager and TaskManagers share
        Configuration c = loadFlink(PRODUCTION);
        for (String s : FLINK_SERVICES) {
            String mount = mountOf(map(services.get(s)), "flink-data");
            assertNotNull(mount, s + " mounts flink-data");
            assertTrue(c.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY).startsWith("file://" + mount + "/"));
            assertTrue(c.get(CheckpointingOptions.SAVEPOINT_DIRECTORY).startsWith("file://" + mount + "/"));
        }
        assertTrue(Files.readString(DOCKERFILE).contains("chown -R flink:flink /flink-data"), "the image prepares the mount point for user flink");
        assertTrue(ports(services.get("jobmanager")).containsKey(c.get(RestOptions.PORT)), "web UI and REST published");
    }

    @Test
    void composeTaskManagerOverridesStillMakeAValidMemoryModel() throws IOException {
        Configuration c = loadFlink(PRODUCTION);
        Map<String, String> props = flinkProperties(service("taskmanager"));
        props.forEach(c::setString);
        TaskExecutorProcessSpec tm = TaskExecutorProcessUtils.processSpecFromConfig(c);
        assertEquals(4096 * MIB, tm.getTotalProcessMemorySize().getBytes());
        assertEquals(2, tm.getNumSlots());
        assertEquals(256 * MIB, tm.getTaskOffHeapSize().getBytes() / tm.getNumSlots(), "the production ND4J budget per slot");
        assertNear(1.17 * 1024, tm.getTaskHeapSize().getBytes() / (double) MIB, 5, "task heap MiB, as the compose comment says");
        assertNear(950, tm.getManagedMemorySize().getBytes() / (double) MIB, 5, "managed MiB, as the compose comment says");
        assertTrue(demoJob().parallelism <= tm.getNumSlots(), "one TaskManager runs the demo job");
    }

    @Test
    void composeSubmitsARealCommandOfTheJobJarWithAConfigTheImageHolds() throws Exception {
        List<String> cmd = list(service("submit").get("command")).stream().map(String::valueOf).toList();
        assertEquals(List.of("flink", "run"), cmd.subList(0, 2));
        int m = cmd.indexOf("-m");
        assertEquals("jobmanager:" + loadFlink(PRODUCTION).get(RestOptions.PORT), cmd.get(m + 1));
        int c = cmd.indexOf("-c");
        assertEquals(VqstreamCli.class.getName(), cmd.get(c + 1));
        Dockerfile d = Dockerfile.read(DOCKERFILE);
        String jar = cmd.get(c + 2);
        assertEquals(jar, d.copies.get("jobs/target/" + finalName(ROOT.resolve("jobs/pom.xml")) + ".jar"), "the jar path inside the image");
        String sub = cmd.get(c + 3);
        assertTrue(new CommandLine(new VqstreamCli()).getSubcommands().containsKey(sub), "vqstream has a subcommand " + sub);
        String config = cmd.get(cmd.indexOf("--config") + 1);
        assertEquals(ROOT.resolve("docker/jobs/learn.yaml"), localFileFor(d, config), "the --config file is copied into the image");
    }

    @Test
    void composeDemoJobMatchesTheClusterTheTopicsAndTheBroker() throws IOException {
        JobConfig job = demoJob();
        Configuration cluster = loadFlink(PRODUCTION);
        assertEquals(JobConfig.StateBackend.ROCKSDB, job.stateBackend, "the job sets the state backend itself: it must match the cluster's");
        assertEquals(cluster.get(CheckpointingOptions.CHECKPOINTING_INTERVAL), job.checkpointInterval,
                "with exactly-once delivery the job sets the interval itself: it must match the cluster's");
        assertEquals(JobConfig.Delivery.EXACTLY_ONCE, job.delivery);
        assertEquals(null, job.checkpointDir, "on a cluster checkpoints go to the cluster's execution.checkpointing.dir");
        String env = String.valueOf(map(service("kafka").get("environment")).get("KAFKA_ADVERTISED_LISTENERS"));
        assertTrue(env.contains("://" + job.bootstrapServers), "the job reaches the broker's in-network listener " + job.bootstrapServers);

        String topics = String.valueOf(list(service("topics").get("command")).get(0));
        for (String t : List.of(job.inputTopic, job.outputTopic, job.deadLetterTopic, job.codebookTopic)) {
            assertTrue(Pattern.compile("(^|[\\s\"])" + Pattern.quote(t) + "([\\s\";]|$)").matcher(topics).find(), "topic " + t + " is created");
        }
        Matcher cb = Pattern.compile("--topic " + Pattern.quote(job.codebookTopic) + "[^\\n]*\\n[^\\n]*--config cleanup.policy=compact"
                + " --config max.message.bytes=(\\d+)").matcher(topics);
        assertTrue(cb.find(), "the codebook topic is compacted with a size limit");
        assertEquals(VqKafka.CODEBOOK_MAX_REQUEST_BYTES, Integer.parseInt(cb.group(1)), "admits the codebook sink's largest record");
    }

    // ------------------------------------------------------------------ docker/prometheus.yml

    @Test
    void prometheusScrapesTheReporterPortOfEveryFlinkService() throws IOException {
        Map<String, Object> prom = yaml(PROMETHEUS);
        String port = reporterPort(loadFlink(PRODUCTION));
        Set<String> scraped = new HashSet<>();
        for (Object sc : list(prom.get("scrape_configs"))) {
            Map<String, Object> job = map(sc);
            for (Object dns : list(job.getOrDefault("dns_sd_configs", List.of()))) {
                Map<String, Object> d = map(dns);
                assertEquals(port, String.valueOf(d.get("port")), "the reporter's port");
                for (Object name : list(d.get("names"))) {
                    scraped.add(name + ":" + d.get("port"));
                }
            }
            for (Object st : list(job.getOrDefault("static_configs", List.of()))) {
                for (Object target : list(map(st).get("targets"))) {
                    scraped.add(String.valueOf(target));
                }
            }
        }
        Set<String> expected = new HashSet<>();
        for (String s : FLINK_SERVICES) {
            expected.add(s + ":" + port);
        }
        assertEquals(expected, scraped, "every Flink service, on the reporter's port, and nothing else");
        assertTrue(list(service("prometheus").get("volumes")).contains("./prometheus.yml:/etc/prometheus/prometheus.yml:ro"),
                "compose mounts this file where the image reads its configuration");
    }

    @Test
    void deploymentGuideNamesEveryOperatorMetric() throws IOException {
        String guide = Files.readString(ROOT.resolve("docs/deployment.md"));
        List<String> names = new ArrayList<>(List.of("codebookUsage", "perplexity", "quantizationError", "commitmentLoss"));
        for (Field f : QuantizerMetrics.class.getFields()) {
            if (!Modifier.isStatic(f.getModifiers())) {
                names.add(f.getName());
            }
        }
        for (String n : names) {
            assertTrue(guide.contains(n), "docs/deployment.md explains metric " + n);
        }
    }

    // ------------------------------------------------------------------ helpers: Flink

    private Configuration loadFlink(Path file) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "conf");
        Files.copy(file, dir.resolve(GlobalConfiguration.FLINK_CONF_FILENAME));
        return GlobalConfiguration.loadConfiguration(dir.toString());
    }

    private static void assertJvmOptions(Configuration c) throws IOException {
        List<String> opts = List.of(c.get(CoreOptions.FLINK_JVM_OPTIONS).trim().split("\\s+"));
        // the flags the build gives the JVM for the Vector API and ND4J, in the same spelling
        for (String property : List.of("vector.module.args", "test.jvm.javacpp")) {
            for (String flag : pomProperty(property).trim().split("\\s+")) {
                assertTrue(opts.contains(flag), "env.java.opts.all has " + flag);
            }
        }
        assertTrue(opts.contains("--add-opens=java.base/java.util=ALL-UNNAMED"), "Flink's own Java 17 flags are kept");
    }

    private static void assertReporter(Configuration c) throws Exception {
        assertEquals("prom", c.get(MetricOptions.REPORTERS_LIST));
        String factory = c.getString("metrics.reporter.prom." + MetricOptions.REPORTER_FACTORY_CLASS.key(), null);
        assertEquals(PROM_FACTORY, factory);
        assertTrue(MetricReporterFactory.class.isAssignableFrom(Class.forName(factory)), "a metric reporter factory");
    }

    private static String reporterPort(Configuration c) {
        String port = c.getString("metrics.reporter.prom.port", null);
        assertNotNull(port);
        assertTrue(NetUtils.getPortRangeFromString(port).hasNext(), "a port or port range: " + port);
        return port;
    }

    /** The primary keys of Flink's options (deprecated fields and fallback keys excluded). */
    private static Set<String> knownFlinkKeys() throws IllegalAccessException {
        Set<String> keys = new HashSet<>();
        for (Class<?> cls : List.of(CoreOptions.class, CheckpointingOptions.class, StateBackendOptions.class, StateRecoveryOptions.class,
                RestartStrategyOptions.class, TaskManagerOptions.class, JobManagerOptions.class, MetricOptions.class, RestOptions.class,
                PipelineOptions.class, ExecutionOptions.class, DeploymentOptions.class, ClusterOptions.class, HighAvailabilityOptions.class,
                SecurityOptions.class, WebOptions.class, BlobServerOptions.class, NettyShuffleEnvironmentOptions.class, RocksDBOptions.class,
                RocksDBConfigurableOptions.class, org.apache.flink.configuration.HeartbeatManagerOptions.class)) {
            for (Field f : cls.getFields()) {
                if (Modifier.isStatic(f.getModifiers()) && ConfigOption.class.isAssignableFrom(f.getType())
                        && !f.isAnnotationPresent(Deprecated.class)) {
                    keys.add(((ConfigOption<?>) f.get(null)).key());
                }
            }
        }
        return keys;
    }

    /** What may follow metrics.reporter.NAME.: Flink's generic reporter options and the Prometheus reporter's own. */
    private static Set<String> reporterSuffixes() throws Exception {
        Set<String> s = new HashSet<>();
        for (ConfigOption<?> o : List.of(MetricOptions.REPORTER_FACTORY_CLASS, MetricOptions.REPORTER_INTERVAL,
                MetricOptions.REPORTER_SCOPE_DELIMITER, MetricOptions.REPORTER_ADDITIONAL_VARIABLES, MetricOptions.REPORTER_EXCLUDED_VARIABLES,
                MetricOptions.REPORTER_INCLUDES, MetricOptions.REPORTER_EXCLUDES)) {
            s.add(o.key());
        }
        Field port = Class.forName(PROM_FACTORY).getDeclaredField("ARG_PORT");
        port.setAccessible(true);
        s.add((String) port.get(null));
        return s;
    }

    private static void assertNear(double expected, double actual, double tolerance, String what) {
        assertTrue(Math.abs(expected - actual) <= tolerance, what + ": expected ~" + expected + ", got " + actual);
    }

    // ------------------------------------------------------------------ helpers: files

    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("flink-conf")) && Files.isRegularFile(p.resolve("jobs/pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("repository root (with flink-conf/ and jobs/pom.xml) not found above " + Path.of("").toAbsolutePath());
    }

    private static Map<String, Object> yaml(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file)) {
            return map(new Yaml(new SafeConstructor(new LoaderOptions())).load(r));
        }
    }

    /** Nested YAML maps as Flink reads them: one dotted key per leaf. */
    private static Map<String, Object> flatten(Map<String, Object> m) {
        Map<String, Object> out = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (v instanceof Map<?, ?>) {
                flatten(map(v)).forEach((k2, v2) -> out.put(k + "." + k2, v2));
            } else {
                out.put(k, v);
            }
        });
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        assertTrue(o instanceof Map<?, ?>, "expected a YAML mapping, got " + o);
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        assertTrue(o instanceof List<?>, "expected a YAML list, got " + o);
        return (List<Object>) o;
    }

    private static Map<String, Object> service(String name) throws IOException {
        return map(map(yaml(COMPOSE).get("services")).get(name));
    }

    private static Iterable<?> dependsOn(Map<String, Object> svc) {
        Object d = svc.get("depends_on");
        if (d == null) {
            return List.of();
        }
        return d instanceof Map<?, ?> m ? m.keySet() : list(d);
    }

    /** Published ports, container port → host port. */
    private static Map<Integer, Integer> ports(Object svc) {
        Map<Integer, Integer> out = new HashMap<>();
        for (Object p : list(map(svc).getOrDefault("ports", List.of()))) {
            String[] hc = String.valueOf(p).split(":");
            assertEquals(2, hc.length, "HOST:CONTAINER " + p);
            out.put(Integer.parseInt(hc[1]), Integer.parseInt(hc[0]));
        }
        return out;
    }

    private static String mountOf(Map<String, Object> svc, String volume) {
        for (Object v : list(svc.getOrDefault("volumes", List.of()))) {
            String[] parts = String.valueOf(v).split(":");
            if (parts[0].equals(volume)) {
                return parts[1];
            }
        }
        return null;
    }

    /** FLINK_PROPERTIES as the image's entrypoint reads it: a line per key, whitespace removed, split at the first colon. */
    private static Map<String, String> flinkProperties(Map<String, Object> svc) {
        Map<String, String> out = new LinkedHashMap<>();
        Object props = map(svc.get("environment")).get("FLINK_PROPERTIES");
        for (String line : String.valueOf(props).split("\n")) {
            String l = line.replaceAll("\\s", "");
            if (!l.isEmpty()) {
                int colon = l.indexOf(':');
                out.put(l.substring(0, colon), l.substring(colon + 1));
            }
        }
        return out;
    }

    private static void assertPinned(String image) {
        String name = image.substring(image.lastIndexOf('/') + 1);
        int colon = name.indexOf(':');
        assertTrue(colon > 0 && colon < name.length() - 1, "image has a tag: " + image);
        String tag = name.substring(colon + 1);
        assertFalse(tag.equals("latest"), "image is pinned, not latest: " + image);
        assertTrue(tag.matches(".*\\d.*"), "image tag names a version: " + image);
    }

    private static String pomProperty(String name) throws IOException {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]*)</" + Pattern.quote(name) + ">")
                .matcher(Files.readString(ROOT.resolve("pom.xml")));
        assertTrue(m.find(), "pom.xml property " + name);
        return m.group(1);
    }

    private static String finalName(Path pom) throws IOException {
        Matcher m = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(Files.readString(pom));
        assertTrue(m.find(), pom + " names its finalName");
        return m.group(1);
    }

    private static JobConfig demoJob() throws IOException {
        return JobConfig.load(ROOT.resolve("docker/jobs/learn.yaml"));
    }

    /** The repository file that the Dockerfile copies to {@code imagePath}. */
    private static Path localFileFor(Dockerfile d, String imagePath) {
        for (Map.Entry<String, String> copy : d.copies.entrySet()) {
            String dest = copy.getValue();
            if (dest.endsWith("/") && imagePath.startsWith(dest)) {
                return ROOT.resolve(copy.getKey()).resolve(imagePath.substring(dest.length()));
            }
            if (dest.equals(imagePath)) {
                return ROOT.resolve(copy.getKey());
            }
        }
        fail("nothing in the Dockerfile is copied to " + imagePath);
        return null;
    }

    /** The FROM image and the COPY instructions (source → destination) of a Dockerfile. */
    private record Dockerfile(String from, Map<String, String> copies) {
        static Dockerfile read(Path file) throws IOException {
            String from = null;
            Map<String, String> copies = new LinkedHashMap<>();
            for (String raw : Files.readString(file).replace("\\\n", " ").split("\n")) {
                String line = raw.trim();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] w = line.split("\\s+");
                switch (w[0].toUpperCase()) {
                    case "FROM" -> {
                        assertEquals(null, from, "one build stage");
                        from = w[1];
                    }
                    case "COPY", "ADD" -> {
                        assertEquals("COPY", w[0], "COPY, not ADD");
                        List<String> args = new ArrayList<>();
                        for (int i = 1; i < w.length; i++) {
                            if (!w[i].startsWith("--")) {
                                args.add(w[i]);
                            } else {
                                assertEquals("--chown=flink:flink", w[i], "files belong to the image's user");
                            }
                        }
                        assertEquals(2, args.size(), "one source per COPY: " + line);
                        copies.put(args.get(0), args.get(1));
                    }
                    default -> { }
                }
            }
            assertNotNull(from, "FROM");
            return new Dockerfile(from, copies);
        }
    }
}

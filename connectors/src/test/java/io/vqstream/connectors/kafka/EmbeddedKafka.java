package io.vqstream.connectors.kafka;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real one-node Kafka (combined broker and KRaft controller) inside the test JVM, for tests of
 * this and other modules (published in the {@code vqstream-connectors} test-jar; a module using it
 * declares {@code org.apache.kafka:kafka-test-common-runtime} with test scope as well). Nothing
 * needs to be installed. Clients reach it on 127.0.0.1 only; single-node settings (replication
 * factor 1 for offsets and transaction state) make transactions work. Topics are not created
 * automatically.
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
 *     kafka.createTopic("vectors", 2);
 *     kafka.produce("vectors", "k1".getBytes(UTF_8), payload);
 *     List<ConsumerRecord<byte[], byte[]>> all = kafka.readAll("codes", true);
 * }
 * }</pre>
 */
public final class EmbeddedKafka implements AutoCloseable {
    private final KafkaClusterTestKit cluster;
    private final String bootstrapServers;
    private final Admin admin;
    private final KafkaProducer<byte[], byte[]> producer;

    private EmbeddedKafka(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
        this.bootstrapServers = cluster.bootstrapServers().replace("localhost:", "127.0.0.1:");
        Properties a = new Properties();
        a.setProperty("bootstrap.servers", bootstrapServers);
        this.admin = Admin.create(a);
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrapServers);
        p.setProperty("acks", "all");
        p.setProperty("linger.ms", "0");
        this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Starts a broker with the single-node defaults. */
    public static EmbeddedKafka start() throws Exception {
        return start(Map.of());
    }

    /** Starts a broker; {@code brokerConfig} adds to or overrides the single-node defaults. */
    public static EmbeddedKafka start(Map<String, String> brokerConfig) throws Exception {
        TestKitNodes nodes = new TestKitNodes.Builder()
                .setCombined(true)
                .setNumBrokerNodes(1)
                .setNumControllerNodes(1)
                .setBaseDirectory(Files.createTempDirectory("vq-embedded-kafka"))
                .build();
        String broker = nodes.brokerListenerName().value();
        String controller = nodes.controllerListenerName().value();
        Map<String, String> config = new HashMap<>();
        config.put("listeners", broker + "://127.0.0.1:0," + controller + "://127.0.0.1:0");
        config.put("offsets.topic.replication.factor", "1");
        config.put("offsets.topic.num.partitions", "2");
        config.put("transaction.state.log.replication.factor", "1");
        config.put("transaction.state.log.min.isr", "1");
        config.put("transaction.state.log.num.partitions", "2");
        config.put("group.initial.rebalance.delay.ms", "0");
        config.put("auto.create.topics.enable", "false");
        config.put("num.partitions", "1");
        config.putAll(brokerConfig);
        KafkaClusterTestKit.Builder b = new KafkaClusterTestKit.Builder(nodes);
        config.forEach(b::setConfigProp);
        KafkaClusterTestKit cluster = b.build();
        try {
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            return new EmbeddedKafka(cluster);
        } catch (Exception | Error e) {
            cluster.close();
            throw e;
        }
    }

    /** {@code 127.0.0.1:<port>}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    public void createTopic(String name, int partitions) throws Exception {
        createTopic(name, partitions, Map.of());
    }

    /** Creates a topic (replication factor 1) with topic configs, e.g. {@code cleanup.policy=compact}. */
    public void createTopic(String name, int partitions, Map<String, String> configs) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs))).all().get(30, TimeUnit.SECONDS);
        // the controller has the topic; wait until every partition has a leader, so that a produce
        // right after does not start on metadata without one (a test's first batch into a fresh
        // partition was once retried and refused as out of order, and its produce timed out)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String seen = "unknown to the broker";
        while (true) {
            try {
                var desc = admin.describeTopics(List.of(name)).allTopicNames().get(30, TimeUnit.SECONDS).get(name);
                if (desc.partitions().size() == partitions && desc.partitions().stream().allMatch(t -> t.leader() != null && t.leader().id() >= 0)) {
                    return;
                }
                seen = desc.toString();
            } catch (java.util.concurrent.ExecutionException e) {
                // right after creation the broker may not know the topic yet: the very race waited out here
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)) {
                    throw e;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topic " + name + " has partitions without a leader after 30 s: " + seen);
            }
            Thread.sleep(20);
        }
    }

    /** Produces one record (acks=all) and waits for it. */
    public void produce(String topic, byte[] key, byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
    }

    /** Produces records in order and waits for all of them. */
    public void produce(List<ProducerRecord<byte[], byte[]>> records) throws Exception {
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
        for (ProducerRecord<byte[], byte[]> r : records) {
            sent.add(producer.send(r));
        }
        producer.flush();
        for (java.util.concurrent.Future<?> f : sent) {
            f.get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * Every record now in the topic, from the beginning up to the end offsets at the call (the
     * last stable offsets with {@code readCommitted}, so open and aborted transactions are left
     * out), in partition then offset order.
     */
    public List<ConsumerRecord<byte[], byte[]>> readAll(String topic, boolean readCommitted) {
        try (KafkaConsumer<byte[], byte[]> c = consumer(readCommitted)) {
            List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts, Duration.ofSeconds(30));
            Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> byPart = new HashMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("reading " + topic + " did not reach the end offsets " + end + " in 30 s");
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (r.offset() < end.get(tp)) {
                        byPart.computeIfAbsent(tp, k -> new ArrayList<>()).add(r);
                    }
                }
            }
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            parts.stream().sorted(java.util.Comparator.comparingInt(TopicPartition::partition))
                    .forEach(tp -> out.addAll(byPart.getOrDefault(tp, List.of())));
            return out;
        }
    }

    /** Polls the topic from the beginning until at least {@code count} records arrived or the timeout passed. */
    public List<ConsumerRecord<byte[], byte[]>> consume(String topic, int count, Duration timeout, boolean readCommitted) {
        try (KafkaConsumer<byte[], byte[]> c = consumer(readCommitted)) {
            List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
            c.assign(parts);
            c.seekToBeginning(parts);
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (out.size() < count && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            return out;
        }
    }

    private KafkaConsumer<byte[], byte[]> consumer(boolean readCommitted) {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrapServers);
        p.setProperty("isolation.level", readCommitted ? "read_committed" : "read_uncommitted");
        p.setProperty("enable.auto.commit", "false");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Topic names on the broker. */
    public Set<String> topics() throws Exception {
        return admin.listTopics().names().get(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        try {
            producer.close(Duration.ofSeconds(5));
            admin.close(Duration.ofSeconds(5));
        } finally {
            cluster.close();
        }
    }
}

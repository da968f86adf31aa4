package io.vqstream.connectors.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The embedded broker itself, transactions on it, and the preflight check. */
class EmbeddedKafkaTest {
    private static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    static void stop() throws Exception {
        kafka.close();
    }

    @Test
    void listensOnLoopbackAndRoundTripsRecords() throws Exception {
        assertTrue(kafka.bootstrapServers().matches("127\\.0\\.0\\.1:\\d+"), kafka.bootstrapServers());
        kafka.createTopic("plain", 2);
        for (int i = 0; i < 6; i++) {
            kafka.produce("plain", ("k" + i).getBytes(UTF_8), ("v" + i).getBytes(UTF_8));
        }
        List<ConsumerRecord<byte[], byte[]>> all = kafka.readAll("plain", false);
        assertEquals(6, all.size());
        assertEquals(java.util.Set.of("v0", "v1", "v2", "v3", "v4", "v5"),
                all.stream().map(r -> new String(r.value(), UTF_8)).collect(java.util.stream.Collectors.toSet()));
        assertTrue(kafka.topics().contains("plain"));
    }

    @Test
    void readCommittedHidesAbortedTransactions() throws Exception {
        kafka.createTopic("tx", 1);
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", kafka.bootstrapServers());
        p.setProperty("transactional.id", "embedded-test");
        p.setProperty("transaction.timeout.ms", "60000");
        try (KafkaProducer<byte[], byte[]> tx = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            tx.initTransactions();
            tx.beginTransaction();
            tx.send(new ProducerRecord<>("tx", "committed".getBytes(UTF_8)));
            tx.commitTransaction();
            tx.beginTransaction();
            tx.send(new ProducerRecord<>("tx", "aborted".getBytes(UTF_8)));
            tx.flush();
            tx.abortTransaction();
        }
        List<ConsumerRecord<byte[], byte[]>> committed = kafka.readAll("tx", true);
        assertEquals(List.of("committed"), committed.stream().map(r -> new String(r.value(), UTF_8)).toList());
        List<ConsumerRecord<byte[], byte[]>> raw = kafka.consume("tx", 2, Duration.ofSeconds(10), false);
        assertEquals(List.of("committed", "aborted"), raw.stream().map(r -> new String(r.value(), UTF_8)).toList());
    }

    @Test
    void preflightReportsTheCluster() {
        KafkaPreflight.ClusterInfo info = KafkaPreflight.check(kafka.bootstrapServers(), Duration.ofSeconds(10));
        assertEquals(1, info.brokers());
        assertTrue(info.clusterId() != null && !info.clusterId().isEmpty());
    }

    @Test
    void preflightFailsFastOnAClosedPort() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String bootstrap = "127.0.0.1:" + port;
        long t0 = System.nanoTime();
        KafkaUnreachableException e = assertThrows(KafkaUnreachableException.class,
                () -> KafkaPreflight.check(bootstrap, Duration.ofSeconds(2)));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals("cannot reach Kafka at " + bootstrap + " within 2 s", e.getMessage());
        assertTrue(seconds < 6, "took " + seconds + " s");
    }

    @Test
    void preflightNamesAnUnresolvableHost() {
        KafkaUnreachableException e = assertThrows(KafkaUnreachableException.class,
                () -> KafkaPreflight.check("no-such-host.invalid:9092", Duration.ofSeconds(2)));
        assertTrue(e.getMessage().startsWith("cannot reach Kafka at no-such-host.invalid:9092"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }
}

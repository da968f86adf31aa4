package io.vqstream.connectors.kafka;

import org.apache.flink.annotation.Internal;
import java.time.Duration;
import java.util.Collection;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Node;

/**
 * Checks that Kafka answers before a job starts: one {@code describeCluster} call through an
 * admin client whose every timeout is the given one.
 */
@Internal
public final class KafkaPreflight {
    private KafkaPreflight() {}

    /** What the cluster reported. */
    public record ClusterInfo(String clusterId, int brokers) {}

    /**
     * @throws KafkaUnreachableException "cannot reach Kafka at host:port within 10 s" (or the
     *         client's reason, e.g. an unresolvable host) when no broker answers in time
     */
    public static ClusterInfo check(String bootstrapServers, Duration timeout) {
        VqSinkBuilder.nonEmpty(bootstrapServers, "bootstrap servers");
        long ms = KafkaClientTimeouts.millis(timeout);
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrapServers);
        p.setProperty("request.timeout.ms", Long.toString(ms));
        p.setProperty("default.api.timeout.ms", Long.toString(ms));
        p.setProperty("socket.connection.setup.timeout.ms", Long.toString(Math.min(ms, 10_000)));
        p.setProperty("socket.connection.setup.timeout.max.ms", Long.toString(ms));
        p.setProperty("reconnect.backoff.max.ms", "1000");
        p.setProperty("client.id", "vqstream-preflight");
        String where = "cannot reach Kafka at " + bootstrapServers;
        Admin admin;
        try {
            admin = Admin.create(p);
        } catch (KafkaException e) {
            throw new KafkaUnreachableException(where + ": " + oneLine(rootMessage(e)), e);
        }
        try {
            DescribeClusterResult r = admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) ms));
            Collection<Node> nodes = r.nodes().get(ms + 2000, TimeUnit.MILLISECONDS);
            String id = r.clusterId().get(ms + 2000, TimeUnit.MILLISECONDS);
            return new ClusterInfo(id, nodes.size());
        } catch (TimeoutException e) {
            throw new KafkaUnreachableException(where + " within " + KafkaClientTimeouts.human(timeout), e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
                throw new KafkaUnreachableException(where + " within " + KafkaClientTimeouts.human(timeout), e.getCause());
            }
            throw new KafkaUnreachableException(where + ": " + oneLine(rootMessage(e.getCause())), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaUnreachableException(where + ": interrupted", e);
        } finally {
            admin.close(Duration.ofSeconds(1));
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String m = c.getMessage();
        return m == null ? c.getClass().getSimpleName() : m;
    }

    private static String oneLine(String s) {
        return s.replaceAll("[\\r\\n]+", " ");
    }
}

package io.vqstream.bench.e2e;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Topics, a vector producer and a code counter for the Kafka ops (all on the loopback broker). */
final class KafkaIo {
    private KafkaIo() {}

    /** Creates a topic; {@code logAppendTime} makes the broker stamp each record with its append time. */
    static void createTopic(String bootstrap, String name, int partitions, boolean logAppendTime) throws Exception {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrap);
        try (Admin admin = Admin.create(p)) {
            NewTopic t = new NewTopic(name, partitions, (short) 1);
            if (logAppendTime) {
                t.configs(Map.of("message.timestamp.type", "LogAppendTime"));
            }
            admin.createTopics(List.of(t)).all().get(60, TimeUnit.SECONDS);
        }
    }

    static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrap);
        p.setProperty("acks", "all");
        p.setProperty("linger.ms", "5");
        p.setProperty("batch.size", Integer.toString(256 * 1024));
        p.setProperty("buffer.memory", Long.toString(64L << 20));
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /**
     * JSON vectors ({@code {"key":..,"seq":..,"ts":..,"vector":[..]}}, connectors/README.md) for
     * {@code keys} keys round-robin, from a fixed pool of Gaussian vectors (seeded).
     */
    /** A consumer of every partition of {@code topic}, from the earliest offset, without a group. */
    static KafkaConsumer<byte[], byte[]> fromBeginning(String bootstrap, String topic, boolean readCommitted) {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", bootstrap);
        p.setProperty("isolation.level", readCommitted ? "read_committed" : "read_uncommitted");
        p.setProperty("enable.auto.commit", "false");
        p.setProperty("max.poll.records", "5000");
        p.setProperty("fetch.max.bytes", Integer.toString(64 << 20));
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        c.partitionsFor(topic, Duration.ofSeconds(60)).forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }

    static final class Vectors {
        private final int keys;
        private final String[] bodies;
        private final byte[][] keyBytes;

        private final float[][] pool;
        private final boolean binary;

        Vectors(int keys, int dim, long seed) {
            this(keys, dim, seed, false);
        }

        /** @param binary records in the binary vector format instead of JSON */
        Vectors(int keys, int dim, long seed, boolean binary) {
            this.keys = keys;
            this.binary = binary;
            float[][] pool = OperatorBench.gaussianPool(seed, 4096, dim);
            this.pool = pool;
            bodies = new String[pool.length];
            for (int i = 0; i < pool.length; i++) {
                StringBuilder sb = new StringBuilder(dim * 12);
                sb.append(",\"vector\":[");
                for (int d = 0; d < dim; d++) {
                    if (d > 0) {
                        sb.append(',');
                    }
                    sb.append(pool[i][d]);
                }
                bodies[i] = sb.append("]}").toString();
            }
            keyBytes = new byte[keys][];
            for (int k = 0; k < keys; k++) {
                keyBytes[k] = ("key-" + k).getBytes(StandardCharsets.UTF_8);
            }
        }

        ProducerRecord<byte[], byte[]> record(String topic, long i, long ts) {
            int k = (int) (i % keys);
            int slot = (int) Long.remainderUnsigned(i * 0x9E3779B97F4A7C15L, bodies.length);
            if (binary) {
                byte[] v = io.vqstream.connectors.serde.VectorCodec.encode(
                        new io.vqstream.operators.record.VectorRecord("key-" + k, i / keys, ts, pool[slot]),
                        io.vqstream.connectors.serde.WireFormat.BINARY);
                return new ProducerRecord<>(topic, keyBytes[k], v);
            }
            String json = "{\"key\":\"key-" + k + "\",\"seq\":" + (i / keys) + ",\"ts\":" + ts + bodies[slot];
            return new ProducerRecord<>(topic, keyBytes[k], json.getBytes(StandardCharsets.UTF_8));
        }

        int averageBytes() {
            long s = 0;
            for (String b : bodies) {
                s += b.length() + 40;
            }
            return (int) (s / bodies.length);
        }
    }

    /** The first code of every JSON code record of a topic, by "key/seq" (read until n records or 60 s of nothing new). */
    static Map<String, Long> jsonCodes(String bootstrap, String topic, long n) throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        Map<String, Long> out = new java.util.HashMap<>();
        try (KafkaConsumer<byte[], byte[]> c = fromBeginning(bootstrap, topic, true)) {
            long idleSince = System.nanoTime();
            while (out.size() < n && System.nanoTime() - idleSince < 60_000_000_000L) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    com.fasterxml.jackson.databind.JsonNode t = json.readTree(r.value());
                    out.put(t.get("key").asText() + "/" + t.get("seq").asLong(), t.get("codes").get(0).asLong());
                    idleSince = System.nanoTime();
                }
            }
        }
        return out;
    }

    /** Writes n vectors and waits until the broker has all of them; returns the seconds it took. */
    static double prefill(String bootstrap, String topic, long n, Vectors vectors) throws Exception {
        long t0 = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> p = producer(bootstrap)) {
            long ts = System.currentTimeMillis();
            AtomicLong failed = new AtomicLong();
            for (long i = 0; i < n; i++) {
                p.send(vectors.record(topic, i, ts), (md, e) -> {
                    if (e != null) {
                        failed.incrementAndGet();
                    }
                });
            }
            p.flush();
            if (failed.get() > 0) {
                throw new IllegalStateException(failed.get() + " of " + n + " vectors could not be written to " + topic);
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * Writes vectors {@code from..from+n−1} at {@code rate} per second, each stamped with its send
     * time (epoch ms) as the record's {@code ts}, so that a code's latency is its broker append
     * time minus that stamp. Returns the achieved rate.
     */
    static double paced(String bootstrap, String topic, long from, long n, double rate, Vectors vectors) throws Exception {
        long t0 = System.nanoTime();
        AtomicLong failed = new AtomicLong();
        try (KafkaProducer<byte[], byte[]> p = producer(bootstrap)) {
            for (long i = 0; i < n; i++) {
                long due = t0 + (long) (i * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 200_000) {
                    java.util.concurrent.locks.LockSupport.parkNanos(wait);
                }
                p.send(vectors.record(topic, from + i, System.currentTimeMillis()), (md, e) -> {
                    if (e != null) {
                        failed.incrementAndGet();
                    }
                });
            }
            p.flush();
        }
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " of " + n + " vectors could not be written to " + topic);
        }
        return n / ((System.nanoTime() - t0) / 1e9);
    }

    /** The {@code ts} field of a JSON code record (the input record's time), or −1. */
    static long jsonTs(byte[] value) {
        String s = new String(value, 0, Math.min(value.length, 4096), StandardCharsets.UTF_8);
        int i = s.indexOf("\"ts\":");
        if (i < 0) {
            return -1;
        }
        int j = i + 5;
        long v = 0;
        while (j < s.length() && Character.isDigit(s.charAt(j))) {
            v = v * 10 + (s.charAt(j++) - '0');
        }
        return v;
    }

    /**
     * Counts the records of a topic from the beginning on a background thread, with the smallest
     * and largest record timestamps seen (broker append times on a LogAppendTime topic).
     */
    static final class Counter implements AutoCloseable {
        private final AtomicLong count = new AtomicLong();
        private final AtomicLong minTs = new AtomicLong(Long.MAX_VALUE);
        private final AtomicLong maxTs = new AtomicLong(Long.MIN_VALUE);
        private final AtomicLong firstSeenNanos = new AtomicLong(Long.MAX_VALUE);
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;
        private volatile Throwable failure;
        private volatile long lastSeenNanos;

        /** Append time − input time (ms) of each JSON code whose input time is at least {@link #latencyFrom}, when asked for. */
        private final List<Long> latencies = java.util.Collections.synchronizedList(new ArrayList<>());
        private volatile long latencyFrom = Long.MAX_VALUE;

        Counter(String bootstrap, String topic, boolean readCommitted) {
            thread = new Thread(() -> {
                try (KafkaConsumer<byte[], byte[]> c = fromBeginning(bootstrap, topic, readCommitted)) {
                    while (!stop.get()) {
                        long n = 0;
                        long lo = Long.MAX_VALUE;
                        long hi = Long.MIN_VALUE;
                        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                            n++;
                            lo = Math.min(lo, r.timestamp());
                            hi = Math.max(hi, r.timestamp());
                            if (latencyFrom != Long.MAX_VALUE) {
                                long ts = jsonTs(r.value());
                                if (ts >= latencyFrom) {
                                    latencies.add(r.timestamp() - ts);
                                }
                            }
                        }
                        if (n > 0) {
                            long now = System.nanoTime();
                            firstSeenNanos.compareAndSet(Long.MAX_VALUE, now);
                            lastSeenNanos = now;
                            long l = lo;
                            long h = hi;
                            minTs.accumulateAndGet(l, Math::min);
                            maxTs.accumulateAndGet(h, Math::max);
                            count.addAndGet(n);
                        }
                    }
                } catch (Throwable t) {
                    failure = t;
                }
            }, "count-" + topic);
            thread.setDaemon(true);
            thread.start();
        }

        /** From now on, latencies of codes whose input time is at least {@code epochMillis} are kept. */
        void measureLatencyFrom(long epochMillis) {
            latencyFrom = epochMillis;
        }

        /** The latencies kept, sorted (ms). */
        long[] latencies() {
            synchronized (latencies) {
                return latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            }
        }

        long count() {
            check();
            return count.get();
        }

        long minTimestamp() {
            return minTs.get();
        }

        long maxTimestamp() {
            return maxTs.get();
        }

        long firstSeenNanos() {
            return firstSeenNanos.get();
        }

        long lastSeenNanos() {
            return lastSeenNanos;
        }

        /** Waits until n records were counted; returns System.nanoTime() when the poll that reached n returned, or -1 on timeout. */
        long awaitCount(long n, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (count() < n) {
                if (System.nanoTime() > deadline) {
                    return -1;
                }
                Thread.sleep(5);
            }
            return lastSeenNanos;
        }

        private void check() {
            if (failure != null) {
                throw new IllegalStateException("counting consumer failed", failure);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(10_000);
        }
    }
}

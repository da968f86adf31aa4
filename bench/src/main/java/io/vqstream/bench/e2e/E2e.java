package io.vqstream.bench.e2e;

import io.vqstream.bench.report.JsonLine;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;

/**
 * The end-to-end ops of {@code bin/vqstream bench}: whole Flink jobs on an in-process
 * mini-cluster, and the Kafka pipelines against a one-node broker on 127.0.0.1.
 *
 * <ul>
 *   <li>{@code operator}: records/s through the keyed quantize operator ({@link OperatorBench});</li>
 *   <li>{@code kafka-quantize}: vectors/s of the {@code quantize} command, Kafka to Kafka ({@link KafkaQuantizeBench});</li>
 *   <li>{@code demo}: wall time and frames/s of {@code bin/vqstream demo} ({@link DemoBench});</li>
 *   <li>{@code audio-streams}: EnCodec-shaped streams per core in real time, shared frozen RVQ ({@link AudioStreamsBench});</li>
 *   <li>{@code soak}: the {@code quantize} command with learning and checkpoints for minutes, with
 *       throughput, checkpoint and memory reports every 30 s ({@link SoakBench}).</li>
 * </ul>
 * Every op prints JSON lines on stdout; logs (warnings, and vqstream's own INFO lines) go to stderr.
 * Each op is a picocli command whose options (types, defaults, descriptions) are its fields; this
 * class holds what they share.
 */
public final class E2e {
    private E2e() {}

    /** Warnings only from Flink and Kafka (their INFO lines run to thousands per job); vqstream's own INFO stays. */
    static void quietLogs() {
        Configurator.setRootLevel(Level.WARN);
        Configurator.setLevel("io.vqstream", Level.INFO);
        // the Kafka sink's writer and committer register metrics under the same names (warned at every checkpoint)
        Configurator.setLevel("org.apache.flink.metrics", Level.ERROR);
        Configurator.setLevel("org.apache.flink.streaming.api.operators.collect", Level.ERROR);
        // a mini-cluster has no log file and no delegation tokens: two warnings per job that say only that
        Configurator.setLevel("org.apache.flink.runtime.webmonitor.WebMonitorUtils", Level.ERROR);
        Configurator.setLevel("org.apache.flink.runtime.security.token.DefaultDelegationTokenManager", Level.ERROR);
    }

    static void print(Map<String, Object> json) {
        JsonLine.print(json);
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        if (n == 0) {
            return Double.NaN;
        }
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** The 1-minute load average, as {@code uptime} shows it (NaN where unavailable). */
    static double loadAverage() {
        return round(java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), 2);
    }
}

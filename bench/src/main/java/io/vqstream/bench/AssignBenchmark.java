package io.vqstream.bench;

import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.JvmBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * Nearest-code assignment of N vectors (one call = one micro-batch), L2 and cosine, at the
 * anchors' shapes. Vectors/s = batch / (ms/op) · 1000.
 */
public class AssignBenchmark extends MicroBatchBenchmark {
    /** {@code DxK}. */
    @Param({"128x1024", "256x1024", "64x16384", "512x8192"})
    public String shape;

    @Param({"256", "4096"})
    public int batch;

    @Param({"l2", "cosine"})
    public String metric;

    @Param({"jvm", "nd4j"})
    public String backend;

    Workloads.Assign call;

    @Setup(Level.Trial)
    public void setup() throws InterruptedException {
        String[] dk = shape.split("x");
        call = new Workloads.Assign(Backends.byName(backend), Integer.parseInt(dk[0]), Integer.parseInt(dk[1]), batch,
                metric.equals("cosine"), 100);
        JvmBackend.awaitWarmUp();
    }

    @Benchmark
    public int[] assign() {
        call.run();
        return call.indices();
    }
}

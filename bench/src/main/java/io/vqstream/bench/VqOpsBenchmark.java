package io.vqstream.bench;

import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.JvmBackend;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * RVQ 8×1024 at D=128, N=4096 (residual loop through the backend); FSQ [8,5,5,5] and LFQ
 * 16 bits at N=65536 (evaluation forward of the quantizer classes).
 */
public class VqOpsBenchmark extends MicroBatchBenchmark {
    @Param({"jvm", "nd4j"})
    public String backend;

    Workloads.Rvq rvq;
    Workloads.Forward fsq;
    Workloads.Forward lfq;

    @Setup(Level.Trial)
    public void setup() throws InterruptedException {
        rvq = new Workloads.Rvq(Backends.byName(backend), 128, 1024, 4096, 8, 100);
        fsq = Workloads.Forward.fsq(Backends.byName(backend), List.of(8, 5, 5, 5), 4, 65536, 100);
        lfq = Workloads.Forward.lfq(Backends.byName(backend), 16, 65536, 100);
        JvmBackend.awaitWarmUp();
    }

    @Benchmark
    public void rvq8x1024() {
        rvq.run();
    }

    @Benchmark
    public void fsq8555() {
        fsq.run();
    }

    @Benchmark
    public void lfq16bits() {
        lfq.run();
    }
}

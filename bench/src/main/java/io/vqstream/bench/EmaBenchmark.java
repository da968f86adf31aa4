package io.vqstream.bench;

import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.JvmBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * One EMA training step of VectorQuantize at D=256, K=1024, N=4096 next to the assignment
 * alone on the same shape: the target is emaStep ≤ 1.3 × assignOnly.
 */
public class EmaBenchmark extends MicroBatchBenchmark {
    @Param({"jvm", "nd4j"})
    public String backend;

    Workloads.EmaStep ema;
    Workloads.Assign assign;

    @Setup(Level.Trial)
    public void setup() throws InterruptedException {
        ComputeBackend b = Backends.byName(backend);
        ema = new Workloads.EmaStep(b, 256, 1024, 4096, 100);
        assign = new Workloads.Assign(b, 256, 1024, 4096, false, 100);
        JvmBackend.awaitWarmUp();
    }

    @Benchmark
    public void emaStep() {
        ema.run();
    }

    @Benchmark
    public int[] assignOnly() {
        assign.run();
        return assign.indices();
    }
}

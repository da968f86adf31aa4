package io.vqstream.bench;

import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.JvmBackend;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Streaming micro-batches: latency of one assignment call of N = 1..64 vectors at D=128, K=1024. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector",
        "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-Dorg.bytedeco.javacpp.maxBytes=0"})
public class StreamLatencyBenchmark {
    @Param({"1", "2", "4", "8", "16", "32", "64"})
    public int batch;

    @Param({"jvm", "nd4j", "auto"})
    public String backend;

    Workloads.Assign call;

    @Setup(Level.Trial)
    public void setup() throws InterruptedException {
        call = new Workloads.Assign(Backends.byName(backend), 128, 1024, batch, false, 100);
        JvmBackend.awaitWarmUp();
    }

    @Benchmark
    public int[] assign() {
        call.run();
        return call.indices();
    }
}

package io.vqstream.operators.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.backend.JvmBackend;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KernelWarmUpTest {
    static Quantizer vq(int dim, int size) {
        return Quantizers.create("VectorQuantize", Map.of("dim", dim, "codebook_size", size));
    }

    @Test
    void warmsAShapeOnceWithinItsBudgetAndCountsNoRows() throws Exception {
        JvmBackend jvm = JvmBackend.get();
        long[] before = jvm.refereeCounts();
        KernelWarmUp.Report r = KernelWarmUp.warm(vq(24, 96), 32, jvm, 3000);
        assertNotNull(r);
        assertTrue(r.rounds() > 0, r.toString());
        assertTrue(r.millis() < 3000 + 1000, "the budget bounds the warm-up: " + r);
        assertTrue(!r.settled() || r.rounds() >= 2 * KernelWarmUp.WINDOW, "settling needs two full windows of rounds: " + r);
        assertArrayEquals(before, jvm.refereeCounts(), "rows of the warm-up are not the job's rows");
        assertNull(KernelWarmUp.warm(vq(24, 96), 32, jvm, 3000), "the same shape is warmed once per JVM");
        assertNotNull(KernelWarmUp.warm(vq(24, 96), 8, jvm, 200), "another batch size is another shape");
    }

    /** The round (1-based) at which the rule first says settled, or 0. */
    private static int settlesAt(long... rounds) {
        KernelWarmUp.Plateau p = new KernelWarmUp.Plateau();
        for (int i = 0; i < rounds.length; i++) {
            if (p.add(rounds[i])) {
                return i + 1;
            }
        }
        return 0;
    }

    private static long[] repeat(long[] cycle, int times, long[] before) {
        long[] r = java.util.Arrays.copyOf(before, before.length + cycle.length * times);
        for (int i = 0; i < cycle.length * times; i++) {
            r[before.length + i] = cycle[i % cycle.length];
        }
        return r;
    }

    @Test
    void settlesOneWindowAndHalfASecondAfterTheLastClearGainOfTheMedian() {
        long ms = 1_000_000;
        // noisy rounds (±30 %) around a steady 100 ms median: settled after two windows, not stopped or prolonged by noise
        long[] noisy = {70 * ms, 130 * ms, 90 * ms, 110 * ms, 100 * ms, 100 * ms, 80 * ms, 120 * ms};
        assertEquals(2 * KernelWarmUp.WINDOW, settlesAt(repeat(noisy, 6, new long[0])));
        // ten slow rounds, then compiled code 100× faster: the median drops once five of eight rounds are fast
        // (round 15) and once more by over 10 % at round 16; then 500 ms of ~10 ms rounds (50) must pass
        long[] slow = new long[10];
        java.util.Arrays.fill(slow, 1000 * ms);
        long[] fast = java.util.Arrays.stream(noisy).map(t -> t / 10).toArray();
        assertEquals(16 + 50, settlesAt(repeat(fast, 20, slow)));
        // a short plateau is no plateau: 1 ms rounds settle only after 500 ms without a gain
        assertEquals(8 + KernelWarmUp.MIN_PLATEAU_MS, settlesAt(repeat(new long[] {ms}, 2000, new long[0])));
        // still gaining 12 % every fourth round: never settled
        long[] gaining = new long[80];
        double t = 1e9;
        for (int i = 0; i < gaining.length; i++) {
            if (i % 4 == 0) {
                t *= 0.88;
            }
            gaining[i] = (long) t;
        }
        assertEquals(0, settlesAt(gaining));
    }

    @Test
    void aZeroBudgetDoesNothing() throws Exception {
        assertNull(KernelWarmUp.warm(vq(8, 16), 4, JvmBackend.get(), 0));
    }

    @Test
    void theBudgetPropertyMustBeANumber() {
        String old = System.getProperty(KernelWarmUp.BUDGET_PROPERTY);
        try {
            System.setProperty(KernelWarmUp.BUDGET_PROPERTY, "soon");
            assertThrows(IllegalArgumentException.class, KernelWarmUp::budgetMillis);
            System.setProperty(KernelWarmUp.BUDGET_PROPERTY, "250");
            assertTrue(KernelWarmUp.budgetMillis() == 250);
        } finally {
            if (old == null) {
                System.clearProperty(KernelWarmUp.BUDGET_PROPERTY);
            } else {
                System.setProperty(KernelWarmUp.BUDGET_PROPERTY, old);
            }
        }
    }

    @Test
    void codebooksAwaitingKmeansAreFilledForTheWarmUpOthersAreTheQuantizersOwn() {
        Quantizer kmeans = Quantizers.create("ResidualVQ", Map.of("dim", 16, "codebook_size", 64, "num_quantizers", 3, "kmeans_init", true));
        io.vqstream.core.quantize.Params p = KernelWarmUp.warmUpParams(kmeans);
        int embeds = 0;
        for (String name : p.names()) {
            if (name.endsWith("embed")) {
                embeds++;
                float[] cb = p.get(name).data();
                assertTrue(java.util.Arrays.stream(box(cb)).anyMatch(v -> v != 0f), name + " is not all zero");
                assertTrue(cb[0] != cb[16], name + ": codes differ");
            }
        }
        assertTrue(embeds == 3, "one codebook per layer: " + p.names());
        for (String name : p.names()) {
            if (name.endsWith("initted")) {
                assertTrue(p.get(name).data()[0] == 1f, name + ": the warm-up must not run the k-means initialisation");
            }
        }
        io.vqstream.core.quantize.Params before = p.copy();
        // rows meet distinct codes, not one tie over the whole codebook
        float[] x = new float[32 * 16];
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        long[] idx = kmeans.forwardTokens(p, new io.vqstream.core.tensor.Tensor(x, 32, 1, 16), io.vqstream.core.quantize.ForwardOptions.eval())
                .indices().data();
        assertTrue(java.util.Arrays.stream(idx).distinct().count() > 4, "codes spread: " + java.util.Arrays.toString(idx));
        assertTrue(p.bitEquals(before), "an evaluation call with initialised codebooks changes nothing (no k-means ran)");

        Quantizer plain = Quantizers.create("VectorQuantize", Map.of("dim", 16, "codebook_size", 64));
        assertTrue(KernelWarmUp.warmUpParams(plain).bitEquals(plain.initParams(0x5EED)), "an initialised codebook is left as it is");
    }

    private static Float[] box(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
        return b;
    }
}

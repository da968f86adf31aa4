package io.vqstream.core.backend;

/** Run in a child JVM by {@link BackendSelectionTest}: prints what the provider picked. */
public final class BackendProbe {
    private BackendProbe() {}

    public static void main(String[] args) {
        System.out.println("vector=" + JvmBackend.vectorApiAvailable());
        System.out.println("jvm=" + JvmBackend.get().describe());
        System.out.println("nd4jOnClassPath=" + Backends.nd4jOnClassPath());
        try {
            System.out.println("nd4j=" + Backends.byName("nd4j").name());
        } catch (IllegalStateException e) {
            System.out.println("nd4jError=" + e.getMessage());
        }
        ComputeBackend auto = Backends.byName("auto");
        int[] idx = new int[1];
        auto.assign(new float[] {1f, 2f}, 1, 2, new float[] {0f, 0f, 1f, 2f}, 0, 2, Metric.L2, idx, null);
        System.out.println("auto=" + auto.name() + " idx=" + idx[0]);
        System.out.println("default=" + Backends.getDefault().name());
    }
}

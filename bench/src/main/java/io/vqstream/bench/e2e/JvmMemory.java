package io.vqstream.bench.e2e;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * This JVM's memory, in MiB: heap (now, and after the last collection of each pool), non-heap,
 * direct and mapped NIO buffers, the resident set size (and the part of it outside the committed
 * heap: native memory), and JavaCPP's accounting when it is on the
 * class path ({@code Pointer.totalBytes()}: native memory JavaCPP allocated and has not freed,
 * ND4J's buffers among it; {@code Pointer.physicalBytes()}: the process's resident memory as
 * JavaCPP reads it).
 */
final class JvmMemory {
    private JvmMemory() {}

    static final double MIB = 1024.0 * 1024.0;

    /** Two full collections (with a pause between), then a snapshot. */
    static Map<String, Object> afterGc() throws InterruptedException {
        System.gc();
        Thread.sleep(200);
        System.gc();
        Thread.sleep(200);
        Map<String, Object> m = snapshot();
        m.put("heap_used_after_gc_mib", m.remove("heap_used_mib"));
        return m;
    }

    static Map<String, Object> snapshot() {
        Map<String, Object> m = new LinkedHashMap<>();
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        m.put("heap_used_mib", mib(heap.getUsed()));
        long afterLast = 0;
        boolean known = false;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP && p.getCollectionUsage() != null) {
                afterLast += p.getCollectionUsage().getUsed();
                known = true;
            }
        }
        if (known) {
            m.put("heap_after_last_gc_mib", mib(afterLast));
        }
        m.put("heap_committed_mib", mib(heap.getCommitted()));
        m.put("non_heap_used_mib", mib(ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage().getUsed()));
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                m.put("direct_mib", mib(b.getMemoryUsed()));
                m.put("direct_buffers", b.getCount());
            } else if (b.getName().equals("mapped")) {
                m.put("mapped_mib", mib(b.getMemoryUsed()));
            }
        }
        long rss = rssBytes();
        if (rss >= 0) {
            m.put("rss_mib", mib(rss));
            // resident memory outside the Java heap (native allocations, metaspace, code, thread stacks, direct buffers);
            // a slight underestimate where committed heap pages were never touched
            m.put("rss_minus_heap_committed_mib", mib(rss - heap.getCommitted()));
        }
        Long total = javacpp("totalBytes");
        if (total != null) {
            m.put("javacpp_total_mib", mib(total));
            Long physical = javacpp("physicalBytes");
            if (physical != null) {
                m.put("javacpp_physical_mib", mib(physical));
            }
        }
        return m;
    }

    private static double mib(long bytes) {
        return E2e.round(bytes / MIB, 1);
    }

    private static long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return -1;
    }

    private static Long javacpp(String method) {
        try {
            Class<?> pointer = Class.forName("org.bytedeco.javacpp.Pointer");
            Method m = pointer.getMethod(method);
            return (Long) m.invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            return null;
        }
    }
}

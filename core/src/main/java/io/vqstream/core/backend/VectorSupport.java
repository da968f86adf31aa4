package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that decides whether the Vector API kernels run and with how many float lanes.
 * Probed once per JVM and logged once:
 * <ul>
 *   <li>the module {@code jdk.incubator.vector} must be in the boot layer (start the JVM with
 *       {@code --add-modules jdk.incubator.vector}); {@code -D}{@value #VECTOR_PROPERTY}{@code =false}
 *       turns the Vector API off regardless (plain loops);</li>
 *   <li>{@code -D}{@value #LANES_PROPERTY}{@code =8|16} forces a vector width (for tests and
 *       comparisons on one machine); by default the CPU's preferred width is used. A width the
 *       CPU lacks falls back to the preferred one, with a warning.</li>
 * </ul>
 * The register tiles are then picked from the width and the register file ({@link TileShape}).
 */
@Internal
public final class VectorSupport {
    private static final Logger LOG = LoggerFactory.getLogger(VectorSupport.class);
    static final String VECTOR_MODULE = "jdk.incubator.vector";
    /** System property: {@code false} forces the plain-loop kernels. */
    public static final String VECTOR_PROPERTY = "vqstream.vectorApi";
    /** System property: {@code 8} or {@code 16} float lanes; unset means the CPU's preferred width. */
    public static final String LANES_PROPERTY = "vqstream.lanes";

    private static volatile Boolean available;

    private VectorSupport() {}

    /** Whether the Vector API kernels may run: the module is present and not turned off. */
    public static boolean available() {
        Boolean a = available;
        if (a == null) {
            synchronized (VectorSupport.class) {
                a = available;
                if (a == null) {
                    boolean module = ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
                    boolean allowed = Boolean.parseBoolean(System.getProperty(VECTOR_PROPERTY, "true"));
                    a = module && allowed;
                    if (!module) {
                        LOG.info("vqstream vector support: module {} not in the boot layer (start the JVM with "
                                + "--add-modules {}); plain loops", VECTOR_MODULE, VECTOR_MODULE);
                    } else if (!allowed) {
                        LOG.info("vqstream vector support: turned off by -D{}=false; plain loops", VECTOR_PROPERTY);
                    }
                    available = a;
                }
            }
        }
        return a;
    }

    /**
     * Lanes requested by {@value #LANES_PROPERTY}, or 0 when unset.
     *
     * @throws IllegalArgumentException for a value other than 8 or 16
     */
    static int requestedLanes() {
        String v = System.getProperty(LANES_PROPERTY);
        if (v == null || v.isBlank() || v.trim().equalsIgnoreCase("auto")) {
            return 0;
        }
        int lanes;
        try {
            lanes = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + LANES_PROPERTY + "=" + v + ": expected 8 or 16");
        }
        if (lanes != 8 && lanes != 16) {
            throw new IllegalArgumentException("-D" + LANES_PROPERTY + "=" + v + ": expected 8 or 16");
        }
        return lanes;
    }

    /**
     * Lanes to run given the CPU's preferred width: the requested width when the CPU has it
     * (a request above the preferred width is refused with a warning), else the preferred one.
     */
    static int chooseLanes(int preferred, int requested) {
        if (requested == 0 || requested == preferred) {
            return preferred;
        }
        if (requested > preferred) {
            LOG.warn("vqstream vector support: -D{}={} but this CPU's widest float vector has {} lanes; using {}",
                    LANES_PROPERTY, requested, preferred, preferred);
            return preferred;
        }
        return requested;
    }

    /**
     * The register tiles of the kernels for one vector width and register file. Rows of a tile
     * are transposed so that one vector holds one coordinate of {@code lanes} rows; the batched
     * tile holds {@code rowVectors × codes} accumulators, the small-batch tile (codes in the
     * lanes) {@code smallRows × smallPanels}:
     * <pre>
     * batched:  2 row vectors × 5 codes = 10 accumulators   (2·lanes rows per tile)
     * small:    4 rows × 3 panels of lanes codes = 12 accumulators
     * </pre>
     * Both fit 16 registers (AVX2) with the operands. With 32 registers (AVX-512) a 4 × 5 tile
     * (two row tiles sharing each broadcast, 20 accumulators) was measured on JDK 17's C2 at
     * 0.17–0.35× the 2 × 5 tile (D=256, K=1024, N=4096, AMD EPYC with AVX-512): C2 compiles it
     * late (seconds, a 3 KB method) and then still runs it slower, so the extra registers go to
     * the 16-lane width rather than to more accumulators. The register count is kept in the
     * shape for the log and to revisit this on a newer JIT.
     *
     * @param lanes       float lanes per vector
     * @param registers   vector registers of the CPU (16 or 32)
     * @param rowVectors  vectors of rows per batched tile
     * @param codes       codes per batched tile (per packed panel)
     */
    public record TileShape(int lanes, int registers, int rowVectors, int codes) {
        /** The tile for this width and register file (see the record comment). */
        static TileShape pick(int lanes, int registers) {
            return new TileShape(lanes, registers, 2, 5);
        }

        public int rows() {
            return rowVectors * lanes;
        }

        public int accumulators() {
            return rowVectors * codes;
        }

        /** For logs and benchmark output: {@code "32x5 (2x16 lanes x 5 codes, 10 accumulators, 32 registers)"}. */
        public String describe() {
            return rows() + "x" + codes + " (" + rowVectors + "x" + lanes + " lanes x " + codes + " codes, "
                    + accumulators() + " accumulators, " + registers + " registers)";
        }
    }
}

package io.vqstream.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vqstream.operators.record.CodeRecord;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The direct JSON writer of code records writes exactly the general (Jackson) writer's bytes. */
class CodeJsonWriterTest {
    static String key(SplittableRandom rnd) {
        StringBuilder b = new StringBuilder();
        int len = rnd.nextInt(1, 40);
        for (int i = 0; i < len; i++) {
            char c = (char) rnd.nextInt(0x20, 0x7f);
            b.append(c == '"' || c == '\\' ? '_' : c);
        }
        return b.toString();
    }

    static float anyFloat(SplittableRandom rnd) {
        float f;
        do {
            f = switch (rnd.nextInt(3)) {
                case 0 -> Float.intBitsToFloat(rnd.nextInt());
                case 1 -> (float) rnd.nextGaussian();
                default -> rnd.nextInt(-3, 3);
            };
        } while (!Float.isFinite(f));
        return f;
    }

    @Test
    void writesTheGeneralWritersBytes() {
        SplittableRandom rnd = new SplittableRandom(99);
        int fast = 0;
        for (int round = 0; round < 3000; round++) {
            long[] codes = new long[rnd.nextInt(1, 10)];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = switch (rnd.nextInt(4)) {
                    case 0 -> -1;
                    case 1 -> rnd.nextLong();
                    case 2 -> round % 7 == 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
                    default -> rnd.nextInt(0, 65536);
                };
            }
            float[] q = null;
            if (rnd.nextBoolean()) {
                q = new float[rnd.nextInt(1, 20)];
                for (int i = 0; i < q.length; i++) {
                    q[i] = anyFloat(rnd);
                }
            }
            float error = rnd.nextBoolean() ? Float.NaN : anyFloat(rnd);
            CodeRecord r = new CodeRecord(key(rnd), rnd.nextLong(), rnd.nextLong(), codes, rnd.nextLong(0, 1L << 40), q, error, Map.of());
            byte[] direct = CodeCodec.toJsonFast(r);
            assertNotNull(direct, "a plain record is written directly");
            byte[] general = CodeCodec.toJson(r);
            assertEquals(new String(general, StandardCharsets.UTF_8), new String(direct, StandardCharsets.UTF_8));
            assertArrayEquals(general, direct);
            fast++;
        }
        assertEquals(3000, fast);
    }

    @Test
    void leavesEscapesAttributesAndTopkToTheGeneralWriter() {
        long[] codes = {1};
        assertNull(CodeCodec.toJsonFast(new CodeRecord("a\"b", 1, 2, codes, 1, null, Float.NaN, Map.of())));
        assertNull(CodeCodec.toJsonFast(new CodeRecord("ké", 1, 2, codes, 1, null, Float.NaN, Map.of())));
        assertNull(CodeCodec.toJsonFast(new CodeRecord("k\n", 1, 2, codes, 1, null, Float.NaN, Map.of())));
        assertNull(CodeCodec.toJsonFast(new CodeRecord("k", 1, 2, codes, 1, null, Float.NaN, Map.of("lang", "en"))));
        CodeRecord withEscapes = new CodeRecord("a\"b\\c", 1, 2, codes, 1, null, Float.NaN, Map.of());
        assertEquals("{\"key\":\"a\\\"b\\\\c\",\"seq\":1,\"ts\":2,\"codes\":[1],\"codebook_version\":1}",
                new String(CodeCodec.encode(withEscapes, WireFormat.JSON), StandardCharsets.UTF_8));
    }
}

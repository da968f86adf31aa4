package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vqstream.operators.record.VectorCheck;
import io.vqstream.operators.record.VectorRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * Vector payloads ({@link VectorRecord}), both directions.
 *
 * <p><b>JSON</b> (UTF-8, one object):
 * <pre>{"key":"k1","seq":17,"ts":1700000000000,"vector":[0.1,-2,3.5e-3],"attributes":{"lang":"en"}}</pre>
 * <ul>
 *   <li>{@code key}: non-empty string, at most 4096 UTF-8 bytes; required.</li>
 *   <li>{@code seq}: integer (64-bit); missing or null → the Kafka offset.</li>
 *   <li>{@code ts}: event time, integer epoch milliseconds; missing or null → the Kafka record timestamp.</li>
 *   <li>{@code vector}: non-empty array of JSON numbers, each rounded once to the nearest float32;
 *       strings (also {@code "NaN"}, {@code "Infinity"}), {@code null}, and numbers that round
 *       beyond the float32 range (|x| ≥ 3.4028236e38) are rejected.</li>
 *   <li>{@code attributes}: optional object of string values (each name and value ≤ 16384 UTF-8 bytes); null = none.</li>
 *   <li>{@code mask}: optional boolean, default true; {@code false} marks padding or silence: the
 *       record passes through with code −1 and takes no part in learning.</li>
 *   <li>Other fields are ignored; duplicate fields, non-standard tokens and trailing content are rejected.</li>
 * </ul>
 * The payload's {@code key} is authoritative; the Kafka record key is only used to name the
 * key of a dead letter when the payload's could not be read.
 *
 * <p><b>Binary</b> (little-endian; K = key length, D = dimension):
 * <pre>
 *   offset   size  field
 *   0        1     format version = 1
 *   1        2     K, u16 (1..4096)
 *   3        K     key, UTF-8
 *   3+K      8     seq, i64
 *   11+K     8     ts, i64 epoch milliseconds
 *   19+K     4     D, u32 (≥ 1)
 *   23+K     4·D   D × f32 (finite)
 *   total    23 + K + 4·D bytes, exactly
 * </pre>
 * Format version 2 appends one flags byte (total 24 + K + 4·D): bit 0 set = masked (padding),
 * other bits 0. Real records are written as version 1, masked ones as version 2; both are read.
 * The binary form carries no attributes.
 */
@PublicEvolving
public final class VectorCodec extends PayloadCodec<VectorRecord> {
    public static final int BINARY_VERSION = 1;
    /** The binary version with a trailing flags byte (bit 0: masked). */
    public static final int BINARY_VERSION_FLAGS = 2;

    private final WireFormat format;
    /** Required vector length, or 0 for any. */
    private final int expectedDimension;

    public VectorCodec(WireFormat format) {
        this(format, DEFAULT_MAX_PAYLOAD_BYTES, 0);
    }

    public VectorCodec(WireFormat format, int maxPayloadBytes) {
        this(format, maxPayloadBytes, 0);
    }

    public VectorCodec(WireFormat format, int maxPayloadBytes, int expectedDimension) {
        super(maxPayloadBytes);
        if (expectedDimension < 0) {
            throw new IllegalArgumentException("expected dimension must be >= 0 (0: any)");
        }
        this.format = Objects.requireNonNull(format, "format");
        this.expectedDimension = expectedDimension;
    }

    /**
     * Rejects vectors of another length while the raw payload is still at hand, so their dead
     * letter carries the original bytes (the operator checks the length again).
     */
    public VectorCodec withExpectedDimension(int dimension) {
        return new VectorCodec(format, maxPayloadBytes(), dimension);
    }

    public static VectorCodec json() {
        return new VectorCodec(WireFormat.JSON);
    }

    public static VectorCodec binary() {
        return new VectorCodec(WireFormat.BINARY);
    }

    public WireFormat format() {
        return format;
    }

    @Override
    public VectorCodec withMaxPayloadBytes(int maxPayloadBytes) {
        return new VectorCodec(format, maxPayloadBytes, expectedDimension);
    }

    @Override
    public TypeInformation<VectorRecord> valueType() {
        return VectorRecord.typeInfo();
    }

    /** At most this many synthetic records per warm-up. */
    static final int WARM_UP_RECORDS = 20_000;
    /** At most this long per warm-up (an interpreted JSON parser takes tens of µs per record). */
    static final long WARM_UP_MILLIS = 500;

    /**
     * Decodes up to {@value #WARM_UP_RECORDS} synthetic records of this format and expected
     * dimension (128 without one), Gaussian values as a writer prints them, for at most
     * {@value #WARM_UP_MILLIS} ms. Why: a source's first records otherwise meet the number parser
     * still interpreted, and JSON parsing is about half of the task thread's time once compiled.
     */
    @Override
    public void warmUp() {
        if (io.vqstream.operators.batch.KernelWarmUp.budgetMillis() > 0) { // 0: warm-ups off (as in the test suites)
            warmUpRecords();
        }
    }

    /** The warm-up; returns how many records it decoded. */
    int warmUpRecords() {
        int dim = expectedDimension > 0 ? expectedDimension : 128;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
        byte[][] payloads = new byte[16][];
        for (int i = 0; i < payloads.length; i++) {
            float[] v = new float[dim];
            for (int e = 0; e < dim; e++) {
                v[e] = (float) rnd.nextGaussian();
            }
            payloads[i] = encode(new VectorRecord("warm-up-" + i, i, 1_700_000_000_000L + i, v), format);
        }
        Origin origin = new Origin(null, 0, 0);
        long deadline = System.nanoTime() + WARM_UP_MILLIS * 1_000_000L;
        int n = 0;
        while (n < WARM_UP_RECORDS && ((n & 63) != 0 || System.nanoTime() < deadline)) {
            Decoded<VectorRecord> d = decode(payloads[n & 15], origin);
            if (!d.ok()) {
                return n; // real records of this size are refused too (a payload limit): nothing to warm
            }
            n++;
        }
        return n;
    }

    @Override
    protected VectorRecord parse(byte[] payload, Origin origin, Partial partial) throws IOException {
        VectorRecord r = format == WireFormat.JSON ? parseJsonFast(payload, origin, partial, expectedDimension) : parseBinary(payload, partial);
        String wrong = expectedDimension > 0 ? VectorCheck.dimension(r.vector().length, expectedDimension) : null;
        if (wrong != null) {
            throw new MalformedPayloadException(wrong);
        }
        return r;
    }

    /** The common shape through {@link FastVectorJson}; everything else (and every error) through {@link #parseJson}. */
    private static VectorRecord parseJsonFast(byte[] payload, Origin origin, Partial partial, int expectedDimension) throws IOException {
        FastVectorJson.Fields f = FastVectorJson.read(payload, expectedDimension);
        if (f == null) {
            return parseJson(payload, origin, partial);
        }
        partial.key = f.key;
        boolean hasTs = (f.present & FastVectorJson.Fields.TS) != 0;
        if (hasTs) {
            partial.ts = f.ts;
        }
        return new VectorRecord(f.key, (f.present & FastVectorJson.Fields.SEQ) != 0 ? f.seq : fallbackSeq(origin),
                hasTs ? f.ts : fallbackTs(origin), f.vector, Map.of(), f.mask);
    }

    /** The general reader (Jackson): any valid payload, and the one-line reason of every invalid one. */
    static VectorRecord parseJson(byte[] payload, Origin origin, Partial partial) throws IOException {
        try (JsonParser p = StrictJson.openObject(payload)) {
            String key = null;
            Long seq = null;
            Long ts = null;
            float[] vector = null;
            boolean mask = true;
            Map<String, String> attributes = Map.of();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "key" -> partial.key = key = StrictJson.key(p);
                    case "seq" -> seq = t == JsonToken.VALUE_NULL ? null : StrictJson.int64(p, "seq");
                    case "ts" -> {
                        ts = t == JsonToken.VALUE_NULL ? null : StrictJson.int64(p, "ts");
                        if (ts != null) {
                            partial.ts = ts;
                        }
                    }
                    case "vector" -> vector = StrictJson.floatArray(p, "vector");
                    case "attributes" -> attributes = StrictJson.stringMap(p, "attributes");
                    case "mask" -> {
                        if (t == JsonToken.VALUE_FALSE || t == JsonToken.VALUE_TRUE) {
                            mask = t == JsonToken.VALUE_TRUE;
                        } else if (t != JsonToken.VALUE_NULL) {
                            throw new MalformedPayloadException("mask must be true or false, got " + p.getText());
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            StrictJson.expectEnd(p);
            if (key == null) {
                throw new MalformedPayloadException("key is missing");
            }
            if (vector == null) {
                throw new MalformedPayloadException("vector is missing");
            }
            return new VectorRecord(key, seq != null ? seq : fallbackSeq(origin), ts != null ? ts : fallbackTs(origin), vector, attributes,
                    mask);
        }
    }

    private static VectorRecord parseBinary(byte[] payload, Partial partial) {
        BinaryReader r = new BinaryReader(payload, "binary vector");
        int version = r.u8("the format version");
        if (version != BINARY_VERSION && version != BINARY_VERSION_FLAGS) {
            throw new MalformedPayloadException("binary vector has format version byte " + version + ", expected "
                    + BINARY_VERSION + " or " + BINARY_VERSION_FLAGS);
        }
        String key = partial.key = r.key();
        long seq = r.i64("seq");
        long ts = partial.ts = r.i64("ts");
        long dim = r.u32("the dimension");
        if (dim == 0) {
            throw new MalformedPayloadException("vector is empty");
        }
        r.expectExactly(dim, 4, version == BINARY_VERSION_FLAGS ? 1 : 0, "dimension " + dim);
        float[] v = new float[(int) dim];
        r.f32s(v, "vector");
        int bad = VectorCheck.firstNonFinite(v);
        if (bad >= 0) {
            throw new MalformedPayloadException("vector[" + bad + "] is " + v[bad] + ", expected a finite number");
        }
        boolean mask = true;
        if (version == BINARY_VERSION_FLAGS) {
            int flags = r.u8("the flags");
            if ((flags & ~1) != 0) {
                throw new MalformedPayloadException("flags byte " + flags + " has unknown bits set (only bit 0, masked, is defined)");
            }
            mask = (flags & 1) == 0;
        }
        return new VectorRecord(key, seq, ts, v, Map.of(), mask);
    }

    @Override
    public byte[] key(VectorRecord r) {
        return r.key() == null ? null : Utf8.encode(r.key());
    }

    @Override
    public byte[] value(VectorRecord r) {
        return encode(r, format);
    }

    /** Encodes a record; throws {@link IllegalArgumentException} for what the format cannot carry. */
    public static byte[] encode(VectorRecord r, WireFormat format) {
        checkEncodable(r);
        return format == WireFormat.JSON ? toJson(r) : toBinary(r);
    }

    private static void checkEncodable(VectorRecord r) {
        if (r.key() == null || r.key().isEmpty()) {
            throw new IllegalArgumentException("a vector record needs a non-empty key to be encoded");
        }
        if (r.vector() == null || r.vector().length == 0) {
            throw new IllegalArgumentException("a vector record needs a non-empty vector to be encoded");
        }
    }

    private static byte[] toJson(VectorRecord r) {
        return StrictJson.write(g -> {
            g.writeStartObject();
            g.writeStringField("key", r.key());
            g.writeNumberField("seq", r.seq());
            g.writeNumberField("ts", r.eventTime());
            StrictJson.writeFloats(g, "vector", r.vector());
            StrictJson.writeStringMap(g, "attributes", r.attributes());
            if (!r.mask()) {
                g.writeBooleanField("mask", false);
            }
            g.writeEndObject();
        });
    }

    private static byte[] toBinary(VectorRecord r) {
        byte[] key = Utf8.encode(r.key());
        if (key.length > StrictJson.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("key of " + key.length + " UTF-8 bytes exceeds the limit of " + StrictJson.MAX_KEY_BYTES);
        }
        float[] v = r.vector();
        boolean flags = !r.mask();
        ByteBuffer b = ByteBuffer.allocate(23 + key.length + 4 * v.length + (flags ? 1 : 0)).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) (flags ? BINARY_VERSION_FLAGS : BINARY_VERSION)).putShort((short) key.length).put(key).putLong(r.seq()).putLong(r.eventTime()).putInt(v.length);
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new IllegalArgumentException("vector[" + i + "] is " + v[i] + ": the format carries finite numbers only");
            }
            b.putFloat(v[i]);
        }
        if (flags) {
            b.put((byte) 1);
        }
        return b.array();
    }
}

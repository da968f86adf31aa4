package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vqstream.operators.record.CodeRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * Code payloads ({@link CodeRecord}), both directions.
 *
 * <p><b>JSON</b> (UTF-8, one object):
 * <pre>{"key":"k1","seq":17,"ts":1700000000000,"codes":[5,-1,12],"codebook_version":3,"quantized":[0.5,1.0],"error":0.012}</pre>
 * <ul>
 *   <li>{@code key} (non-empty string), {@code seq}, {@code ts} (integer epoch milliseconds),
 *       {@code codebook_version} (integer): required.</li>
 *   <li>{@code codes}: non-empty flat array of 64-bit integers, in the quantizer's token-major
 *       order; −1 marks a layer skipped by dropout.</li>
 *   <li>{@code quantized}: the quantized vector (finite numbers), present only when the operator
 *       emits it; {@code error}: the mean squared quantization error, present only when emitted.</li>
 *   <li>{@code attributes}: object of strings, present only when the input had attributes.</li>
 *   <li>{@code topk_codes}, {@code topk_distances}: with {@code output.topk: k}, the k nearest
 *       codes of each code position (nearest first, position-major) and their distances; the
 *       binary form does not carry them.</li>
 *   <li>A masked input ({@code "mask": false}) has code −1 in every position.</li>
 * </ul>
 *
 * <p><b>Binary</b> (little-endian; K = key length, N = number of codes, Q = quantized length):
 * <pre>
 *   offset     size  field
 *   0          1     format version = 1
 *   1          1     flags: bit 0 = quantized present, bit 1 = error present, other bits 0
 *   2          2     K, u16 (1..4096)
 *   4          K     key, UTF-8
 *   4+K        8     seq, i64
 *   12+K       8     ts, i64 epoch milliseconds
 *   20+K       8     codebook_version, i64
 *   28+K       4     N, u32 (≥ 1)
 *   32+K       8·N   N × i64 codes
 *   then, if flag bit 0:  Q, u32 (≥ 1), then Q × f32
 *   then, if flag bit 1:  error, f32
 *   total      32 + K + 8·N [+ 4 + 4·Q] [+ 4] bytes, exactly
 * </pre>
 * The binary form carries no attributes.
 */
@PublicEvolving
public final class CodeCodec extends PayloadCodec<CodeRecord> {
    public static final int BINARY_VERSION = 1;
    static final int FLAG_QUANTIZED = 1;
    static final int FLAG_ERROR = 2;

    private final WireFormat format;

    public CodeCodec(WireFormat format) {
        this(format, DEFAULT_MAX_PAYLOAD_BYTES);
    }

    public CodeCodec(WireFormat format, int maxPayloadBytes) {
        super(maxPayloadBytes);
        this.format = Objects.requireNonNull(format, "format");
    }

    public static CodeCodec json() {
        return new CodeCodec(WireFormat.JSON);
    }

    public static CodeCodec binary() {
        return new CodeCodec(WireFormat.BINARY);
    }

    public WireFormat format() {
        return format;
    }

    @Override
    public CodeCodec withMaxPayloadBytes(int maxPayloadBytes) {
        return new CodeCodec(format, maxPayloadBytes);
    }

    @Override
    public TypeInformation<CodeRecord> valueType() {
        return CodeRecord.typeInfo();
    }

    @Override
    protected CodeRecord parse(byte[] payload, Origin origin, Partial partial) throws IOException {
        return format == WireFormat.JSON ? parseJson(payload, partial) : parseBinary(payload, partial);
    }

    private static CodeRecord parseJson(byte[] payload, Partial partial) throws IOException {
        try (JsonParser p = StrictJson.openObject(payload)) {
            String key = null;
            Long seq = null;
            Long ts = null;
            Long version = null;
            long[] codes = null;
            float[] quantized = null;
            float error = Float.NaN;
            Map<String, String> attributes = Map.of();
            long[] topCodes = null;
            float[] topDistances = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "key" -> partial.key = key = StrictJson.key(p);
                    case "seq" -> seq = StrictJson.int64(p, "seq");
                    case "ts" -> partial.ts = ts = StrictJson.int64(p, "ts");
                    case "codebook_version" -> version = StrictJson.int64(p, "codebook_version");
                    case "codes" -> codes = StrictJson.longArray(p, "codes");
                    case "quantized" -> quantized = t == JsonToken.VALUE_NULL ? null : StrictJson.floatArray(p, "quantized");
                    case "error" -> error = t == JsonToken.VALUE_NULL ? Float.NaN : StrictJson.float32(p, "error");
                    case "attributes" -> attributes = StrictJson.stringMap(p, "attributes");
                    case "topk_codes" -> topCodes = t == JsonToken.VALUE_NULL ? null : StrictJson.longArray(p, "topk_codes");
                    case "topk_distances" -> topDistances = t == JsonToken.VALUE_NULL ? null : StrictJson.floatArray(p, "topk_distances");
                    default -> p.skipChildren();
                }
            }
            StrictJson.expectEnd(p);
            if ((topCodes == null) != (topDistances == null) || (topCodes != null && topCodes.length != topDistances.length)) {
                throw new MalformedPayloadException("topk_codes and topk_distances must come together with equal lengths");
            }
            require(key != null, "key");
            require(seq != null, "seq");
            require(ts != null, "ts");
            require(codes != null, "codes");
            require(version != null, "codebook_version");
            return new CodeRecord(key, seq, ts, codes, version, quantized, error, attributes, topCodes, topDistances);
        }
    }

    private static void require(boolean present, String field) {
        if (!present) {
            throw new MalformedPayloadException(field + " is missing");
        }
    }

    private static CodeRecord parseBinary(byte[] payload, Partial partial) {
        BinaryReader r = new BinaryReader(payload, "binary code record");
        r.version(BINARY_VERSION);
        int flags = r.u8("the flags");
        if ((flags & ~(FLAG_QUANTIZED | FLAG_ERROR)) != 0) {
            throw new MalformedPayloadException("binary code record has unknown flag bits 0x" + Integer.toHexString(flags));
        }
        String key = partial.key = r.key();
        long seq = r.i64("seq");
        long ts = partial.ts = r.i64("ts");
        long version = r.i64("codebook_version");
        long n = r.u32("the number of codes");
        if (n == 0) {
            throw new MalformedPayloadException("codes is empty");
        }
        if ((flags & FLAG_QUANTIZED) == 0) {
            r.expectExactly(n, 8, (flags & FLAG_ERROR) != 0 ? 4 : 0, n + " codes");
        } else if ((long) r.position() + 8 * n > payload.length) {
            r.expectExactly(n, 8, 0, n + " codes");
        }
        long[] codes = new long[(int) n];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = r.i64("codes[" + i + "]");
        }
        float[] quantized = null;
        if ((flags & FLAG_QUANTIZED) != 0) {
            long q = r.u32("the quantized length");
            if (q == 0) {
                throw new MalformedPayloadException("quantized is empty");
            }
            r.expectExactly(q, 4, (flags & FLAG_ERROR) != 0 ? 4 : 0, "quantized length " + q);
            quantized = new float[(int) q];
            r.f32s(quantized, "quantized");
            for (int i = 0; i < quantized.length; i++) {
                if (!Float.isFinite(quantized[i])) {
                    finite(quantized[i], "quantized[" + i + "]");
                }
            }
        }
        float error = Float.NaN;
        if ((flags & FLAG_ERROR) != 0) {
            error = finite(r.f32("error"), "error");
        }
        r.expectEnd();
        return new CodeRecord(key, seq, ts, codes, version, quantized, error, Map.of());
    }

    private static float finite(float v, String field) {
        if (!Float.isFinite(v)) {
            throw new MalformedPayloadException(field + " is " + v + ", expected a finite number");
        }
        return v;
    }

    @Override
    public byte[] key(CodeRecord r) {
        return r.key() == null ? null : Utf8.encode(r.key());
    }

    @Override
    public byte[] value(CodeRecord r) {
        return encode(r, format);
    }

    /**
     * Encodes a record: {@code quantized} is written when not null, {@code error} when not NaN.
     * Throws {@link IllegalArgumentException} for what the format cannot carry.
     */
    public static byte[] encode(CodeRecord r, WireFormat format) {
        if (r.key() == null || r.key().isEmpty()) {
            throw new IllegalArgumentException("a code record needs a non-empty key to be encoded");
        }
        if (r.codes() == null || r.codes().length == 0) {
            throw new IllegalArgumentException("a code record needs at least one code to be encoded");
        }
        if (r.quantized() != null && r.quantized().length == 0) {
            throw new IllegalArgumentException("quantized is empty: pass null for none");
        }
        if (Float.isInfinite(r.error())) {
            throw new IllegalArgumentException("error is " + r.error() + ": the format carries finite numbers only");
        }
        if (format == WireFormat.BINARY) {
            return toBinary(r);
        }
        byte[] fast = toJsonFast(r);
        return fast != null ? fast : toJson(r);
    }

    /**
     * The common record (a plain ASCII key, no attributes, no top-k) written directly, the same
     * bytes as {@link #toJson}; null for any other record. The general writer built a generator,
     * a stream and a copy per record: a tenth of a Kafka pipeline's task thread at D=128.
     */
    static byte[] toJsonFast(CodeRecord r) {
        if (!r.attributes().isEmpty() || r.topkCodes() != null || !AsciiJsonWriter.plainAscii(r.key())) {
            return null;
        }
        float[] q = r.quantized();
        AsciiJsonWriter w = new AsciiJsonWriter(64 + r.key().length() + 8 * r.codes().length + (q == null ? 0 : 16 * q.length));
        w.raw('{').name("key", true).string(r.key()).name("seq", false).number(r.seq()).name("ts", false).number(r.eventTime())
                .name("codes", false).raw('[');
        long[] codes = r.codes();
        for (int i = 0; i < codes.length; i++) {
            if (i > 0) {
                w.raw(',');
            }
            w.number(codes[i]);
        }
        w.raw(']').name("codebook_version", false).number(r.codebookVersion());
        if (q != null) {
            w.name("quantized", false).raw('[');
            for (int i = 0; i < q.length; i++) {
                if (!Float.isFinite(q[i])) {
                    return null; // the general writer names the element
                }
                if (i > 0) {
                    w.raw(',');
                }
                w.number(q[i]);
            }
            w.raw(']');
        }
        if (!Float.isNaN(r.error())) {
            w.name("error", false).number(r.error());
        }
        return w.raw('}').toBytes();
    }

    static byte[] toJson(CodeRecord r) {
        return StrictJson.write(g -> {
            g.writeStartObject();
            g.writeStringField("key", r.key());
            g.writeNumberField("seq", r.seq());
            g.writeNumberField("ts", r.eventTime());
            g.writeArrayFieldStart("codes");
            for (long c : r.codes()) {
                g.writeNumber(c);
            }
            g.writeEndArray();
            g.writeNumberField("codebook_version", r.codebookVersion());
            if (r.quantized() != null) {
                StrictJson.writeFloats(g, "quantized", r.quantized());
            }
            if (!Float.isNaN(r.error())) {
                g.writeNumberField("error", r.error());
            }
            StrictJson.writeStringMap(g, "attributes", r.attributes());
            if (r.topkCodes() != null && r.topkDistances() != null) {
                g.writeArrayFieldStart("topk_codes");
                for (long c : r.topkCodes()) {
                    g.writeNumber(c);
                }
                g.writeEndArray();
                StrictJson.writeFloats(g, "topk_distances", r.topkDistances());
            }
            g.writeEndObject();
        });
    }

    private static byte[] toBinary(CodeRecord r) {
        byte[] key = Utf8.encode(r.key());
        if (key.length > StrictJson.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("key of " + key.length + " UTF-8 bytes exceeds the limit of " + StrictJson.MAX_KEY_BYTES);
        }
        float[] q = r.quantized();
        boolean hasError = !Float.isNaN(r.error());
        int flags = (q != null ? FLAG_QUANTIZED : 0) | (hasError ? FLAG_ERROR : 0);
        int size = 32 + key.length + 8 * r.codes().length + (q != null ? 4 + 4 * q.length : 0) + (hasError ? 4 : 0);
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) BINARY_VERSION).put((byte) flags).putShort((short) key.length).put(key)
                .putLong(r.seq()).putLong(r.eventTime()).putLong(r.codebookVersion()).putInt(r.codes().length);
        for (long c : r.codes()) {
            b.putLong(c);
        }
        if (q != null) {
            b.putInt(q.length);
            for (int i = 0; i < q.length; i++) {
                if (!Float.isFinite(q[i])) {
                    throw new IllegalArgumentException("quantized[" + i + "] is " + q[i] + ": the format carries finite numbers only");
                }
                b.putFloat(q[i]);
            }
        }
        if (hasError) {
            b.putFloat(r.error());
        }
        return b.array();
    }
}

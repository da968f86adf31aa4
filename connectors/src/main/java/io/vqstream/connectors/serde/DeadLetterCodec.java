package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vqstream.operators.record.DeadLetter;
import java.io.IOException;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Dead letters ({@link DeadLetter}) on a Kafka topic.
 *
 * <p>Kafka record key: the record's key in UTF-8 when known, else none. Headers: {@code vq-reason}
 * and {@code vq-stage}, UTF-8. Value: one UTF-8 JSON object, fields in this order:
 * <pre>{"stage":"deserialize","reason":"vector is empty","key":"k1","ts":1700000000000,"payload":"{\"key\":\"k1\",\"vector\":[]}"}</pre>
 * <ul>
 *   <li>{@code key}: string or null; {@code ts}: the record's event time (or, when unknown, the
 *       Kafka timestamp or processing time), epoch milliseconds.</li>
 *   <li>{@code payload}: the original payload as a string when it is valid UTF-8; otherwise
 *       {@code payload_base64}: the payload in standard base64 (RFC 4648 §4, padded).
 *       Exactly one of the two is present.</li>
 *   <li>When the whole envelope would exceed {@code maxRecordBytes} (default 900000, below
 *       Kafka's default 1 MiB request and message limits), the payload is cut to its first bytes
 *       (a UTF-8 payload at a character boundary) and two fields follow:
 *       {@code "payload_truncated":true,"payload_bytes":<original length>}.</li>
 * </ul>
 */
@PublicEvolving
public final class DeadLetterCodec extends PayloadCodec<DeadLetter> {
    public static final String HEADER_REASON = "vq-reason";
    public static final String HEADER_STAGE = "vq-stage";
    public static final int DEFAULT_MAX_RECORD_BYTES = 900_000;

    private final int maxRecordBytes;

    public DeadLetterCodec() {
        this(DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_PAYLOAD_BYTES);
    }

    /**
     * @param maxRecordBytes  largest envelope written (payloads are cut to fit), at least 4096
     * @param maxPayloadBytes largest envelope read back
     */
    public DeadLetterCodec(int maxRecordBytes, int maxPayloadBytes) {
        super(maxPayloadBytes);
        if (maxRecordBytes < 4096) {
            throw new IllegalArgumentException("maxRecordBytes must be at least 4096, got " + maxRecordBytes);
        }
        this.maxRecordBytes = maxRecordBytes;
    }

    @Override
    public DeadLetterCodec withMaxPayloadBytes(int maxPayloadBytes) {
        return new DeadLetterCodec(maxRecordBytes, maxPayloadBytes);
    }

    /** A codec that cuts payloads so that every envelope fits in {@code maxRecordBytes}. */
    public DeadLetterCodec withMaxRecordBytes(int maxRecordBytes) {
        return new DeadLetterCodec(maxRecordBytes, maxPayloadBytes);
    }

    @Override
    public TypeInformation<DeadLetter> valueType() {
        return DeadLetter.typeInfo();
    }

    @Override
    public byte[] key(DeadLetter d) {
        return d.key() == null ? null : Utf8.encode(d.key());
    }

    @Override
    public List<Header> headers(DeadLetter d) {
        return List.of(new RecordHeader(HEADER_REASON, Utf8.encode(String.valueOf(d.reason()))),
                new RecordHeader(HEADER_STAGE, Utf8.encode(d.stage().wireName())));
    }

    /** The JSON envelope; never throws for any dead letter. */
    @Override
    public byte[] value(DeadLetter d) {
        byte[] payload = d.payload() == null ? new byte[0] : d.payload();
        boolean text = Utf8.decodeOrNull(payload) != null;
        byte[] out = envelope(d, payload, text, payload.length);
        if (out.length <= maxRecordBytes) {
            return out;
        }
        // everything but the payload, with the two truncation fields
        int overhead = envelope(d, new byte[0], text, payload.length).length;
        int room = maxRecordBytes - overhead;
        int budget = payload.length;
        while (out.length > maxRecordBytes && budget > 0) {
            int encoded = Math.max(1, out.length - overhead);
            // scale by the encoded size per payload byte seen so far; always shrink
            budget = (int) Math.max(0, Math.min(budget - 1L, (long) budget * Math.max(room, 0) / encoded));
            byte[] cut = Arrays.copyOf(payload, text ? utf8Boundary(payload, budget) : budget);
            out = envelope(d, cut, text, payload.length);
        }
        return out;
    }

    /** The largest length ≤ {@code n} that does not split a UTF-8 character. */
    private static int utf8Boundary(byte[] b, int n) {
        int i = n;
        while (i > 0 && i < b.length && (b[i] & 0xC0) == 0x80) {
            i--;
        }
        return i;
    }

    private static byte[] envelope(DeadLetter d, byte[] payload, boolean text, int originalLength) {
        return StrictJson.write(g -> {
            g.writeStartObject();
            g.writeStringField("stage", d.stage().wireName());
            g.writeStringField("reason", d.reason());
            g.writeStringField("key", d.key());
            g.writeNumberField("ts", d.eventTime());
            if (text) {
                g.writeStringField("payload", new String(payload, java.nio.charset.StandardCharsets.UTF_8));
            } else {
                g.writeStringField("payload_base64", Base64.getEncoder().encodeToString(payload));
            }
            if (payload.length != originalLength) {
                g.writeBooleanField("payload_truncated", true);
                g.writeNumberField("payload_bytes", originalLength);
            }
            g.writeEndObject();
        });
    }

    /** Reads an envelope back (for consumers of the dead-letter topic and for replays). */
    @Override
    protected DeadLetter parse(byte[] value, Origin origin, Partial partial) throws IOException {
        try (JsonParser p = StrictJson.openObject(value)) {
            String stage = null;
            String reason = null;
            String key = null;
            Long ts = null;
            byte[] payload = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "stage" -> stage = StrictJson.string(p, "stage");
                    case "reason" -> reason = StrictJson.string(p, "reason");
                    case "key" -> key = t == JsonToken.VALUE_NULL ? null : (partial.key = StrictJson.string(p, "key"));
                    case "ts" -> partial.ts = ts = StrictJson.int64(p, "ts");
                    case "payload" -> payload = Utf8.encode(StrictJson.string(p, "payload"));
                    case "payload_base64" -> {
                        try {
                            payload = Base64.getDecoder().decode(StrictJson.string(p, "payload_base64"));
                        } catch (IllegalArgumentException e) {
                            throw new MalformedPayloadException("payload_base64 is not valid base64: " + StrictJson.oneLine(e.getMessage()));
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            StrictJson.expectEnd(p);
            if (stage == null || reason == null || ts == null || payload == null) {
                throw new MalformedPayloadException("dead-letter envelope needs stage, reason, ts and payload or payload_base64");
            }
            return new DeadLetter(key, DeadLetter.Stage.ofWireName(stage), reason, payload, ts);
        }
    }
}

package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.vqstream.operators.record.DeadLetter;
import java.io.IOException;

/**
 * Shared decoding frame: size limit before parsing, then the format's parser; every failure
 * becomes one {@link DeadLetter} (stage {@link #STAGE}) with the raw payload.
 */
@PublicEvolving
public abstract class PayloadCodec<T> implements PayloadDecoder<T>, PayloadEncoder<T> {
    /** Default largest payload: 16 MiB. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
    /** The dead-letter stage of every decoding failure. */
    public static final DeadLetter.Stage STAGE = DeadLetter.Stage.DESERIALIZE;

    protected final int maxPayloadBytes;

    protected PayloadCodec(int maxPayloadBytes) {
        if (maxPayloadBytes < 1) {
            throw new IllegalArgumentException("maxPayloadBytes must be at least 1, got " + maxPayloadBytes);
        }
        this.maxPayloadBytes = maxPayloadBytes;
    }

    public int maxPayloadBytes() {
        return maxPayloadBytes;
    }

    /** What the parser learnt before it failed, for the dead letter. */
    protected static final class Partial {
        String key;
        long ts = Long.MIN_VALUE;
    }

    /** Parses a payload that passed the size check; throws {@link MalformedPayloadException} or a Jackson error. */
    protected abstract T parse(byte[] payload, Origin origin, Partial partial) throws IOException;

    /** What a null Kafka value (a tombstone) means: a dead letter unless overridden. */
    protected Decoded<T> onNullPayload(Origin origin) {
        return Decoded.failed(deadLetter(new byte[0], origin, new Partial(), "record has no value (null payload)"));
    }

    @Override
    public final Decoded<T> decode(byte[] payload, Origin origin) {
        Origin o = origin == null ? Origin.NONE : origin;
        if (payload == null) {
            return onNullPayload(o);
        }
        Partial partial = new Partial();
        if (payload.length > maxPayloadBytes) {
            return Decoded.failed(deadLetter(payload, o, partial,
                    "payload of " + payload.length + " bytes exceeds the limit of " + maxPayloadBytes + " bytes"));
        }
        if (payload.length == 0) {
            return Decoded.failed(deadLetter(payload, o, partial, "empty payload"));
        }
        String reason;
        try {
            return Decoded.of(parse(payload, o, partial));
        } catch (MalformedPayloadException e) {
            reason = StrictJson.oneLine(e.getMessage());
        } catch (JsonProcessingException e) {
            reason = StrictJson.brokenJson(e);
        } catch (IOException | RuntimeException e) {
            reason = "unreadable payload: " + StrictJson.oneLine(String.valueOf(e.getMessage()));
        }
        return Decoded.failed(deadLetter(payload, o, partial, reason));
    }

    private static DeadLetter deadLetter(byte[] payload, Origin o, Partial partial, String reason) {
        String key = partial.key;
        if (key == null && o.key() != null && o.key().length <= StrictJson.MAX_KEY_BYTES) {
            String k = Utf8.decodeOrNull(o.key());
            key = k == null || k.isEmpty() ? null : k;
        }
        long ts = partial.ts != Long.MIN_VALUE ? partial.ts : o.timestamp() >= 0 ? o.timestamp() : System.currentTimeMillis();
        return new DeadLetter(key, STAGE, reason, payload, ts);
    }

    /** The seq to use when the payload has none: the Kafka offset. */
    protected static long fallbackSeq(Origin o) {
        if (o.offset() < 0) {
            throw new MalformedPayloadException("seq is missing and there is no Kafka offset to use instead");
        }
        return o.offset();
    }

    /** The event time to use when the payload has none: the Kafka record timestamp. */
    protected static long fallbackTs(Origin o) {
        if (o.timestamp() < 0) {
            throw new MalformedPayloadException("ts is missing and there is no Kafka timestamp to use instead");
        }
        return o.timestamp();
    }
}

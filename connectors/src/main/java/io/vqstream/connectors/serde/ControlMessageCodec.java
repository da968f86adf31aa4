package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.io.TensorFormatException;
import io.vqstream.operators.record.ControlMessage;
import java.io.IOException;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * Control messages ({@link ControlMessage}) as safetensors payloads, both directions (layout as in
 * {@link CodebookSnapshotCodec}). The header's {@code __metadata__} holds strings:
 * <pre>
 *   "kind": "INSTALL" | "FREEZE" | "UNFREEZE" | "RESET"   (exactly these, upper case)
 *   "key":  the stream key it applies to; absent = every key (present and future)
 * </pre>
 * INSTALL carries at least one tensor, by state_dict name (any float or integer dtype, widened
 * to float32; EMA buffers may be left out); the other kinds carry none. Kafka record key: the
 * stream key in UTF-8, or none for every key.
 *
 * <p>Example: {@code safetensors.torch.save_file({"_codebook.embed": embed}, path, metadata={"kind": "INSTALL", "key": "k1"})}.
 */
@PublicEvolving
public final class ControlMessageCodec extends PayloadCodec<ControlMessage> {

    public ControlMessageCodec() {
        this(DEFAULT_MAX_PAYLOAD_BYTES);
    }

    public ControlMessageCodec(int maxPayloadBytes) {
        super(maxPayloadBytes);
    }

    @Override
    public ControlMessageCodec withMaxPayloadBytes(int maxPayloadBytes) {
        return new ControlMessageCodec(maxPayloadBytes);
    }

    @Override
    public TypeInformation<ControlMessage> valueType() {
        return ControlMessage.typeInfo();
    }

    @Override
    protected ControlMessage parse(byte[] payload, Origin origin, Partial partial) throws IOException {
        SafeTensorsFile f;
        try {
            f = SafeTensors.read(payload, "control message");
        } catch (TensorFormatException e) {
            throw new MalformedPayloadException(e.getMessage());
        }
        String key = f.metadata("key");
        if (key != null) {
            partial.key = StrictJson.checkKey(key);
        }
        String kindName = SafeTensorsPayloads.required(f, "kind");
        ControlMessage.Kind kind;
        try {
            kind = ControlMessage.Kind.valueOf(kindName);
        } catch (IllegalArgumentException e) {
            throw new MalformedPayloadException("unknown control kind \"" + StrictJson.clip(kindName)
                    + "\", expected INSTALL, FREEZE, UNFREEZE or RESET");
        }
        if (kind == ControlMessage.Kind.INSTALL) {
            if (f.names().isEmpty()) {
                throw new MalformedPayloadException("INSTALL control message holds no tensors");
            }
            try {
                return ControlMessage.install(key, SafeTensorsPayloads.params(f));
            } catch (TensorFormatException e) {
                throw new MalformedPayloadException(e.getMessage());
            }
        }
        if (!f.names().isEmpty()) {
            throw new MalformedPayloadException(kind + " control message carries " + f.names().size() + " tensor(s); only INSTALL carries tensors");
        }
        return ControlMessage.of(kind, key);
    }

    /** The Kafka record key of an all-keys message: the control topic is compacted, and Kafka refuses keyless records there. */
    public static final String ALL_KEYS_RECORD_KEY = "*";

    /**
     * The stream key, or {@value #ALL_KEYS_RECORD_KEY} for a message to every key (compaction then
     * keeps the latest all-keys message). The payload's own metadata, not this record key, says
     * which keys a message is for.
     */
    @Override
    public byte[] key(ControlMessage m) {
        return Utf8.encode(m.key() == null ? ALL_KEYS_RECORD_KEY : m.key());
    }

    @Override
    public byte[] value(ControlMessage m) {
        return encode(m);
    }

    /** The safetensors payload of a control message. */
    public static byte[] encode(ControlMessage m) {
        if (m.key() != null && m.key().isEmpty()) {
            throw new IllegalArgumentException("a control message key must not be empty; use null for every key");
        }
        SafeTensors.Writer w = SafeTensors.writer().metadata("kind", m.kind().name());
        if (m.key() != null) {
            w.metadata("key", m.key());
        }
        if (m.kind() == ControlMessage.Kind.INSTALL) {
            SafeTensorsPayloads.putParams(w, m.params());
        }
        return w.toBytes();
    }
}

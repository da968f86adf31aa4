package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.io.TensorFormatException;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodebookSnapshot;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * Codebook snapshots ({@link CodebookSnapshot}) as <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * payloads, both directions. Kafka record key: the stream key in UTF-8, so a compacted topic keeps
 * the latest snapshot of every key.
 *
 * <p>Layout: u64 little-endian header length N, N bytes of JSON header (padded with spaces to a
 * multiple of 8), then the little-endian tensor data. The header's {@code __metadata__} holds
 * strings:
 * <pre>
 *   "format":         "pt"
 *   "key":            the stream key (non-empty)
 *   "version":        codebook version, decimal (as in CodeRecord.codebook_version)
 *   "step":           EMA steps taken, decimal
 *   "quantizer_type": reference class name, e.g. "VectorQuantize"
 *   "quantizer_args": the constructor arguments as a JSON object, e.g. {"dim":16,"codebook_size":64}
 * </pre>
 * Tensors are named by their state_dict names ({@code _codebook.embed}, {@code layers.0._codebook.embed}, ...),
 * F32 except the {@code *_codebook.initted} flags, which are BOOL; so
 * {@code safetensors.torch.load_file} gives a state dict that loads into the reference module.
 * A parameter-free quantizer (FSQ, LFQ without projections) has no tensors. When parsing, any
 * float or integer dtype is accepted and widened to float32, and every value must be finite. A null Kafka value (a compaction
 * tombstone) decodes to nothing.
 */
@PublicEvolving
public final class CodebookSnapshotCodec extends PayloadCodec<CodebookSnapshot> {

    public CodebookSnapshotCodec() {
        this(DEFAULT_MAX_PAYLOAD_BYTES);
    }

    public CodebookSnapshotCodec(int maxPayloadBytes) {
        super(maxPayloadBytes);
    }

    @Override
    public CodebookSnapshotCodec withMaxPayloadBytes(int maxPayloadBytes) {
        return new CodebookSnapshotCodec(maxPayloadBytes);
    }

    @Override
    public TypeInformation<CodebookSnapshot> valueType() {
        return CodebookSnapshot.typeInfo();
    }

    @Override
    protected Decoded<CodebookSnapshot> onNullPayload(Origin origin) {
        return null;
    }

    @Override
    protected CodebookSnapshot parse(byte[] payload, Origin origin, Partial partial) throws IOException {
        SafeTensorsFile f;
        try {
            f = SafeTensors.read(payload, "codebook snapshot");
        } catch (TensorFormatException e) {
            throw new MalformedPayloadException(e.getMessage());
        }
        String key = SafeTensorsPayloads.required(f, "key");
        partial.key = StrictJson.checkKey(key);
        long version = SafeTensorsPayloads.longMeta(f, "version");
        long step = SafeTensorsPayloads.longMeta(f, "step");
        String type = SafeTensorsPayloads.required(f, "quantizer_type");
        if (type.isEmpty()) {
            throw new MalformedPayloadException("metadata 'quantizer_type' is empty");
        }
        String args = SafeTensorsPayloads.required(f, "quantizer_args");
        checkJsonObject(args);
        Params params;
        try {
            params = SafeTensorsPayloads.params(f);
        } catch (TensorFormatException e) {
            throw new MalformedPayloadException(e.getMessage());
        }
        for (Map.Entry<String, Tensor> e : params.asMap().entrySet()) {
            for (float v : e.getValue().data()) {
                if (!Float.isFinite(v)) {
                    throw new MalformedPayloadException("tensor '" + e.getKey() + "' holds " + v);
                }
            }
        }
        if (origin.key() != null && !Arrays.equals(origin.key(), Utf8.encode(key))) {
            throw new MalformedPayloadException("Kafka record key \"" + StrictJson.clip(String.valueOf(Utf8.decodeOrNull(origin.key())))
                    + "\" differs from the snapshot's key \"" + StrictJson.clip(key) + "\"");
        }
        return new CodebookSnapshot(key, version, step, type, args, params);
    }

    private static void checkJsonObject(String args) throws IOException {
        try (JsonParser p = StrictJson.FACTORY.createParser(args)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new MalformedPayloadException("metadata 'quantizer_args' is not a JSON object");
            }
            p.skipChildren();
            StrictJson.expectEnd(p);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MalformedPayloadException("metadata 'quantizer_args' is not valid JSON: " + StrictJson.oneLine(e.getOriginalMessage()));
        }
    }

    @Override
    public byte[] key(CodebookSnapshot s) {
        return Utf8.encode(s.key());
    }

    @Override
    public byte[] value(CodebookSnapshot s) {
        return encode(s);
    }

    /** The safetensors payload of a snapshot. */
    public static byte[] encode(CodebookSnapshot s) {
        if (s.key() == null || s.key().isEmpty()) {
            throw new IllegalArgumentException("a codebook snapshot needs a non-empty key to be encoded");
        }
        SafeTensors.Writer w = SafeTensors.writer()
                .metadata("format", "pt")
                .metadata("key", s.key())
                .metadata("version", Long.toString(s.version()))
                .metadata("step", Long.toString(s.step()))
                .metadata("quantizer_type", s.quantizerType())
                .metadata("quantizer_args", s.quantizerArgs());
        SafeTensorsPayloads.putParams(w, s.params());
        return w.toBytes();
    }
}

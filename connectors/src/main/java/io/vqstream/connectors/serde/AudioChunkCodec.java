package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vqstream.connectors.audio.AudioChunk;
import io.vqstream.connectors.audio.PcmCodec;
import io.vqstream.connectors.audio.PcmEncoding;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.Objects;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * Audio chunk payloads ({@link AudioChunk}, the input of the audio front end), both directions.
 *
 * <p><b>JSON</b> (UTF-8, one object):
 * <pre>{"key":"mic-1","seq":0,"ts":1700000000000,"sample_rate":16000,"channels":1,"encoding":"s16le","data":"AAD/fw=="}</pre>
 * <ul>
 *   <li>{@code key}: non-empty string (≤ 4096 UTF-8 bytes); required.</li>
 *   <li>{@code seq}: integer; missing or null → the Kafka offset (only meaningful on a
 *       one-partition topic, as the front end orders chunks by seq).</li>
 *   <li>{@code ts}: integer epoch milliseconds; missing or null → the Kafka record timestamp.</li>
 *   <li>{@code sample_rate} (1..2³¹−1), {@code channels} (1..65535): required integers.</li>
 *   <li>{@code encoding}: {@code "s16le"} (signed 16-bit) or {@code "f32le"} (IEEE float32); required.</li>
 *   <li>{@code data}: the interleaved little-endian PCM bytes in standard base64 (RFC 4648 §4,
 *       with padding, no line breaks); a whole number of frames of {@code channels × 2} (s16le)
 *       or {@code channels × 4} (f32le) bytes; may be empty.</li>
 * </ul>
 *
 * <p><b>Binary</b> (little-endian; K = key length, L = PCM length):
 * <pre>
 *   offset   size  field
 *   0        1     format version = 1
 *   1        2     K, u16 (1..4096)
 *   3        K     key, UTF-8
 *   3+K      8     seq, i64
 *   11+K     8     ts, i64 epoch milliseconds
 *   19+K     4     sample rate, u32 (1..2³¹−1)
 *   23+K     2     channels, u16 (≥ 1)
 *   25+K     1     encoding: 1 = s16le, 2 = f32le
 *   26+K     4     L, u32: PCM bytes, a whole number of frames
 *   30+K     L     PCM bytes, interleaved
 *   total    30 + K + L bytes, exactly
 * </pre>
 */
@PublicEvolving
public final class AudioChunkCodec extends PayloadCodec<AudioChunk> {
    public static final int BINARY_VERSION = 1;

    private final WireFormat format;

    public AudioChunkCodec(WireFormat format) {
        this(format, DEFAULT_MAX_PAYLOAD_BYTES);
    }

    public AudioChunkCodec(WireFormat format, int maxPayloadBytes) {
        super(maxPayloadBytes);
        this.format = Objects.requireNonNull(format, "format");
    }

    public static AudioChunkCodec json() {
        return new AudioChunkCodec(WireFormat.JSON);
    }

    public static AudioChunkCodec binary() {
        return new AudioChunkCodec(WireFormat.BINARY);
    }

    public WireFormat format() {
        return format;
    }

    @Override
    public AudioChunkCodec withMaxPayloadBytes(int maxPayloadBytes) {
        return new AudioChunkCodec(format, maxPayloadBytes);
    }

    @Override
    public TypeInformation<AudioChunk> valueType() {
        return AudioChunk.typeInfo();
    }

    /** The JSON name of an encoding: {@code s16le} or {@code f32le}. */
    public static String encodingName(PcmEncoding e) {
        return e == PcmEncoding.S16LE ? "s16le" : "f32le";
    }

    /** The binary code of an encoding: 1 = s16le, 2 = f32le. */
    public static int encodingCode(PcmEncoding e) {
        return e == PcmEncoding.S16LE ? 1 : 2;
    }

    @Override
    protected AudioChunk parse(byte[] payload, Origin origin, Partial partial) throws IOException {
        return format == WireFormat.JSON ? parseJson(payload, origin, partial) : parseBinary(payload, partial);
    }

    private static AudioChunk parseJson(byte[] payload, Origin origin, Partial partial) throws IOException {
        try (JsonParser p = StrictJson.openObject(payload)) {
            String key = null;
            Long seq = null;
            Long ts = null;
            Integer rate = null;
            Integer channels = null;
            PcmEncoding encoding = null;
            String data = null;
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
                    case "sample_rate" -> rate = StrictJson.int32(p, "sample_rate");
                    case "channels" -> channels = StrictJson.int32(p, "channels");
                    case "encoding" -> {
                        String e = StrictJson.string(p, "encoding");
                        encoding = switch (e) {
                            case "s16le" -> PcmEncoding.S16LE;
                            case "f32le" -> PcmEncoding.F32LE;
                            default -> throw new MalformedPayloadException("unknown encoding \"" + StrictJson.clip(e)
                                    + "\", expected \"s16le\" or \"f32le\"");
                        };
                    }
                    case "data" -> data = StrictJson.string(p, "data");
                    default -> p.skipChildren();
                }
            }
            StrictJson.expectEnd(p);
            if (key == null) {
                throw new MalformedPayloadException("key is missing");
            }
            for (Object[] f : new Object[][] {{rate, "sample_rate"}, {channels, "channels"}, {encoding, "encoding"}, {data, "data"}}) {
                if (f[0] == null) {
                    throw new MalformedPayloadException(f[1] + " is missing");
                }
            }
            byte[] pcm;
            try {
                pcm = Base64.getDecoder().decode(data);
            } catch (IllegalArgumentException e) {
                throw new MalformedPayloadException("data is not valid base64: " + StrictJson.oneLine(e.getMessage()));
            }
            return check(new AudioChunk(key, seq != null ? seq : fallbackSeq(origin), ts != null ? ts : fallbackTs(origin),
                    rate, channels, encoding, pcm));
        }
    }

    private static AudioChunk parseBinary(byte[] payload, Partial partial) {
        BinaryReader r = new BinaryReader(payload, "binary audio chunk");
        r.version(BINARY_VERSION);
        String key = partial.key = r.key();
        long seq = r.i64("seq");
        long ts = partial.ts = r.i64("ts");
        long rate = r.u32("the sample rate");
        if (rate == 0 || rate > Integer.MAX_VALUE) {
            throw new MalformedPayloadException("sample_rate " + rate + " is out of range 1.." + Integer.MAX_VALUE);
        }
        int channels = r.u16("the channel count");
        int code = r.u8("the encoding");
        PcmEncoding encoding = switch (code) {
            case 1 -> PcmEncoding.S16LE;
            case 2 -> PcmEncoding.F32LE;
            default -> throw new MalformedPayloadException("unknown encoding code " + code + ", expected 1 (s16le) or 2 (f32le)");
        };
        long len = r.u32("the PCM length");
        r.expectExactly(len, 1, 0, "PCM length " + len);
        byte[] pcm = r.bytes((int) len, "the PCM bytes");
        return check(new AudioChunk(key, seq, ts, (int) rate, channels, encoding, pcm));
    }

    private static AudioChunk check(AudioChunk c) {
        if (c.sampleRate() <= 0) {
            throw new MalformedPayloadException("sample_rate " + c.sampleRate() + " is not positive");
        }
        if (c.channels() <= 0 || c.channels() > PcmCodec.MAX_CHANNELS) {
            throw new MalformedPayloadException("channels " + c.channels() + " is out of range 1.." + PcmCodec.MAX_CHANNELS);
        }
        int frame = c.channels() * c.encoding().bytesPerSample();
        if (c.pcm().length % frame != 0) {
            throw new MalformedPayloadException("PCM payload of " + c.pcm().length + " bytes is not a whole number of "
                    + frame + "-byte frames (" + encodingName(c.encoding()) + ", " + c.channels() + " channel(s))");
        }
        return c;
    }

    @Override
    public byte[] key(AudioChunk c) {
        return c.key() == null ? null : Utf8.encode(c.key());
    }

    @Override
    public byte[] value(AudioChunk c) {
        return encode(c, format);
    }

    /** Encodes a chunk; throws {@link IllegalArgumentException} for what the format cannot carry. */
    public static byte[] encode(AudioChunk c, WireFormat format) {
        if (c.key() == null || c.key().isEmpty()) {
            throw new IllegalArgumentException("an audio chunk needs a non-empty key to be encoded");
        }
        if (c.pcm() == null) {
            throw new IllegalArgumentException("an audio chunk needs PCM bytes (possibly none) to be encoded");
        }
        try {
            check(c);
        } catch (MalformedPayloadException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        if (format == WireFormat.JSON) {
            return StrictJson.write(g -> {
                g.writeStartObject();
                g.writeStringField("key", c.key());
                g.writeNumberField("seq", c.seq());
                g.writeNumberField("ts", c.eventTime());
                g.writeNumberField("sample_rate", c.sampleRate());
                g.writeNumberField("channels", c.channels());
                g.writeStringField("encoding", encodingName(c.encoding()));
                g.writeStringField("data", Base64.getEncoder().encodeToString(c.pcm()));
                g.writeEndObject();
            });
        }
        byte[] key = Utf8.encode(c.key());
        if (key.length > StrictJson.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("key of " + key.length + " UTF-8 bytes exceeds the limit of " + StrictJson.MAX_KEY_BYTES);
        }
        return ByteBuffer.allocate(30 + key.length + c.pcm().length).order(ByteOrder.LITTLE_ENDIAN)
                .put((byte) BINARY_VERSION).putShort((short) key.length).put(key).putLong(c.seq()).putLong(c.eventTime())
                .putInt(c.sampleRate()).putShort((short) c.channels()).put((byte) encodingCode(c.encoding()))
                .putInt(c.pcm().length).put(c.pcm()).array();
    }
}

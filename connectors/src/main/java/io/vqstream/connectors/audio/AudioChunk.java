package io.vqstream.connectors.audio;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.operators.record.RecordSerializer;
import io.vqstream.operators.record.RecordTypeInfo;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.typeinfo.TypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * One chunk of a keyed audio stream, as it travels between operators.
 *
 * @param key        the audio stream (speaker, call, device)
 * @param seq        the chunk's position in its stream (0, 1, 2, ...)
 * @param eventTime  event time of the chunk's first sample, epoch milliseconds
 * @param sampleRate samples per second of the payload
 * @param channels   interleaved channels in the payload
 * @param encoding   sample encoding of the payload
 * @param pcm        interleaved little-endian samples
 */
@TypeInfo(AudioChunk.TypeInfoFactoryImpl.class)
@PublicEvolving
public record AudioChunk(String key, long seq, long eventTime, int sampleRate, int channels, PcmEncoding encoding, byte[] pcm) {

    public AudioChunk {
        Objects.requireNonNull(encoding, "encoding");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AudioChunk c && seq == c.seq && eventTime == c.eventTime && sampleRate == c.sampleRate
                && channels == c.channels && encoding == c.encoding && Objects.equals(key, c.key) && Arrays.equals(pcm, c.pcm);
    }

    @Override
    public int hashCode() {
        return Objects.hash(key, seq, sampleRate, channels, encoding, Arrays.hashCode(pcm));
    }

    @Override
    public String toString() {
        return "AudioChunk{key=" + key + ", seq=" + seq + ", " + sampleRate + " Hz x" + channels + " " + encoding
                + ", " + (pcm == null ? 0 : pcm.length) + " bytes}";
    }

    public static TypeInformation<AudioChunk> typeInfo() {
        return new RecordTypeInfo<>(AudioChunk.class, Serializer::new);
    }

    public static final class TypeInfoFactoryImpl extends TypeInfoFactory<AudioChunk> {
        @Override
        public TypeInformation<AudioChunk> createTypeInfo(java.lang.reflect.Type t, Map<String, TypeInformation<?>> p) {
            return typeInfo();
        }
    }

    /** Format 1: nullable key, seq, eventTime, sampleRate, channels, encoding ordinal, PCM bytes. */
    public static final class Serializer extends RecordSerializer<AudioChunk> {
        /** The data format this serializer writes; older formats stay readable (see {@code read}). */
        public static final int CURRENT_FORMAT = 1;

        public Serializer() {
            this(CURRENT_FORMAT);
        }

        Serializer(int format) {
            super(format);
        }

        @Override
        protected int currentFormat() {
            return CURRENT_FORMAT;
        }


        @Override
        public AudioChunk createInstance() {
            return new AudioChunk(null, 0, 0, 16000, 1, PcmEncoding.values()[0], new byte[0]);
        }

        @Override
        protected void write(AudioChunk c, DataOutputView out) throws IOException {
            writeNullableString(c.key(), out);
            out.writeLong(c.seq());
            out.writeLong(c.eventTime());
            out.writeInt(c.sampleRate());
            out.writeInt(c.channels());
            out.writeUTF(c.encoding().name());
            writeBytes(c.pcm(), out);
        }

        @Override
        protected AudioChunk read(int format, DataInputView in) throws IOException {
            return switch (format) {
                case 1 -> readFormat1(in);
                default -> throw new IOException("AudioChunk: unknown data format " + format);
            };
        }

        private AudioChunk readFormat1(DataInputView in) throws IOException {
            String key = readNullableString(in);
            long seq = in.readLong();
            long ts = in.readLong();
            int rate = in.readInt();
            int channels = in.readInt();
            PcmEncoding enc;
            try {
                enc = PcmEncoding.valueOf(in.readUTF());
            } catch (IllegalArgumentException e) {
                throw new IOException("corrupt audio chunk: " + e.getMessage());
            }
            return new AudioChunk(key, seq, ts, rate, channels, enc, readBytes(in, Integer.MAX_VALUE - 8));
        }
    }
}

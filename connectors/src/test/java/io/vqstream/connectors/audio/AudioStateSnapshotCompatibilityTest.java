package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/**
 * The audio state at its current formats, checked in under
 * {@code src/test/resources/state-snapshots/}: the front end's keyed state (its own versioned
 * bytes) and the AudioChunk record serializer (snapshot and data). Restored here, so a format
 * change that is not a new format version fails instead of breaking old savepoints. {@link #main}
 * writes the files of a new format (never overwriting).
 */
class AudioStateSnapshotCompatibilityTest {
    private static final String FRONT_END = "/state-snapshots/audio-front-end-state-1/state-bytes";
    private static final String CHUNK = "/state-snapshots/audio-chunk-" + AudioChunk.Serializer.CURRENT_FORMAT + "/";

    /** A front end mid-stream at 22.05 kHz: resampler history, a partial frame and an out-of-order chunk buffered. */
    static AudioFrontEndState sampleFrontEndState() {
        AudioFrontEnd fe = new AudioFrontEnd(AudioFrontEndConfig.speech16k());
        float[] a = new float[2205];
        float[] b = new float[1000];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) Math.sin(i * 0.05);
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) Math.cos(i * 0.07) * 0.5f;
        }
        fe.acceptSamples(0, 22050, 1, a);
        fe.acceptSamples(2, 22050, 1, b); // seq 1 missing: seq 2 waits in the reassembler
        return fe.snapshot();
    }

    static List<AudioChunk> sampleChunks() {
        return List.of(new AudioChunk("mic-1", 3, 1_700_000_000_000L, 16000, 1, PcmEncoding.S16LE, new byte[] {1, 0, -1, -1, 0, 127}),
                new AudioChunk("mic-2", 0, 0, 48000, 2, PcmEncoding.values()[PcmEncoding.values().length - 1], new byte[8]));
    }

    @SuppressWarnings("unchecked")
    private static TypeSerializer<AudioChunk> chunkSerializer() {
        return AudioChunk.typeInfo().createSerializer(new SerializerConfigImpl());
    }

    private static byte[] serialize(TypeSerializer<AudioChunk> s, List<AudioChunk> chunks) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        for (AudioChunk c : chunks) {
            s.serialize(c, out);
        }
        return out.getCopyOfBuffer();
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = AudioStateSnapshotCompatibilityTest.class.getResourceAsStream(name)) {
            assertTrue(in != null, name + " is checked in");
            return in.readAllBytes();
        }
    }

    @Test
    void theCheckedInFrontEndStateIsRestored() throws IOException {
        byte[] checkedIn = resource(FRONT_END);
        AudioFrontEndState restored = AudioFrontEndState.fromBytes(checkedIn);
        assertEquals(sampleFrontEndState(), restored);
        assertArrayEquals(checkedIn, restored.toBytes(), "written again byte for byte");
    }

    @Test
    void theCheckedInAudioChunkSnapshotAndDataAreRestored() throws IOException {
        TypeSerializerSnapshot<AudioChunk> snapshot = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(resource(CHUNK + "serializer-snapshot")), getClass().getClassLoader());
        assertTrue(chunkSerializer().snapshotConfiguration().resolveSchemaCompatibility(snapshot).isCompatibleAsIs());
        TypeSerializer<AudioChunk> restored = snapshot.restoreSerializer();
        DataInputDeserializer in = new DataInputDeserializer(resource(CHUNK + "test-data"));
        List<AudioChunk> read = List.of(restored.deserialize(in), restored.deserialize(in));
        assertEquals(0, in.available());
        assertEquals(sampleChunks(), read);
    }

    public static void main(String[] args) throws IOException {
        Path root = Path.of(args.length > 0 ? args[0] : "src/test/resources");
        Path fe = root.resolve(FRONT_END.substring(1));
        if (!Files.exists(fe)) {
            Files.createDirectories(fe.getParent());
            Files.write(fe, sampleFrontEndState().toBytes());
            System.out.println("wrote " + fe);
        }
        Path chunk = root.resolve(CHUNK.substring(1));
        if (!Files.exists(chunk)) {
            Files.createDirectories(chunk);
            DataOutputSerializer snap = new DataOutputSerializer(64);
            TypeSerializerSnapshot.writeVersionedSnapshot(snap, chunkSerializer().snapshotConfiguration());
            Files.write(chunk.resolve("serializer-snapshot"), snap.getCopyOfBuffer());
            Files.write(chunk.resolve("test-data"), serialize(chunkSerializer(), sampleChunks()));
            System.out.println("wrote " + chunk);
        }
    }
}

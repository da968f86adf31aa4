package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import io.vqstream.state.KeyMeta;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every state type the operators keep, at its current data format: the serializer snapshot and
 * serialized samples are checked in under {@code src/test/resources/state-snapshots/<type>-<format>/}
 * (as a savepoint holds them), restored here and read back. A change to a format that is not a
 * new format version fails here instead of silently breaking old savepoints.
 *
 * <p>A new format version: run {@link #main} from the module directory once, which writes the
 * new version's files next to the old ones (it never overwrites), and keep reading the old ones.
 */
class StateSnapshotCompatibilityTest {

    /** One state type: its name on disk, current format, serializer and samples. */
    record Case(String name, int format, TypeSerializer<Object> serializer, List<Object> samples) {
        Path dir(Path root) {
            return root.resolve(name + "-" + format);
        }

        String resource(String file) {
            return "/state-snapshots/" + name + "-" + format + "/" + file;
        }

        @Override
        public String toString() {
            return name + "-" + format;
        }
    }

    @SuppressWarnings("unchecked")
    private static TypeSerializer<Object> serializer(TypeInformation<?> t) {
        return (TypeSerializer<Object>) t.createSerializer(new SerializerConfigImpl());
    }

    private static Params params() {
        return new Params()
                .put("_codebook.embed", new Tensor(new float[] {1f, -2.5f, 3e-3f, 4f, Float.MIN_VALUE, -0f}, 1, 3, 2))
                .put("_codebook.initted", Tensor.scalar(1f).reshape())
                .put("_codebook.cluster_size", new Tensor(new float[] {0.5f, 1f, 2f}, 1, 3));
    }

    static Stream<Case> cases() {
        KeyMeta meta = new KeyMeta();
        meta.hasCodebook = true;
        meta.initPending = true;
        meta.buffered = 7;
        meta.emitted = 3;
        meta.timerAt = 1_700_000_000_123L;
        meta.oldestUnemittedAt = 1_700_000_000_001L;
        meta.lastVersion = 42;
        return Stream.of(
                new Case("vector-record", VectorRecord.Serializer.CURRENT_FORMAT, serializer(VectorRecord.typeInfo()), List.of(
                        new VectorRecord("k1", 17, 1_700_000_000_000L, new float[] {0.1f, -2f, 3.5e-3f}, Map.of("lang", "en")),
                        new VectorRecord(null, 0, -1, new float[0]))),
                new Case("code-record", CodeRecord.Serializer.CURRENT_FORMAT, serializer(CodeRecord.typeInfo()), List.of(
                        new CodeRecord("k1", 5, 99, new long[] {3, 0, 127}, 4, new float[] {1f, 2f}, 0.25f, Map.of("a", "b")),
                        new CodeRecord("k2", 6, 100, new long[] {-1}, 0))),
                new Case("codebook-snapshot", CodebookSnapshot.Serializer.CURRENT_FORMAT, serializer(CodebookSnapshot.typeInfo()), List.of(
                        new CodebookSnapshot("k1", 3, 40, "VectorQuantize", "{\"dim\":2,\"codebook_size\":3}", params()))),
                new Case("control-message", ControlMessage.Serializer.CURRENT_FORMAT, serializer(ControlMessage.typeInfo()), List.of(
                        ControlMessage.install("k1", params()), ControlMessage.install(null, params()),
                        ControlMessage.of(ControlMessage.Kind.FREEZE, "k2"), ControlMessage.of(ControlMessage.Kind.RESET, null))),
                new Case("dead-letter", DeadLetter.Serializer.CURRENT_FORMAT, serializer(DeadLetter.typeInfo()), List.of(
                        new DeadLetter("k1", DeadLetter.Stage.DESERIALIZE, "dimension 3, expected 4", "{\"x\":1}".getBytes(StandardCharsets.UTF_8), 12),
                        new DeadLetter(null, DeadLetter.Stage.DECODE, "no key", new byte[0], -1))),
                // a Flink POJO: its format is Flink's PojoSerializer, kept stable by not changing the fields
                new Case("key-meta", 1, serializer(TypeInformation.of(KeyMeta.class)), List.of(meta, new KeyMeta())));
    }

    private static byte[] serialize(TypeSerializer<Object> s, List<Object> records) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        for (Object r : records) {
            s.serialize(r, out);
        }
        return out.getCopyOfBuffer();
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = StateSnapshotCompatibilityTest.class.getResourceAsStream(name)) {
            assertTrue(in != null, name + " is checked in (run StateSnapshotCompatibilityTest.main for a new format)");
            return in.readAllBytes();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theCheckedInSnapshotAndDataOfTheCurrentFormatAreRestored(Case c) throws Exception {
        TypeSerializerSnapshot<Object> snapshot = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(resource(c.resource("serializer-snapshot"))), getClass().getClassLoader());
        TypeSerializerSchemaCompatibility<Object> compat = c.serializer().snapshotConfiguration().resolveSchemaCompatibility(snapshot);
        assertTrue(compat.isCompatibleAsIs(), c + ": the current serializer reads the checked-in format as it is: " + compat);

        TypeSerializer<Object> restored = snapshot.restoreSerializer();
        DataInputDeserializer in = new DataInputDeserializer(resource(c.resource("test-data")));
        List<Object> read = new java.util.ArrayList<>();
        for (int i = 0; i < c.samples().size(); i++) {
            read.add(restored.deserialize(in));
        }
        assertEquals(0, in.available(), c + ": every byte of the checked-in data is read");
        // what was read is the samples: written again in the current format, byte for byte the same
        assertArrayEquals(serialize(c.serializer(), c.samples()), serialize(c.serializer(), read), c.toString());
    }

    /** Format 1 of the vector and code records (before the mask and top-k fields) is still read. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void olderFormatsOfTheSameTypeAreStillRead(Case c) throws Exception {
        for (int format = 1; format < c.format(); format++) {
            Case old = new Case(c.name(), format, c.serializer(), c.samples());
            TypeSerializerSnapshot<Object> snapshot = TypeSerializerSnapshot.readVersionedSnapshot(
                    new DataInputDeserializer(resource(old.resource("serializer-snapshot"))), getClass().getClassLoader());
            TypeSerializerSchemaCompatibility<Object> compat = c.serializer().snapshotConfiguration().resolveSchemaCompatibility(snapshot);
            assertTrue(compat.isCompatibleAsIs() || compat.isCompatibleAfterMigration(), old + ": " + compat);
            TypeSerializer<Object> restored = snapshot.restoreSerializer();
            DataInputDeserializer in = new DataInputDeserializer(resource(old.resource("test-data")));
            for (Object expected : c.samples()) {
                // the samples carry the defaults of the newer fields (mask true, no top-k)
                assertEquals(expected, restored.deserialize(in), old.toString());
            }
            assertEquals(0, in.available(), old + ": every byte read");
        }
    }

    /** Writes the files of every type's current format that are not checked in yet (never overwrites). */
    public static void main(String[] args) throws IOException {
        Path root = Path.of(args.length > 0 ? args[0] : "src/test/resources/state-snapshots");
        for (Case c : cases().toList()) {
            Path dir = c.dir(root);
            if (Files.exists(dir)) {
                continue;
            }
            Files.createDirectories(dir);
            DataOutputSerializer snap = new DataOutputSerializer(64);
            TypeSerializerSnapshot.writeVersionedSnapshot(snap, c.serializer().snapshotConfiguration());
            Files.write(dir.resolve("serializer-snapshot"), snap.getCopyOfBuffer());
            Files.write(dir.resolve("test-data"), serialize(c.serializer(), c.samples()));
            System.out.println("wrote " + dir);
        }
    }
}

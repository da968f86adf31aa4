package io.vqstream.state;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * Writes {@code src/test/resources/codebook-state-serializer-<version>.0/{serializer-snapshot,test-data}}
 * for the current format. Run once per new format version, from the module directory, and check the
 * files in; never regenerate an existing version (the files are what old savepoints contain):
 * <pre>
 * java -cp target/test-classes:target/classes:$(test classpath) io.vqstream.state.CodebookStateSerializerSnapshotGenerator
 * </pre>
 */
public final class CodebookStateSerializerSnapshotGenerator {
    private CodebookStateSerializerSnapshotGenerator() {}

    public static void main(String[] args) throws IOException {
        CodebookStateSerializer serializer = new CodebookStateSerializer();
        Path dir = Path.of(args.length > 0 ? args[0] : "src/test/resources")
                .resolve("codebook-state-serializer-" + CodebookStateSerializer.CURRENT_VERSION + ".0");
        if (Files.exists(dir.resolve("serializer-snapshot"))) {
            throw new IllegalStateException(dir + " exists: a checked-in format snapshot must never be regenerated");
        }
        Files.createDirectories(dir);
        DataOutputSerializer snap = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(snap, serializer.snapshotConfiguration());
        Files.write(dir.resolve("serializer-snapshot"), snap.getCopyOfBuffer());
        DataOutputSerializer data = new DataOutputSerializer(1024);
        for (CodebookState s : CodebookStateSamples.format1States()) {
            serializer.serialize(s, data);
        }
        Files.write(dir.resolve("test-data"), data.getCopyOfBuffer());
        System.out.println("wrote " + dir);
    }
}

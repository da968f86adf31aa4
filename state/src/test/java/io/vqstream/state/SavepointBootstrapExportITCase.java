package io.vqstream.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Bootstrap from per-key files, read back the written state, export it again. */
class SavepointBootstrapExportITCase {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static final String UID = "vq-quantize";
    private static final Quantizer VQ = Quantizers.create("VectorQuantize", Map.of("dim", 8, "codebook_size", 16, "decay", 0.8));
    private static final Quantizer KMEANS = Quantizers.create("VectorQuantize",
            Map.of("dim", 8, "codebook_size", 16, "kmeans_init", true));

    private static void assertBitEqual(Tensor expected, Tensor got, String what) {
        assertArrayEquals(expected.shape(), got.shape(), what);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(Float.floatToRawIntBits(expected.data()[i]), Float.floatToRawIntBits(got.data()[i]), what + " at " + i);
        }
    }

    /** key → (state, meta) as read back from the savepoint with the State Processor API. */
    record Read(String key, CodebookState state, KeyMeta meta) {}

    static final class StateReader extends KeyedStateReaderFunction<String, String> {
        private transient ValueState<CodebookState> codebook;
        private transient ValueState<KeyMeta> meta;

        @Override
        public void open(OpenContext ctx) {
            codebook = getRuntimeContext().getState(CodebookStateDescriptors.codebook());
            meta = getRuntimeContext().getState(CodebookStateDescriptors.meta());
        }

        @Override
        public void readKey(String key, Context ctx, Collector<String> out) throws Exception {
            CodebookState s = codebook.value();
            KeyMeta m = meta.value();
            out.collect(key + "|" + s.version() + "|" + s.step() + "|" + (s.params() == null ? "shared" : s.params().names().size())
                    + "|" + m.hasCodebook + "|" + m.lastVersion + "|" + m.initPending + "|" + m.frozen + "|" + m.buffered);
        }
    }

    private static List<String> readBack(Path savepoint) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        SavepointReader r = SavepointReader.read(env, savepoint.toUri().toString(), new HashMapStateBackend());
        List<String> rows = new ArrayList<>();
        try (CloseableIterator<String> it = r.readKeyedState(OperatorIdentifier.forUid(UID), new StateReader(), Types.STRING, Types.STRING)
                .executeAndCollect()) {
            it.forEachRemaining(rows::add);
        }
        rows.sort(null);
        return rows;
    }

    @Test
    void bootstrapWritesBothStatesAndExportGivesTheFilesBackBitForBit(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        Params alice = VQ.initParams(1);
        Params bob = VQ.initParams(2);
        // bob's file carries only the codebook: the EMA buffers start as the reference starts them
        Params bobFile = new Params().put("_codebook.embed", bob.get("_codebook.embed"));
        QuantizerFiles.save(alice, in.resolve("alice.safetensors"), Map.of());
        QuantizerFiles.save(bobFile, in.resolve("bob.safetensors"), Map.of());
        Files.writeString(in.resolve("notes.txt"), "not a codebook");

        Path sp = tmp.resolve("sp");
        assertEquals(List.of("alice", "bob"), SavepointBootstrap.bootstrap(VQ, in, sp, UID, 128));
        assertTrue(Files.isRegularFile(sp.resolve("_metadata")));

        assertEquals(List.of("alice|1|0|4|true|1|false|false|0", "bob|1|0|4|true|1|false|false|0"), readBack(sp),
                "codebook version 1, step 0, own params; meta with a codebook and no pending init");

        Path out = tmp.resolve("out");
        SavepointExport.Result r = SavepointExport.export(VQ, sp, out, UID);
        assertEquals(List.of("alice", "bob"), r.exported());
        assertEquals(List.of(), r.sharedDefault());

        SafeTensorsFile a = SafeTensors.read(out.resolve("alice.safetensors"));
        assertEquals("alice", a.metadata("key"));
        assertEquals("1", a.metadata("version"));
        assertEquals("0", a.metadata("step"));
        assertEquals("VectorQuantize", a.metadata("quantizer_type"));
        Params aBack = QuantizerFiles.load(VQ, out.resolve("alice.safetensors"));
        for (String n : alice.names()) {
            assertBitEqual(alice.get(n), aBack.get(n), "alice " + n);
        }
        SafeTensorsFile b = SafeTensors.read(out.resolve("bob.safetensors"));
        assertTrue(b.contains("_codebook.embed_avg") && b.contains("_codebook.cluster_size"), "the export carries the EMA buffers");
        assertBitEqual(bob.get("_codebook.embed"), b.floatTensor("_codebook.embed"), "bob embed");
        assertBitEqual(bob.get("_codebook.embed"), b.floatTensor("_codebook.embed_avg"), "bob embed_avg starts as embed");
        float[] ones = new float[16];
        java.util.Arrays.fill(ones, 1f);
        assertArrayEquals(ones, b.floatTensor("_codebook.cluster_size").data());
    }

    @Test
    void anUninitialisedKmeansCodebookIsBootstrappedWithItsInitPending(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        Params p = KMEANS.initParams(3);
        assertEquals(0f, p.get("_codebook.initted").item(), "a kmeans codebook starts uninitialised");
        QuantizerFiles.save(p, in.resolve("k.safetensors"), Map.of());
        Path sp = tmp.resolve("sp");
        SavepointBootstrap.bootstrap(KMEANS, in, sp, UID, 64);
        assertEquals(List.of("k|1|0|4|true|1|true|false|0"), readBack(sp));
    }

    @Test
    void aWrongFileFailsBeforeAnyJobWithItsName(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        Params wrong = Quantizers.create("VectorQuantize", Map.of("dim", 8, "codebook_size", 32)).initParams(1);
        QuantizerFiles.save(VQ.initParams(1), in.resolve("good.safetensors"), Map.of());
        QuantizerFiles.save(wrong, in.resolve("bad.safetensors"), Map.of());
        Exception e = assertThrows(Exception.class, () -> SavepointBootstrap.bootstrap(VQ, in, tmp.resolve("sp"), UID, 128));
        assertTrue(e.getMessage().contains("bad.safetensors") && e.getMessage().contains("expects (1, 16)"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("sp").resolve("_metadata")));

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        e = assertThrows(IllegalArgumentException.class, () -> SavepointBootstrap.bootstrap(VQ, empty, tmp.resolve("sp2"), UID, 128));
        assertTrue(e.getMessage().contains("no *.safetensors"), e.getMessage());
    }

    @Test
    void exportOfANonSavepointSaysSo(@TempDir Path tmp) {
        Exception e = assertThrows(IllegalArgumentException.class, () -> SavepointExport.export(VQ, tmp, tmp.resolve("o"), UID));
        assertTrue(e.getMessage().contains("_metadata"), e.getMessage());
    }

    @Test
    void keysThatAreNoPlainFileNamesExportAndBootstrapBackUnderTheirOwnKeys(@TempDir Path tmp) throws Exception {
        String nul = "nul\u0000byte";
        String slash = "a/b";
        String longKey = "k".repeat(300);
        Path in = Files.createDirectories(tmp.resolve("in"));
        for (String key : List.of(nul, slash, longKey)) {
            QuantizerFiles.save(VQ.initParams(key.length()), in.resolve(io.vqstream.core.io.KeyFileNames.nameOf(key) + ".safetensors"),
                    Map.of("key", key));
        }
        Path sp = tmp.resolve("sp");
        List<String> keys = SavepointBootstrap.bootstrap(VQ, in, sp, UID, 128);
        assertEquals(List.of(slash, longKey, nul).stream().sorted().toList(), keys);
        Path out = tmp.resolve("out");
        SavepointExport.Result r = SavepointExport.export(VQ, sp, out, UID);
        assertEquals(keys, r.exported());
        for (String key : keys) {
            Path f = out.resolve(io.vqstream.core.io.KeyFileNames.nameOf(key) + ".safetensors");
            assertEquals(key, SafeTensors.read(f).metadata("key"));
            assertBitEqual(VQ.initParams(key.length()).get("_codebook.embed"), QuantizerFiles.load(VQ, f).get("_codebook.embed"), key);
        }
        // the exported directory bootstraps again, hashed names included
        assertEquals(keys, SavepointBootstrap.bootstrap(VQ, out, tmp.resolve("sp2"), UID, 128));
    }

    @Test
    void exportWithAConfigThatDoesNotFitTheStateRefusesAndWritesNothing(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        QuantizerFiles.save(VQ.initParams(1), in.resolve("alice.safetensors"), Map.of());
        Path sp = tmp.resolve("sp");
        SavepointBootstrap.bootstrap(VQ, in, sp, UID, 128);
        Quantizer other = Quantizers.create("VectorQuantize", Map.of("dim", 8, "codebook_size", 32));
        Path out = tmp.resolve("out");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SavepointExport.export(other, sp, out, UID));
        assertTrue(e.getMessage().startsWith("the savepoint's state does not fit the configured VectorQuantize (1 key(s), first: key alice"),
                e.getMessage());
        try (var files = Files.list(out)) {
            assertEquals(0, files.count(), "no file with inconsistent metadata is left");
        }
    }
}

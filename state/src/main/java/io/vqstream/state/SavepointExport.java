package io.vqstream.state;

import io.vqstream.core.io.KeyFileNames;
import org.apache.flink.annotation.Internal;
import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;

/**
 * Writes every key's codebook held in a savepoint (or retained checkpoint) of a quantize operator
 * as {@code <name>.safetensors} ({@link KeyFileNames}): the key's tensors by the reference's state_dict names, bit for
 * bit, including the EMA buffers, with metadata {@code key}, {@code version}, {@code step},
 * {@code quantizer_type} and {@code quantizer_args}. The files load back with
 * {@link QuantizerFiles#load} and bootstrap with {@link SavepointBootstrap}.
 *
 * <p><b>Keys on the shared default.</b> A key that never learned and was never given its own
 * codebook stores no parameters (it uses the operator's shared file or all-keys installation,
 * which is configuration, not keyed state). {@link #export(Quantizer, Path, Path, String)} skips
 * such keys and lists them in {@link Result#sharedDefault()};
 * {@link #export(Quantizer, Path, Path, String, Params)} writes the given shared parameters for
 * them instead (metadata {@code shared_default = true}). Every key has a file: its name is
 * {@link KeyFileNames#nameOf} of the key (escaped or hashed where the key is not a plain name),
 * and the metadata {@code key} holds the key itself.
 * Keys without a codebook (reset, or never given one) have nothing to export and are not listed.
 *
 * <p>The export job reads the savepoint in the environment of the calling JVM and writes the
 * files from there: the output directory must be writable by it.
 */
@Internal
public final class SavepointExport {
    private static final String EXPORTED = "exported";
    private static final String MISMATCH = "mismatch";
    private static final String SHARED = "shared";

    private SavepointExport() {}

    /**
     * What was exported.
     *
     * @param exported      keys written, sorted
     * @param sharedDefault keys that use the shared default (skipped, or written with the given default), sorted
     */
    public record Result(List<String> exported, List<String> sharedDefault) {}

    /** Exports the keys with their own codebooks; keys on the shared default are only listed. */
    public static Result export(Quantizer q, Path savepointDir, Path outputDir, String operatorUid) throws Exception {
        return export(q, savepointDir, outputDir, operatorUid, null);
    }

    /**
     * @param sharedDefault written for keys on the shared default (null: skip them); must be a
     *                      complete parameter set for {@code q}
     */
    public static Result export(Quantizer q, Path savepointDir, Path outputDir, String operatorUid, Params sharedDefault)
            throws Exception {
        if (!Files.isRegularFile(savepointDir.resolve("_metadata"))) {
            throw new IllegalArgumentException(savepointDir + " is not a savepoint or checkpoint directory (no _metadata)");
        }
        if (sharedDefault != null) {
            sharedDefault = QuantizerFiles.complete(q, sharedDefault, "shared default", "");
        }
        Files.createDirectories(outputDir);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        env.setParallelism(1);
        SavepointReader reader = SavepointReader.read(env, savepointDir.toUri().toString(), new HashMapStateBackend());
        Reader fn = new Reader(q.type(), SavepointBootstrap.kwargsJson(q), outputDir.toAbsolutePath().toString(),
                sharedDefault == null ? null : sharedDefault.copy());
        List<String> exported = new ArrayList<>();
        List<String> shared = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        try (CloseableIterator<String> it = reader.readKeyedState(OperatorIdentifier.forUid(operatorUid), fn, Types.STRING, Types.STRING)
                .executeAndCollect("vqstream savepoint export")) {
            while (it.hasNext()) {
                String line = it.next();
                int tab = line.indexOf('\t');
                String kind = line.substring(0, tab);
                String key = line.substring(tab + 1);
                switch (kind) {
                    case MISMATCH -> mismatched.add(key.replace("\t", ": "));
                    case EXPORTED -> exported.add(key);
                    case SHARED -> shared.add(key);
                    default -> throw new IllegalStateException(line);
                }
            }
        }
        if (!mismatched.isEmpty()) {
            // nothing half-written: remove what this export wrote before refusing
            for (String key : exported) {
                Files.deleteIfExists(outputDir.resolve(KeyFileNames.nameOf(key) + ".safetensors"));
            }
            for (String key : shared) {
                Files.deleteIfExists(outputDir.resolve(KeyFileNames.nameOf(key) + ".safetensors"));
            }
            mismatched.sort(null);
            throw new IllegalArgumentException("the savepoint's state does not fit the configured " + q.type() + " ("
                    + mismatched.size() + " key(s), first: key " + mismatched.get(0)
                    + "); give the configuration the job ran with");
        }
        exported.sort(null);
        shared.sort(null);
        return new Result(List.copyOf(exported), List.copyOf(shared));
    }

    /** Reads one key's codebook and writes its file; emits "kind\tkey". */
    static final class Reader extends KeyedStateReaderFunction<String, String> {
        private static final long serialVersionUID = 1L;
        private final String type;
        private final String kwargsJson;
        private final String dir;
        /** Travels as safetensors bytes (Params is not serializable). */
        private final byte[] sharedDefault;
        private transient Params shared;
        private transient Quantizer quantizer;
        private transient ValueState<CodebookState> codebook;

        Reader(String type, String kwargsJson, String dir, Params sharedDefault) throws java.io.IOException {
            this.type = type;
            this.kwargsJson = kwargsJson;
            this.dir = dir;
            if (sharedDefault == null) {
                this.sharedDefault = null;
            } else {
                Path tmp = Files.createTempFile("vqstream-shared", ".safetensors");
                try {
                    QuantizerFiles.save(sharedDefault, tmp, Map.of());
                    this.sharedDefault = Files.readAllBytes(tmp);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
        }

        @Override
        public void open(OpenContext ctx) {
            Quantizer q = SavepointBootstrap.quantizer(type, kwargsJson);
            quantizer = q;
            shared = sharedDefault == null ? null
                    : QuantizerFiles.load(q, io.vqstream.core.io.SafeTensors.read(sharedDefault, "shared default"), "");
            codebook = getRuntimeContext().getState(CodebookStateDescriptors.codebook());
        }

        @Override
        public void readKey(String key, Context ctx, Collector<String> out) throws Exception {
            CodebookState s = codebook.value();
            if (s == null) {
                return;
            }
            Params p = s.params();
            if (p != null) {
                try {
                    quantizer.validate(p);
                } catch (IllegalArgumentException e) {
                    // written with this config's metadata the file would describe another quantizer
                    out.collect(MISMATCH + "\t" + key + "\t" + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
                    return;
                }
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("key", key);
            meta.put("version", Long.toString(s.version()));
            meta.put("step", Long.toString(s.step()));
            meta.put("quantizer_type", type);
            meta.put("quantizer_args", kwargsJson);
            if (p == null) {
                if (shared == null) {
                    out.collect(SHARED + "\t" + key);
                    return;
                }
                p = shared;
                meta.put("shared_default", "true");
            }
            QuantizerFiles.save(p, Path.of(dir, KeyFileNames.nameOf(key) + ".safetensors"), meta);
            out.collect((s.params() == null ? SHARED : EXPORTED) + "\t" + key);
        }
    }
}

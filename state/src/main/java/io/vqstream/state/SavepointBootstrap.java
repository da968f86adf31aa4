package io.vqstream.state;

import org.apache.flink.annotation.Internal;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.core.io.KeyFileNames;
import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.quantize.ParamSpec;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.OperatorTransformation;
import org.apache.flink.state.api.SavepointWriter;
import org.apache.flink.state.api.StateBootstrapTransformation;
import org.apache.flink.state.api.functions.KeyedStateBootstrapFunction;
import org.apache.flink.state.api.runtime.SavepointLoader;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Writes a savepoint that starts a quantize operator with one codebook per key, from a directory
 * of parameter files.
 *
 * <p>Every {@code <name>.safetensors} in the directory becomes the codebook of its key (the
 * metadata {@code key} of an exported file, else the key {@link KeyFileNames} reads from the name):
 * tensors by the reference's state_dict names, EMA buffers optional (absent ones start as the
 * reference starts them, see {@link QuantizerFiles#load}). For each key the savepoint holds, under
 * the operator's uid, the keyed states the operator reads:
 * <ul>
 *   <li>{@link CodebookStateDescriptors#CODEBOOK_STATE}: {@code CodebookState(version 1, step 0, params)};</li>
 *   <li>{@link CodebookStateDescriptors#META_STATE}: {@link KeyMeta} with {@code hasCodebook},
 *       {@code lastVersion = 1} and {@code initPending} when the file's {@code initted} flag is 0
 *       (a kmeans initialisation then runs on the key's first data).</li>
 * </ul>
 * A job started from it ({@code execution.state-recovery.path}) with the same operator uid,
 * quantizer configuration and max parallelism quantizes every key with its file's codebook; the
 * job's own codebook source then applies only to keys not in the savepoint.
 *
 * <p>The bootstrap job runs with parallelism 1 and object reuse in the environment of the calling
 * JVM, and reads the files itself: the directory must be readable there. The written savepoint is
 * checked to hold keyed state for the operator, since a misconfigured bootstrap can silently
 * produce an empty one.
 */
@Internal
public final class SavepointBootstrap {
    private static final String SUFFIX = ".safetensors";

    private SavepointBootstrap() {}

    /**
     * @param q              the quantizer configuration of the job that will start from the savepoint
     * @param codebooksDir   directory of {@code <key>.safetensors} files
     * @param savepointDir   where to write the savepoint (must not exist yet or be empty)
     * @param operatorUid    the quantize operator's uid in that job
     * @param maxParallelism the job's max parallelism (key groups are fixed by it)
     * @return the keys written, sorted
     */
    public static List<String> bootstrap(Quantizer q, Path codebooksDir, Path savepointDir, String operatorUid, int maxParallelism)
            throws Exception {
        if (maxParallelism < 1 || maxParallelism > 1 << 15) {
            throw new IllegalArgumentException("max parallelism must be in 1..32768, got " + maxParallelism);
        }
        if (operatorUid == null || operatorUid.isBlank()) {
            throw new IllegalArgumentException("operator uid must be given");
        }
        java.util.TreeMap<String, String> files = keyFilesIn(codebooksDir);
        List<String> keys = new ArrayList<>(files.keySet());
        for (String key : keys) {
            // validates every file before the job starts, so a bad file fails with its name
            QuantizerFiles.load(q, codebooksDir.resolve(files.get(key)));
        }
        if (Files.isDirectory(savepointDir)) {
            try (Stream<Path> s = Files.list(savepointDir)) {
                if (s.findAny().isPresent()) {
                    throw new IllegalArgumentException("savepoint directory " + savepointDir + " is not empty");
                }
            }
        }

        Configuration conf = new Configuration();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        // parallelism 1 with object reuse: other settings produced empty or failing bootstrap jobs on Flink 2.x
        env.setParallelism(1);
        env.getConfig().enableObjectReuse();

        StateBootstrapTransformation<String> transformation = OperatorTransformation
                .bootstrapWith(env.fromData(keys, Types.STRING))
                .keyBy(k -> k, Types.STRING)
                .transform(new Writer(q.type(), kwargsJson(q), codebooksDir.toAbsolutePath().toString(), new java.util.HashMap<>(files)));
        SavepointWriter.newSavepoint(env, new HashMapStateBackend(), maxParallelism)
                .withOperator(OperatorIdentifier.forUid(operatorUid), transformation)
                .write(savepointDir.toUri().toString());
        env.execute("vqstream savepoint bootstrap (" + keys.size() + " keys)");

        requireKeyedState(savepointDir, operatorUid, keys.size());
        return keys;
    }

    /** The keys of a codebook directory, sorted. */
    static List<String> keysIn(Path dir) throws IOException {
        return new ArrayList<>(keyFilesIn(dir).keySet());
    }

    /**
     * Key → file name of every {@code *.safetensors} in a codebook directory. The key of a file is
     * its metadata {@code key} when the file name is that key's {@link KeyFileNames#nameOf} (files
     * written by savepoint export, hashed names included), else the key its name spells
     * ({@link KeyFileNames#keyOf}), else the name itself without the extension.
     */
    static java.util.TreeMap<String, String> keyFilesIn(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("codebook directory " + dir + " does not exist");
        }
        java.util.TreeMap<String, String> files = new java.util.TreeMap<>();
        List<Path> paths;
        try (Stream<Path> s = Files.list(dir)) {
            paths = s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(SUFFIX)).sorted().toList();
        }
        for (Path p : paths) {
            String name = p.getFileName().toString();
            String stem = name.substring(0, name.length() - SUFFIX.length());
            String key = null;
            String meta = io.vqstream.core.io.SafeTensors.read(p).metadata("key");
            if (meta != null && KeyFileNames.nameOf(meta).equals(stem)) {
                key = meta;
            }
            if (key == null) {
                key = KeyFileNames.keyOf(stem);
            }
            if (key == null) {
                key = stem;
            }
            String other = files.put(key, name);
            if (other != null) {
                throw new IllegalArgumentException("files " + other + " and " + name + " in " + dir + " both hold key '" + key + "'");
            }
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no *" + SUFFIX + " files in " + dir);
        }
        return files;
    }

    /** Fails unless the savepoint's metadata holds managed keyed state for the operator. */
    static void requireKeyedState(Path savepointDir, String operatorUid, int keys) throws IOException {
        CheckpointMetadata metadata = SavepointLoader.loadSavepointMetadata(savepointDir.toUri().toString());
        OperatorID id = OperatorIdentifier.forUid(operatorUid).getOperatorId();
        for (OperatorState op : metadata.getOperatorStates()) {
            if (!op.getOperatorID().equals(id)) {
                continue;
            }
            for (OperatorSubtaskState st : op.getStates()) {
                if (!st.getManagedKeyedState().isEmpty() && st.getManagedKeyedState().getStateSize() > 0) {
                    return;
                }
            }
        }
        throw new IllegalStateException("the bootstrap job wrote no keyed state for operator '" + operatorUid + "' into "
                + savepointDir + " (" + keys + " keys were given)");
    }

    static String kwargsJson(Quantizer q) {
        try {
            return new ObjectMapper().writeValueAsString(q.kwargs());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("quantizer arguments are not JSON-serializable: " + e.getMessage(), e);
        }
    }

    static Quantizer quantizer(String type, String kwargsJson) {
        try {
            Map<String, Object> kwargs = new ObjectMapper().readValue(kwargsJson, new TypeReference<Map<String, Object>>() {});
            return Quantizers.create(type, kwargs);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** True when a flag such as {@code initted} is 0: the key still needs its kmeans initialisation. */
    static boolean initPending(Quantizer q, Params p) {
        for (ParamSpec s : q.parameterSpecs()) {
            if (s.kind() == ParamSpec.Kind.FLAG && p.get(s.name()).data()[0] == 0f) {
                return true;
            }
        }
        return false;
    }

    /** Loads one key's file and writes its two states. */
    static final class Writer extends KeyedStateBootstrapFunction<String, String> {
        private static final long serialVersionUID = 1L;
        private final String type;
        private final String kwargsJson;
        private final String dir;
        private transient Quantizer quantizer;
        private transient ValueState<CodebookState> codebook;
        private transient ValueState<KeyMeta> meta;

        private final java.util.HashMap<String, String> fileNames;

        Writer(String type, String kwargsJson, String dir, java.util.HashMap<String, String> fileNames) {
            this.fileNames = fileNames;
            this.type = type;
            this.kwargsJson = kwargsJson;
            this.dir = dir;
        }

        @Override
        public void open(OpenContext ctx) {
            quantizer = quantizer(type, kwargsJson);
            codebook = getRuntimeContext().getState(CodebookStateDescriptors.codebook());
            meta = getRuntimeContext().getState(CodebookStateDescriptors.meta());
        }

        @Override
        public void processElement(String key, Context ctx) throws Exception {
            Params p;
            try {
                p = QuantizerFiles.load(quantizer, Path.of(dir, fileNames.get(key)));
            } catch (UncheckedIOException e) {
                throw new IOException("cannot read the codebook of key '" + key + "'", e);
            }
            codebook.update(new CodebookState(1, 0, p));
            KeyMeta m = new KeyMeta();
            m.hasCodebook = true;
            m.lastVersion = 1;
            m.initPending = initPending(quantizer, p);
            meta.update(m);
        }
    }
}

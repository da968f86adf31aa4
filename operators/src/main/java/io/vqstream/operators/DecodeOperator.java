package io.vqstream.operators;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.LinkedHashMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * Decodes codes back to vectors with the codebook version that produced them.
 *
 * <p>Input 1: code records, input 2: codebook snapshots, both keyed by stream key. Each key
 * keeps its last {@code maxVersions} codebooks. A code whose version has not arrived yet
 * waits (up to {@code maxWaiting} per key); when its version arrives it is decoded exactly.
 * If newer versions arrive but never its own (a snapshot lost, or publishing thinned out by
 * {@code publish.every}), it is decoded with the newest older version and the output carries
 * the attribute {@code vq.decoded_version}; with no older version it is dead-lettered. When the
 * codebook input ends, codes still waiting, and codes arriving later, are decoded the same way
 * or dead-lettered: no code is ever dropped. While it runs, at most {@code maxWaiting} codes of
 * a key wait; one more is dead-lettered.
 *
 * <p>State per key: the kept versions as serialized snapshots in a map indexed by version
 * ({@value #CODEBOOKS_STATE}), so that finding a version reads only the map's keys and a
 * codebook is deserialized when a code needs it (a few recent ones stay deserialized), and the
 * waiting codes. State written under the earlier layout ({@value #LEGACY_VERSIONS_STATE}, whole
 * snapshot objects) is moved to this one on restore.
 */
@Internal
public class DecodeOperator extends AbstractStreamOperator<VectorRecord>
        implements TwoInputStreamOperator<CodeRecord, CodebookSnapshot, VectorRecord>, BoundedMultiInput {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("decode-dead-letters", DeadLetter.typeInfo());
    /** Serialized codebook snapshots by version (current layout). */
    static final String CODEBOOKS_STATE = "vq-decode-codebooks";
    /** Deserialized snapshots by version (the layout before {@link #CODEBOOKS_STATE}), read on restore only. */
    static final String LEGACY_VERSIONS_STATE = "vq-decode-versions";
    static final String WAITING_STATE = "vq-decode-waiting";
    /** Snapshots kept deserialized (most recently used first out), over all keys of a subtask. */
    private static final int DESERIALIZED_CACHE = 8;

    private final int maxVersions;
    private final int maxWaiting;
    private transient MapState<Long, byte[]> versions;
    private transient ListState<CodeRecord> waiting;
    private transient Map<String, Quantizer> quantizers;
    /** Input 2 (codebooks) has ended: a code whose version is unknown now can never be decoded exactly. */
    private transient boolean codebooksEnded;
    private transient TypeSerializer<CodebookSnapshot> snapshotSerializer;
    private transient DataOutputSerializer buffer;
    private transient Map<String, CodebookSnapshot> deserialized;

    public DecodeOperator(int maxVersions, int maxWaiting) {
        if (maxVersions < 1 || maxWaiting < 0) {
            throw new IllegalArgumentException("maxVersions must be >= 1 and maxWaiting >= 0");
        }
        this.maxVersions = maxVersions;
        this.maxWaiting = maxWaiting;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        versions = getKeyedStateBackend().getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE,
                new MapStateDescriptor<>(CODEBOOKS_STATE, Types.LONG, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        waiting = getKeyedStateBackend().getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE,
                new ListStateDescriptor<>(WAITING_STATE, CodeRecord.typeInfo()));
        snapshotSerializer = CodebookSnapshot.typeInfo().createSerializer(new SerializerConfigImpl());
        buffer = new DataOutputSerializer(4096);
        deserialized = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, CodebookSnapshot> eldest) {
                return size() > DESERIALIZED_CACHE;
            }
        };
        quantizers = new HashMap<>();
        if (context.isRestored()) {
            moveLegacyVersions();
        }
    }

    /** Moves snapshots kept under {@link #LEGACY_VERSIONS_STATE} (whole objects) into the serialized map. */
    private void moveLegacyVersions() throws Exception {
        List<Object> keys;
        try (Stream<Object> s = getKeyedStateBackend().getKeys(LEGACY_VERSIONS_STATE, VoidNamespace.INSTANCE)) {
            keys = s.toList();
        }
        if (keys.isEmpty()) {
            return;
        }
        MapState<Long, CodebookSnapshot> legacy = getKeyedStateBackend().getPartitionedState(VoidNamespace.INSTANCE,
                VoidNamespaceSerializer.INSTANCE, new MapStateDescriptor<>(LEGACY_VERSIONS_STATE, Types.LONG, CodebookSnapshot.typeInfo()));
        for (Object k : keys) {
            setCurrentKey(k);
            for (Map.Entry<Long, CodebookSnapshot> e : legacy.entries()) {
                versions.put(e.getKey(), serialize(e.getValue()));
            }
            legacy.clear();
        }
    }

    private byte[] serialize(CodebookSnapshot s) throws java.io.IOException {
        buffer.clear();
        snapshotSerializer.serialize(s, buffer);
        return buffer.getCopyOfBuffer();
    }

    /** The snapshot of the current key at {@code version}, or null; deserialized on demand. */
    private CodebookSnapshot snapshot(long version) throws Exception {
        String id = getCurrentKey() + "@" + version;
        CodebookSnapshot s = deserialized.get(id);
        if (s != null) {
            return s;
        }
        byte[] bytes = versions.get(version);
        if (bytes == null) {
            return null;
        }
        s = snapshotSerializer.deserialize(new DataInputDeserializer(bytes));
        deserialized.put(id, s);
        return s;
    }

    @Override
    public void processElement1(StreamRecord<CodeRecord> element) throws Exception {
        CodeRecord c = element.getValue();
        CodebookSnapshot exact = snapshot(c.codebookVersion());
        if (exact != null) {
            decode(c, exact, false);
            return;
        }
        TreeSet<Long> known = known();
        if (codebooksEnded || (!known.isEmpty() && known.last() > c.codebookVersion())) {
            decodeNearest(c, known);
            return;
        }
        List<CodeRecord> w = waitingList();
        if (w.size() >= maxWaiting) {
            dead(c, "codebook version " + c.codebookVersion() + " of key '" + c.key() + "' has not arrived and "
                    + maxWaiting + " codes are already waiting");
            return;
        }
        waiting.add(c);
    }

    @Override
    public void processElement2(StreamRecord<CodebookSnapshot> element) throws Exception {
        CodebookSnapshot s = element.getValue();
        versions.put(s.version(), serialize(s));
        deserialized.put(getCurrentKey() + "@" + s.version(), s);
        TreeSet<Long> known = known();
        while (known.size() > maxVersions) {
            long dropped = known.pollFirst();
            versions.remove(dropped);
            deserialized.remove(getCurrentKey() + "@" + dropped);
        }
        List<CodeRecord> w = waitingList();
        if (w.isEmpty()) {
            return;
        }
        List<CodeRecord> still = new ArrayList<>();
        for (CodeRecord c : w) {
            if (known.contains(c.codebookVersion())) {
                decode(c, snapshot(c.codebookVersion()), false);
            } else if (known.last() > c.codebookVersion()) {
                decodeNearest(c, known);
            } else {
                still.add(c);
            }
        }
        waiting.update(still);
    }

    @Override
    public void endInput(int inputId) throws Exception {
        if (inputId != 2) {
            return;
        }
        codebooksEnded = true;
        List<Object> keys;
        try (Stream<Object> s = getKeyedStateBackend().getKeys(WAITING_STATE, VoidNamespace.INSTANCE)) {
            keys = s.toList();
        }
        for (Object k : keys) {
            setCurrentKey(k);
            List<CodeRecord> w = waitingList();
            if (w.isEmpty()) {
                continue;
            }
            // no more codebooks will come: decode with what there is, dead-letter the rest
            TreeSet<Long> known = known();
            for (CodeRecord c : w) {
                if (known.contains(c.codebookVersion())) {
                    decode(c, snapshot(c.codebookVersion()), false);
                } else {
                    decodeNearest(c, known);
                }
            }
            waiting.clear();
        }
    }

    private void decodeNearest(CodeRecord c, TreeSet<Long> known) throws Exception {
        Long older = known.floor(c.codebookVersion());
        if (older == null) {
            dead(c, "codebook version " + c.codebookVersion() + " of key '" + c.key() + "' is not available"
                    + (known.isEmpty() ? " (no codebook received for this key)" : " (known versions " + known.first() + ".." + known.last() + ")"));
            return;
        }
        decode(c, snapshot(older), true);
    }

    private void decode(CodeRecord c, CodebookSnapshot s, boolean approximate) {
        Quantizer q;
        try {
            q = quantizers.computeIfAbsent(s.quantizerType() + s.quantizerArgs(), k -> Quantizers.create(s.quantizerType(), args(s)));
        } catch (RuntimeException e) {
            dead(c, "codebook version " + s.version() + " of key '" + c.key() + "' names no usable quantizer: " + e.getMessage());
            return;
        }
        int cpt = q.codesPerToken();
        if (c.codes().length != cpt) {
            dead(c, "code record has " + c.codes().length + " codes, the " + s.quantizerType() + " codebook needs " + cpt);
            return;
        }
        long[] sizes = q.codebookSizes();
        for (int i = 0; i < cpt; i++) {
            if (c.codes()[i] < -1 || c.codes()[i] >= sizes[i]) {
                dead(c, "code " + c.codes()[i] + " at position " + i + " is outside [0, " + sizes[i] + ")");
                return;
            }
        }
        Params p = s.params();
        float[] v;
        try {
            v = q.decodeTokens(p, new LongTensor(c.codes().clone(), 1, cpt)).data();
        } catch (RuntimeException e) {
            dead(c, "cannot decode: " + e.getMessage());
            return;
        }
        Map<String, String> attrs = c.attributes();
        if (approximate) {
            attrs = new java.util.LinkedHashMap<>(attrs);
            attrs.put("vq.decoded_version", Long.toString(s.version()));
        }
        output.collect(new StreamRecord<>(new VectorRecord(c.key(), c.seq(), c.eventTime(), v, attrs), c.eventTime()));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> args(CodebookSnapshot s) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readValue(s.quantizerArgs(), Map.class);
        } catch (Exception e) {
            throw new IllegalArgumentException("codebook snapshot of key " + s.key() + " has unreadable quantizer args", e);
        }
    }

    /** The versions kept for the current key (map keys only: no snapshot is deserialized). */
    private TreeSet<Long> known() throws Exception {
        TreeSet<Long> m = new TreeSet<>();
        for (Long v : versions.keys()) {
            m.add(v);
        }
        return m;
    }

    private List<CodeRecord> waitingList() throws Exception {
        List<CodeRecord> l = new ArrayList<>();
        Iterable<CodeRecord> it = waiting.get();
        if (it != null) {
            it.forEach(l::add);
        }
        return l;
    }

    private void dead(CodeRecord c, String reason) {
        String json = "{\"key\":" + (c.key() == null ? "null" : "\"" + c.key().replace("\"", "\\\"") + "\"") + ",\"seq\":" + c.seq()
                + ",\"codes\":" + java.util.Arrays.toString(c.codes()).replace(" ", "") + ",\"codebook_version\":" + c.codebookVersion() + "}";
        output.collect(DEAD_LETTERS, new StreamRecord<>(new DeadLetter(c.key(), DeadLetter.Stage.DECODE, reason, json.getBytes(StandardCharsets.UTF_8),
                c.eventTime())));
    }
}

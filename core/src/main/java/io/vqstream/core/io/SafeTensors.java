package io.vqstream.core.io;

import org.apache.flink.annotation.Internal;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * format: an 8-byte little-endian header length {@code N}, {@code N} bytes of JSON describing
 * each tensor's dtype, shape and byte range, then the raw little-endian data block.
 *
 * <p>Reading validates everything a hostile or damaged file can get wrong (header size, JSON,
 * dtype, shape/offset agreement, ranges beyond the data block) and names the tensor at fault.
 */
@Internal
public final class SafeTensors {
    /** Headers above this size are rejected before allocation (the format's own limit is 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** A tensor name given twice would silently take the last entry: refused. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private SafeTensors() {}

    public static SafeTensorsFile read(Path path) {
        byte[] bytes;
        try {
            long size = Files.size(path);
            if (size > Integer.MAX_VALUE - 8) {
                throw new TensorFormatException(path + ": file of " + size + " bytes is larger than 2 GiB, not supported");
            }
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new TensorFormatException(path + ": cannot read: " + e.getMessage(), e);
        }
        return read(bytes, path.toString());
    }

    public static SafeTensorsFile read(byte[] bytes, String source) {
        if (bytes.length < 8) {
            throw new TensorFormatException(source + ": truncated: " + bytes.length + " bytes, a safetensors file has at least 8");
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = buf.getLong(0);
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
            throw new TensorFormatException(source + ": absurd header size " + Long.toUnsignedString(headerLen)
                    + " (allowed 2.." + MAX_HEADER_BYTES + ")");
        }
        if (headerLen > bytes.length - 8) {
            throw new TensorFormatException(source + ": truncated: header size " + headerLen + " exceeds the "
                    + (bytes.length - 8) + " bytes after the length field");
        }
        JsonNode root;
        try {
            root = JSON.readTree(new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new TensorFormatException(source + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new TensorFormatException(source + ": header is not a JSON object");
        }
        int dataStart = 8 + (int) headerLen;
        long dataLen = bytes.length - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, SafeTensorsFile.Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) {
                    throw new TensorFormatException(source + ": __metadata__ is not an object");
                }
                v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().isTextual() ? m.getValue().asText() : m.getValue().toString()));
                continue;
            }
            entries.put(name, parseEntry(source, name, v, dataLen));
        }
        requireDisjoint(source, entries);
        ByteBuffer data = ByteBuffer.wrap(bytes, dataStart, (int) dataLen).slice();
        return new SafeTensorsFile(source, metadata, entries, data);
    }

    /** Two tensors sharing bytes would alias each other's values: every byte belongs to at most one tensor. */
    private static void requireDisjoint(String source, Map<String, SafeTensorsFile.Entry> entries) {
        java.util.List<SafeTensorsFile.Entry> byBegin = new java.util.ArrayList<>(entries.values());
        byBegin.removeIf(e -> e.end() == e.begin());
        byBegin.sort(java.util.Comparator.comparingLong(SafeTensorsFile.Entry::begin));
        for (int i = 1; i < byBegin.size(); i++) {
            SafeTensorsFile.Entry a = byBegin.get(i - 1);
            SafeTensorsFile.Entry b = byBegin.get(i);
            if (b.begin() < a.end()) {
                throw new TensorFormatException(source + ": tensors '" + a.name() + "' [" + a.begin() + ", " + a.end() + ") and '"
                        + b.name() + "' [" + b.begin() + ", " + b.end() + ") overlap");
            }
        }
    }

    private static SafeTensorsFile.Entry parseEntry(String source, String name, JsonNode v, long dataLen) {
        String where = source + ": tensor '" + name + "'";
        if (!v.isObject() || !v.hasNonNull("dtype") || !v.hasNonNull("shape") || !v.hasNonNull("data_offsets")) {
            throw new TensorFormatException(where + ": entry needs dtype, shape and data_offsets");
        }
        DType dtype;
        try {
            dtype = DType.ofSafetensors(v.get("dtype").asText());
        } catch (IllegalArgumentException e) {
            throw new TensorFormatException(where + ": " + e.getMessage());
        }
        JsonNode s = v.get("shape");
        JsonNode o = v.get("data_offsets");
        if (!s.isArray() || !o.isArray() || o.size() != 2) {
            throw new TensorFormatException(where + ": shape must be a list and data_offsets a pair");
        }
        int[] shape = new int[s.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = s.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                throw new TensorFormatException(where + ": invalid dimension " + d + " in shape");
            }
            shape[i] = (int) d.asLong();
            numel *= shape[i];
            if (numel > Integer.MAX_VALUE) {
                throw new TensorFormatException(where + ": shape " + Shapes.str(shape) + " too large");
            }
        }
        if (!o.get(0).isIntegralNumber() || !o.get(1).isIntegralNumber()) {
            throw new TensorFormatException(where + ": data_offsets must be integers");
        }
        long begin = o.get(0).asLong();
        long end = o.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new TensorFormatException(where + ": invalid data_offsets [" + begin + ", " + end + "]");
        }
        if (end - begin != numel * dtype.bytes()) {
            throw new TensorFormatException(where + ": data_offsets span " + (end - begin) + " bytes but shape "
                    + Shapes.str(shape) + " of " + dtype + " needs " + numel * dtype.bytes());
        }
        if (end > dataLen) {
            throw new TensorFormatException(where + ": truncated: data ends at byte " + end + " of a "
                    + dataLen + "-byte data block");
        }
        return new SafeTensorsFile.Entry(name, dtype, shape, begin, end);
    }

    /** Starts a file to write. */
    public static Writer writer() {
        return new Writer();
    }

    /** Collects tensors and metadata, then writes them as one safetensors file. */
    public static final class Writer {
        private record Pending(String name, DType dtype, int[] shape, byte[] bytes) {}

        private final List<Pending> tensors = new ArrayList<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();

        public Writer metadata(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        public Writer put(String name, Tensor t) {
            return put(name, t, DType.F32);
        }

        /** Writes a float tensor as F32, F16 or BF16. */
        public Writer put(String name, Tensor t, DType dtype) {
            float[] d = t.data();
            ByteBuffer b = ByteBuffer.allocate(d.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
            switch (dtype) {
                case F32 -> { for (float f : d) { b.putFloat(f); } }
                case F16 -> { for (float f : d) { b.putShort(HalfFloats.floatToF16(f)); } }
                case BF16 -> { for (float f : d) { b.putShort(HalfFloats.floatToBf16(f)); } }
                case F64 -> { for (float f : d) { b.putDouble(f); } }
                default -> throw new IllegalArgumentException("cannot write a float tensor as " + dtype);
            }
            return add(name, dtype, t.shape(), b.array());
        }

        public Writer put(String name, LongTensor t) {
            return put(name, t, DType.I64);
        }

        /** Writes an integer tensor as I64 or I32. */
        public Writer put(String name, LongTensor t, DType dtype) {
            long[] d = t.data();
            ByteBuffer b = ByteBuffer.allocate(d.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
            switch (dtype) {
                case I64 -> { for (long v : d) { b.putLong(v); } }
                case I32 -> {
                    for (long v : d) {
                        if (v != (int) v) {
                            throw new IllegalArgumentException("tensor '" + name + "' value " + v + " does not fit I32");
                        }
                        b.putInt((int) v);
                    }
                }
                case BOOL, U8 -> { for (long v : d) { b.put((byte) v); } }
                default -> throw new IllegalArgumentException("cannot write an integer tensor as " + dtype);
            }
            return add(name, dtype, t.shape(), b.array());
        }

        private Writer add(String name, DType dtype, int[] shape, byte[] bytes) {
            if (name.equals("__metadata__")) {
                throw new IllegalArgumentException("'__metadata__' is not a tensor name");
            }
            tensors.removeIf(p -> p.name.equals(name));
            tensors.add(new Pending(name, dtype, shape, bytes));
            return this;
        }

        public byte[] toBytes() {
            ObjectNode header = JSON.createObjectNode();
            if (!metadata.isEmpty()) {
                ObjectNode m = header.putObject("__metadata__");
                metadata.forEach(m::put);
            }
            long offset = 0;
            for (Pending p : tensors) {
                ObjectNode e = header.putObject(p.name);
                e.put("dtype", p.dtype.name());
                var sh = e.putArray("shape");
                for (int s : p.shape) {
                    sh.add(s);
                }
                var off = e.putArray("data_offsets");
                off.add(offset);
                offset += p.bytes.length;
                off.add(offset);
            }
            byte[] json;
            try {
                json = JSON.writeValueAsBytes(header);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            int padded = (json.length + 7) / 8 * 8;
            ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(padded);
            out.put(json);
            for (int i = json.length; i < padded; i++) {
                out.put((byte) ' ');
            }
            for (Pending p : tensors) {
                out.put(p.bytes);
            }
            return out.array();
        }

        /** Writes atomically: to a sibling temporary file, then renamed over {@code path}. */
        public void write(Path path) throws IOException {
            Path abs = path.toAbsolutePath();
            if (abs.getParent() != null) {
                Files.createDirectories(abs.getParent());
            }
            Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
            Files.write(tmp, toBytes());
            Files.move(tmp, abs, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
    }
}

package io.vqstream.core.io;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0): little- or
 * big-endian float16/32/64 and int8/16/32/64/uint8/bool arrays, C or Fortran order.
 */
@Internal
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=])([a-zA-Z])(\\d+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    /** One decoded array: its dtype and shape, with accessors for float or integer values. */
    public static final class Array {
        private final String source;
        private final DType dtype;
        private final int[] shape;
        private final ByteBuffer data;
        private final boolean fortran;

        Array(String source, DType dtype, int[] shape, ByteBuffer data, boolean fortran) {
            this.source = source;
            this.dtype = dtype;
            this.shape = shape;
            this.data = data;
            this.fortran = fortran;
        }

        public DType dtype() {
            return dtype;
        }

        public int[] shape() {
            return shape.clone();
        }

        public Tensor asFloat() {
            int n = Math.toIntExact(Shapes.numel(shape));
            float[] out = new float[n];
            for (int i = 0; i < n; i++) {
                int p = i * dtype.bytes();
                out[i] = switch (dtype) {
                    case F32 -> data.getFloat(p);
                    case F64 -> (float) data.getDouble(p);
                    case F16 -> HalfFloats.f16ToFloat(data.getShort(p));
                    case I64 -> data.getLong(p);
                    case I32 -> data.getInt(p);
                    case I16 -> data.getShort(p);
                    case I8 -> data.get(p);
                    case U8, BOOL -> data.get(p) & 0xff;
                    default -> throw new TensorFormatException(source + ": unsupported dtype " + dtype);
                };
            }
            Tensor t = new Tensor(out, fortran ? reversed(shape) : shape);
            return fortran ? t.permute(reverseAxes(shape.length)) : t;
        }

        public LongTensor asLong() {
            if (dtype.isFloating()) {
                throw new TensorFormatException(source + ": array has dtype " + dtype + ", expected integers");
            }
            int n = Math.toIntExact(Shapes.numel(shape));
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                int p = i * dtype.bytes();
                out[i] = switch (dtype) {
                    case I64 -> data.getLong(p);
                    case I32 -> data.getInt(p);
                    case I16 -> data.getShort(p);
                    case I8 -> data.get(p);
                    default -> data.get(p) & 0xff;
                };
            }
            LongTensor t = new LongTensor(out, fortran ? reversed(shape) : shape);
            return fortran ? t.permute(reverseAxes(shape.length)) : t;
        }
    }

    private static int[] reversed(int[] s) {
        int[] r = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            r[i] = s[s.length - 1 - i];
        }
        return r;
    }

    private static int[] reverseAxes(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = n - 1 - i;
        }
        return r;
    }

    public static Array read(Path path) {
        try {
            return read(Files.readAllBytes(path), path.toString());
        } catch (IOException e) {
            throw new TensorFormatException(path + ": cannot read: " + e.getMessage(), e);
        }
    }

    public static Array read(byte[] bytes, String source) {
        if (bytes.length < 10) {
            throw new TensorFormatException(source + ": truncated .npy (" + bytes.length + " bytes)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new TensorFormatException(source + ": not a .npy file (bad magic)");
            }
        }
        int major = bytes[6] & 0xff;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = b.getShort(8) & 0xffff;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) {
                throw new TensorFormatException(source + ": truncated .npy header");
            }
            headerLen = b.getInt(8) & 0xffffffffL;
            headerStart = 12;
        } else {
            throw new TensorFormatException(source + ": unsupported .npy version " + major);
        }
        if (headerLen > bytes.length - headerStart) {
            throw new TensorFormatException(source + ": truncated: header of " + headerLen + " bytes exceeds the file");
        }
        String header = new String(bytes, headerStart, (int) headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw new TensorFormatException(source + ": cannot parse .npy header " + oneLine(header.trim()));
        }
        ByteOrder order = d.group(1).equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        DType dtype = switch (d.group(2) + d.group(3)) {
            case "f4" -> DType.F32;
            case "f8" -> DType.F64;
            case "f2" -> DType.F16;
            case "i8" -> DType.I64;
            case "i4" -> DType.I32;
            case "i2" -> DType.I16;
            case "i1" -> DType.I8;
            case "u1" -> DType.U8;
            case "b1" -> DType.BOOL;
            default -> throw new TensorFormatException(source + ": unsupported .npy dtype " + d.group(0));
        };
        String[] dims = s.group(1).split(",");
        int count = 0;
        for (String dim : dims) {
            if (!dim.isBlank()) {
                count++;
            }
        }
        int[] shape = new int[count];
        int k = 0;
        for (String dim : dims) {
            if (!dim.isBlank()) {
                try {
                    shape[k++] = Integer.parseInt(dim.trim().replace("L", ""));
                } catch (NumberFormatException e) {
                    throw new TensorFormatException(source + ": bad dimension '" + dim.trim() + "' in .npy shape");
                }
            }
        }
        long need = Shapes.numel(shape) * dtype.bytes();
        int dataStart = headerStart + (int) headerLen;
        if (bytes.length - dataStart < need) {
            throw new TensorFormatException(source + ": truncated: shape " + Shapes.str(shape) + " of " + dtype + " needs "
                    + need + " bytes, the file has " + (bytes.length - dataStart));
        }
        ByteBuffer data = ByteBuffer.wrap(bytes, dataStart, (int) need).slice().order(order);
        return new Array(source, dtype, shape, data, f.group(1).equals("True"));
    }

    public static void write(Path path, Tensor t) throws IOException {
        float[] d = t.data();
        ByteBuffer b = header("<f4", t.shape(), d.length * 4);
        for (float v : d) {
            b.putFloat(v);
        }
        Files.write(path, b.array());
    }

    public static void write(Path path, LongTensor t) throws IOException {
        long[] d = t.data();
        ByteBuffer b = header("<i8", t.shape(), d.length * 8);
        for (long v : d) {
            b.putLong(v);
        }
        Files.write(path, b.array());
    }

    private static ByteBuffer header(String descr, int[] shape, int dataBytes) {
        StringBuilder sh = new StringBuilder();
        for (int s : shape) {
            sh.append(s).append(", ");
        }
        String shapeStr = shape.length == 1 ? shape[0] + "," : sh.length() > 0 ? sh.substring(0, sh.length() - 2) : "";
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shapeStr + "), }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String h = dict + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + h.length() + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) h.length());
        b.put(h.getBytes(StandardCharsets.ISO_8859_1));
        return b;
    }

    /** A header quoted in an error: control characters escaped, at most 200 characters, so the error stays one line. */
    private static String oneLine(String header) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < header.length() && b.length() < 200; i++) {
            char c = header.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return header.length() > 200 ? b + "..." : b.toString();
    }
}

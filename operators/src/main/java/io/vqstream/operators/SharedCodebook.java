package io.vqstream.operators;

import org.apache.flink.annotation.Internal;

import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The one codebook of a shared scope as every subtask and the learning coordinator hold it:
 * its version (what codes name), its EMA step, the learning round it ends, and the parameters
 * (null while a control-sourced scope waits for its first install).
 *
 * <p>Rounds count every closed round, steps only rounds that held data: an all-empty round
 * moves neither the step nor the version.
 */
@Internal
public record SharedCodebook(long version, long step, long round, Params params) {
    private static final int FORMAT = 1;

    public SharedCodebook withParams(long newVersion, long newStep, long newRound, Params newParams) {
        return new SharedCodebook(newVersion, newStep, newRound, newParams);
    }

    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(FORMAT);
            out.writeLong(version);
            out.writeLong(step);
            out.writeLong(round);
            writeParams(out, params);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    public static SharedCodebook fromBytes(byte[] b) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
            int format = in.readInt();
            if (format != FORMAT) {
                throw new IllegalStateException("unknown shared codebook format " + format);
            }
            return new SharedCodebook(in.readLong(), in.readLong(), in.readLong(), readParams(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parameters as (name, shape, float32 values) in name order; null as a count of −1. */
    static void writeParams(DataOutputStream out, Params p) throws IOException {
        if (p == null) {
            out.writeInt(-1);
            return;
        }
        java.util.List<String> names = new java.util.ArrayList<>(p.names());
        java.util.Collections.sort(names);
        out.writeInt(names.size());
        for (String name : names) {
            Tensor t = p.get(name);
            out.writeUTF(name);
            int[] shape = t.shape();
            out.writeInt(shape.length);
            for (int d : shape) {
                out.writeInt(d);
            }
            float[] data = t.data();
            out.writeInt(data.length);
            // one bulk copy: the same big-endian IEEE bytes as writeFloat (a codebook holds no NaN),
            // without a call per float (a 4 MB codebook took 15 % of a task thread at each checkpoint)
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * data.length);
            b.asFloatBuffer().put(data);
            out.write(b.array());
        }
    }

    static Params readParams(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        Params p = new Params();
        for (int i = 0; i < n; i++) {
            String name = in.readUTF();
            int[] shape = new int[in.readInt()];
            for (int d = 0; d < shape.length; d++) {
                shape[d] = in.readInt();
            }
            float[] data = new float[in.readInt()];
            // one bulk read, the inverse of writeParams (a round's codebook reaches every subtask)
            byte[] raw = new byte[4 * data.length];
            in.readFully(raw);
            java.nio.ByteBuffer.wrap(raw).asFloatBuffer().get(data);
            p.put(name, new Tensor(data, shape));
        }
        return p;
    }

    /** Params alone, for codebook updates. */
    public static byte[] paramsBytes(Params p) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            writeParams(out, p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    public static Params paramsFromBytes(byte[] b) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
            return readParams(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

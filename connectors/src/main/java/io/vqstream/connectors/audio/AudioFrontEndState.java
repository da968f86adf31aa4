package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * Immutable snapshot of an {@link AudioFrontEnd}: everything a restore needs to continue the
 * stream mid-way with identical output. Arrays are copied in and out.
 *
 * @param sourceRate        the stream's sample rate, fixed by its first accepted chunk; 0 before
 * @param nextSeq           reassembler: seq emitted next
 * @param bufferedSeqs      reassembler: seqs held back, ascending
 * @param bufferedSamples   reassembler: their decoded mono samples at {@code sourceRate}
 * @param duplicatesDropped reassembler counter
 * @param seqsSkipped       reassembler counter
 * @param chunksEmitted     reassembler counter
 * @param resampler         resampler state; null before the first accepted chunk
 * @param framer            framer state
 * @param flushed           true once the end of the stream has been processed
 */
@Internal
public record AudioFrontEndState(
        int sourceRate,
        long nextSeq,
        long[] bufferedSeqs,
        float[][] bufferedSamples,
        long duplicatesDropped,
        long seqsSkipped,
        long chunksEmitted,
        ResamplerState resampler,
        FramerState framer,
        boolean flushed) {

    private static final int MAGIC = 0x56514645; // "VQFE"
    private static final int VERSION = 1;

    public AudioFrontEndState {
        bufferedSeqs = Objects.requireNonNull(bufferedSeqs, "bufferedSeqs").clone();
        bufferedSamples = deepCopy(Objects.requireNonNull(bufferedSamples, "bufferedSamples"));
        Objects.requireNonNull(framer, "framer");
        if (sourceRate != 0 && !SampleRates.isValid(sourceRate)) {
            throw new IllegalArgumentException(SampleRates.outOfRange("front-end state source rate", sourceRate));
        }
        if ((sourceRate == 0) != (resampler == null)) {
            throw new IllegalArgumentException("front-end state must have both a source rate and a resampler, or neither");
        }
        if (resampler != null && resampler.sourceRate() != sourceRate) {
            throw new IllegalArgumentException("resampler source rate " + resampler.sourceRate()
                    + " Hz differs from the stream's " + sourceRate + " Hz");
        }
        if (bufferedSeqs.length != bufferedSamples.length) {
            throw new IllegalArgumentException(bufferedSeqs.length + " buffered seqs but " + bufferedSamples.length
                    + " buffered chunks");
        }
    }

    @Override
    public long[] bufferedSeqs() {
        return bufferedSeqs.clone();
    }

    @Override
    public float[][] bufferedSamples() {
        return deepCopy(bufferedSamples);
    }

    private static float[][] deepCopy(float[][] a) {
        float[][] c = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = Objects.requireNonNull(a[i], "buffered chunk").clone();
        }
        return c;
    }

    /** A versioned binary encoding, for keyed state stored as {@code byte[]}. */
    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(sourceRate);
            out.writeLong(nextSeq);
            out.writeInt(bufferedSeqs.length);
            for (int i = 0; i < bufferedSeqs.length; i++) {
                out.writeLong(bufferedSeqs[i]);
                writeFloats(out, bufferedSamples[i]);
            }
            out.writeLong(duplicatesDropped);
            out.writeLong(seqsSkipped);
            out.writeLong(chunksEmitted);
            out.writeBoolean(resampler != null);
            if (resampler != null) {
                out.writeInt(resampler.sourceRate());
                out.writeInt(resampler.targetRate());
                ResamplerFilter f = resampler.filter();
                out.writeInt(f.window().ordinal());
                out.writeInt(f.lowpassFilterWidth());
                out.writeDouble(f.rolloff());
                out.writeDouble(f.beta());
                out.writeLong(resampler.inputsConsumed());
                out.writeLong(resampler.outputsEmitted());
                out.writeLong(resampler.historyStart());
                writeFloats(out, resampler.history());
                out.writeBoolean(resampler.flushed());
            }
            out.writeInt(framer.winLength());
            out.writeInt(framer.hop());
            out.writeInt(framer.tail().ordinal());
            writeFloats(out, framer.pending());
            out.writeLong(framer.samplesConsumed());
            out.writeLong(framer.framesEmitted());
            out.writeBoolean(framer.flushed());
            out.writeBoolean(flushed);
        } catch (IOException e) {
            throw new AssertionError("in-memory write cannot fail", e);
        }
        return bytes.toByteArray();
    }

    /** Decodes {@link #toBytes()}; a corrupt or foreign encoding gives an IllegalArgumentException. */
    public static AudioFrontEndState fromBytes(byte[] encoded) {
        Objects.requireNonNull(encoded, "encoded");
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded))) {
            if (in.readInt() != MAGIC) {
                throw new IllegalArgumentException("not an audio front-end state: bad magic");
            }
            int version = in.readInt();
            if (version != VERSION) {
                throw new IllegalArgumentException("unsupported audio front-end state version " + version);
            }
            int sourceRate = in.readInt();
            long nextSeq = in.readLong();
            int held = readCount(in, encoded.length / 12);
            long[] seqs = new long[held];
            float[][] samples = new float[held][];
            for (int i = 0; i < held; i++) {
                seqs[i] = in.readLong();
                samples[i] = readFloats(in, encoded.length);
            }
            long duplicates = in.readLong();
            long skipped = in.readLong();
            long emitted = in.readLong();
            ResamplerState resampler = null;
            if (in.readBoolean()) {
                int src = in.readInt();
                int dst = in.readInt();
                ResamplerFilter filter = new ResamplerFilter(enumAt(ResamplerFilter.Window.values(), in.readInt()),
                        in.readInt(), in.readDouble(), in.readDouble());
                long consumed = in.readLong();
                long outputs = in.readLong();
                long historyStart = in.readLong();
                float[] history = readFloats(in, encoded.length);
                resampler = new ResamplerState(src, dst, filter, consumed, outputs, historyStart, history, in.readBoolean());
            }
            int win = in.readInt();
            int hop = in.readInt();
            TailPolicy tail = enumAt(TailPolicy.values(), in.readInt());
            float[] pending = readFloats(in, encoded.length);
            FramerState framer = new FramerState(win, hop, tail, pending, in.readLong(), in.readLong(), in.readBoolean());
            boolean flushed = in.readBoolean();
            if (in.available() != 0) {
                throw new IllegalArgumentException("audio front-end state has " + in.available() + " trailing bytes");
            }
            return new AudioFrontEndState(sourceRate, nextSeq, seqs, samples, duplicates, skipped, emitted, resampler,
                    framer, flushed);
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated audio front-end state (" + encoded.length + " bytes)", e);
        }
    }

    private static void writeFloats(DataOutputStream out, float[] a) throws IOException {
        out.writeInt(a.length);
        for (float x : a) {
            out.writeFloat(x);
        }
    }

    private static float[] readFloats(DataInputStream in, int encodedLength) throws IOException {
        float[] a = new float[readCount(in, encodedLength / 4)];
        for (int i = 0; i < a.length; i++) {
            a[i] = in.readFloat();
        }
        return a;
    }

    /** A length prefix, bounded by what the encoding could possibly hold so garbage cannot allocate gigabytes. */
    private static int readCount(DataInputStream in, int max) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new IllegalArgumentException("corrupt audio front-end state: length " + n);
        }
        return n;
    }

    private static <E> E enumAt(E[] values, int ordinal) {
        if (ordinal < 0 || ordinal >= values.length) {
            throw new IllegalArgumentException("corrupt audio front-end state: enum ordinal " + ordinal);
        }
        return values[ordinal];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AudioFrontEndState s && sourceRate == s.sourceRate && nextSeq == s.nextSeq
                && Arrays.equals(bufferedSeqs, s.bufferedSeqs) && Arrays.deepEquals(bufferedSamples, s.bufferedSamples)
                && duplicatesDropped == s.duplicatesDropped && seqsSkipped == s.seqsSkipped
                && chunksEmitted == s.chunksEmitted && Objects.equals(resampler, s.resampler)
                && framer.equals(s.framer) && flushed == s.flushed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(sourceRate, nextSeq, Arrays.hashCode(bufferedSeqs), Arrays.deepHashCode(bufferedSamples),
                duplicatesDropped, seqsSkipped, chunksEmitted, resampler, framer, flushed);
    }

    @Override
    public String toString() {
        return "AudioFrontEndState[sourceRate=" + sourceRate + ", nextSeq=" + nextSeq + ", bufferedSeqs="
                + Arrays.toString(bufferedSeqs) + ", duplicatesDropped=" + duplicatesDropped + ", seqsSkipped="
                + seqsSkipped + ", chunksEmitted=" + chunksEmitted + ", resampler=" + resampler + ", framer=" + framer
                + ", flushed=" + flushed + "]";
    }
}

package io.vqstream.connectors.audio;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Test signals and measurements. */
final class Signals {
    private Signals() {}

    static float[] sine(double hz, double amplitude, int rate, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (amplitude * Math.sin(2 * Math.PI * hz * i / rate));
        }
        return x;
    }

    static float[] noise(long seed, int n, double amplitude) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (amplitude * (2 * r.nextDouble() - 1));
        }
        return x;
    }

    /**
     * Amplitude of the component at {@code hz} in {@code x[from, to)}, by correlation with a
     * Hann-weighted complex exponential (a single DFT bin at an arbitrary frequency).
     */
    static double amplitudeAt(float[] x, int from, int to, double hz, int rate) {
        double re = 0;
        double im = 0;
        double wsum = 0;
        int n = to - from;
        for (int i = 0; i < n; i++) {
            double w = 0.5 - 0.5 * Math.cos(2 * Math.PI * (i + 0.5) / n);
            double ph = 2 * Math.PI * hz * (from + i) / rate;
            re += w * x[from + i] * Math.cos(ph);
            im += w * x[from + i] * Math.sin(ph);
            wsum += w;
        }
        return 2 * Math.hypot(re, im) / wsum;
    }

    static double rms(float[] x, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += (double) x[i] * x[i];
        }
        return Math.sqrt(s / (to - from));
    }

    /** Sign changes from negative to non-negative in x[from, to). */
    static int upwardZeroCrossings(float[] x, int from, int to) {
        int n = 0;
        for (int i = from + 1; i < to; i++) {
            if (x[i - 1] < 0 && x[i] >= 0) {
                n++;
            }
        }
        return n;
    }

    /** Random cut points splitting [0, n) into pieces of 1..maxPiece, with some 1-length pieces forced in. */
    static List<int[]> randomPieces(long seed, int n, int maxPiece) {
        Random r = new Random(seed);
        List<int[]> pieces = new ArrayList<>();
        int at = 0;
        while (at < n) {
            int len = r.nextInt(5) == 0 ? 1 : 1 + r.nextInt(maxPiece);
            len = Math.min(len, n - at);
            pieces.add(new int[] {at, len});
            at += len;
        }
        return pieces;
    }

    /** A RIFF/WAVE file built field by field, independently of WavWriter. */
    static byte[] wav(int tag, int channels, int rate, int blockAlign, int bits, byte[] fmtExtra, byte[] data,
            long declaredDataSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer fmt = ByteBuffer.allocate(16 + fmtExtra.length).order(ByteOrder.LITTLE_ENDIAN);
        fmt.putShort((short) tag).putShort((short) channels).putInt(rate).putInt(rate * blockAlign)
                .putShort((short) blockAlign).putShort((short) bits).put(fmtExtra);
        write(out, "RIFF", 0);
        out.writeBytes("WAVE".getBytes(StandardCharsets.US_ASCII));
        chunk(out, "fmt ", fmt.array());
        write(out, "data", declaredDataSize);
        out.writeBytes(data);
        byte[] b = out.toByteArray();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, b.length - 8);
        return b;
    }

    static void chunk(ByteArrayOutputStream out, String id, byte[] body) {
        write(out, id, body.length);
        out.writeBytes(body);
        if (body.length % 2 == 1) {
            out.write(0);
        }
    }

    static void write(ByteArrayOutputStream out, String id, long size) {
        out.writeBytes(id.getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) size).array());
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}

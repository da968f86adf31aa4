package io.vqstream.jobs;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * The output of a job over files: lines appended to staged files and whole files written into a
 * staged directory, by one writer (parallelism 1), with no limit on a record's size.
 *
 * <p>Each item is {@code (channel, name, bytes)}: channel {@link #LINES} and {@link #DEAD_LETTERS}
 * append {@code bytes} and a newline to their staged file, channel {@link #FILES} writes
 * {@code bytes} as the file {@code name} in the staged directory. The writer's checkpointed state
 * is the length of each staged file; a restore truncates the files to those lengths, so a
 * failover or a restore from a retained checkpoint continues the files exactly where the
 * restored sources continue. Nothing reaches the final paths while the job runs: {@link Staged}
 * moves the staged files there once the job has succeeded.
 */
final class StagedFileSink implements Sink<Tuple3<Integer, String, byte[]>>,
        SupportsWriterState<Tuple3<Integer, String, byte[]>, long[]> {
    private static final long serialVersionUID = 1L;

    static final int LINES = 0;
    static final int DEAD_LETTERS = 1;
    static final int FILES = 2;

    /** The item type: (channel, file name or "", bytes). */
    static TypeInformation<Tuple3<Integer, String, byte[]>> itemType() {
        return Types.TUPLE(Types.INT, Types.STRING, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
    }

    static Tuple3<Integer, String, byte[]> line(byte[] bytes) {
        return Tuple3.of(LINES, "", bytes);
    }

    static Tuple3<Integer, String, byte[]> deadLetter(byte[] bytes) {
        return Tuple3.of(DEAD_LETTERS, "", bytes);
    }

    static Tuple3<Integer, String, byte[]> file(String name, byte[] bytes) {
        return Tuple3.of(FILES, name, bytes);
    }

    private final Staged staged;

    StagedFileSink(Staged staged) {
        this.staged = staged;
    }

    @Override
    public StatefulSinkWriter<Tuple3<Integer, String, byte[]>, long[]> createWriter(WriterInitContext context) throws IOException {
        return new Writer(staged, 0, 0);
    }

    @Override
    public StatefulSinkWriter<Tuple3<Integer, String, byte[]>, long[]> restoreWriter(WriterInitContext context,
            Collection<long[]> recovered) throws IOException {
        long lines = 0;
        long dead = 0;
        for (long[] s : recovered) {
            lines = Math.max(lines, s[0]);
            dead = Math.max(dead, s[1]);
        }
        return new Writer(staged, lines, dead);
    }

    @Override
    public SimpleVersionedSerializer<long[]> getWriterStateSerializer() {
        return new SimpleVersionedSerializer<>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(long[] s) throws IOException {
                java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream(16);
                try (DataOutputStream out = new DataOutputStream(b)) {
                    out.writeLong(s[0]);
                    out.writeLong(s[1]);
                }
                return b.toByteArray();
            }

            @Override
            public long[] deserialize(int version, byte[] bytes) throws IOException {
                if (version != 1) {
                    throw new IOException("unknown staged-file writer state version " + version);
                }
                try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes))) {
                    return new long[] {in.readLong(), in.readLong()};
                }
            }
        };
    }

    private static final class Writer implements StatefulSinkWriter<Tuple3<Integer, String, byte[]>, long[]> {
        private final Staged staged;
        private final FileChannel linesChannel;
        private final FileChannel deadChannel;
        private final OutputStream lines;
        private final OutputStream dead;

        Writer(Staged staged, long linesLength, long deadLength) throws IOException {
            this.staged = staged;
            this.linesChannel = open(Path.of(staged.lines), linesLength);
            this.deadChannel = open(Path.of(staged.deadLetters), deadLength);
            this.lines = new BufferedOutputStream(Channels.newOutputStream(linesChannel), 1 << 16);
            this.dead = new BufferedOutputStream(Channels.newOutputStream(deadChannel), 1 << 16);
            if (staged.files != null) {
                Files.createDirectories(Path.of(staged.files));
            }
        }

        /** Opens a staged file cut to the length a checkpoint recorded (0 for a fresh start). */
        private static FileChannel open(Path file, long length) throws IOException {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            long size = ch.size();
            if (size < length) {
                ch.close();
                throw new IOException("cannot resume the output: the staged file " + file + " holds " + size
                        + " bytes but the restored checkpoint wrote " + length
                        + "; restore only with the staged files of the run that took the checkpoint, or start without --restore-from");
            }
            ch.truncate(length);
            ch.position(length);
            return ch;
        }

        @Override
        public void write(Tuple3<Integer, String, byte[]> item, Context context) throws IOException {
            switch (item.f0) {
                case LINES -> {
                    lines.write(item.f2);
                    lines.write('\n');
                }
                case DEAD_LETTERS -> {
                    dead.write(item.f2);
                    dead.write('\n');
                }
                case FILES -> {
                    if (staged.files == null) {
                        return;
                    }
                    Files.write(Path.of(staged.files, item.f1), item.f2);
                }
                default -> throw new IllegalStateException("unknown output channel " + item.f0);
            }
        }

        @Override
        public void flush(boolean endOfInput) throws IOException {
            lines.flush();
            dead.flush();
            if (endOfInput) {
                linesChannel.force(false);
                deadChannel.force(false);
            }
        }

        @Override
        public List<long[]> snapshotState(long checkpointId) throws IOException {
            lines.flush();
            dead.flush();
            return List.of(new long[] {linesChannel.position(), deadChannel.position()});
        }

        @Override
        public void close() throws IOException {
            try (OutputStream a = lines; OutputStream b = dead) {
                a.flush();
                b.flush();
            }
        }
    }

    /**
     * The staged paths of one job's output next to its final paths: {@code OUT.part} for the
     * lines, {@code DEAD.part} (or a hidden file next to OUT when no dead-letter file is wanted)
     * for the dead letters, {@code DIR.part/} for the files of {@code DIR}.
     */
    static final class Staged implements Serializable {
        private static final long serialVersionUID = 1L;
        final String lines;
        final String deadLetters;
        final String files;
        private final String finalLines;
        private final String finalDeadLetters;
        private final String finalFiles;

        Staged(Path output, Path deadLettersOut, Path filesOut) throws IOException {
            Path out = output.toAbsolutePath();
            if (Files.isDirectory(out)) {
                throw new io.vqstream.jobs.config.ConfigException("--output: " + out + " is a directory; give a file");
            }
            createParent(out);
            this.finalLines = out.toString();
            this.lines = out.resolveSibling(out.getFileName() + ".part").toString();
            if (deadLettersOut != null) {
                Path d = deadLettersOut.toAbsolutePath();
                createParent(d);
                this.finalDeadLetters = d.toString();
                this.deadLetters = d.resolveSibling(d.getFileName() + ".part").toString();
            } else {
                this.finalDeadLetters = null;
                this.deadLetters = out.resolveSibling("." + out.getFileName() + ".dead-letters.part").toString();
            }
            if (filesOut != null) {
                Path f = filesOut.toAbsolutePath();
                if (Files.exists(f) && !Files.isDirectory(f)) {
                    throw new io.vqstream.jobs.config.ConfigException(f + " exists and is not a directory");
                }
                createParent(f);
                this.finalFiles = f.toString();
                this.files = f.resolveSibling(f.getFileName() + ".part").toString();
            } else {
                this.finalFiles = null;
                this.files = null;
            }
        }

        private static void createParent(Path p) throws IOException {
            if (p.getParent() != null) {
                Files.createDirectories(p.getParent());
            }
        }

        /** Removes what an earlier run left in the staged directory (a fresh job writes it anew). */
        void clearFiles() throws IOException {
            if (files != null) {
                deleteTree(Path.of(files));
            }
        }

        /** Moves every staged output onto its final path: called only after the job succeeded. */
        void commit() throws IOException {
            Files.move(Path.of(lines), Path.of(finalLines), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            if (finalDeadLetters != null) {
                Files.move(Path.of(deadLetters), Path.of(finalDeadLetters), StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.ATOMIC_MOVE);
            } else {
                Files.deleteIfExists(Path.of(deadLetters));
            }
            if (files != null) {
                Path target = Path.of(finalFiles);
                Files.createDirectories(target);
                Path dir = Path.of(files);
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> s = Files.list(dir)) {
                        for (Path f : s.toList()) {
                            Files.move(f, target.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING,
                                    StandardCopyOption.ATOMIC_MOVE);
                        }
                    }
                    Files.delete(dir);
                }
            }
        }

        /** After a failure: removes the hidden dead-letter file (no dead-letter file was asked for). */
        void discardHidden() {
            if (finalDeadLetters == null) {
                try {
                    Files.deleteIfExists(Path.of(deadLetters));
                } catch (IOException e) {
                    // reporting the job's failure matters more
                }
            }
        }

        /** The staged paths a failed job left behind, for the failure message. */
        String partial() {
            List<String> l = new ArrayList<>();
            for (String p : new String[] {lines, finalDeadLetters != null ? deadLetters : null, files}) {
                if (p != null && Files.exists(Path.of(p))) {
                    l.add(p);
                }
            }
            return l.isEmpty() ? "no partial output was written" : "partial output left in " + String.join(", ", l)
                    + " (the final paths are untouched)";
        }

        Path stagedLines() {
            return Path.of(lines);
        }

        Path stagedDeadLetters() {
            return Path.of(deadLetters);
        }

        private static void deleteTree(Path p) throws IOException {
            if (!Files.exists(p)) {
                return;
            }
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    for (Path c : s.toList()) {
                        deleteTree(c);
                    }
                }
            }
            Files.delete(p);
        }
    }
}

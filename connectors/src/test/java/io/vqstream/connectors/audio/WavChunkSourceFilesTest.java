package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which files a WAV folder yields: one stream per file, never two files merged into one stream. */
class WavChunkSourceFilesTest {
    @Test
    void twoFilesThatWouldShareAStreamKeyAreRefused(@TempDir Path dir) throws Exception {
        WavWriter.writePcm16(dir.resolve("a.wav"), 16000, new float[160]);
        WavWriter.writePcm16(dir.resolve("a.WAV"), 16000, new float[160]);
        WavWriter.writePcm16(dir.resolve("b.wav"), 16000, new float[160]);
        AudioFormatException e = assertThrows(AudioFormatException.class, () -> WavChunkSource.wavFiles(dir));
        assertTrue(e.getMessage().matches("a\\.(wav|WAV) and a\\.(wav|WAV) in .* would both be stream 'a'; rename one of them"),
                e.getMessage());
        Files.delete(dir.resolve("a.WAV"));
        assertEquals(List.of(dir.resolve("a.wav"), dir.resolve("b.wav")), WavChunkSource.wavFiles(dir));
    }

    @Test
    void aPipeIsReportedAsSuchNotAsAMissingFile(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("in.wav");
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("mkfifo not available");
            return;
        }
        Assumptions.assumeTrue(p.waitFor() == 0 && Files.exists(fifo), "mkfifo failed");
        AudioFormatException e = assertThrows(AudioFormatException.class, () -> WavChunkSource.wavFiles(fifo));
        assertTrue(e.getMessage().contains("is not a regular file or directory"), e.getMessage());
        AudioFormatException missing = assertThrows(AudioFormatException.class, () -> WavChunkSource.wavFiles(dir.resolve("nope.wav")));
        assertTrue(missing.getMessage().startsWith("no such file or directory"), missing.getMessage());
    }
}

package io.vqstream.core;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared conformance material (../shared next to the project root). */
public final class TestData {
    private TestData() {}

    public static Path sharedDir() {
        String prop = System.getProperty("vqstream.shared.dir");
        if (prop != null && Files.isDirectory(Path.of(prop))) {
            return Path.of(prop).normalize();
        }
        Path dir = Path.of("").toAbsolutePath();
        for (int i = 0; i < 4 && dir != null; i++, dir = dir.getParent()) {
            Path candidate = dir.resolve("../shared").normalize();
            if (Files.isDirectory(candidate.resolve("golden"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("cannot find ../shared (set -Dvqstream.shared.dir)");
    }

    public static Path goldenDir() {
        return sharedDir().resolve("golden");
    }

    /** The cases of the reference's further features (masks, EMA weights, beam search, QINCo, FSP, ...). */
    public static Path goldenFeaturesDir() {
        return sharedDir().resolve("golden-features");
    }

    public static Path golden(String caseName) {
        return goldenDir().resolve(caseName + ".safetensors");
    }
}

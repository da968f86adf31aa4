package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.config.ConfigOption;
import io.vqstream.jobs.config.ConfigKeys;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The README's config block shows every key (a commented line counts) and no key that does not exist. */
class ReadmeConfigKeysTest {
    private static final Pattern LINE = Pattern.compile("^(\\s*)([a-z][a-z0-9_-]*):\\s*(.*)$");
    private static final Pattern INLINE = Pattern.compile("([a-z][a-z0-9_-]*):");

    /** The dotted keys the block names: indented lines below a section, and the keys of an inline {...} mapping. */
    static Set<String> keysOf(String block) {
        Set<String> keys = new LinkedHashSet<>();
        String section = null;
        for (String raw : block.split("\n")) {
            // a commented-out line is an example of a key: read it like the others
            String line = raw.replaceFirst("^(\\s*)# ", "$1");
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                continue;
            }
            boolean top = m.group(1).isEmpty();
            String name = m.group(2);
            String rest = m.group(3).replaceFirst("\\s+#.*$", "");
            if (top) {
                section = name;
                keys.add(name);
                if (rest.startsWith("{")) {
                    Matcher inline = INLINE.matcher(rest);
                    while (inline.find()) {
                        keys.add(name + "." + inline.group(1));
                    }
                }
            } else if (section != null) {
                keys.add(section + "." + name);
            }
        }
        return keys;
    }

    @Test
    void everyKeyIsInTheReadmeBlock() throws Exception {
        Set<String> shown = keysOf(ReadmeConfigITCase.readmeConfigBlock());
        List<String> missing = new ArrayList<>();
        for (ConfigOption<?> o : ConfigKeys.ALL) {
            if (!shown.contains(o.key())) {
                missing.add(o.key());
            }
        }
        assertEquals(List.of(), missing, "keys missing from the README's config block");
    }

    @Test
    void theReadmeBlockNamesOnlyKeysThatExist() throws Exception {
        Set<String> known = new LinkedHashSet<>();
        for (ConfigOption<?> o : ConfigKeys.ALL) {
            known.add(o.key());
            known.add(o.section());
        }
        List<String> unknown = new ArrayList<>();
        for (String k : keysOf(ReadmeConfigITCase.readmeConfigBlock())) {
            // the quantizer's arguments are the reference's, checked by the quantizer itself
            if (!known.contains(k) && !k.startsWith("quantizer.")) {
                unknown.add(k);
            }
        }
        assertEquals(List.of(), unknown);
        assertTrue(keysOf("learn: {enabled: true, accumulate: 4}\nbatch:\n  size: 3   # x\n  # max-delay: 5ms\n")
                .containsAll(List.of("learn.enabled", "learn.accumulate", "batch.size", "batch.max-delay")));
    }
}

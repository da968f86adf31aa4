package io.vqstream.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.config.ConfigOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The table of keys in docs/configuration.md is the one the options generate: a key added,
 * removed, renamed or given another default, bound or meaning fails this test until the docs
 * are regenerated ({@code -Dvqstream.docs.update=true} rewrites the table).
 */
class ConfigDocsTest {
    private static final Path DOC = Path.of("..", "docs", "configuration.md");
    private static final String BEGIN = "<!-- generated keys: begin -->\n";
    private static final String END = "<!-- generated keys: end -->";

    @Test
    void theDocsTableIsTheGeneratedOne() throws Exception {
        String doc = Files.readString(DOC);
        int b = doc.indexOf(BEGIN);
        int e = doc.indexOf(END);
        assertTrue(b >= 0 && e > b, "docs/configuration.md has the generated-table markers");
        String generated = ConfigKeys.markdownTable();
        String checkedIn = doc.substring(b + BEGIN.length(), e);
        if (Boolean.getBoolean("vqstream.docs.update") && !generated.equals(checkedIn)) {
            Files.writeString(DOC, doc.substring(0, b + BEGIN.length()) + generated + doc.substring(e));
            checkedIn = generated;
        }
        assertEquals(generated, checkedIn, "docs/configuration.md is out of date: run "
                + "mvn -pl jobs test -Dtest=ConfigDocsTest -Dvqstream.docs.update=true");
    }

    @Test
    void everyKeyHasOneRowWithItsDefaultAndBounds() throws Exception {
        String doc = Files.readString(DOC);
        for (ConfigOption<?> o : ConfigKeys.ALL) {
            List<String> rows = new ArrayList<>();
            for (String line : doc.split("\n")) {
                if (line.startsWith("| `" + o.key() + "` |")) {
                    rows.add(line);
                }
            }
            assertEquals(1, rows.size(), "one row for " + o.key());
            String row = rows.get(0);
            assertTrue(row.contains(ConfigKeys.cell(o.defaultText())), o.key() + ": default in " + row);
            o.checks().forEach(c -> assertTrue(row.contains(c.rule()), o.key() + ": bound '" + c.rule() + "' in " + row));
            assertTrue(!o.description().isBlank() && row.contains(ConfigKeys.cell(o.description())), o.key() + ": meaning in " + row);
        }
    }

    @Test
    void everyOptionDeclaredIsListedOnce() throws Exception {
        // a new constant in an options class that is not in its ALL list would be neither read nor documented
        List<Class<?>> holders = List.of(io.vqstream.operators.QuantizeOptions.class, FormatOptions.class, KafkaOptions.class,
                AudioOptions.class, JobRunOptions.class);
        List<ConfigOption<?>> declared = new ArrayList<>();
        for (Class<?> h : holders) {
            for (java.lang.reflect.Field f : h.getDeclaredFields()) {
                if (f.getType() == ConfigOption.class && java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
                    declared.add((ConfigOption<?>) f.get(null));
                }
            }
        }
        assertEquals(declared.size(), ConfigKeys.ALL.size(), "declared " + declared + " listed " + ConfigKeys.ALL);
        assertTrue(ConfigKeys.ALL.containsAll(declared), "every declared option is listed");
        assertEquals(ConfigKeys.ALL.size(), ConfigKeys.ALL.stream().map(ConfigOption::key).distinct().count(), "keys are unique");
    }
}

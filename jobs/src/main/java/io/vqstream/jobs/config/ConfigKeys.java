package io.vqstream.jobs.config;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.config.Check;
import io.vqstream.core.config.ConfigOption;
import io.vqstream.operators.QuantizeOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** Every key of the job configuration, in the order of the documentation, and the table of keys generated from them. */
@Internal
public final class ConfigKeys {
    private ConfigKeys() {}

    /** All keys: the quantize operator's, then record formats, Kafka, audio and the job's. */
    public static final List<ConfigOption<?>> ALL;

    static {
        List<ConfigOption<?>> all = new ArrayList<>(QuantizeOptions.ALL);
        all.addAll(FormatOptions.ALL);
        all.addAll(KafkaOptions.ALL);
        all.addAll(AudioOptions.ALL);
        all.addAll(JobRunOptions.ALL);
        ALL = List.copyOf(all);
    }

    /** The keys a command-line flag overrides, in the order of {@link #ALL}. */
    public static List<ConfigOption<?>> withFlags() {
        return ALL.stream().filter(o -> o.flag() != null).collect(Collectors.toList());
    }

    /** The markdown table of every key: name, type, default, valid values, overriding flag, meaning. */
    public static String markdownTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("| key | type | default | valid values | flag | meaning |\n");
        sb.append("|---|---|---|---|---|---|\n");
        for (ConfigOption<?> o : ALL) {
            String rules = o.checks().stream().map(Check::rule).collect(Collectors.joining("; "));
            String flag = o.flag() == null ? "" : "`" + o.flag() + (o.flagLabel() == null ? "" : " " + o.flagLabel()) + "`";
            sb.append("| `").append(o.key()).append("` | ")
                    .append(cell(o.type().name())).append(" | ")
                    .append(cell(o.defaultText())).append(" | ")
                    .append(cell(rules)).append(" | ")
                    .append(flag).append(" | ")
                    .append(cell(o.description())).append(" |\n");
        }
        return sb.toString();
    }

    /** Text as a table cell: pipes escaped, angle brackets as entities (else markdown takes {@code <key>} for HTML). */
    static String cell(String text) {
        return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ");
    }
}

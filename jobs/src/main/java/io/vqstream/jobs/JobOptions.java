package io.vqstream.jobs;

import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionType;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.ConfigKeys;
import io.vqstream.jobs.config.JobConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * The flags every job command shares. A flag that overrides a config key ({@code --parallelism},
 * {@code --input-topic}, {@code --exactly-once}, ...) is not written here: it is generated from
 * the key's {@link ConfigOption} (name, label, description, checks), so a flag and its key cannot
 * drift apart.
 */
@Command(modelTransformer = JobOptions.KeyFlags.class)
final class JobOptions {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML job configuration (quantizer, batching, codebook source, ...).")
    Path config;

    @Option(names = "--jobmanager", paramLabel = "HOST:PORT",
            description = "Submit to the Flink cluster with this REST address (e.g. the one of vqstream cluster start); the job jar travels with it.")
    String jobManager;

    @Option(names = "--detached", description = "With --jobmanager: print the job id and return once the job is submitted.")
    boolean detached;

    /** The key flags given, as typed (a switch as its value), in the order given. */
    private final Map<ConfigOption<?>, String> keyFlags = new LinkedHashMap<>();

    /** Adds a flag per config key that has one, to whichever command mixes in these options. */
    static final class KeyFlags implements CommandLine.IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            JobOptions target = spec.userObject() instanceof JobOptions o ? o : spec.mixins().values().stream()
                    .map(CommandSpec::userObject).filter(JobOptions.class::isInstance).map(JobOptions.class::cast)
                    .findFirst().orElseThrow(() -> new IllegalStateException("no JobOptions in " + spec.qualifiedName()));
            for (ConfigOption<?> key : ConfigKeys.withFlags()) {
                if (spec.findOption(key.flag()) != null) {
                    continue;
                }
                OptionSpec.Builder flag = OptionSpec.builder(key.flag())
                        .description(describe(key))
                        .setter(new CommandLine.Model.ISetter() {
                            @Override
                            public <T> T set(T value) {
                                if (value != null && !(value instanceof Boolean b && !b)) {
                                    target.keyFlags.put(key, String.valueOf(value));
                                }
                                return null;
                            }
                        });
                if (key.switchValue() != null) {
                    flag.arity("0").type(boolean.class);
                } else {
                    // numbers typed by picocli, so a wrong type is a usage error at parse time like any other flag's
                    flag.paramLabel(key.flagLabel()).type(key.type() == OptionType.INT ? Integer.class
                            : key.type() == OptionType.LONG ? Long.class : key.type() == OptionType.DOUBLE ? Double.class : String.class);
                }
                spec.addOption(flag.build());
            }
            return spec;
        }

        private static String describe(ConfigOption<?> key) {
            String text = key.description();
            if (key.switchValue() != null) {
                text = "Sets " + key.key() + " to " + switchText(key) + ". " + text;
            } else {
                text += " Overrides " + key.key() + (key.defaultValue() != null ? " (default " + key.defaultText() + ")" : "") + ".";
            }
            // picocli reads descriptions as format strings
            return text.replace("%", "%%");
        }

        private static <T> String switchText(ConfigOption<T> key) {
            return key.type().format(key.switchValue());
        }
    }

    /** The config file (or {@code fallback} when none is given) with the flags applied. */
    JobConfig resolve(JobConfig fallback) {
        JobConfig c;
        if (config != null) {
            c = JobConfig.load(config);
        } else if (fallback != null) {
            c = fallback;
        } else {
            throw new ConfigException("--config FILE is required");
        }
        for (Map.Entry<ConfigOption<?>, String> e : keyFlags.entrySet()) {
            override(c, e.getKey(), e.getValue());
        }
        if (jobManager != null) {
            if (!jobManager.matches("[^:\\s]+:\\d{1,5}")) {
                throw new ConfigException("--jobmanager: expected HOST:PORT (the REST address), got '" + jobManager + "'");
            }
            c.jobManager = jobManager;
        }
        if (detached) {
            if (jobManager == null) {
                throw new ConfigException("--detached needs --jobmanager HOST:PORT (under flink run use flink run -d)");
            }
            c.detached = true;
        }
        return c;
    }

    private static <T> void override(JobConfig c, ConfigOption<T> key, String text) {
        T value;
        try {
            value = key.fromFlag(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage(), e);
        }
        c.set(key, value);
    }
}

package io.vqstream.bench.e2e;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.api.common.JobExecutionResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench demo}: {@code bin/vqstream demo} (the bundled 20 s recording through the
 * learning 4-layer ResidualVQ, decoded in the same job) repeated {@code --reps} times, in two
 * ways:
 * <ul>
 *   <li>{@code in-process}: {@code VqstreamCli.execute("demo", "--no-progress")} in this JVM, one
 *       run after the other, so later runs find compiled code. Reports the command's wall time, the
 *       demo's own {@code wall time} line (reading the WAV, the reference features, the
 *       mini-cluster's start, the job, the summary) and the job's net runtime from Flink (from
 *       submission to the end: the pipeline without the mini-cluster's start).</li>
 *   <li>{@code fresh-jvm}: a new JVM per run ({@code java ... io.vqstream.jobs.VqstreamCli demo},
 *       the launcher's command line), timed from process start to exit: what a user waits for.</li>
 * </ul>
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false, footer = E2eOptions.FOOTER,
        description = "Wall time and frames/s of bin/vqstream demo, in this JVM and as a fresh JVM per run (bench/README.md).")
public final class DemoBench extends E2eOptions.Op {
    @Option(names = "--reps", paramLabel = "R", defaultValue = "5", description = "Runs per mode (default ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--mode", paramLabel = "MODE", split = ",", defaultValue = "in-process,fresh-jvm", converter = E2eOptions.DemoModes.class,
            description = "in-process and/or fresh-jvm (default ${DEFAULT-VALUE}).")
    List<String> modes;

    private static final Pattern FRAMES = Pattern.compile("audio\\s+([0-9.]+) s of speech, (\\d+) frames");
    private static final Pattern WALL = Pattern.compile("wall time\\s+([0-9.]+) s, (\\d+) frames/s");

    @Override
    int run() throws Exception {
        for (String mode : modes) {
            if (mode.equals("in-process")) {
                inProcess(reps);
            } else {
                freshJvm(reps);
            }
        }
        return 0;
    }

    private static void inProcess(int reps) throws Exception {
        List<Double> command = new ArrayList<>();
        List<Double> demoWall = new ArrayList<>();
        List<Double> net = new ArrayList<>();
        List<Double> loads = new ArrayList<>();
        int frames = -1;
        double audio = 0;
        for (int rep = 0; rep < reps; rep++) {
            loads.add(E2e.loadAverage());
            PrintStream stdout = System.out;
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            long t0 = System.nanoTime();
            int code;
            JobExecutionResult result;
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            try (CliJob job = CliJob.start("demo", "--no-progress")) {
                code = job.await(600);
                command.add((job.endedNanos() - t0) / 1e9);
                result = job.result().get(60, TimeUnit.SECONDS);
            } finally {
                System.setOut(stdout);
            }
            String text = captured.toString(StandardCharsets.UTF_8);
            if (code != 0) {
                throw new IllegalStateException("demo exited with " + code + ":\n" + text);
            }
            Matcher f = FRAMES.matcher(text);
            Matcher w = WALL.matcher(text);
            if (!f.find() || !w.find()) {
                throw new IllegalStateException("unexpected demo output:\n" + text);
            }
            audio = Double.parseDouble(f.group(1));
            frames = Integer.parseInt(f.group(2));
            demoWall.add(Double.parseDouble(w.group(1)));
            net.add(result.getNetRuntime() / 1000.0);
            System.err.printf("demo in-process rep %d: command %.2f s, demo wall %.1f s, job net runtime %.2f s, %d frames%n", rep + 1,
                    command.get(rep), demoWall.get(rep), net.get(rep), frames);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("op", "demo");
        json.put("mode", "in-process");
        json.put("reps", reps);
        json.put("frames", frames);
        json.put("audio_s", audio);
        json.put("wall_s_median", E2e.round(E2e.median(command), 2));
        json.put("frames_per_s", E2e.round(frames / E2e.median(command), 0));
        json.put("demo_wall_s_median", E2e.round(E2e.median(demoWall), 2));
        json.put("job_net_runtime_s_median", E2e.round(E2e.median(net), 2));
        json.put("pipeline_frames_per_s", E2e.round(frames / E2e.median(net), 0));
        json.put("runs_wall_s", command.stream().map(x -> E2e.round(x, 2)).toList());
        json.put("runs_job_net_runtime_s", net.stream().map(x -> E2e.round(x, 2)).toList());
        json.put("load_1m", loads);
        E2e.print(json);
    }

    private static void freshJvm(int reps) throws Exception {
        List<Double> wall = new ArrayList<>();
        List<Double> loads = new ArrayList<>();
        int frames = -1;
        double audio = 0;
        for (int rep = 0; rep < reps; rep++) {
            loads.add(E2e.loadAverage());
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            // bin/vqstream's JVM options
            cmd.add("--add-modules=jdk.incubator.vector");
            cmd.add("-Dorg.bytedeco.javacpp.maxPhysicalBytes=0");
            cmd.add("-Dorg.bytedeco.javacpp.maxBytes=0");
            for (String pkg : List.of("java.lang", "java.util", "java.nio", "sun.nio.ch", "java.lang.reflect", "java.io", "java.net",
                    "java.util.concurrent", "java.util.concurrent.atomic", "java.text", "java.time", "java.math")) {
                cmd.add("--add-opens=java.base/" + pkg + "=ALL-UNNAMED");
            }
            cmd.add("-Dlog4j2.configurationFile=classpath:vqstream-log4j2.properties");
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add("io.vqstream.jobs.VqstreamCli");
            cmd.add("demo");
            cmd.add("--no-progress");
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.redirectError(ProcessBuilder.Redirect.DISCARD);
            long t0 = System.nanoTime();
            Process p = pb.start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            double s = (System.nanoTime() - t0) / 1e9;
            if (code != 0) {
                throw new IllegalStateException("demo (fresh JVM) exited with " + code + ":\n" + text);
            }
            Matcher f = FRAMES.matcher(text);
            if (!f.find()) {
                throw new IllegalStateException("unexpected demo output:\n" + text);
            }
            audio = Double.parseDouble(f.group(1));
            frames = Integer.parseInt(f.group(2));
            wall.add(s);
            System.err.printf("demo fresh JVM rep %d: %.2f s process wall, %d frames%n", rep + 1, s, frames);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("op", "demo");
        json.put("mode", "fresh-jvm");
        json.put("reps", reps);
        json.put("frames", frames);
        json.put("audio_s", audio);
        json.put("wall_s_median", E2e.round(E2e.median(wall), 2));
        json.put("frames_per_s", E2e.round(frames / E2e.median(wall), 0));
        json.put("runs_wall_s", wall.stream().map(x -> E2e.round(x, 2)).toList());
        json.put("load_1m", loads);
        E2e.print(json);
    }
}

package dev.adamant.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a JMH JSON result ({@code -rf json -rff results.json}) of a benchmark with an {@code n}
 * parameter (and optionally {@code threads}) into a table of elements/s, GB/s, the ratio to {@code streamYardstick}
 * and the speed-up over {@code scalar} at the same {@code n} and {@code threads}.
 *
 * <pre>
 *   java -cp bench/target/adamant-bench.jar dev.adamant.bench.BenchReport [--bytes 28] [--best] results.json
 * </pre>
 *
 * {@code --bytes} is the memory traffic per element (default 28: Adam and its yardstick); {@code --best}
 * takes each benchmark's best measured iteration instead of the mean, which on a shared machine is
 * the better estimate of what the code can do. The JSON is read with a few regular expressions over
 * JMH's own fixed layout, which keeps the bench module free of a JSON dependency.
 */
public final class BenchReport {
    static final String YARDSTICK = "streamYardstick";
    static final String SCALAR = "scalar";

    private static final Pattern BENCHMARK = Pattern.compile("\"benchmark\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern PARAMS = Pattern.compile("\"params\"\\s*:\\s*\\{([^}]*)}");
    private static final Pattern PARAM = Pattern.compile("\"(\\w+)\"\\s*:\\s*\"([^\"]*)\"");
    private static final Pattern SCORE = Pattern.compile("\"score\"\\s*:\\s*\"?([-+0-9.eE]+|NaN)\"?");
    private static final Pattern ERROR = Pattern.compile("\"scoreError\"\\s*:\\s*\"?([-+0-9.eE]+|NaN)\"?");
    private static final Pattern UNIT = Pattern.compile("\"scoreUnit\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern NUMBER = Pattern.compile("[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?");

    private BenchReport() {}

    /** One benchmark at one (n, threads): its rate in elements per second and relative error. */
    record Row(String variant, String tag, long n, int threads, double elementsPerSecond, double relativeError) {}

    public static void main(String[] args) throws IOException {
        int bytes = 28;
        boolean best = false;
        String file = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bytes" -> {
                    if (i + 1 == args.length) {
                        usage("--bytes needs a value");
                    }
                    try {
                        bytes = Integer.parseInt(args[++i]);
                    } catch (NumberFormatException e) {
                        usage("--bytes: expected a positive integer, got \"" + args[i] + "\"");
                    }
                    if (bytes <= 0) {
                        usage("--bytes: expected a positive integer, got " + bytes);
                    }
                }
                case "--best" -> best = true;
                case "-h", "--help" -> {
                    usage(null);
                }
                default -> {
                    if (args[i].startsWith("-") || file != null) {
                        usage("unexpected argument \"" + args[i] + "\"");
                    }
                    file = args[i];
                }
            }
        }
        if (file == null) {
            usage("no result file given");
        }
        List<Row> rows = parse(Files.readString(Path.of(file)), best);
        if (rows.isEmpty()) {
            System.err.println("BenchReport: no benchmark with a param n in " + file);
            System.exit(1);
        }
        print(rows, bytes, best, System.out);
    }

    private static void usage(String problem) {
        PrintStream out = problem == null ? System.out : System.err;
        if (problem != null) {
            out.println("BenchReport: " + problem);
        }
        out.println("usage: BenchReport [--bytes BYTES_PER_ELEMENT] [--best] RESULT.json");
        out.println("  RESULT.json  a JMH result written with -rf json -rff RESULT.json");
        out.println("  --bytes B    memory traffic per element for GB/s (default 28: Adam, the yardstick)");
        out.println("  --best       use each benchmark's best iteration instead of the mean");
        System.exit(problem == null ? 0 : 2);
    }

    /** The rows of a JMH JSON result: benchmarks without an {@code n} are skipped; no {@code threads} means 1. */
    static List<Row> parse(String json, boolean best) {
        List<Row> rows = new ArrayList<>();
        Matcher b = BENCHMARK.matcher(json);
        List<int[]> spans = new ArrayList<>();
        List<String> names = new ArrayList<>();
        while (b.find()) {
            if (!spans.isEmpty()) {
                spans.getLast()[1] = b.start();
            }
            spans.add(new int[] {b.start(), json.length()});
            names.add(b.group(1));
        }
        for (int i = 0; i < spans.size(); i++) {
            String record = json.substring(spans.get(i)[0], spans.get(i)[1]);
            Map<String, String> params = new HashMap<>();
            Matcher p = PARAMS.matcher(record);
            if (p.find()) {
                Matcher kv = PARAM.matcher(p.group(1));
                while (kv.find()) {
                    params.put(kv.group(1), kv.group(2));
                }
            }
            int primary = record.indexOf("\"primaryMetric\"");
            params.putIfAbsent("threads", "1");
            if (!params.containsKey("n") || primary < 0) {
                continue;
            }
            String metric = record.substring(primary);
            Matcher score = SCORE.matcher(metric), error = ERROR.matcher(metric), unit = UNIT.matcher(metric);
            if (!score.find() || !unit.find()) {
                continue;
            }
            double value = Double.parseDouble(score.group(1));
            double err = error.find() ? Double.parseDouble(error.group(1)) : Double.NaN;
            boolean timePerOp = unit.group(1).endsWith("/op");
            if (best) {
                String raw = bracketed(metric, metric.indexOf("\"rawData\""));
                if (raw != null) {
                    Matcher num = NUMBER.matcher(raw);
                    double pick = Double.NaN;
                    while (num.find()) {
                        double x = Double.parseDouble(num.group());
                        pick = Double.isNaN(pick) ? x : timePerOp ? Math.min(pick, x) : Math.max(pick, x);
                    }
                    if (!Double.isNaN(pick)) {
                        value = pick;
                    }
                }
            }
            long n = Long.parseLong(params.get("n"));
            double opsPerSecond = timePerOp ? 1 / (value * secondsPer(unit.group(1))) : value / secondsPer(unit.group(1));
            String name = names.get(i);
            // Other parameters (a format, say) tag the variant: "encode[FP16]", compared with "…[FP16]".
            StringBuilder tag = new StringBuilder();
            params.keySet().stream().filter(k -> !k.equals("n") && !k.equals("threads")).sorted()
                    .forEach(k -> tag.append(tag.isEmpty() ? "[" : ",").append(params.get(k)));
            if (!tag.isEmpty()) {
                tag.append(']');
            }
            rows.add(new Row(name.substring(name.lastIndexOf('.') + 1), tag.toString(), n,
                    Integer.parseInt(params.get("threads")), opsPerSecond * n, err / Math.abs(value)));
        }
        return rows;
    }

    /** The text of the first {@code [...]} at or after {@code from}, nesting included; null if none. */
    static String bracketed(String text, int from) {
        int open = from < 0 ? -1 : text.indexOf('[', from);
        if (open < 0) {
            return null;
        }
        int depth = 0;
        for (int i = open; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '[') {
                depth++;
            } else if (c == ']' && --depth == 0) {
                return text.substring(open + 1, i);
            }
        }
        return null;
    }

    /** Seconds in the time unit of a JMH score unit such as {@code us/op} or {@code ops/ms}. */
    static double secondsPer(String scoreUnit) {
        String u = scoreUnit.endsWith("/op") ? scoreUnit.substring(0, scoreUnit.length() - 3)
                : scoreUnit.substring(scoreUnit.indexOf('/') + 1);
        return switch (u) {
            case "ns" -> 1e-9;
            case "us" -> 1e-6;
            case "ms" -> 1e-3;
            case "s" -> 1;
            case "min" -> 60;
            default -> throw new IllegalArgumentException("scoreUnit: unknown time unit in \"" + scoreUnit + "\"");
        };
    }

    static void print(List<Row> rows, int bytes, boolean best, PrintStream out) {
        Map<String, Row> byKey = new HashMap<>();
        for (Row r : rows) {
            byKey.put(key(r.variant + r.tag, r.n, r.threads), r);
        }
        List<Row> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingLong(Row::n).thenComparingInt(Row::threads)
                .thenComparing(r -> r.tag).thenComparing(r -> r.variant.equals(YARDSTICK) ? "" : r.variant));
        out.printf(Locale.ROOT, "%s, %d bytes/element%n", best ? "best iteration" : "mean of iterations", bytes);
        out.printf(Locale.ROOT, "%10s %3s  %-22s %13s %8s %7s %11s %10s%n",
                "n", "thr", "variant", "elements/s", "GB/s", "+-%", "/yardstick", "x scalar");
        for (Row r : sorted) {
            Row yard = byKey.get(key(YARDSTICK + r.tag, r.n, r.threads));
            Row scalar = byKey.get(key(SCALAR + r.tag, r.n, r.threads));
            out.printf(Locale.ROOT, "%10d %3d  %-22s %13.4g %8.2f %7s %11s %10s%n", r.n, r.threads, r.variant + r.tag,
                    r.elementsPerSecond, r.elementsPerSecond * bytes / 1e9,
                    Double.isNaN(r.relativeError) ? "-" : String.format(Locale.ROOT, "%.1f", 100 * r.relativeError),
                    yard == null ? "-" : String.format(Locale.ROOT, "%.2f", r.elementsPerSecond / yard.elementsPerSecond),
                    scalar == null ? "-" : String.format(Locale.ROOT, "%.2f", r.elementsPerSecond / scalar.elementsPerSecond));
        }
    }

    private static String key(String variant, long n, int threads) {
        return variant + "/" + n + "/" + threads;
    }
}

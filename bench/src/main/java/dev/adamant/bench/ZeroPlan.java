package dev.adamant.bench;

import dev.adamant.core.StateFormat;
import dev.adamant.fp16.Precision;
import dev.adamant.zero.ZeroPlanner;
import dev.adamant.zero.ZeroPlanner.Link;
import dev.adamant.zero.ZeroStage;
import dev.adamant.zero.comm.mpi.MpiCommunicator;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The planner's table and chart: for GPT-2 small's 148 tensors ({@link Gpt2Shapes}), ZeRO stages 0-3
 * on N = 1, 2, 4, ..., 1024 devices, bytes per device and the communication time per step that
 * {@link ZeroPlanner} predicts, printed and drawn into a PNG (memory per device against N, log-log;
 * communication time per step against N). Nothing runs: no MPI, no training.
 *
 * <pre>
 *   java -cp bench/target/adamant-bench.jar dev.adamant.bench.ZeroPlan [--link-gbps 10] [--latency-us 5]
 *        [--states fp32|8bit] [--precision bf16|fp16] [--max-devices 1024] [--png zero-plan.png]
 * </pre>
 * A bad option prints the problem and the usage and exits with 2.
 */
public final class ZeroPlan {
    /** Width and height of the PNG, two panels side by side. */
    static final int WIDTH = 1200, HEIGHT = 520;
    private static final Color[] STAGE_COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728)};

    private ZeroPlan() {}

    /** The parsed command line. */
    record Options(double linkGbps, double latencyMicros, StateFormat states, Precision precision, int maxDevices,
                   Path png) {}

    /** One N's plans, stage by stage. */
    record Row(int devices, ZeroPlanner.Plan[] stages) {}

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("ZeroPlan: " + e.getMessage());
            usage(System.err);
            System.exit(2);
            return;
        }
        if (o == null) {
            usage(System.out);
            return;
        }
        List<Row> rows = plan(Gpt2Shapes.sizes(), o);
        System.out.print(table(rows, o));
        writePng(rows, o, o.png());
        System.out.println("wrote " + o.png());
    }

    /** Options from the command line; null for {@code --help}. */
    static Options parse(String[] args) {
        double gbps = 10, latency = 5;
        StateFormat states = StateFormat.FP32;
        Precision precision = Precision.BF16;
        int maxDevices = 1024;
        Path png = Path.of("zero-plan.png");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                return null;
            }
            if (!List.of("--link-gbps", "--latency-us", "--states", "--precision", "--max-devices", "--png").contains(a)) {
                throw new IllegalArgumentException("unknown option \"" + a + "\"");
            }
            if (i + 1 == args.length) {
                throw new IllegalArgumentException(a + ": expected a value");
            }
            String v = args[++i];
            switch (a) {
                case "--link-gbps" -> {
                    gbps = number(a, v);
                    if (!(gbps > 0) || Double.isInfinite(gbps)) {
                        throw new IllegalArgumentException(a + ": expected a positive bandwidth in Gbit/s, got " + v);
                    }
                }
                case "--latency-us" -> {
                    latency = number(a, v);
                    if (!(latency >= 0) || Double.isInfinite(latency)) {
                        throw new IllegalArgumentException(a + ": expected a latency >= 0 in µs, got " + v);
                    }
                }
                case "--states" -> states = switch (v) {
                    case "fp32" -> StateFormat.FP32;
                    case "8bit" -> StateFormat.BLOCKWISE_8BIT;
                    default -> throw new IllegalArgumentException(a + ": expected fp32 or 8bit, got \"" + v + "\"");
                };
                case "--precision" -> precision = switch (v) {
                    case "bf16" -> Precision.BF16;
                    case "fp16" -> Precision.FP16;
                    default -> throw new IllegalArgumentException(a + ": expected bf16 or fp16, got \"" + v + "\"");
                };
                case "--max-devices" -> {
                    try {
                        maxDevices = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        maxDevices = 0;
                    }
                    if (maxDevices < 1 || maxDevices > 1 << 20) {
                        throw new IllegalArgumentException(a + ": expected 1 to " + (1 << 20) + ", got \"" + v + "\"");
                    }
                }
                default -> png = Path.of(v);
            }
        }
        return new Options(gbps, latency, states, precision, maxDevices, png);
    }

    private static double number(String option, String v) {
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": expected a number, got \"" + v + "\"");
        }
    }

    private static void usage(PrintStream out) {
        out.println("usage: ZeroPlan [options]   (java -cp bench/target/adamant-bench.jar dev.adamant.bench.ZeroPlan ...)");
        out.println("  predicts ZeRO stages 0-3 for GPT-2 small on N = 1, 2, 4, ... devices (ZeroPlanner; nothing runs)");
        out.println("  --link-gbps G     link bandwidth in Gbit/s (default 10)");
        out.println("  --latency-us L    latency per message in µs (default 5)");
        out.println("  --states S        Adam's states: fp32 (default) or 8bit (bitsandbytes' block-wise)");
        out.println("  --precision P     bf16 (default) or fp16");
        out.println("  --max-devices N   the largest N (default 1024); N doubles from 1");
        out.println("  --png FILE        the chart (default zero-plan.png)");
    }

    /** Plans for N = 1, 2, 4, ... up to {@code o.maxDevices()}, every stage. */
    static List<Row> plan(long[] sizes, Options o) {
        Link link = Link.ofGbps(o.linkGbps(), o.latencyMicros());
        List<Row> rows = new ArrayList<>();
        for (long n = 1; n <= o.maxDevices(); n *= 2) {
            ZeroPlanner.Plan[] p = new ZeroPlanner.Plan[4];
            for (ZeroStage s : ZeroStage.values()) {
                p[s.ordinal()] = ZeroPlanner.plan(sizes, s, (int) n, o.precision(), o.states(), link);
            }
            rows.add(new Row((int) n, p));
        }
        return rows;
    }

    /** The printed table: GiB per device and ms of communication per step, stage by stage, and MiB sent. */
    static String table(List<Row> rows, Options o) {
        StringBuilder b = new StringBuilder();
        ZeroPlanner.Plan first = rows.get(0).stages()[0];
        b.append(String.format(Locale.ROOT, "GPT-2 small (%,d parameters, 148 tensors), %s, %s Adam states, link %s Gbit/s,"
                        + " %s us a message, pieces of %d elements%n", first.parameters(), o.precision(), o.states(),
                trim(o.linkGbps()), trim(o.latencyMicros()), MpiCommunicator.Settings.DEFAULT_PIECE_ELEMENTS));
        b.append(String.format(Locale.ROOT, "%6s | %-35s | %-35s | %s%n", "", "   GiB per device (all purposes)",
                "   communication ms per step", "MiB sent/step"));
        b.append(String.format(Locale.ROOT, "%6s | %8s%9s%9s%9s | %8s%9s%9s%9s | %8s%9s%n", "N", "stage 0", "1", "2", "3",
                "stage 0", "1", "2", "3", "0-2", "3"));
        for (Row r : rows) {
            ZeroPlanner.Plan[] p = r.stages();
            b.append(String.format(Locale.ROOT, "%6d | %8.3f%9.3f%9.3f%9.3f | %8.2f%9.2f%9.2f%9.2f | %8.1f%9.1f%n",
                    r.devices(), gib(p[0]), gib(p[1]), gib(p[2]), gib(p[3]), ms(p[0]), ms(p[1]), ms(p[2]), ms(p[3]),
                    p[2].bytesSentPerStep() / 1048576.0, p[3].bytesSentPerStep() / 1048576.0));
        }
        return b.toString();
    }

    private static String trim(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }

    private static double gib(ZeroPlanner.Plan p) {
        return p.totalBytes() / (double) (1L << 30);
    }

    private static double ms(ZeroPlanner.Plan p) {
        return p.commSecondsPerStep() * 1e3;
    }

    /**
     * Draws two panels into {@code file}: bytes per device against N (log-log) and communication
     * time per step against N (log N, linear time), one line per stage, axes labelled, a legend.
     */
    static void writePng(List<Row> rows, Options o, Path file) {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
            g.drawString(String.format(Locale.ROOT, "ZeRO plan: GPT-2 small, %s, %s states, %s Gbit/s, %s us per message",
                    o.precision(), o.states(), trim(o.linkGbps()), trim(o.latencyMicros())), 20, 22);
            int n = rows.size();
            double[][] mem = new double[4][n], time = new double[4][n];
            double[] xs = new double[n];
            for (int i = 0; i < n; i++) {
                xs[i] = rows.get(i).devices();
                for (int s = 0; s < 4; s++) {
                    mem[s][i] = rows.get(i).stages()[s].totalBytes() / (double) (1L << 30);
                    time[s][i] = rows.get(i).stages()[s].commSecondsPerStep() * 1e3;
                }
            }
            panel(g, 0, "Memory per device", "GiB per device (log)", xs, mem, true);
            panel(g, WIDTH / 2, "Communication per step (ring alpha-beta, no overlap)", "ms per step", xs, time, false);
        } finally {
            g.dispose();
        }
        try {
            if (!ImageIO.write(img, "png", file.toFile())) {
                throw new IOException("no PNG writer");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("png: could not write " + file, e);
        }
    }

    private static void panel(Graphics2D g, int x0, String title, String yLabel, double[] xs, double[][] ys,
                              boolean logY) {
        int left = x0 + 80, right = x0 + WIDTH / 2 - 20, top = 60, bottom = HEIGHT - 60;
        double xMin = Math.log(xs[0]), xMax = Math.max(Math.log(xs[xs.length - 1]), xMin + 1e-9);
        double yMin = Double.MAX_VALUE, yMax = 0;
        for (double[] line : ys) {
            for (double y : line) {
                if (!logY || y > 0) {
                    yMin = Math.min(yMin, y);
                }
                yMax = Math.max(yMax, y);
            }
        }
        if (logY) {
            yMin = Math.pow(10, Math.floor(Math.log10(yMin)));
            yMax = Math.pow(10, Math.ceil(Math.log10(yMax)));
        } else {
            yMin = 0;
            yMax = yMax > 0 ? niceCeil(yMax) : 1;
        }
        final double ylo = yMin, yhi = yMax;
        java.util.function.DoubleUnaryOperator px = x -> left + (Math.log(x) - xMin) / (xMax - xMin) * (right - left);
        java.util.function.DoubleUnaryOperator py = logY
                ? y -> bottom - (Math.log10(y) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo)) * (bottom - top)
                : y -> bottom - (y - ylo) / (yhi - ylo) * (bottom - top);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.setColor(Color.BLACK);
        g.drawString(title, left, top - 12);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        FontMetrics fm = g.getFontMetrics();
        // Grid and ticks.
        for (double x : xs) {
            int X = (int) Math.round(px.applyAsDouble(x));
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(X, top, X, bottom);
            g.setColor(Color.BLACK);
            String s = Long.toString((long) x);
            g.drawString(s, X - fm.stringWidth(s) / 2, bottom + 15);
        }
        List<Double> yTicks = new ArrayList<>();
        if (logY) {
            for (double y = ylo; y <= yhi * 1.0001; y *= 10) {
                yTicks.add(y);
            }
        } else {
            for (int k = 0; k <= 5; k++) {
                yTicks.add(ylo + (yhi - ylo) * k / 5);
            }
        }
        for (double y : yTicks) {
            int Y = (int) Math.round(py.applyAsDouble(y));
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(left, Y, right, Y);
            g.setColor(Color.BLACK);
            String s = y >= 1 ? String.format(Locale.ROOT, "%,.0f", y) : java.math.BigDecimal.valueOf(y).round(new java.math.MathContext(3))
                    .stripTrailingZeros().toPlainString();
            g.drawString(s, left - 6 - fm.stringWidth(s), Y + 4);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        String xLabel = "devices N (log)";
        g.drawString(xLabel, (left + right) / 2 - fm.stringWidth(xLabel) / 2, bottom + 32);
        Graphics2D r = (Graphics2D) g.create();
        r.rotate(-Math.PI / 2);
        r.drawString(yLabel, -(top + bottom) / 2 - fm.stringWidth(yLabel) / 2, x0 + 18);
        r.dispose();
        // Lines, one per stage, and the legend.
        g.setStroke(new BasicStroke(2f));
        for (int s = 0; s < ys.length; s++) {
            g.setColor(STAGE_COLORS[s]);
            int prevX = -1, prevY = -1;
            for (int i = 0; i < xs.length; i++) {
                if (logY && ys[s][i] <= 0) {
                    prevX = -1;
                    continue;
                }
                int X = (int) Math.round(px.applyAsDouble(xs[i])), Y = (int) Math.round(py.applyAsDouble(ys[s][i]));
                g.fillOval(X - 3, Y - 3, 6, 6);
                if (prevX >= 0) {
                    g.drawLine(prevX, prevY, X, Y);
                }
                prevX = X;
                prevY = Y;
            }
            int ly = logY ? bottom - 20 - 16 * (3 - s) : top + 16 + 16 * s;
            int lx = logY ? left + 12 : left + 12;
            g.drawLine(lx, ly - 4, lx + 22, ly - 4);
            g.setColor(Color.BLACK);
            g.drawString("stage " + s + " (" + ZeroStage.of(s).name().toLowerCase(Locale.ROOT).replace('_', ' ') + ")",
                    lx + 28, ly);
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static double niceCeil(double y) {
        double p = Math.pow(10, Math.floor(Math.log10(y)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= y) {
                return m * p;
            }
        }
        return 10 * p;
    }
}

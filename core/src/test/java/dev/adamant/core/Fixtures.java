package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Test helpers: the kernels a case runs on, class-path fixtures, segments and ulp distances. */
final class Fixtures {
    private Fixtures() {}

    /** Which kernels a test runs on: the JVM-wide choice ({@code -Dadamant.kernels}) or a named one. */
    enum Kernels {
        JVM_WIDE, PANAMA, SCALAR;

        /** Skips the test where this choice cannot run; checks the JVM-wide choice is the expected one. */
        void assumeAvailable() {
            switch (this) {
                case PANAMA -> assumeTrue(Implementation.PANAMA.isAvailable(),
                        "PANAMA is not available in this JVM (no --add-modules jdk.incubator.vector)");
                case JVM_WIDE -> {
                    // The pom passes the expected kernels, so a silent fallback to scalar fails here.
                    String expected = System.getProperty("adamant.expectKernels");
                    if (expected != null && !expected.isBlank()) {
                        assertEquals(expected.trim().toUpperCase(Locale.ROOT), Implementation.current().name(),
                                "JVM-wide kernels: " + Optimizers.implementation());
                    }
                }
                case SCALAR -> { }
            }
        }

        /** The optimizer {@code config} names over {@code n} parameters, on these kernels. */
        Optimizer create(OptimizerConfig config, long n) {
            return this == JVM_WIDE ? Optimizers.create(config, n)
                    : Optimizers.createOn(config, n, Implementation.valueOf(name()));
        }

        /** Adafactor over a {@code rows x cols} matrix, or with {@code rows} 0 a vector of {@code cols}. */
        Optimizer adafactor(AdafactorConfig config, long rows, long cols) {
            if (rows == 0) {
                return switch (this) {
                    case JVM_WIDE -> Optimizers.adafactor(config, cols);
                    case PANAMA -> Optimizers.adafactor(config, cols, Implementation.PANAMA);
                    case SCALAR -> Optimizers.adafactor(config, cols, Implementation.SCALAR);
                };
            }
            return switch (this) {
                case JVM_WIDE -> Optimizers.adafactor(config, rows, cols);
                case PANAMA -> Optimizers.adafactor(config, rows, cols, Implementation.PANAMA);
                case SCALAR -> Optimizers.adafactor(config, rows, cols, Implementation.SCALAR);
            };
        }

        /** The implementation by name; JVM_WIDE is the JVM-wide choice. */
        Implementation implementation() {
            return switch (this) {
                case JVM_WIDE -> Implementation.current();
                case PANAMA -> Implementation.PANAMA;
                case SCALAR -> Implementation.SCALAR;
            };
        }

        @Override
        public String toString() {
            return this == JVM_WIDE ? "jvm-wide " + Implementation.current().name().toLowerCase(Locale.ROOT)
                    : name().toLowerCase(Locale.ROOT);
        }
    }

    /** The bytes of class-path resource {@code name}; fails the test if it is missing. */
    static byte[] resource(String name) {
        try (InputStream in = Fixtures.class.getClassLoader().getResourceAsStream(name)) {
            assertNotNull(in, () -> "test resource missing: " + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(name, e);
        }
    }

    /** A fixture's {@code case.properties}, read from class-path resource {@code name}. */
    static java.util.Properties properties(String name) {
        java.util.Properties p = new java.util.Properties();
        try {
            p.load(new java.io.StringReader(new String(resource(name), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException(name, e);
        }
        return p;
    }

    /** Whether class-path resource {@code name} exists. */
    static boolean hasResource(String name) {
        return Fixtures.class.getClassLoader().getResource(name) != null;
    }

    /** The non-blank lines of a text resource that are not {@code #} comments, trimmed. */
    static List<String> lines(String name) {
        return new String(resource(name), StandardCharsets.UTF_8).lines().map(String::trim)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }

    /** Raw little-endian float32 resource of exactly {@code count} floats. */
    static float[] floats(String name, long count) {
        byte[] bytes = resource(name);
        assertEquals(count * Float.BYTES, bytes.length, () -> name + ": byte length");
        float[] out = new float[(int) count];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** A native segment holding a copy of {@code values}, in the platform's order (as the optimizer wants). */
    static MemorySegment copyOf(Arena arena, float[] values) {
        MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT, values.length);
        MemorySegment.copy(values, 0, s, ValueLayout.JAVA_FLOAT, 0, values.length);
        return s;
    }

    /** Overwrites {@code target} with {@code count} floats of {@code values} from {@code offset}. */
    static void fill(MemorySegment target, float[] values, int offset, int count) {
        MemorySegment.copy(values, offset, target, ValueLayout.JAVA_FLOAT, 0, count);
    }

    static float[] toArray(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_FLOAT);
    }

    /** The median of {@code |values|}: a typical magnitude, not moved by a few outliers. */
    static double medianAbs(float[] values) {
        double[] abs = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            abs[i] = Math.abs(values[i]);
        }
        Arrays.sort(abs);
        int n = abs.length;
        return n == 0 ? 0 : n % 2 == 1 ? abs[n / 2] : (abs[n / 2 - 1] + abs[n / 2]) / 2;
    }

    /**
     * {@code |actual - expected|} in units in the last place of {@code expected} (a float): 0 when
     * equal, 1 for adjacent floats of the same binade, +infinity for a NaN against a number.
     */
    static double ulps(float actual, float expected) {
        if (Float.isNaN(actual) || Float.isNaN(expected)) {
            return Float.isNaN(actual) && Float.isNaN(expected) ? 0 : Double.POSITIVE_INFINITY;
        }
        if (actual == expected) {
            return 0;
        }
        return Math.abs((double) actual - expected) / Math.ulp(expected);
    }
}

package dev.adamant.core.quant;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The checked entry points of {@link Blockwise8}: sizes and writability are checked, naming the
 * argument, before anything is written, then the kernels in use ({@link Blockwise8Kernels#current()})
 * run. A rejected call changes nothing.
 */
public final class Blockwise8Codec {
    private Blockwise8Codec() {}

    /**
     * Quantizes {@code n} floats of {@code values} (platform order) into {@code codes} ({@code n}
     * bytes) and {@code absmax} ({@code ceil(n / 256)} floats).
     */
    public static void quantize(DynamicMap map, MemorySegment values, MemorySegment codes, MemorySegment absmax,
                                long n) {
        check(map, values, codes, absmax, n, false);
        Blockwise8Kernels.current().quantize(map, values, codes, absmax, n);
    }

    /** Dequantizes {@code n} elements of {@code codes} and {@code absmax} into {@code values}. */
    public static void dequantize(DynamicMap map, MemorySegment codes, MemorySegment absmax, MemorySegment values,
                                  long n) {
        check(map, values, codes, absmax, n, true);
        Blockwise8Kernels.current().dequantize(map, codes, absmax, values, n);
    }

    private static void check(DynamicMap map, MemorySegment values, MemorySegment codes, MemorySegment absmax,
                              long n, boolean toValues) {
        Objects.requireNonNull(map, "map");
        Objects.requireNonNull(values, "values");
        Objects.requireNonNull(codes, "codes");
        Objects.requireNonNull(absmax, "absmax");
        if (n < 0) {
            throw new IllegalArgumentException("n: " + n + " (expected: n >= 0)");
        }
        atLeast("values", values, n * Float.BYTES);
        atLeast("codes", codes, n);
        atLeast("absmax", absmax, Blockwise8.blocks(n) * Float.BYTES);
        if (toValues) {
            writable("values", values);
        } else {
            writable("codes", codes);
            writable("absmax", absmax);
        }
    }

    private static void atLeast(String name, MemorySegment s, long bytes) {
        if (s.byteSize() < bytes) {
            throw new IllegalArgumentException(name + ": " + s.byteSize() + " bytes (expected: at least " + bytes + ")");
        }
    }

    private static void writable(String name, MemorySegment s) {
        if (s.isReadOnly()) {
            throw new IllegalArgumentException(name + ": read-only segment (expected: writable)");
        }
    }
}

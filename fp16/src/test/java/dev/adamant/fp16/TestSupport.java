package dev.adamant.fp16;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;

/**
 * Independent references and helpers for the codec tests. Nothing here calls the code under test:
 * references come from the JDK, from the definitions (double arithmetic, exact for these formats)
 * or from the formulas the issue gives (PyTorch's integer rounding).
 */
final class TestSupport {
    private TestSupport() {}

    /**
     * Whether this JVM's {@link Float#floatToFloat16} and {@link Float#float16ToFloat} quiet NaNs
     * and keep the top payload bits (the intrinsics on x86 F16C and AArch64), rather than run the
     * Java code (no intrinsic, or -XX:DisableIntrinsic), which differs for NaN payloads only.
     */
    static final boolean JDK_QUIETS_NANS = Float.floatToFloat16(Float.intBitsToFloat(0x7F80_0001)) == 0x7E00
            && Float.floatToRawIntBits(Float.float16ToFloat((short) 0x7C01)) == 0x7FC0_2000;

    /** fp32 NaN bits to fp16, as the intrinsics do: sign, quiet, top 10 payload bits. Written from the documented rule. */
    static short halfNaN(int floatBits) {
        return (short) (((floatBits >>> 16) & 0x8000) | 0x7E00 | ((floatBits >>> 13) & 0x3FF));
    }

    /** The bits of the float equal to half {@code h}, from its fields in double arithmetic; NaNs quiet. */
    static int halfToFloatBits(int h) {
        int s = h & 0x8000;
        int e = (h >>> 10) & 0x1F;
        int m = h & 0x3FF;
        if (e == 31) {
            return m == 0 ? (s << 16) | 0x7F80_0000 : (s << 16) | 0x7FC0_0000 | (m << 13);
        }
        double v = e == 0 ? m * 0x1p-24 : (1024 + m) * Math.scalb(1.0, e - 25);
        return Float.floatToRawIntBits((float) (s != 0 ? -v : v));
    }

    /** PyTorch c10 round_to_nearest_even, as the issue states it, with NaN made sign | 0x7FC0. */
    static short torchBf16(int u) {
        if ((u & 0x7FFF_FFFF) > 0x7F80_0000) {
            return (short) (((u >>> 16) & 0x8000) | 0x7FC0);
        }
        int roundingBias = ((u >>> 16) & 1) + 0x7FFF;
        return (short) ((u + roundingBias) >>> 16);
    }

    static boolean isHalfNaN(short h) {
        return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
    }

    static boolean isBf16NaN(short h) {
        return (h & 0x7F80) == 0x7F80 && (h & 0x7F) != 0;
    }

    static String hex(int v) {
        return "0x" + Integer.toHexString(v);
    }

    static String hex16(short v) {
        return String.format("0x%04x", v & 0xFFFF);
    }

    /** Per-thread buffers for a sweep over blocks of float bit patterns. */
    static final class Block {
        final int[] in;
        final float[] floats;
        final short[] out;
        final short[] ref;
        final MemorySegment inSeg;
        final MemorySegment floatSeg;
        final MemorySegment outSeg;
        /** Native copies: the codecs' main path (the optimizers' buffers are native). */
        final MemorySegment nativeIn;
        final MemorySegment nativeOut;

        Block(int size) {
            in = new int[size];
            floats = new float[size];
            out = new short[size];
            ref = new short[size];
            inSeg = MemorySegment.ofArray(in);
            floatSeg = MemorySegment.ofArray(floats);
            outSeg = MemorySegment.ofArray(out);
            nativeIn = Arena.ofAuto().allocate(4L * size, 64);
            nativeOut = Arena.ofAuto().allocate(2L * size, 64);
        }

        /**
         * Fills {@code in} and {@code nativeIn} (and {@code floats}, if asked) with the bits
         * {@code base, base + 1, ...}.
         */
        void fill(int base, boolean floatsToo) {
            for (int i = 0; i < in.length; i++) {
                in[i] = base + i;
            }
            if (floatsToo) {
                MemorySegment.copy(inSeg, 0, floatSeg, 0, inSeg.byteSize());
            }
            MemorySegment.copy(inSeg, 0, nativeIn, 0, inSeg.byteSize());
        }

        /**
         * Encodes the block with {@code codec}: from native to native memory (then copied to
         * {@code out}), or, for every 64th block, from the heap arrays, so both loops of the vector
         * codec see real data.
         */
        void encode(int b, java.util.function.BiConsumer<MemorySegment, MemorySegment> codec) {
            if (b % 64 == 0) {
                codec.accept(inSeg, outSeg);
            } else {
                codec.accept(nativeIn, nativeOut);
                MemorySegment.copy(nativeOut, 0, outSeg, 0, nativeOut.byteSize());
            }
        }
    }

    interface BlockCheck {
        /** Checks block {@code b} (floats with bits {@code b << shift ...}); returns a failure message or null. */
        String check(Block block, int b);
    }

    /**
     * Runs {@code check} over {@code blocks} blocks in parallel (both cores), stopping at the first
     * failure, and returns its message or null.
     */
    static String sweep(int blocks, int blockSize, BlockCheck check) {
        ThreadLocal<Block> local = ThreadLocal.withInitial(() -> new Block(blockSize));
        AtomicReference<String> failure = new AtomicReference<>();
        IntStream.range(0, blocks).parallel().forEach(b -> {
            if (failure.get() == null) {
                String f = check.check(local.get(), b);
                if (f != null) {
                    failure.compareAndSet(null, f);
                }
            }
        });
        return failure.get();
    }
}

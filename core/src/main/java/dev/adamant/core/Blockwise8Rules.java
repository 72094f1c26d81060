package dev.adamant.core;

import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.memory.Buffers;
import dev.adamant.core.quant.Blockwise8;
import dev.adamant.core.quant.Blockwise8Kernels;
import dev.adamant.core.quant.DynamicMap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

/**
 * The rules of 8-bit block-wise states ({@link StateFormat#BLOCKWISE_8BIT}) for every kind: which
 * configs they support, the buffers ({@code state1}, {@code absmax1}, {@code state2},
 * {@code absmax2}, bitsandbytes' names) and a step's kernel call.
 *
 * <p><b>The step.</b> State {@code k} of the 8-bit format is fp32 state {@code k} of the kind (Adam:
 * {@code exp_avg} is {@code state1}, {@code exp_avg_sq} is {@code state2}; SGD's
 * {@code momentum_buffer}, RMSProp's {@code square_avg}, Adagrad's {@code sum} and Lion's
 * {@code exp_avg} are {@code state1}), with the signed map for {@code state1} and the unsigned one
 * for {@code state2}, as bitsandbytes. A call over elements {@code [from, from + count)} (whole blocks
 * but for the tensor's last) works in tiles of {@value #TILE} elements: it dequantizes the tile's
 * states into fp32 scratch (L1), runs the kind's fp32 kernel on the tile (the same operations, in the
 * same order, as {@link StateFormat#FP32}: bitsandbytes' reference order, see {@code Bnb8FixtureTest}),
 * and re-quantizes the scratch while it is still in L1. Memory sees one pass: the parameters and
 * gradients once, each state's codes read and written once, and 4 bytes of absmax a block.
 */
final class Blockwise8Rules {
    static final String STATE1 = "state1", ABSMAX1 = "absmax1", STATE2 = "state2", ABSMAX2 = "absmax2";
    /** Elements a tile: 4 blocks, 4 KiB of fp32 scratch a state, so a tile's states stay in L1. */
    static final int TILE = 4 * Blockwise8.BLOCK;

    private Blockwise8Rules() {}

    /** Whether an optimizer of {@code n} parameters under {@code c} keeps 8-bit states. */
    static boolean quantizes(OptimizerConfig c, long n) {
        return c.stateFormat().quantizes(n) && !fp32Names(c).isEmpty();
    }

    /** {@code c}'s fp32 state names: the states the 8-bit ones hold, in order. */
    private static List<String> fp32Names(OptimizerConfig c) {
        return StepRules.stateNames(c.withStateFormat(StateFormat.FP32));
    }

    /**
     * Refuses, naming {@code name} and the setting, what the 8-bit format does not support under
     * {@code c} (see {@link StateFormat}); any config is fine in {@link StateFormat#FP32}.
     */
    static void checkSupported(String name, OptimizerConfig c) {
        if (!c.stateFormat().isBlockwise8()) {
            return;
        }
        String why = switch (c) {
            case AdamConfig a when a.amsgrad() -> "amsgrad (bitsandbytes' 8-bit Adam has no max_exp_avg_sq)";
            case AdamConfig a when !a.decoupledWeightDecay() && a.weightDecay() != 0 ->
                    "Adam's L2 weight decay (bitsandbytes' 8-bit adam decouples it: use AdamConfig.adamW())";
            case SgdConfig s when s.nesterov() -> "nesterov (bitsandbytes' 8-bit momentum has none)";
            case SgdConfig s when s.dampening() != 0 -> "dampening " + s.dampening()
                    + " (bitsandbytes' 8-bit momentum has none)";
            case RmsPropConfig r when r.momentum() != 0 -> "momentum " + r.momentum()
                    + " (bitsandbytes' 8-bit RMSProp keeps square_avg only)";
            case RmsPropConfig r when r.centered() -> "centered (bitsandbytes' 8-bit RMSProp keeps square_avg only)";
            case AdagradConfig a when a.initialAccumulatorValue() != 0 -> "initialAccumulatorValue "
                    + a.initialAccumulatorValue() + " (8-bit states start at zero, as bitsandbytes')";
            default -> null;
        };
        if (why != null) {
            throw new IllegalArgumentException(name + ": the 8-bit block-wise state format does not support " + why
                    + "; got " + c);
        }
    }

    /** The buffers of 8-bit state under {@code c}: {@code state1}, {@code absmax1}, and Adam's {@code state2}, {@code absmax2}. */
    static List<String> stateNames(OptimizerConfig c) {
        int states = fp32Names(c).size();
        List<String> names = new ArrayList<>();
        if (states > 0) {
            names.add(STATE1);
            names.add(ABSMAX1);
        }
        if (states > 1) {
            names.add(STATE2);
            names.add(ABSMAX2);
        }
        return List.copyOf(names);
    }

    /** Bytes of buffer {@code name} for {@code n} elements: a byte an element, or a float a block. */
    static long bytes(String name, long n) {
        return name.startsWith("absmax") ? Blockwise8.blocks(n) * Float.BYTES : n;
    }

    /**
     * Bytes of caller-owned 8-bit state for {@code n} elements under {@code c}: each buffer of
     * {@link #stateNames} rounded up to 4 bytes, one after the other (a whole number of floats).
     */
    static long stateBytes(OptimizerConfig c, long n) {
        long total = 0;
        for (String name : stateNames(c)) {
            total += StateBuffers.roundUp4(bytes(name, n));
        }
        return total;
    }

    /** The code table of state {@code k} (0 or 1): signed for the first, unsigned for the second. */
    static DynamicMap map(int k) {
        return k == 0 ? DynamicMap.SIGNED : DynamicMap.UNSIGNED;
    }

    /** The 8-bit state {@code state1} or {@code state2} whose fp32 twin is {@code c}'s state {@code k}. */
    static String codesName(int k) {
        return k == 0 ? STATE1 : STATE2;
    }

    /** The absmax buffer of state {@code k}: {@code absmax1} or {@code absmax2}. */
    static String absmaxName(int k) {
        return k == 0 ? ABSMAX1 : ABSMAX2;
    }

    /** Which state {@code name} holds the codes of: 0 for {@code state1}, 1 for {@code state2}, else -1. */
    static int codesIndex(String name) {
        return STATE1.equals(name) ? 0 : STATE2.equals(name) ? 1 : -1;
    }

    /** The quantizer of the same implementation as {@code kernels}. */
    static Blockwise8 quantizer(KernelProvider kernels) {
        return Blockwise8Kernels.of(kernels.name().equals("panama") ? Implementation.PANAMA : Implementation.SCALAR);
    }

    /**
     * Step {@code t}'s kernel call under {@code c} (8-bit), over the 8-bit buffers {@code state}
     * names, with fp32 scratch from {@code scratch}; see the class description.
     */
    static StepKernel prepare(OptimizerConfig c, KernelProvider kernels, long t, StepOptions o,
                              Function<String, MemorySegment> state, Scratch scratch) {
        OptimizerConfig fp32 = c.withStateFormat(StateFormat.FP32);
        List<String> names = fp32Names(c);
        int k = names.size();
        MemorySegment[] codes = new MemorySegment[k], absmax = new MemorySegment[k];
        DynamicMap[] maps = new DynamicMap[k];
        for (int i = 0; i < k; i++) {
            codes[i] = state.apply(codesName(i));
            absmax[i] = state.apply(absmaxName(i));
            maps[i] = map(i);
        }
        Blockwise8 q = quantizer(kernels);
        return (params, grads, update, stateFrom, count) -> {
            MemorySegment[] tiles = scratch.take(k);
            try {
                StepKernel inner = StepRules.prepare(fp32, kernels, t, o, name -> {
                    int i = names.indexOf(name);
                    return i < 0 ? null : tiles[i];
                });
                for (long done = 0; done < count; done += TILE) {
                    long len = Math.min(TILE, count - done);
                    long from = stateFrom + done;
                    for (int i = 0; i < k; i++) {
                        q.dequantize(maps[i], codes[i].asSlice(from, len), absmaxRange(absmax[i], from, len), tiles[i],
                                len);
                    }
                    inner.run(StepKernel.range(params, done, len), StepKernel.range(grads, done, len),
                            StepKernel.range(update, done, len), 0, len);
                    for (int i = 0; i < k; i++) {
                        q.quantize(maps[i], tiles[i], codes[i].asSlice(from, len), absmaxRange(absmax[i], from, len),
                                len);
                    }
                }
            } finally {
                scratch.give(tiles);
            }
        };
    }

    /** The absmax floats of elements {@code [from, from + len)}, {@code from} a block boundary. */
    private static MemorySegment absmaxRange(MemorySegment absmax, long from, long len) {
        return absmax.asSlice(from / Blockwise8.BLOCK * Float.BYTES, Blockwise8.blocks(len) * Float.BYTES);
    }

    /**
     * Refuses a range of {@code count} elements from {@code from} of an 8-bit optimizer of {@code size}
     * that does not start on a block boundary or does not end on one or at the end; the message
     * names {@code name}.
     */
    static void checkBlockAligned(String name, long from, long count, long size) {
        if (from % Blockwise8.BLOCK != 0 || (count % Blockwise8.BLOCK != 0 && from + count != size)) {
            throw new IllegalArgumentException(name + ": elements [" + from + ", " + (from + count) + ") of an"
                    + " optimizer with 8-bit block-wise states (expected whole blocks of " + Blockwise8.BLOCK
                    + ": a start that is a multiple of " + Blockwise8.BLOCK + " and an end that is one or "
                    + size + ")");
        }
    }

    /**
     * The fp32 scratch tiles of one optimizer: {@value #TILE} floats a state, a set per thread in a
     * step at a time, reused across steps, freed by {@link #close()}.
     */
    static final class Scratch implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final ConcurrentLinkedQueue<MemorySegment[]> free = new ConcurrentLinkedQueue<>();

        MemorySegment[] take(int states) {
            MemorySegment[] tiles = free.poll();
            if (tiles == null || tiles.length != states) {
                tiles = new MemorySegment[states];
                synchronized (arena) {
                    for (int i = 0; i < states; i++) {
                        tiles[i] = Buffers.allocateFloats(arena, TILE);
                    }
                }
            }
            return tiles;
        }

        void give(MemorySegment[] tiles) {
            free.add(tiles);
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}

package dev.adamant.core.quant;

import java.lang.foreign.MemorySegment;

/**
 * Block-wise 8-bit quantization as bitsandbytes' pure-PyTorch reference defines it
 * ({@code _quantize_blockwise_pytorch}, {@code _dequantize_blockwise_pytorch}): blocks of
 * {@value #BLOCK} consecutive floats (the last one partial), each kept as one float {@code absmax} and
 * one byte per element, an index into a {@link DynamicMap}.
 *
 * <p>Quantize, per block: {@code absmax} = the largest {@code |value|} (0 becomes 1.0); each value is
 * divided by it (float division) and replaced by {@link DynamicMap#nearest the nearest code}. One pass
 * over the input, two reads of each block (the second from L1): 4 bytes read and 1 written an element,
 * plus 4 bytes a block. Dequantize: {@code code[byte] * absmax} (float): 1 byte read, 4 written.
 *
 * <p>Bad input, as the reference computes it (not checked, not an error):
 * <ul>
 *   <li>A NaN in a block: its {@code absmax} is NaN (written as the canonical {@code Float.NaN}), every
 *       scaled value is NaN, every code is 0; dequantized, the whole block reads NaN.</li>
 *   <li>An infinity (no NaN) in a block: {@code absmax} is +infinity; finite values scale to ±0 (the
 *       zero code), the infinities to inf/inf = NaN (code 0). Dequantized ({@code code * infinity}):
 *       with the signed map the infinities read -infinity (code 0 is negative, whatever their sign)
 *       and everything else NaN (0 x infinity); with the unsigned map (code 0 is 0) all NaN.</li>
 *   <li>Subnormals are ordinary floats: divided by a subnormal or normal absmax like any value; a
 *       block whose largest magnitude is subnormal keeps it as absmax.</li>
 * </ul>
 *
 * <p>Kernels trust their callers: {@code values} holds {@code n} floats in the platform's order,
 * {@code codes} {@code n} bytes and {@code absmax} {@link #blocks(long) blocks(n)} floats; the facade
 * ({@link Blockwise8Codec}) checks that.
 */
public interface Blockwise8 {
    /** Elements a block: bitsandbytes' block size for optimizer states. */
    int BLOCK = 256;

    /** The blocks of {@code n} elements: {@code ceil(n / 256)}. */
    static long blocks(long n) {
        return (n + BLOCK - 1) / BLOCK;
    }

    /** Quantizes {@code n} floats of {@code values} into {@code codes} and {@code absmax}. */
    void quantize(DynamicMap map, MemorySegment values, MemorySegment codes, MemorySegment absmax, long n);

    /** Dequantizes {@code n} elements of {@code codes} and {@code absmax} into {@code values}. */
    void dequantize(DynamicMap map, MemorySegment codes, MemorySegment absmax, MemorySegment values, long n);

    /** {@code "panama, 512-bit vectors"} or {@code "scalar"}. */
    String describe();
}

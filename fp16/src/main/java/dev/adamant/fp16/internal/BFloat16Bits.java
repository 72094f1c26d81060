package dev.adamant.fp16.internal;

/**
 * The bfloat16 bit fields: the top half of a float.
 *
 * <pre>
 *   bit  15  14        7  6          0
 *       +---+-----------+-------------+
 *       | s | exponent  | significand |
 *       +---+-----------+-------------+
 *         1  8 bits, bias 127  7 bits (+1 implicit)
 * </pre>
 *
 * The bit fields, for the scalar codecs; {@link dev.adamant.fp16.BFloat16} re-exports them as its public constants, so
 * that the codecs need not import the public class that calls them.
 */
public final class BFloat16Bits {
    /** Bits in a value. */
    public static final int BITS = 16;
    /** The sign bit. */
    public static final int SIGN_MASK = 0x8000;
    /** The 8 exponent bits. */
    public static final int EXPONENT_MASK = 0x7F80;
    /** The 7 explicit significand bits. */
    public static final int SIGNIFICAND_MASK = 0x007F;
    /** Explicit significand bits: the exponent field starts at this bit. */
    public static final int SIGNIFICAND_WIDTH = 7;
    /** The exponent bias. */
    public static final int EXPONENT_BIAS = 127;
    /** The top significand bit: set in a quiet NaN. */
    public static final int QUIET_BIT = 0x0040;
    /** The quiet NaN every positive float NaN becomes. */
    public static final short NaN = 0x7FC0;

    private BFloat16Bits() {}
}

package dev.adamant.fp16.internal;

/**
 * The IEEE binary16 (half) bit fields.
 *
 * <pre>
 *   bit  15  14    10  9              0
 *       +---+--------+-----------------+
 *       | s |exponent|   significand   |
 *       +---+--------+-----------------+
 *         1   5 bits, bias 15  10 bits (+1 implicit)
 * </pre>
 *
 * The bit fields, for the scalar codecs; {@link dev.adamant.fp16.Half} re-exports them as its public constants, so
 * that the codecs need not import the public class that calls them.
 */
public final class Binary16 {
    /** Bits in a value. */
    public static final int BITS = 16;
    /** The sign bit. */
    public static final int SIGN_MASK = 0x8000;
    /** The 5 exponent bits. */
    public static final int EXPONENT_MASK = 0x7C00;
    /** The 10 explicit significand bits. */
    public static final int SIGNIFICAND_MASK = 0x03FF;
    /** Explicit significand bits: the exponent field starts at this bit. */
    public static final int SIGNIFICAND_WIDTH = 10;
    /** The exponent bias. */
    public static final int EXPONENT_BIAS = 15;
    /** The top significand bit: set in a quiet NaN. */
    public static final int QUIET_BIT = 0x0200;
    /** The smallest positive normal value, 2^-14. */
    public static final short MIN_NORMAL = 0x0400;

    private Binary16() {}
}

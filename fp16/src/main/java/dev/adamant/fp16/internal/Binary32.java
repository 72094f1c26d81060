package dev.adamant.fp16.internal;

/**
 * The IEEE binary32 ({@code float}) bit fields, as the codecs see them through
 * {@link Float#floatToRawIntBits}.
 *
 * <pre>
 *   bit  31  30         23  22                              0
 *       +---+-------------+----------------------------------+
 *       | s |  exponent   |            significand           |
 *       +---+-------------+----------------------------------+
 *         1    8 bits, bias 127       23 bits (+1 implicit)
 * </pre>
 *
 * Exponent 0 holds zeros and subnormals, 255 infinities (significand 0) and NaNs (significand not
 * 0; bit 22 set for a quiet NaN).
 */
public final class Binary32 {
    /** The sign bit. */
    public static final int SIGN_MASK = 0x8000_0000;
    /** Everything but the sign: the magnitude's bits. */
    public static final int ABS_MASK = 0x7FFF_FFFF;
    /** The 8 exponent bits. */
    public static final int EXPONENT_MASK = 0x7F80_0000;
    /** The 23 explicit significand bits. */
    public static final int SIGNIFICAND_MASK = 0x007F_FFFF;
    /** Explicit significand bits: the exponent field starts at this bit. */
    public static final int SIGNIFICAND_WIDTH = 23;
    /** The implicit leading 1 of a normal number, where it would sit. */
    public static final int IMPLICIT_BIT = 1 << SIGNIFICAND_WIDTH;
    /** The exponent bias. */
    public static final int EXPONENT_BIAS = 127;
    /** The top significand bit: set in a quiet NaN. */
    public static final int QUIET_BIT = 0x0040_0000;
    /** The bits of +infinity; a magnitude above this is a NaN. */
    public static final int INFINITY_BITS = 0x7F80_0000;
    /** Bits in a float. */
    public static final int BITS = 32;

    private Binary32() {}
}

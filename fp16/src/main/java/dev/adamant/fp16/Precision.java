package dev.adamant.fp16;

/** The number format of a buffer: what later modules use to describe parameters and gradients. */
public enum Precision {
    /** IEEE binary32. */
    FP32(4),
    /** IEEE binary16: 1 sign, 5 exponent, 10 fraction bits. */
    FP16(2),
    /** bfloat16: 1 sign, 8 exponent, 7 fraction bits (the top half of an fp32). */
    BF16(2);

    private final int bytes;

    Precision(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }
}

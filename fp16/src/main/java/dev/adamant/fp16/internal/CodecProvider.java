package dev.adamant.fp16.internal;

/** One implementation of every codec: Panama (Vector API) or scalar. {@link Codecs} picks one. */
public interface CodecProvider {
    /** {@code "panama"} or {@code "scalar"}. */
    String name();

    /** Values per vector: 1 for scalar. */
    int lanes();

    /** IEEE binary16. */
    Codec half();

    /** bfloat16. */
    Codec bfloat16();
}

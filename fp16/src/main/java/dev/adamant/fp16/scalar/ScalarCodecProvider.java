package dev.adamant.fp16.scalar;

import dev.adamant.fp16.internal.Codec;
import dev.adamant.fp16.internal.CodecProvider;

/** The scalar codecs: the fallback where the Vector API is absent, and the test oracle. */
public final class ScalarCodecProvider implements CodecProvider {
    public static final ScalarCodecProvider INSTANCE = new ScalarCodecProvider();

    private ScalarCodecProvider() {}

    @Override public String name() { return "scalar"; }
    @Override public int lanes() { return 1; }
    @Override public Codec half() { return ScalarCodec.HALF; }
    @Override public Codec bfloat16() { return ScalarCodec.BFLOAT16; }
}

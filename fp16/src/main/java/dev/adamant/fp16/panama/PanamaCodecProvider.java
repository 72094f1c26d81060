package dev.adamant.fp16.panama;

import dev.adamant.core.panama.Species;
import dev.adamant.fp16.internal.Codec;
import dev.adamant.fp16.internal.CodecProvider;

/**
 * Vector API codecs on core's float species ({@link Species}). Loaded reflectively by
 * {@link dev.adamant.fp16.internal.Codecs} only when {@code jdk.incubator.vector} is present.
 */
public final class PanamaCodecProvider implements CodecProvider {
    public PanamaCodecProvider() {
        Species.requireUsable();
    }

    @Override public String name() { return "panama"; }
    @Override public int lanes() { return HalfVectors.FLOATS.length(); }
    @Override public Codec half() { return PanamaHalfCodec.INSTANCE; }
    @Override public Codec bfloat16() { return PanamaBFloat16Codec.INSTANCE; }
}

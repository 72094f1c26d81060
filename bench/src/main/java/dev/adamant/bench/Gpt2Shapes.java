package dev.adamant.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2 small's 148 parameter tensors (124,439,808 floats), in the order of its {@code state_dict}:
 * {@code wte} 50257x768, {@code wpe} 1024x768, then per layer (12) {@code ln_1} weight and bias,
 * {@code attn.c_attn} 768x2304 and 2304, {@code attn.c_proj} 768x768 and 768, {@code ln_2} weight and
 * bias, {@code mlp.c_fc} 768x3072 and 3072, {@code mlp.c_proj} 3072x768 and 768; then {@code ln_f}
 * weight and bias. What a framework's step over a real model looks like: a few huge tensors and
 * many of 768 floats.
 */
final class Gpt2Shapes {
    /** Floats in all 148 tensors. */
    static final long TOTAL = 124_439_808L;
    private static final int D = 768, LAYERS = 12, VOCAB = 50_257, CONTEXT = 1024;

    private Gpt2Shapes() {}

    /** The tensors' sizes, in state_dict order. */
    static long[] sizes() {
        List<Long> s = new ArrayList<>();
        s.add((long) VOCAB * D);
        s.add((long) CONTEXT * D);
        for (int l = 0; l < LAYERS; l++) {
            s.add((long) D);
            s.add((long) D);
            s.add((long) D * 3 * D);
            s.add(3L * D);
            s.add((long) D * D);
            s.add((long) D);
            s.add((long) D);
            s.add((long) D);
            s.add((long) D * 4 * D);
            s.add(4L * D);
            s.add(4L * D * D);
            s.add((long) D);
        }
        s.add((long) D);
        s.add((long) D);
        long[] out = s.stream().mapToLong(Long::longValue).toArray();
        long total = 0;
        for (long x : out) {
            total += x;
        }
        if (out.length != 148 || total != TOTAL) {
            throw new AssertionError("GPT-2 small: " + out.length + " tensors, " + total + " floats");
        }
        return out;
    }

    /** Weight decay groups as a framework makes them: matrices (2-d) decay, vectors (biases, norms) do not. */
    static boolean isMatrix(long size) {
        return size > 4L * D;
    }
}

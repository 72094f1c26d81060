package dev.adamant.zero;

import java.util.Objects;

/**
 * The ZeRO paper's memory table as a calculator: bytes of model state per device for Ψ parameters
 * on N devices with K bytes of optimizer state per parameter (12 for mixed-precision Adam: fp32
 * master weights, momentum and variance), 2-byte parameters and 2-byte gradients.
 *
 * <pre>
 *   stage                      partitioned           bytes per device
 *   0  DATA_PARALLEL           nothing               (2 + 2 + K) Ψ
 *   1  OPTIMIZER_STATE         optimizer state       2Ψ + 2Ψ + K Ψ/N
 *   2  GRADIENTS               + gradients           2Ψ + (2 + K) Ψ/N
 *   3  PARAMETERS              + parameters          (2 + 2 + K) Ψ/N
 * </pre>
 *
 * A partition holds {@code ceil(Ψ/N)} parameters, so where N does not divide Ψ the result is what a
 * device really holds, a little above the formula; where it does, it is the formula exactly. Buffers
 * outside the model state (communication buckets, gathered layers, activations) are not included.
 */
public final class MemoryPlan {
    /** Bytes of optimizer state per parameter in mixed-precision Adam: 4 (master) + 4 (m) + 4 (v). */
    public static final int ADAM_MIXED_PRECISION_K = 12;
    /** Bytes of a 16-bit parameter, and of a 16-bit gradient. */
    public static final int HALF_BYTES = 2;

    private MemoryPlan() {}

    /** Bytes per device with K = 12. */
    public static long bytesPerDevice(ZeroStage stage, long parameters, int devices) {
        return bytesPerDevice(stage, parameters, devices, ADAM_MIXED_PRECISION_K);
    }

    /**
     * Bytes per device.
     *
     * @throws IllegalArgumentException if parameters {@code < 0}, devices {@code < 1} or K {@code < 0}
     * @throws ArithmeticException if the result does not fit a long
     */
    public static long bytesPerDevice(ZeroStage stage, long parameters, int devices, int optimizerBytesPerParameter) {
        Objects.requireNonNull(stage, "stage");
        if (parameters < 0) {
            throw new IllegalArgumentException("parameters: expected >= 0, got " + parameters);
        }
        if (devices < 1) {
            throw new IllegalArgumentException("devices: expected >= 1, got " + devices);
        }
        if (optimizerBytesPerParameter < 0) {
            throw new IllegalArgumentException("optimizerBytesPerParameter: expected >= 0, got "
                    + optimizerBytesPerParameter);
        }
        long psi = parameters;
        long perDevice = (psi + devices - 1) / devices;
        long k = optimizerBytesPerParameter;
        long h = HALF_BYTES;
        return switch (stage) {
            case DATA_PARALLEL -> Math.multiplyExact(h + h + k, psi);
            case OPTIMIZER_STATE -> Math.addExact(Math.multiplyExact(h + h, psi), Math.multiplyExact(k, perDevice));
            case GRADIENTS -> Math.addExact(Math.multiplyExact(h, psi), Math.multiplyExact(h + k, perDevice));
            case PARAMETERS -> Math.multiplyExact(h + h + k, perDevice);
        };
    }
}

package dev.adamant.zero;

import dev.adamant.core.StateFormat;
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
 *
 * <p><b>8-bit block-wise states</b> ({@link StateFormat#BLOCKWISE_8BIT}, bitsandbytes' format):
 * K = 6 (4 master + 1 + 1 bytes of Adam's two states), plus {@value #ADAM_8BIT_ABSMAX_BYTES_PER_BLOCK}
 * bytes of absmax (a float per state) per block of {@value #BLOCK} parameters a device holds:
 * {@code KΨ/N} becomes {@code 6Ψ/N + 8·ceil(Ψ/N / 256)} (stage 0: {@code 6Ψ + 8·ceil(Ψ/256)}). This
 * counts every parameter as 8-bit, as for tensors of at least the format's {@code minBlockwiseSize}
 * elements; smaller tensors keep fp32 states (K = 12). Each device's slices are whole blocks in
 * ZeRO's layout, so a device's blocks are its parameters / 256, rounded up.
 */
public final class MemoryPlan {
    /** Bytes of optimizer state per parameter in mixed-precision Adam: 4 (master) + 4 (m) + 4 (v). */
    public static final int ADAM_MIXED_PRECISION_K = 12;
    /** Bytes of optimizer state per parameter in mixed-precision Adam with 8-bit states: 4 (master) + 1 (m) + 1 (v). */
    public static final int ADAM_8BIT_MIXED_PRECISION_K = 6;
    /** Bytes of absmax per block with 8-bit Adam: a float for each of the two states. */
    public static final int ADAM_8BIT_ABSMAX_BYTES_PER_BLOCK = 8;
    /** Parameters per block of 8-bit block-wise states. */
    public static final int BLOCK = StateFormat.BLOCK;
    /** Bytes of a 16-bit parameter, and of a 16-bit gradient. */
    public static final int HALF_BYTES = 2;

    private MemoryPlan() {}

    /** Bytes per device with K = 12. */
    public static long bytesPerDevice(ZeroStage stage, long parameters, int devices) {
        return bytesPerDevice(stage, parameters, devices, ADAM_MIXED_PRECISION_K);
    }

    /**
     * Bytes per device for mixed-precision Adam with its state in {@code format}: K = 12 for
     * {@link StateFormat#FP32}; K = 6 plus 8 bytes of absmax per 256 parameters for an 8-bit
     * block-wise format (every parameter counted as 8-bit, see the class description).
     *
     * @throws NullPointerException naming {@code format} if it is null
     * @throws IllegalArgumentException as {@link #bytesPerDevice(ZeroStage, long, int, int)}
     */
    public static long bytesPerDevice(ZeroStage stage, long parameters, int devices, StateFormat format) {
        Objects.requireNonNull(format, "format");
        return format.isBlockwise8()
                ? bytesPerDevice(stage, parameters, devices, ADAM_8BIT_MIXED_PRECISION_K, ADAM_8BIT_ABSMAX_BYTES_PER_BLOCK)
                : bytesPerDevice(stage, parameters, devices, ADAM_MIXED_PRECISION_K);
    }

    /**
     * Bytes per device.
     *
     * @throws IllegalArgumentException if parameters {@code < 0}, devices {@code < 1} or K {@code < 0}
     * @throws ArithmeticException if the result does not fit a long
     */
    public static long bytesPerDevice(ZeroStage stage, long parameters, int devices, int optimizerBytesPerParameter) {
        return bytesPerDevice(stage, parameters, devices, optimizerBytesPerParameter, 0);
    }

    /**
     * Bytes per device with K bytes of optimizer state per parameter plus {@code bytesPerBlock} per
     * block of {@value #BLOCK} parameters that a device's optimizer steps (8-bit states' absmax: 8
     * for Adam, 4 for one-state optimizers; 0 for fp32 states).
     *
     * @throws IllegalArgumentException naming the argument if parameters {@code < 0}, devices
     *     {@code < 1}, K {@code < 0} or bytesPerBlock {@code < 0}
     * @throws ArithmeticException if the result does not fit a long
     */
    public static long bytesPerDevice(ZeroStage stage, long parameters, int devices, int optimizerBytesPerParameter,
                                      int bytesPerBlock) {
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
        if (bytesPerBlock < 0) {
            throw new IllegalArgumentException("bytesPerBlock: expected >= 0, got " + bytesPerBlock);
        }
        long psi = parameters;
        long perDevice = (psi + devices - 1) / devices;
        long k = optimizerBytesPerParameter;
        long h = HALF_BYTES;
        long model = switch (stage) {
            case DATA_PARALLEL -> Math.multiplyExact(h + h + k, psi);
            case OPTIMIZER_STATE -> Math.addExact(Math.multiplyExact(h + h, psi), Math.multiplyExact(k, perDevice));
            case GRADIENTS -> Math.addExact(Math.multiplyExact(h, psi), Math.multiplyExact(h + k, perDevice));
            case PARAMETERS -> Math.multiplyExact(h + h + k, perDevice);
        };
        long stepped = stage == ZeroStage.DATA_PARALLEL ? psi : perDevice;   // parameters its optimizer steps
        return Math.addExact(model, Math.multiplyExact((long) bytesPerBlock, (stepped + BLOCK - 1) / BLOCK));
    }
}

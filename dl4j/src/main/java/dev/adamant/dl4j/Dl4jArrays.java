package dev.adamant.dl4j;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The one place that knows where DL4J keeps an array's floats: checks that an {@link INDArray} is
 * fp32 and contiguous, and wraps its memory as a {@link MemorySegment}. Wrapping costs no copy and
 * no allocation off-heap; it is done again on every call, since DL4J may move an array's buffer.
 */
final class Dl4jArrays {
    private Dl4jArrays() {}

    /**
     * Throws an {@link IllegalArgumentException} naming {@code name} unless {@code array} is a
     * {@link DataType#FLOAT} array laid out contiguously in row-major ('c') order: each dimension of
     * more than one element has the stride of the dimensions after it multiplied. A vector view is
     * both 'c' and 'f' (DL4J flags views of a row vector 'f'); a matrix in 'f' order is refused.
     */
    static void checkFloatContiguous(String name, INDArray array) {
        if (array == null) {
            throw new NullPointerException(name);
        }
        if (array.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException(name + ": expected a FLOAT (fp32) array, got " + array.dataType()
                    + " (Adamant's DL4J updater steps fp32 only)");
        }
        if (!isCContiguous(array)) {
            throw new IllegalArgumentException(name + ": expected a contiguous array in 'c' order, got shape "
                    + Arrays.toString(array.shape()) + ", strides " + Arrays.toString(array.stride())
                    + ", order '" + array.ordering() + "'");
        }
    }

    /** Whether the array's elements lie back to back in row-major order (size-1 dimensions ignored). */
    static boolean isCContiguous(INDArray array) {
        long[] shape = array.shape();
        long[] stride = array.stride();
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] == 1) {
                continue;
            }
            if (stride[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    /**
     * The array's floats as a segment of {@code length() * 4} bytes. The buffer's address pointer
     * already includes a view's offset. The caller has checked the array.
     */
    static MemorySegment segment(INDArray array) {
        long address = array.data().addressPointer().address();
        return MemorySegment.ofAddress(address).reinterpret(array.length() * Float.BYTES);
    }
}

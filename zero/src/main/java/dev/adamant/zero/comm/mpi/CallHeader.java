package dev.adamant.zero.comm.mpi;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.Collective;
import dev.adamant.zero.comm.CollectiveMismatchException;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.internal.Call;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The 64-byte header every MPI collective sends to all ranks before any data moves, so that calls
 * which disagree across ranks fail the same way on every rank instead of corrupting memory. Eight
 * longs in the platform's byte order (all ranks of a job share it):
 * <pre>
 *   long 0  kind       Collective ordinal
 *   long 1  seq        the communicator's sequence number of the call
 *   long 2  precision  Precision ordinal, or -1 (control collectives)
 *   long 3  op         ReduceOp ordinal, or -1
 *   long 4  elements   as {@link Call#elements()}
 *   long 5  root       or -1
 *   long 6  value      anyTrue: 1 or 0; otherwise allReduceMax's float bits (0 for the rest)
 *   long 7  reserved   0
 * </pre>
 * Segments and names are not sent: each rank checks its own buffers, and the ranks' memory is
 * disjoint by construction.
 */
final class CallHeader {
    static final int LONGS = 8;
    static final int BYTES = LONGS * Long.BYTES;
    private static final int KIND = 0, SEQ = 1, PRECISION = 2, OP = 3, ELEMENTS = 4, ROOT = 5, VALUE = 6, RESERVED = 7;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;

    private CallHeader() {}

    /** Writes {@code call}'s header into {@code out} ({@link #BYTES} bytes, 8-byte aligned). */
    static void encode(Call call, MemorySegment out) {
        out.setAtIndex(LONG, KIND, call.kind().ordinal());
        out.setAtIndex(LONG, SEQ, call.seq());
        out.setAtIndex(LONG, PRECISION, call.precision() == null ? -1 : call.precision().ordinal());
        out.setAtIndex(LONG, OP, call.op() == null ? -1 : call.op().ordinal());
        out.setAtIndex(LONG, ELEMENTS, call.elements());
        out.setAtIndex(LONG, ROOT, call.root());
        out.setAtIndex(LONG, VALUE, call.kind() == Collective.ANY_TRUE ? (call.boolValue() ? 1 : 0)
                : Float.floatToRawIntBits(call.floatValue()));
        out.setAtIndex(LONG, RESERVED, 0);
    }

    /**
     * The calls of {@code size} ranks from their headers, back to back in {@code in}, as this rank
     * ({@code rank}, making {@code call}) received them. Does not compare them: see
     * {@link Call#checkGroup}.
     *
     * @throws CollectiveMismatchException if a header holds an ordinal out of range (not Adamant's)
     */
    static Call[] decode(MemorySegment in, int size, int rank, Call call) {
        Call[] calls = new Call[size];
        Collective[] kinds = Collective.values();
        Precision[] precisions = Precision.values();
        ReduceOp[] ops = ReduceOp.values();
        for (int k = 0; k < size; k++) {
            long base = (long) k * LONGS;
            int kind = (int) in.getAtIndex(LONG, base + KIND);
            int prec = (int) in.getAtIndex(LONG, base + PRECISION);
            int op = (int) in.getAtIndex(LONG, base + OP);
            if (kind < 0 || kind >= kinds.length || prec < -1 || prec >= precisions.length || op < -1
                    || op >= ops.length) {
                throw new CollectiveMismatchException("rank " + rank + ": rank " + k + " sent a header that is not"
                        + " Adamant's in " + call.describe() + " (another program on the communicator?)");
            }
            int value = (int) in.getAtIndex(LONG, base + VALUE);
            calls[k] = new Call(kinds[kind], in.getAtIndex(LONG, base + SEQ), prec < 0 ? null : precisions[prec],
                    op < 0 ? null : ops[op], in.getAtIndex(LONG, base + ELEMENTS),
                    (int) in.getAtIndex(LONG, base + ROOT), null, null, null, null, Float.intBitsToFloat(value),
                    value != 0, null);
        }
        return calls;
    }
}

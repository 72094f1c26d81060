package dev.adamant.zero.comm.internal;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.Collective;
import dev.adamant.zero.comm.CollectiveMismatchException;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.ReduceOp;
import java.lang.foreign.MemorySegment;

/**
 * What one rank published for one collective: the call's signature, which every rank must agree
 * on, and the segments its peers will read ({@code read}) or that it will write ({@code write}).
 * Immutable; the scalar fields carry the control collectives' values.
 *
 * @param elements per-rank elements for reduceScatter and allGather (the recv's share), the
 *     buffer's elements for allReduce and broadcast, the array length for allGatherDoubles
 * @param root broadcast's root, else -1
 */
public record Call(Collective kind, long seq, Precision precision, ReduceOp op, long elements, int root,
            String readName, MemorySegment read, String writeName, MemorySegment write,
            float floatValue, boolean boolValue, double[] doubles) {

    public static Call data(Collective kind, long seq, Precision precision, ReduceOp op, long elements, int root,
                     String readName, MemorySegment read, String writeName, MemorySegment write) {
        return new Call(kind, seq, precision, op, elements, root, readName, read, writeName, write, 0f, false, null);
    }

    public static Call control(Collective kind, long seq, long elements, float f, boolean b, double[] d) {
        return new Call(kind, seq, null, null, elements, -1, null, null, null, null, f, b, d);
    }

    /** Whether both ranks made the same call (values and buffers aside). */
    public boolean agrees(Call o) {
        return kind == o.kind && precision == o.precision && op == o.op && elements == o.elements && root == o.root;
    }

    /** {@link Communicator#allReduceMax}'s answer: the ranks' values folded with {@link Math#max} in rank order. */
    public static float maxOf(Call[] calls) {
        float max = calls[0].floatValue;
        for (int k = 1; k < calls.length; k++) {
            max = Math.max(max, calls[k].floatValue);
        }
        return max;
    }

    /** {@link Communicator#anyTrue}'s answer: whether any rank passed true. */
    public static boolean anyOf(Call[] calls) {
        for (Call c : calls) {
            if (c.boolValue) {
                return true;
            }
        }
        return false;
    }

    /** {@code "allReduce(FP32, SUM, 1000 elements) #3"}. */
    public String describe() {
        String args = switch (kind) {
            case REDUCE_SCATTER, ALL_GATHER -> precision + ", " + elements + " elements per rank";
            case ALL_REDUCE -> precision + ", " + op + ", " + elements + " elements";
            case BROADCAST, REDUCE -> precision + ", " + elements + " elements, root " + root;
            case ALL_GATHER_DOUBLES -> elements + " doubles";
            case BARRIER, ALL_REDUCE_MAX, ANY_TRUE -> "";
        };
        return kind.methodName() + "(" + args + ") #" + seq;
    }

    /**
     * Checks that all ranks made the same call and that no rank writes memory another rank uses;
     * returns the problem, or null. Every rank would compute the same answer from the same calls.
     */
    public static RuntimeException checkGroup(Call[] calls) {
        for (Call c : calls) {
            if (!c.agrees(calls[0])) {
                StringBuilder b = new StringBuilder("collective mismatch: the ranks' calls differ");
                for (int r = 0; r < calls.length; r++) {
                    b.append(r == 0 ? ": " : "; ").append("rank ").append(r).append(' ').append(calls[r].describe());
                }
                return new CollectiveMismatchException(b.toString());
            }
        }
        for (int r = 0; r < calls.length; r++) {
            MemorySegment w = calls[r].write;
            if (w == null) {
                continue;
            }
            for (int k = 0; k < calls.length; k++) {
                if (k == r) {
                    continue;
                }
                String other = overlap(w, calls[k]);
                if (other != null) {
                    return new IllegalArgumentException(calls[r].writeName + " of rank " + r + " overlaps " + other
                            + " of rank " + k + " in " + calls[r].describe()
                            + ": a collective must not write memory that another rank uses");
                }
            }
        }
        return null;
    }

    private static String overlap(MemorySegment w, Call other) {
        if (other.read != null && w.asOverlappingSlice(other.read).isPresent()) {
            return other.readName;
        }
        if (other.write != null && w.asOverlappingSlice(other.write).isPresent()) {
            return other.writeName;
        }
        return null;
    }

    @Override
    public String toString() {
        return describe();
    }
}

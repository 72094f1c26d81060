/** Adamant zero: ZeRO stages 1-3 over a communicator. */
module dev.adamant.zero {
    requires transitive dev.adamant.core;
    requires transitive dev.adamant.fp16;

    exports dev.adamant.zero;
    exports dev.adamant.zero.comm;
    exports dev.adamant.zero.comm.inprocess;
    exports dev.adamant.zero.comm.mpi;
    // dev.adamant.zero.comm.internal (what the two backends share) is not exported.
    exports dev.adamant.zero.partition;
}

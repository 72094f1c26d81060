/** ZeRO partitioning and the sharded optimizer (issue 4: only {@link dev.adamant.zero.ZeroStage} so far). */
package dev.adamant.zero;

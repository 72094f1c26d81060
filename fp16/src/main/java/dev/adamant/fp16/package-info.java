/** Half-precision codecs and mixed-precision training state (issue 3: only {@link dev.adamant.fp16.Precision} so far). */
package dev.adamant.fp16;

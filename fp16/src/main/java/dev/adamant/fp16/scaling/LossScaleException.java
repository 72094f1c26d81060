package dev.adamant.fp16.scaling;

/** The loss scale cannot back off any further: the gradients overflow even at the minimum scale. */
public final class LossScaleException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public LossScaleException(String message) {
        super(message);
    }
}

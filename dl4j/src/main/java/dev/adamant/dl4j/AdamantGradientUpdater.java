package dev.adamant.dl4j;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.OptimizerConfig;
import dev.adamant.core.Optimizers;
import dev.adamant.core.StepOptions;
import dev.adamant.core.Team;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;

/**
 * The {@link GradientUpdater} of an {@link AdamantUpdater}: one Adamant step in update mode per
 * {@link #applyUpdater} call, over DL4J's gradient view (the update is written into it) and DL4J's
 * state view (the optimizer's caller-owned state: nothing copied, nothing allocated off-heap).
 *
 * <p>DL4J's buffers are wrapped again at every call (DL4J may reallocate them); the Adamant
 * {@link Optimizer} is kept while the state's address and the gradient's length stay the same, and
 * made anew (cheap: it allocates nothing) when they change. The step number is DL4J's
 * {@code iteration + 1} (DL4J's own {@code Adam} computes {@code beta^(iteration + 1)}), so steps
 * after a restore get the bias corrections of the run they continue.
 *
 * <p>State arrays, by {@link #getState()} key: Adam {@code "M"} ({@code exp_avg}) and {@code "V"}
 * ({@code exp_avg_sq}), as DL4J's {@code AdamUpdater}; SGD with momentum {@code "V"} (PyTorch's
 * {@code momentum_buffer}: DL4J's {@code Nesterovs} keeps {@code -lr} times it); RMSProp {@code "G"}
 * ({@code square_avg}, as DL4J's {@code RmsProp}), then {@code "momentum_buffer"} and {@code "grad_avg"}
 * where the config keeps them.
 *
 * <p>Bad input: a gradient or state that is not a contiguous FLOAT array, or of the wrong length, is
 * refused with an {@link IllegalArgumentException} naming it, before anything is written.
 */
public final class AdamantGradientUpdater implements GradientUpdater<AdamantUpdater> {
    /** One team per thread count, shared by every updater in the JVM; daemon threads, never closed. */
    private static final Map<Integer, Team> TEAMS = new ConcurrentHashMap<>();

    private final AdamantUpdater config;
    /** DL4J's state view (or, from a state map, an array of our own): the optimizer's state, n floats a buffer. */
    private INDArray state;
    private long stateAddress;
    private Optimizer optimizer;
    private long optimizerSize = -1;

    AdamantGradientUpdater(AdamantUpdater config, INDArray viewArray, boolean initialize) {
        this.config = config;
        if (viewArray != null) {
            setStateViewArray(viewArray, null, 'c', initialize);
        }
    }

    AdamantGradientUpdater(AdamantUpdater config, Map<String, INDArray> stateMap, boolean initialize) {
        this.config = config;
        if (stateMap != null && !stateMap.isEmpty()) {
            setState(stateMap, initialize);
        }
    }

    @Override
    public AdamantUpdater getConfig() {
        return config;
    }

    /**
     * Takes {@code viewArray} (DL4J's state view: a contiguous FLOAT vector of
     * {@code config.stateSize(n)} floats) as the state; with {@code initialize}, fills it as a fresh
     * start (zeros; RMSProp's squared average eps under {@link AdamantUpdater.EpsPlacement#DL4J}).
     * The shape and order arguments are not needed: the state is read as flat buffers.
     */
    @Override
    public void setStateViewArray(INDArray viewArray, long[] gradientShape, char gradientOrder, boolean initialize) {
        Dl4jArrays.checkFloatContiguous("viewArray", viewArray);
        int buffers = names().size();
        if (buffers == 0 || viewArray.length() % buffers != 0) {
            throw new IllegalArgumentException("viewArray: expected a multiple of " + buffers + " floats ("
                    + names() + "), got " + viewArray.length());
        }
        if (initialize) {
            initialize(viewArray);
        }
        this.state = viewArray;
        closeOptimizer();
    }

    private void initialize(INDArray view) {
        view.assign(0);
        if (config.getKind() == AdamantUpdater.Kind.RMSPROP
                && config.getEpsPlacement() == AdamantUpdater.EpsPlacement.DL4J) {
            long n = view.length() / names().size();
            view.reshape(view.length()).get(NDArrayIndex.interval(0, n)).assign(config.getEpsilon());
        }
    }

    /** The state buffers by DL4J key (see the class javadoc): live views of the state, not copies. */
    @Override
    public Map<String, INDArray> getState() {
        Map<String, INDArray> map = new LinkedHashMap<>();
        if (state == null) {
            return map;
        }
        List<String> names = names();
        long n = state.length() / names.size();
        INDArray flat = state.reshape(state.length());
        for (int k = 0; k < names.size(); k++) {
            map.put(key(names.get(k)), flat.get(NDArrayIndex.interval(k * n, (k + 1) * n)));
        }
        return map;
    }

    /**
     * Sets the state from arrays by DL4J key. Adamant steps one contiguous state, so the arrays are
     * copied into an array of this updater's own (unless {@code initialize}, which starts it fresh);
     * afterwards {@link #getState()} returns views of that array, and the map's arrays are not updated.
     */
    @Override
    public void setState(Map<String, INDArray> stateMap, boolean initialize) {
        List<String> names = names();
        long n = -1;
        for (String name : names) {
            INDArray a = stateMap.get(key(name));
            if (a == null) {
                throw new IllegalArgumentException("stateMap: expected keys " + names.stream().map(this::key).toList()
                        + ", got " + stateMap.keySet());
            }
            Dl4jArrays.checkFloatContiguous("stateMap[" + key(name) + "]", a);
            if (n >= 0 && a.length() != n) {
                throw new IllegalArgumentException("stateMap[" + key(name) + "]: expected " + n + " floats, got " + a.length());
            }
            n = a.length();
        }
        INDArray own = Nd4j.create(DataType.FLOAT, 1, n * names.size());
        if (initialize) {
            initialize(own);
        } else {
            INDArray flat = own.reshape(own.length());
            for (int k = 0; k < names.size(); k++) {
                flat.get(NDArrayIndex.interval(k * n, (k + 1) * n)).assign(stateMap.get(key(names.get(k))).reshape(n));
            }
        }
        this.state = own;
        closeOptimizer();
    }

    /**
     * One step: writes into {@code gradient} the update DL4J subtracts from the parameters. The
     * learning rate is the config's at ({@code iteration}, {@code epoch}); the step number is
     * {@code iteration + 1}.
     */
    @Override
    public void applyUpdater(INDArray gradient, int iteration, int epoch) {
        Dl4jArrays.checkFloatContiguous("gradient", gradient);
        if (iteration < 0) {
            throw new IllegalArgumentException("iteration: expected >= 0 (DL4J counts from 0), got " + iteration);
        }
        long n = gradient.length();
        List<String> names = names();
        if (!names.isEmpty()) {
            if (state == null) {
                throw new IllegalStateException("this updater has no state view: DL4J did not give one to "
                        + config + " (stateSize " + config.stateSize(n) + ")");
            }
            Dl4jArrays.checkFloatContiguous("state", state);
            if (state.length() != n * names.size()) {
                throw new IllegalArgumentException("gradient: expected " + state.length() / names.size()
                        + " floats (the state view holds " + names.size() + " buffers of that), got " + n);
            }
        }
        long t = iteration + 1L;
        double lr = config.getLearningRate(iteration, epoch);
        OptimizerConfig step = config.toConfig(lr);
        if (step instanceof AdamConfig adam && config.getEpsPlacement() == AdamantUpdater.EpsPlacement.DL4J) {
            // DL4J: sqrt(v) + eps before the bias correction == PyTorch's with eps / sqrt(1 - b2^t).
            step = adam.withEps(adam.eps() / Math.sqrt(1 - Math.pow(adam.beta2(), t)));
        }
        Optimizer opt = optimizer(n, step);
        MemorySegment grads = Dl4jArrays.segment(gradient);
        StepOptions options = StepOptions.number(t).withGradScale(config.getGradientScale());
        int threads = config.getThreads();
        if (threads == 1) {
            opt.update(null, grads, grads, options);
        } else {
            opt.update(null, grads, grads, options, TEAMS.computeIfAbsent(threads, Team::create));
        }
    }

    /** The optimizer over the state as it is now: made again if DL4J moved the state or the size changed. */
    private Optimizer optimizer(long n, OptimizerConfig step) {
        MemorySegment stateSegment = state == null || names().isEmpty() ? null : Dl4jArrays.segment(state);
        long address = stateSegment == null ? 0 : stateSegment.address();
        if (optimizer == null || optimizerSize != n || stateAddress != address) {
            closeOptimizer();
            optimizer = Optimizers.create(step, n, stateSegment);
            optimizerSize = n;
            stateAddress = address;
        } else {
            optimizer.setConfig(step);
        }
        return optimizer;
    }

    private void closeOptimizer() {
        if (optimizer != null) {
            optimizer.close();
            optimizer = null;
        }
    }

    private List<String> names() {
        return config.toConfig(0).stateNames();
    }

    private String key(String name) {
        return switch (name) {
            case "exp_avg" -> "M";
            case "exp_avg_sq" -> "V";
            case "momentum_buffer" -> config.getKind() == AdamantUpdater.Kind.SGD ? "V" : name;
            case "square_avg" -> "G";
            default -> name;
        };
    }
}

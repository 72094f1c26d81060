package dev.adamant.dl4j;

import java.io.DataOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;

/**
 * Run in a fresh JVM by {@link Dl4jSerializerTest}: restores a network saved by {@code ModelSerializer}
 * (with its updater state), trains it {@code args[1]} more iterations on Iris and writes its
 * parameters' float bits and the updater's class name to {@code args[2]}.
 */
public final class Dl4jResumeMain {
    private Dl4jResumeMain() {}

    public static void main(String[] args) throws IOException {
        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(new File(args[0]), true);
        Dl4jFixtures.train(net, Dl4jFixtures.iris(), Integer.parseInt(args[1]));
        float[] params = net.params().toFloatVector();
        try (DataOutputStream out = new DataOutputStream(new FileOutputStream(args[2]))) {
            out.writeUTF(net.getLayerWiseConfigurations().getConf(0).getLayer().getUpdaterByParam("W").getClass().getName());
            out.writeInt(net.getIterationCount());
            out.writeInt(params.length);
            for (float p : params) {
                out.writeInt(Float.floatToRawIntBits(p));
            }
        }
    }
}

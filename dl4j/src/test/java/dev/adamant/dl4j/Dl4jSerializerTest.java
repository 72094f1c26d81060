package dev.adamant.dl4j;

import static dev.adamant.dl4j.Dl4jFixtures.iris;
import static dev.adamant.dl4j.Dl4jFixtures.irisNetwork;
import static dev.adamant.dl4j.Dl4jFixtures.train;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.File;
import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;

/**
 * ModelSerializer saves the updater's state (DL4J's state view, which Adamant steps in place);
 * restored in a fresh JVM, the network continues bit for bit as the run straight through.
 */
class Dl4jSerializerTest {
    static final int BEFORE = 40;
    static final int AFTER = 40;

    @Test
    void savedMidTrainingRestoredInAFreshJvmContinuesBitForBit(@TempDir Path dir) throws Exception {
        DataSet data = iris();
        MultiLayerNetwork net = irisNetwork(AdamantUpdater.adam(0.01).withEpsPlacement(AdamantUpdater.EpsPlacement.DL4J),
                b -> b.weightDecay(1e-3));
        train(net, data, BEFORE);
        File model = dir.resolve("iris.zip").toFile();
        ModelSerializer.writeModel(net, model, true);
        // a restore in this JVM sees the same state
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(model, true);
        assertArrayEquals(net.getUpdater().getStateViewArray().toFloatVector(),
                restored.getUpdater().getStateViewArray().toFloatVector());
        train(net, data, AFTER);
        float[] straight = net.params().toFloatVector();

        File out = dir.resolve("params.bin").toFile();
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dadamant.kernels=" + System.getProperty("adamant.kernels", "auto")));
        String extension = System.getProperty("org.bytedeco.javacpp.platform.extension");
        if (extension != null && !extension.isEmpty()) {
            command.add("-Dorg.bytedeco.javacpp.platform.extension=" + extension);
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Dl4jResumeMain.class.getName(),
                model.toString(), Integer.toString(AFTER), out.toString()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(3, TimeUnit.MINUTES), output);
        assertEquals(0, child.exitValue(), output);

        try (DataInputStream in = new DataInputStream(new FileInputStream(out))) {
            assertEquals(AdamantUpdater.class.getName(), in.readUTF());
            assertEquals(BEFORE + AFTER, in.readInt());
            float[] resumed = new float[in.readInt()];
            for (int i = 0; i < resumed.length; i++) {
                resumed[i] = Float.intBitsToFloat(in.readInt());
            }
            assertArrayEquals(straight, resumed, "the restored run left the straight one");
        }
    }
}

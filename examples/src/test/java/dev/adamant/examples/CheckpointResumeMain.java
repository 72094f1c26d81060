package dev.adamant.examples;

import dev.adamant.zero.ZeroRun;
import dev.adamant.zero.ZeroStage;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The fresh JVM of {@link ZeroCheckpointTest}: {@code CheckpointResumeMain CASES_FILE}, each line
 * {@code STAGE DEVICES PRECISION ROUNDING STEPS CHECKPOINT_FOLDER OUT_FILE}: resumes the run from the
 * folder's newest checkpoint, trains on to STEPS, and writes the final 16-bit parameters and every
 * resumed step's loss bits to OUT_FILE.
 */
public final class CheckpointResumeMain {
    private CheckpointResumeMain() {}

    public static void main(String[] args) throws IOException {
        List<String> lines = Files.readAllLines(Path.of(args[0]));
        for (String line : lines) {
            String[] w = line.split(" ");
            ZeroTraining.Options o = ZeroCheckpointTest.options(ZeroStage.of(Integer.parseInt(w[0])), Integer.parseInt(w[1]),
                    w[2], w[3], Integer.parseInt(w[4]));
            ZeroRun.Result r = ZeroTraining.run(o, new ZeroRun.Checkpointing(null, 0, Path.of(w[5])), s -> { });
            try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(Path.of(w[6])))) {
                ZeroCheckpointTest.write(out, r);
            }
            System.out.println("resumed " + line);
        }
    }
}

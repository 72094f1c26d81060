package dev.adamant.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.StateFormat;
import dev.adamant.fp16.Precision;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The planner's command line: options, the table's rows, and a PNG that decodes at its size. */
class ZeroPlanTest {
    @Test
    void parsesOptionsAndRefusesBadOnesNamingThem() {
        ZeroPlan.Options o = ZeroPlan.parse(new String[] {"--link-gbps", "2.5", "--latency-us", "50", "--states", "8bit",
                "--precision", "fp16", "--max-devices", "64", "--png", "x.png"});
        assertEquals(2.5, o.linkGbps());
        assertEquals(50, o.latencyMicros());
        assertEquals(StateFormat.BLOCKWISE_8BIT, o.states());
        assertEquals(Precision.FP16, o.precision());
        assertEquals(64, o.maxDevices());
        assertEquals(Path.of("x.png"), o.png());
        assertNull(ZeroPlan.parse(new String[] {"--help"}));
        for (String[] bad : List.of(new String[] {"--link-gbps", "0"}, new String[] {"--link-gbps", "fast"},
                new String[] {"--latency-us", "-1"}, new String[] {"--states", "4bit"}, new String[] {"--precision", "fp32"},
                new String[] {"--max-devices", "0"}, new String[] {"--states"})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ZeroPlan.parse(bad));
            assertTrue(e.getMessage().startsWith(bad[0]), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ZeroPlan.parse(new String[] {"--nodes", "2"}))
                .getMessage().contains("--nodes"));
    }

    @Test
    void tableHasARowPerPowerOfTwoAndThePngDecodes(@TempDir Path dir) throws Exception {
        ZeroPlan.Options o = ZeroPlan.parse(new String[] {"--max-devices", "1024"});
        List<ZeroPlan.Row> rows = ZeroPlan.plan(Gpt2Shapes.sizes(), o);
        assertEquals(11, rows.size());
        String table = ZeroPlan.table(rows, o);
        assertTrue(table.contains("124,439,808 parameters"), table);
        assertTrue(table.lines().anyMatch(l -> l.trim().startsWith("1024 |")), table);
        // Stage 0 holds 16 bytes a parameter at any N (plus padding): about 1.85 GiB for GPT-2 small.
        assertEquals(124_439_808L * 16 / (double) (1L << 30), rows.get(0).stages()[0].totalBytes() / (double) (1L << 30),
                0.01);
        Path png = dir.resolve("plan.png");
        ZeroPlan.writePng(rows, o, png);
        assertTrue(Files.size(png) > 1000);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "decodes as an image");
        assertEquals(ZeroPlan.WIDTH, img.getWidth());
        assertEquals(ZeroPlan.HEIGHT, img.getHeight());
        // Not blank: each stage's colour appears somewhere.
        int red = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if ((img.getRGB(x, y) & 0xffffff) == 0xd62728) {
                    red++;
                }
            }
        }
        assertTrue(red > 50, "stage 3's line is drawn: " + red + " pixels");
    }
}

package dev.adamant.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.dl4j.AdamantUpdater.EpsPlacement;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

/** The updater in DL4J's JSON configuration and in Java serialization: a round trip gives an equal updater. */
class Dl4jJsonTest {
    static final List<AdamantUpdater> UPDATERS = List.of(
            AdamantUpdater.adam(1e-3),
            AdamantUpdater.adam(2e-3).withBetas(0.8, 0.99).withEpsilon(1e-6).withEpsPlacement(EpsPlacement.DL4J)
                    .withThreads(2).withGradientScale(1.0 / 32),
            AdamantUpdater.adam(1e-3).withSchedule(new ExponentialSchedule(ScheduleType.ITERATION, 0.01, 0.99)),
            AdamantUpdater.sgd(0.1),
            AdamantUpdater.nesterovs(0.05, 0.9),
            AdamantUpdater.rmsProp(1e-2).withRmsDecay(0.9).withMomentum(0.5).withCentered(true),
            AdamantUpdater.rmsProp(1e-2).withSchedule(new MapSchedule(ScheduleType.EPOCH, java.util.Map.of(0, 0.1, 5, 0.01))));

    @Test
    void multiLayerConfigurationJsonRoundTripGivesAnEqualUpdater() {
        for (AdamantUpdater u : UPDATERS) {
            MultiLayerConfiguration conf = Dl4jFixtures.irisNetwork(u, b -> b).getLayerWiseConfigurations();
            String json = conf.toJson();
            assertTrue(json.contains(AdamantUpdater.class.getName()), json);
            MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(json);
            assertEquals(conf, back, "configuration after the round trip of " + u);
            Object updater = ((BaseLayer) back.getConf(0).getLayer()).getIUpdater();
            assertEquals(u, updater);
            assertEquals(u.hashCode(), updater.hashCode());
        }
    }

    @Test
    void javaSerializationAndCloneGiveAnEqualUpdater() throws Exception {
        for (AdamantUpdater u : UPDATERS) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(u);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                assertEquals(u, in.readObject());
            }
            assertEquals(u, u.clone());
        }
        assertNotEquals(AdamantUpdater.adam(1e-3), AdamantUpdater.adam(1e-3).withThreads(2));
    }
}

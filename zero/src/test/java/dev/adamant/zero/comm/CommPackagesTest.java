package dev.adamant.zero.comm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The module exports the comm API and its two backends, and keeps what they share to itself. */
class CommPackagesTest {

    @Test
    void internalIsNotExported() throws Exception {
        Set<String> comm = new TreeSet<>();
        for (ModuleDescriptor.Exports e : zeroModule().exports()) {
            if (e.source().startsWith("dev.adamant.zero.comm")) {
                comm.add(e.source() + (e.isQualified() ? " to " + e.targets() : ""));
            }
        }
        assertEquals(Set.of("dev.adamant.zero.comm", "dev.adamant.zero.comm.inprocess", "dev.adamant.zero.comm.mpi"),
                comm);
    }

    /** The descriptor of the module Communicator came from, whether the tests run on the module path or not. */
    private static ModuleDescriptor zeroModule() throws Exception {
        Module module = Communicator.class.getModule();
        if (module.isNamed()) {
            return module.getDescriptor();
        }
        // The class path: read module-info.class where the classes are (target/classes or the jar).
        Path where = Path.of(Communicator.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<ModuleReference> found = List.copyOf(ModuleFinder.of(where).findAll());
        assertEquals(1, found.size(), "modules at " + where);
        return found.get(0).descriptor();
    }
}

package dev.adamant.zero.comm.mpi;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Hosts on one machine: network namespaces on a bridge, for running an MPI job as if across hosts.
 *
 * <p>Host {@code i} (1 to k) is namespace {@code <prefix>-h<i>} with address {@code 10.77.S.i} on a
 * veth whose other end is a port of a bridge in the root namespace; {@code mpirun} runs in one more,
 * the launcher's ({@link #launcher()}, {@code 10.77.S.254}). {@code S} and the prefix are drawn per
 * instance, so two instances do not meet. Every namespace's TCP gives up on a peer after 5
 * retransmissions (about 13 s): the only change of a setting, and it stays in the namespaces. {@code mpirun} starts each host's daemon
 * through an rsh agent written here, {@code ip netns exec <namespace> sh -c "$*"} for host
 * {@code 10.77.S.i} (in a UTS namespace named after the host: Open MPI tells nodes apart by their
 * hostnames), and its options ({@link #mpirunOptions}) keep MPI's traffic on TCP over these
 * links: {@code --mca btl tcp,self} (with {@code vader} for ranks of one host, which share memory
 * there) and both the MPI and the runtime's TCP restricted to the subnet. The runtime's TCP
 * keepalives are short (1 s idle, 1 s apart, 5 probes), so that {@code mpirun} notices a host whose
 * link went down within seconds instead of the default 8 minutes.
 *
 * <p>{@link #shape} puts a token bucket ({@code tc tbf}) on both ends of every host's link: the
 * host's sending and its receiving are each limited to the rate, a full-duplex NIC. This kernel has
 * no {@code netem}, so no latency can be added: a link's latency is the veth's (tens of µs).
 *
 * <p>{@link #close} kills what runs in the namespaces and removes the namespaces, links, bridge and
 * files; it is idempotent and also runs at JVM exit if a test did not get to it.
 */
final class SimulatedHosts implements AutoCloseable {
    private final String prefix;
    private final int subnet;
    private final int hosts;
    private final Path dir;
    private final Thread cleanup;
    private boolean closed;

    private SimulatedHosts(String prefix, int subnet, int hosts, Path dir) {
        this.prefix = prefix;
        this.subnet = subnet;
        this.hosts = hosts;
        this.dir = dir;
        this.cleanup = new Thread(this::removeAll, prefix + "-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    /**
     * Why namespaces cannot be made here (not root, no {@code ip}), or empty. Tests skip with the
     * reason, or fail where {@code ADAMANT_REQUIRE_NETNS=1} (as {@code .ci/run} sets it).
     */
    static Optional<String> unavailableReason() {
        if (MpiJob.onPath("ip") == null && !Files.isExecutable(Path.of("/usr/sbin/ip"))) {
            return Optional.of("no ip command (apt-get install iproute2)");
        }
        String probe = "admprobe" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 16));
        try {
            Run add = run("ip", "netns", "add", probe);
            if (add.code() != 0) {
                return Optional.of("ip netns add is refused here (root is needed): " + add.output().strip());
            }
            run("ip", "netns", "del", probe);
        } catch (IOException e) {
            return Optional.of("cannot run ip: " + e.getMessage());
        }
        return Optional.empty();
    }

    /** Skips the calling test class (or fails it under {@code ADAMANT_REQUIRE_NETNS=1}) where namespaces cannot be made. */
    static void require() {
        Optional<String> why = unavailableReason();
        if (why.isPresent()) {
            if ("1".equals(System.getenv("ADAMANT_REQUIRE_NETNS"))) {
                fail("ADAMANT_REQUIRE_NETNS=1 but network namespaces cannot be made here: " + why.get());
            }
            Assumptions.abort("skipping the multi-host tests: " + why.get());
        }
    }

    /** Makes {@code hosts} hosts (1 to 250) with {@code slots} MPI slots each. */
    static SimulatedHosts create(int hosts, int slots) throws IOException {
        if (hosts < 1 || hosts > 250) {
            throw new IllegalArgumentException("hosts: expected 1 to 250, got " + hosts);
        }
        if (slots < 1) {
            throw new IllegalArgumentException("slots: expected >= 1, got " + slots);
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        String prefix = String.format(Locale.ROOT, "adm%04x", r.nextInt(1 << 16));
        int subnet = 1 + r.nextInt(250);
        SimulatedHosts h = new SimulatedHosts(prefix, subnet, hosts, Files.createTempDirectory(prefix));
        try {
            h.build(slots);
        } catch (IOException | RuntimeException | Error e) {
            h.close();
            throw e;
        }
        return h;
    }

    private void build(int slots) throws IOException {
        check("ip", "link", "add", bridge(), "type", "bridge");
        check("ip", "link", "set", bridge(), "up");
        StringBuilder hostfile = new StringBuilder();
        for (int i = 1; i <= hosts; i++) {
            addHost(i);
            hostfile.append(address(i)).append(" slots=").append(slots).append('\n');
        }
        addHost(LAUNCHER);
        Files.writeString(dir.resolve("hostfile"), hostfile.toString());

        // Open MPI calls the agent as "agent [options] HOST COMMAND...".
        // Each host also gets a hostname of its own (a UTS namespace for its daemon): Open MPI tells
        // nodes apart by name, and would otherwise take every rank for a neighbour in shared memory.
        String agent = "#!/bin/sh\n"
                + "while [ $# -gt 0 ]; do case \"$1\" in -*) shift;; *) break;; esac; done\n"
                + "host=$1; shift\n"
                + "ns=" + prefix + "-h\"${host##*.}\"\n"
                + "exec ip netns exec \"$ns\" unshare --uts /bin/sh -c 'hostname \"$0\" && exec /bin/sh -c \"$1\"' \"$ns\" \"$*\"\n";
        Path script = dir.resolve("agent");
        Files.writeString(script, agent);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    }

    /**
     * Host {@code i} (or the launcher, {@value #LAUNCHER}): a namespace, a veth to the bridge, its
     * address, and TCP that gives up on an unanswered connection after 5 retransmissions (about 13 s)
     * instead of 15 (about 15 minutes), so that {@code mpirun} and the daemons learn of a host that
     * is gone while they are sending to it, and that does not fall back to slow start after a
     * connection idles.
     */
    private void addHost(int i) throws IOException {
        check("ip", "netns", "add", namespace(i));
        check("ip", "link", "add", hostEnd(i), "type", "veth", "peer", "name", bridgeEnd(i));
        check("ip", "link", "set", hostEnd(i), "netns", namespace(i));
        check("ip", "link", "set", bridgeEnd(i), "master", bridge());
        check("ip", "link", "set", bridgeEnd(i), "up");
        inHost(i, "ip", "addr", "add", address(i) + "/24", "dev", hostEnd(i));
        inHost(i, "ip", "link", "set", hostEnd(i), "up");
        inHost(i, "ip", "link", "set", "lo", "up");
        inHost(i, "sysctl", "-q", "-w", "net.ipv4.tcp_retries2=5");
        // No slow start after an idle moment (a step's compute between its collectives), as HPC hosts run.
        inHost(i, "sysctl", "-q", "-w", "net.ipv4.tcp_slow_start_after_idle=0");
    }

    /** The launcher's host number: {@code mpirun} runs in a namespace of its own, at {@code 10.77.S.254}. */
    static final int LAUNCHER = 254;

    /** The command prefix that runs {@code mpirun} in the launcher's namespace. */
    List<String> launcher() {
        return List.of("ip", "netns", "exec", namespace(LAUNCHER));
    }

    int hosts() {
        return hosts;
    }

    String address(int host) {
        return "10.77." + subnet + "." + host;
    }

    /**
     * {@code mpirun}'s options for these hosts: the hostfile, the agent, TCP only on the subnet (and
     * shared memory between ranks of one host where {@code sharedMemory}), short runtime keepalives,
     * and ranks that wait without spinning (the hosts share this machine's processors).
     */
    List<String> mpirunOptions(boolean sharedMemory) {
        String net = "10.77." + subnet + ".0/24";
        return List.of("--hostfile", dir.resolve("hostfile").toString(),
                "--mca", "plm_rsh_agent", dir.resolve("agent").toString(),
                "--mca", "btl", sharedMemory ? "tcp,vader,self" : "tcp,self",
                "--mca", "btl_tcp_if_include", net, "--mca", "oob_tcp_if_include", net,
                "--mca", "oob_tcp_keepalive_time", "1", "--mca", "oob_tcp_keepalive_intvl", "1",
                "--mca", "oob_tcp_keepalive_probes", "5",
                "-x", "ADAMANT_MPI_PARK=1");   // the hosts share this machine's processors: wait without spinning
    }

    /** Limits every host's link to {@code gbps} Gbit/s each way (a token bucket on both ends). */
    void shape(double gbps) throws IOException {
        long bitsPerSecond = Math.round(gbps * 1e9);
        // A bucket of BURST_MS at the rate (at least 64 KiB): a smaller one runs dry between the kernel's refills.
        long burst = Math.max(64 * 1024, (long) (bitsPerSecond / 8 * BURST_MS / 1000));
        for (int i = 1; i <= hosts; i++) {
            String[] tbf = {"root", "tbf", "rate", bitsPerSecond + "bit", "burst", String.valueOf(burst), "latency", "50ms"};
            check(concat(new String[] {"tc", "qdisc", "replace", "dev", bridgeEnd(i)}, tbf));
            inHost(i, concat(new String[] {"tc", "qdisc", "replace", "dev", hostEnd(i)}, tbf));
        }
    }

    /** The token bucket's size in milliseconds at the rate ({@code -Dadamant.tbf.burstMs}, default 10). */
    static final double BURST_MS = Double.parseDouble(System.getProperty("adamant.tbf.burstMs", "10"));

    /** Takes host {@code host}'s link down (its bridge end): nothing reaches it or leaves it. */
    void linkDown(int host) throws IOException {
        check("ip", "link", "set", bridgeEnd(host), "down");
    }

    /** Bytes host {@code host} has sent over its link (the bridge end's receive counter). */
    long bytesSent(int host) throws IOException {
        return Long.parseLong(Files.readString(Path.of("/sys/class/net", bridgeEnd(host), "statistics", "rx_bytes"))
                .strip());
    }

    /** Kills what runs in the namespaces, removes them, the links, the bridge and the files. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        removeAll();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException e) {
            // the JVM is exiting: the hook runs (or ran) removeAll itself
        }
    }

    private void removeAll() {
        List<Integer> all = new ArrayList<>();
        for (int i = 1; i <= hosts; i++) {
            all.add(i);
        }
        all.add(LAUNCHER);
        for (int i : all) {
            try {
                Run pids = run("ip", "netns", "pids", namespace(i));
                for (String pid : pids.output().split("\\s+")) {
                    if (!pid.isBlank()) {
                        ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                }
                run("ip", "netns", "del", namespace(i));
                run("ip", "link", "del", bridgeEnd(i));
            } catch (IOException | NumberFormatException e) {
                // best effort: go on removing the rest
            }
        }
        try {
            run("ip", "link", "del", bridge());
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // best effort
        }
    }

    private String namespace(int host) {
        return prefix + "-h" + host;
    }

    private String bridge() {
        return prefix + "-br";
    }

    private String hostEnd(int host) {
        return prefix + "-" + host + "h";
    }

    private String bridgeEnd(int host) {
        return prefix + "-" + host + "b";
    }

    private void inHost(int host, String... command) throws IOException {
        check(concat(new String[] {"ip", "netns", "exec", namespace(host)}, command));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private record Run(int code, String output) {}

    private static Run run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": did not finish in 30 s");
            }
            return new Run(p.exitValue(), out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(String.join(" ", command) + ": interrupted", e);
        }
    }

    private static void check(String... command) throws IOException {
        Run r = run(command);
        if (r.code() != 0) {
            throw new IOException(String.join(" ", command) + " failed (" + r.code() + "): " + r.output().strip());
        }
    }

    @Override
    public String toString() {
        List<String> addresses = new ArrayList<>();
        for (int i = 1; i <= hosts; i++) {
            addresses.add(namespace(i) + "=" + address(i));
        }
        return hosts + " simulated hosts " + addresses;
    }
}

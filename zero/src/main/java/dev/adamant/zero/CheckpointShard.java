package dev.adamant.zero;

import dev.adamant.fp16.Precision;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * One device's file of a checkpoint ({@link ZeroCheckpoint} documents the format): writing it from
 * off-heap segments and reading its header and buffers back, with every check that gives a refusal
 * its own message.
 */
final class CheckpointShard {
    static final byte[] MAGIC = "ADMNTCKP".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    /** Magic (8), version, header length, header CRC32C, reserved (4 bytes each, little-endian). */
    static final int FIXED = 24;
    /** Buffers start at multiples of this: page-aligned for mapping. */
    static final int ALIGN = 4096;
    /** CRC and copy work in chunks of this many bytes, so each chunk is still in cache for the other. */
    private static final long CHUNK = 4L << 20;

    private CheckpointShard() {}

    /** One raw buffer of the file: elements {@code [from, from + count)} of a tensor's {@code kind}. */
    record Buffer(int tensor, String kind, Precision dtype, long from, long count, long offset, int crc) {
        long bytes() {
            return count * dtype.bytes();
        }

        String describe(List<String> names) {
            return kind + " of tensor " + names.get(tensor) + " [" + from + ", " + (from + count) + ")";
        }
    }

    /** A buffer to write: which elements, and the segment holding exactly them. */
    record Source(int tensor, String kind, Precision dtype, long from, MemorySegment data) {}

    /** What a shard's header says. */
    record Header(Path file, long fileSize, int shard, int shards, String library, String byteOrder, String stage,
                  Map<String, String> config, long iterations, long optimizerSteps, DynamicLossScaler.State scaler,
                  List<String> tensorNames, List<Long> tensorLengths, List<Buffer> buffers) {}

    /** The header's fields other than the buffers, for {@link #write}. */
    record Fields(int shard, int shards, String library, String stage, Map<String, String> config, long iterations,
                  long optimizerSteps, DynamicLossScaler.State scaler, List<String> tensorNames, List<Long> tensorLengths) {}

    /**
     * Writes {@code file} (which must not exist): header, then each source's bytes at a 4096-byte
     * aligned offset straight from its segment, each with its CRC32C; then forces it to disk.
     */
    static void write(Path file, Fields f, List<Source> sources) throws IOException {
        // Offsets and CRCs print at fixed widths, so the header's length is known before their values are.
        List<Buffer> planned = new ArrayList<>();
        for (Source src : sources) {
            planned.add(new Buffer(src.tensor(), src.kind(), src.dtype(), src.from(),
                    src.data().byteSize() / src.dtype().bytes(), 0, 0));
        }
        long offset = align(FIXED + headerText(f, planned).length);
        for (int i = 0; i < planned.size(); i++) {
            Buffer b = planned.get(i);
            planned.set(i, new Buffer(b.tensor(), b.kind(), b.dtype(), b.from(), b.count(), offset, 0));
            offset = align(offset + b.bytes());
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            List<Buffer> written = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                Buffer b = planned.get(i);
                int crc = writeWithCrc(ch, sources.get(i).data(), b.offset());
                written.add(new Buffer(b.tensor(), b.kind(), b.dtype(), b.from(), b.count(), b.offset(), crc));
            }
            byte[] text = headerText(f, written);
            ByteBuffer head = ByteBuffer.allocate(FIXED + text.length).order(ByteOrder.LITTLE_ENDIAN);
            CRC32C crc = new CRC32C();
            crc.update(text);
            head.put(MAGIC).putInt(VERSION).putInt(text.length).putInt((int) crc.getValue()).putInt(0).put(text).flip();
            while (head.hasRemaining()) {
                ch.write(head, head.position());
            }
            ch.force(true);
        }
    }

    private static long align(long x) {
        return (x + ALIGN - 1) / ALIGN * ALIGN;
    }

    /** Writes {@code data} at {@code position} in chunks, each CRC'd just before it is written; returns the CRC32C. */
    private static int writeWithCrc(FileChannel ch, MemorySegment data, long position) throws IOException {
        CRC32C crc = new CRC32C();
        for (long off = 0; off < data.byteSize(); off += CHUNK) {
            ByteBuffer chunk = data.asSlice(off, Math.min(CHUNK, data.byteSize() - off)).asByteBuffer();
            crc.update(chunk.duplicate());
            long at = position + off;
            while (chunk.hasRemaining()) {
                at += ch.write(chunk, at);
            }
        }
        return (int) crc.getValue();
    }

    /**
     * The header text: one field a line. Offsets are printed as fixed-width decimals and CRCs as 8
     * hex digits, so the length does not depend on their values.
     */
    private static byte[] headerText(Fields f, List<Buffer> buffers) {
        StringBuilder b = new StringBuilder();
        b.append("adamant-checkpoint ").append(VERSION).append('\n');
        b.append("library ").append(f.library()).append('\n');
        b.append("byte-order ").append(ByteOrder.nativeOrder()).append('\n');
        b.append("shard ").append(f.shard()).append(" of ").append(f.shards()).append('\n');
        b.append("stage ").append(f.stage()).append('\n');
        for (Map.Entry<String, String> e : f.config().entrySet()) {
            b.append("config ").append(e.getKey()).append('=').append(e.getValue()).append('\n');
        }
        b.append("iterations ").append(f.iterations()).append('\n');
        b.append("optimizer-steps ").append(f.optimizerSteps()).append('\n');
        DynamicLossScaler.State s = f.scaler();
        b.append("scaler ").append(Float.floatToRawIntBits(s.scale())).append(' ').append(s.goodSteps()).append(' ')
                .append(s.hysteresisLeft()).append('\n');
        for (int i = 0; i < f.tensorNames().size(); i++) {
            b.append("tensor ").append(URLEncoder.encode(f.tensorNames().get(i), StandardCharsets.UTF_8)).append(' ')
                    .append(f.tensorLengths().get(i)).append('\n');
        }
        for (Buffer x : buffers) {
            b.append(String.format(Locale.ROOT, "buffer %d %s %s %d %d %020d %08x%n", x.tensor(), x.kind(), x.dtype(),
                    x.from(), x.count(), x.offset(), x.crc()));
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Reads and checks {@code file}'s header: magic, format version, header CRC, byte order, and
     * that the file is long enough for every buffer it lists. Reads nothing else.
     *
     * @throws CheckpointException naming the file and what is wrong
     */
    static Header read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < FIXED) {
                throw new CheckpointException(file + ": truncated: " + size + " bytes, shorter than the "
                        + FIXED + "-byte start of a checkpoint shard");
            }
            ByteBuffer fixed = ByteBuffer.allocate(FIXED).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, fixed, 0);
            fixed.flip();
            byte[] magic = new byte[8];
            fixed.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new CheckpointException(file + ": not an Adamant checkpoint shard: it starts with "
                        + printable(magic) + ", expected " + printable(MAGIC));
            }
            int version = fixed.getInt(), length = fixed.getInt(), headerCrc = fixed.getInt();
            if (version > VERSION || version < 1) {
                throw new CheckpointException(file + ": format version " + version + (version > VERSION
                        ? " is newer than this library reads (" + VERSION + "): restore it with a newer Adamant"
                        : " is not a version any Adamant wrote"));
            }
            if (length < 0 || FIXED + (long) length > size) {
                throw new CheckpointException(file + ": truncated: the header says it is " + length
                        + " bytes, the file has " + size + " bytes in all");
            }
            ByteBuffer text = ByteBuffer.allocate(length);
            readFully(ch, text, FIXED);
            CRC32C crc = new CRC32C();
            crc.update(text.array());
            if ((int) crc.getValue() != headerCrc) {
                throw new CheckpointException(file + String.format(Locale.ROOT,
                        ": header CRC32C mismatch (stored %08x, computed %08x): the header is corrupt", headerCrc,
                        (int) crc.getValue()));
            }
            Header h = parse(file, size, new String(text.array(), StandardCharsets.UTF_8));
            if (!h.byteOrder().equals(ByteOrder.nativeOrder().toString())) {
                throw new CheckpointException(file + ": written on a " + h.byteOrder() + " machine, this one is "
                        + ByteOrder.nativeOrder() + ": its raw buffers cannot be read here");
            }
            for (Buffer b : h.buffers()) {
                if (b.offset() + b.bytes() > size) {
                    throw new CheckpointException(file + ": truncated: " + b.describe(h.tensorNames()) + " ends at byte "
                            + (b.offset() + b.bytes()) + ", the file has " + size + " bytes");
                }
            }
            return h;
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e, e);
        }
    }

    private static Header parse(Path file, long size, String text) {
        int shard = -1, shards = -1;
        String library = null, order = null, stage = null;
        Map<String, String> config = new LinkedHashMap<>();
        long iterations = -1, steps = -1;
        DynamicLossScaler.State scaler = null;
        List<String> names = new ArrayList<>();
        List<Long> lengths = new ArrayList<>();
        List<Buffer> buffers = new ArrayList<>();
        try {
            for (String line : text.split("\n")) {
                if (line.isEmpty()) {
                    continue;
                }
                String[] w = line.split(" ");
                switch (w[0]) {
                    case "adamant-checkpoint", "byte-order" -> {
                        if (w[0].equals("byte-order")) {
                            order = w[1];
                        }
                    }
                    case "library" -> library = line.substring(8);
                    case "shard" -> {
                        shard = Integer.parseInt(w[1]);
                        shards = Integer.parseInt(w[3]);
                    }
                    case "stage" -> stage = w[1];
                    case "config" -> {
                        String kv = line.substring(7);
                        int eq = kv.indexOf('=');
                        config.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                    case "iterations" -> iterations = Long.parseLong(w[1]);
                    case "optimizer-steps" -> steps = Long.parseLong(w[1]);
                    case "scaler" -> scaler = new DynamicLossScaler.State(Float.intBitsToFloat(Integer.parseInt(w[1])),
                            Integer.parseInt(w[2]), Integer.parseInt(w[3]));
                    case "tensor" -> {
                        names.add(URLDecoder.decode(w[1], StandardCharsets.UTF_8));
                        lengths.add(Long.parseLong(w[2]));
                    }
                    case "buffer" -> buffers.add(new Buffer(Integer.parseInt(w[1]), w[2], Precision.valueOf(w[3]),
                            Long.parseLong(w[4]), Long.parseLong(w[5]), Long.parseLong(w[6]),
                            Integer.parseUnsignedInt(w[7], 16)));
                    default -> throw new IllegalArgumentException("unknown field \"" + w[0] + "\"");
                }
            }
            if (shard < 0 || shards < 1 || shard >= shards || library == null || order == null || stage == null
                    || iterations < 0 || steps < 0 || scaler == null) {
                throw new IllegalArgumentException("a required field is missing");
            }
            for (Buffer b : buffers) {
                if (b.tensor() < 0 || b.tensor() >= names.size() || b.from() < 0 || b.count() < 0
                        || b.from() + b.count() > lengths.get(b.tensor())) {
                    throw new IllegalArgumentException("buffer " + b + " lies outside its tensor");
                }
            }
        } catch (RuntimeException e) {
            throw new CheckpointException(file + ": the header does not parse (" + e.getMessage()
                    + "), though its CRC matches: written by a different program?", e);
        }
        return new Header(file, size, shard, shards, library, order, stage, config, iterations, steps, scaler,
                List.copyOf(names), List.copyOf(lengths), List.copyOf(buffers));
    }

    /**
     * Copies elements {@code [from, from + count)} of buffer {@code b} of shard {@code h} into
     * {@code target} ({@code count} elements), checking the CRC32C of the whole buffer on the way:
     * the file is mapped, and each chunk is CRC'd and copied while it is in cache. The target may be
     * partly written when the CRC then fails.
     *
     * @throws CheckpointException if the CRC does not match
     */
    static void load(Header h, Buffer b, long from, long count, MemorySegment target) {
        int e = b.dtype().bytes();
        try (FileChannel ch = FileChannel.open(h.file(), StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            MemorySegment mapped = b.bytes() == 0 ? MemorySegment.NULL
                    : ch.map(FileChannel.MapMode.READ_ONLY, b.offset(), b.bytes(), arena);
            CRC32C crc = new CRC32C();
            long want = (from - b.from()) * e, wantEnd = want + count * e;
            for (long off = 0; off < b.bytes(); off += CHUNK) {
                long len = Math.min(CHUNK, b.bytes() - off);
                MemorySegment chunk = mapped.asSlice(off, len);
                crc.update(chunk.asByteBuffer());
                long lo = Math.max(off, want), hi = Math.min(off + len, wantEnd);
                if (lo < hi) {
                    MemorySegment.copy(mapped, lo, target, lo - want, hi - lo);
                }
            }
            if ((int) crc.getValue() != b.crc()) {
                throw new CheckpointException(h.file() + String.format(Locale.ROOT,
                        ": CRC32C mismatch in %s (stored %08x, computed %08x): the data is corrupt",
                        b.describe(h.tensorNames()), b.crc(), (int) crc.getValue()));
            }
        } catch (IOException x) {
            throw new UncheckedIOException(h.file() + ": cannot read " + b.describe(h.tensorNames()), x);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buffer, long position) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int n = ch.read(buffer, at);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + at);
            }
            at += n;
        }
    }

    private static String printable(byte[] bytes) {
        StringBuilder b = new StringBuilder("\"");
        for (byte x : bytes) {
            b.append(x >= 32 && x < 127 ? Character.toString(x) : String.format(Locale.ROOT, "\\x%02x", x & 0xFF));
        }
        return b.append('"').toString();
    }
}

package dev.adamant.zero;

import dev.adamant.core.StateFormat;

import dev.adamant.fp16.Precision;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import java.io.IOException;
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
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * One device's file of a checkpoint ({@link ZeroCheckpoint} documents the format): writing it from
 * off-heap segments and reading its header and buffers back, with every check that gives a refusal
 * its own message.
 */
final class CheckpointShard {
    static final byte[] MAGIC = "ADMNTCKP".getBytes(StandardCharsets.US_ASCII);
    /** The format this library writes: 2 adds the save id, 3 the 8-bit block-wise optimizer states. */
    static final int VERSION = 3;
    /** The first format with a save id: a shard of an older one cannot be told from another save's. */
    static final int SAVE_ID_SINCE = 2;
    /** The first format with 8-bit states: {@link Dtype#U8} buffers, and absmax kinds counted in blocks. */
    static final int BLOCKWISE_SINCE = 3;
    /** Elements per block of 8-bit block-wise states. */
    static final int BLOCK = StateFormat.BLOCK;

    /** What a buffer's elements are: floats, 16-bit values, or bytes (8-bit states' codes). */
    enum Dtype {
        FP32(4), FP16(2), BF16(2), U8(1);

        private final int bytes;

        Dtype(int bytes) {
            this.bytes = bytes;
        }

        int bytes() {
            return bytes;
        }

        static Dtype of(Precision p) {
            return valueOf(p.name());
        }
    }

    /**
     * Whether {@code kind} is counted in blocks of {@value #BLOCK} elements rather than in elements:
     * 8-bit states' {@code absmax1}, {@code absmax2} (a float a block).
     */
    static boolean perBlock(String kind) {
        return kind.startsWith("absmax");
    }

    /** The units (elements, or blocks for {@link #perBlock} kinds) a tensor of {@code elements} has of {@code kind}. */
    static long units(String kind, long elements) {
        return perBlock(kind) ? (elements + BLOCK - 1) / BLOCK : elements;
    }
    /** Magic (8), version, header length, header CRC32C, reserved (4 bytes each, little-endian). */
    static final int FIXED = 24;
    /** Buffers start at multiples of this: page-aligned for mapping. */
    static final int ALIGN = 4096;
    /** CRC and copy work in chunks of this many bytes, so each chunk is still in cache for the other. */
    private static final long CHUNK = 4L << 20;
    /** A save id: 128 random bits as 32 lowercase hex digits. */
    private static final Pattern SAVE_ID = Pattern.compile("[0-9a-f]{32}");
    /** Fields that appear once, with the number of words on their line (0: the rest of the line is the value). */
    private static final Map<String, Integer> SINGLE = Map.of("adamant-checkpoint", 2, "library", 0, "byte-order", 2,
            "save", 2, "shard", 4, "stage", 2, "iterations", 2, "optimizer-steps", 2, "scaler", 4);

    private CheckpointShard() {}

    /**
     * One raw buffer of the file: units {@code [from, from + count)} of a tensor's {@code kind}
     * (elements; blocks of {@value #BLOCK} for {@link #perBlock} kinds).
     */
    record Buffer(int tensor, String kind, Dtype dtype, long from, long count, long offset, int crc) {
        long bytes() {
            return count * dtype.bytes();
        }

        String describe(List<String> names) {
            return kind + " of tensor " + names.get(tensor) + (perBlock(kind) ? " blocks [" : " [") + from + ", "
                    + (from + count) + ")";
        }
    }

    /** A buffer to write: which elements, and the segment holding exactly them. */
    record Source(int tensor, String kind, Dtype dtype, long from, MemorySegment data) {}

    /**
     * What a shard's header says.
     *
     * @param saveId the save's id, shared by all its shards; null in a version-1 shard, which has none
     */
    record Header(Path file, long fileSize, int version, String saveId, int shard, int shards, String library,
                  String byteOrder, String stage, Map<String, String> config, long iterations, long optimizerSteps,
                  DynamicLossScaler.State scaler, List<String> tensorNames, List<Long> tensorLengths,
                  List<Buffer> buffers) {
        /** The file's name alone, as refusals name shards. */
        String name() {
            return file.getFileName().toString();
        }
    }

    /** The header's fields other than the buffers, for {@link #write}. */
    record Fields(String saveId, int shard, int shards, String library, String stage, Map<String, String> config,
                  long iterations, long optimizerSteps, DynamicLossScaler.State scaler, List<String> tensorNames,
                  List<Long> tensorLengths) {}

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
        b.append("save ").append(f.saveId()).append('\n');
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
     * Reads and checks {@code file}'s header: magic, format version, reserved bytes, header CRC, every
     * field's syntax and range (a CRC-valid header may still have been crafted or edited), byte order,
     * and that every buffer it lists lies after the header, 4096-aligned, apart from the others and
     * inside the file, which ends with the last of them. Reads no buffer.
     *
     * @throws CheckpointException naming the file and what is wrong (the field, where one is)
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
            int version = fixed.getInt(), length = fixed.getInt(), headerCrc = fixed.getInt(), reserved = fixed.getInt();
            if (version > VERSION || version < 1) {
                throw new CheckpointException(file + ": format version " + version + (version > VERSION
                        ? " is newer than this library reads (" + VERSION + "): restore it with a newer Adamant"
                        : " is not a version any Adamant wrote"));
            }
            if (length < 0 || FIXED + (long) length > size) {
                throw new CheckpointException(file + ": truncated: the header says it is " + length
                        + " bytes, the file has " + size + " bytes in all");
            }
            if (reserved != 0) {
                throw new CheckpointException(file + String.format(Locale.ROOT,
                        ": bytes 20-23 (reserved) hold %08x, expected 0: the file is corrupt", reserved));
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
            Header h = parse(file, size, version, new String(text.array(), StandardCharsets.UTF_8));
            if (!h.byteOrder().equals(ByteOrder.nativeOrder().toString())) {
                throw new CheckpointException(file + ": written on a " + h.byteOrder() + " machine, this one is "
                        + ByteOrder.nativeOrder() + ": its raw buffers cannot be read here");
            }
            checkPlacement(h, FIXED + (long) length);
            return h;
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e, e);
        }
    }

    /**
     * Every buffer after the header at a multiple of {@value #ALIGN}, none overlapping another, all
     * inside the file, and nothing after the last one (the writer leaves nothing there).
     */
    private static void checkPlacement(Header h, long headerEnd) {
        List<Buffer> byOffset = new ArrayList<>(h.buffers());
        byOffset.sort(Comparator.comparingLong(Buffer::offset));
        long end = headerEnd;
        Buffer previous = null;
        for (Buffer b : byOffset) {
            String what = b.describe(h.tensorNames());
            if (b.offset() < headerEnd) {
                throw field(h.file(), "buffer", what + " starts at byte " + b.offset() + ", inside the header (bytes 0-"
                        + (headerEnd - 1) + ")");
            }
            if (b.offset() % ALIGN != 0) {
                throw field(h.file(), "buffer", what + " starts at byte " + b.offset() + ", not a multiple of " + ALIGN);
            }
            if (b.offset() < end) {
                throw field(h.file(), "buffer", what + " starts at byte " + b.offset() + ", inside "
                        + previous.describe(h.tensorNames()) + " (bytes " + previous.offset() + "-" + (end - 1) + ")");
            }
            if (b.bytes() > h.fileSize() - b.offset()) {
                throw new CheckpointException(h.file() + ": truncated: " + what + " ends at byte "
                        + (b.offset() + b.bytes()) + ", the file has " + h.fileSize() + " bytes");
            }
            end = b.offset() + b.bytes();
            previous = b;
        }
        if (h.fileSize() > end) {
            throw new CheckpointException(h.file() + ": " + (h.fileSize() - end) + " bytes after its end at byte " + end
                    + (previous == null ? " (the end of its header: it holds no buffer)" : " (the end of its last buffer)")
                    + ", where Adamant writes nothing: appended to, or not a checkpoint shard");
        }
    }

    /** A CRC-valid header with an impossible value: edited, or written by another program. */
    private static CheckpointException field(Path file, String name, String problem) {
        return new CheckpointException(file + ": header field " + name + ": " + problem
                + " (the header's CRC matches: edited, or written by another program?)");
    }

    /**
     * Parses the header text, one field a line, and checks each field's syntax and range, naming the
     * field in the refusal. A field of the wrong word count, a repeated one, an unknown one or a
     * missing one is refused too.
     */
    private static Header parse(Path file, long size, int version, String text) {
        int shard = -1, shards = -1;
        String library = null, order = null, stage = null, saveId = null;
        Map<String, String> config = new LinkedHashMap<>();
        long iterations = -1, steps = -1;
        DynamicLossScaler.State scaler = null;
        List<String> names = new ArrayList<>();
        List<Long> lengths = new ArrayList<>();
        List<Buffer> buffers = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] w = line.split(" ", -1);
            String name = w[0];
            Integer words = SINGLE.get(name);
            if (words != null && !seen.add(name)) {
                throw field(file, name, "appears twice");
            }
            int expected = words != null ? words : switch (name) {
                case "tensor" -> 3;
                case "buffer" -> 8;
                default -> 0;
            };
            if (expected > 0 ? w.length != expected : w.length < 2) {
                throw field(file, name, "expected " + (expected == 0 || expected == 2 ? "one value"
                        : expected - 1 + " values") + ", got \"" + line + "\"");
            }
            try {
                switch (name) {
                    case "adamant-checkpoint" -> {
                        if (Integer.parseInt(w[1]) != version) {
                            throw field(file, name, "says format version " + w[1] + ", the file's start " + version);
                        }
                    }
                    case "library" -> library = line.substring(name.length() + 1);
                    case "byte-order" -> order = w[1];
                    case "save" -> {
                        if (version < SAVE_ID_SINCE) {
                            throw field(file, name, "not part of format version " + version);
                        }
                        if (!SAVE_ID.matcher(w[1]).matches()) {
                            throw field(file, name, "expected 32 lowercase hex digits, got \"" + w[1] + "\"");
                        }
                        saveId = w[1];
                    }
                    case "shard" -> {
                        shard = Integer.parseInt(w[1]);
                        shards = Integer.parseInt(w[3]);
                        if (!w[2].equals("of") || shards < 1 || shard < 0 || shard >= shards) {
                            throw field(file, name, "expected \"R of N\" with 0 <= R < N, got \"" + line + "\"");
                        }
                    }
                    case "stage" -> {
                        stage = w[1];
                        if (Arrays.stream(ZeroStage.values()).noneMatch(s -> s.name().equals(w[1]))) {
                            throw field(file, name, "\"" + w[1] + "\" is not a stage (expected one of "
                                    + Arrays.toString(ZeroStage.values()) + ")");
                        }
                    }
                    case "config" -> {
                        String kv = line.substring(name.length() + 1);
                        int eq = kv.indexOf('=');
                        if (eq < 1) {
                            throw field(file, name, "expected KEY=VALUE, got \"" + kv + "\"");
                        }
                        if (config.put(kv.substring(0, eq), kv.substring(eq + 1)) != null) {
                            throw field(file, name, kv.substring(0, eq) + " appears twice");
                        }
                    }
                    case "iterations" -> iterations = nonNegative(file, name, Long.parseLong(w[1]));
                    case "optimizer-steps" -> steps = nonNegative(file, name, Long.parseLong(w[1]));
                    case "scaler" -> scaler = scaler(file, Float.intBitsToFloat(Integer.parseInt(w[1])),
                            Integer.parseInt(w[2]), Integer.parseInt(w[3]));
                    case "tensor" -> {
                        names.add(URLDecoder.decode(w[1], StandardCharsets.UTF_8));
                        lengths.add(nonNegative(file, name, Long.parseLong(w[2])));
                    }
                    case "buffer" -> buffers.add(buffer(file, version, w, lengths));
                    default -> throw new CheckpointException(file + ": unknown header field \"" + name
                            + "\" (the header's CRC matches: written by another program?)");
                }
            } catch (IllegalArgumentException e) {   // a number or a name that does not parse
                throw field(file, name, "does not parse (" + e.getMessage() + "): \"" + line + "\"");
            }
        }
        List<String> missing = new ArrayList<>();
        for (String name : SINGLE.keySet().stream().sorted().toList()) {
            if (!seen.contains(name) && (version >= SAVE_ID_SINCE || !name.equals("save"))) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException(file + ": the header lacks field" + (missing.size() > 1 ? "s " : " ")
                    + String.join(", ", missing) + " (the header's CRC matches: written by another program?)");
        }
        if (steps > iterations) {
            throw field(file, "optimizer-steps", steps + " steps taken in " + iterations
                    + " iterations (field iterations): a step is taken at most once an iteration");
        }
        return new Header(file, size, version, saveId, shard, shards, library, order, stage, config, iterations, steps,
                scaler, List.copyOf(names), List.copyOf(lengths), List.copyOf(buffers));
    }

    private static long nonNegative(Path file, String name, long value) {
        if (value < 0) {
            throw field(file, name, "expected >= 0, got " + value);
        }
        return value;
    }

    /**
     * A scaler state that some scaler could hold: a finite scale {@code > 0}, good steps {@code >= 0},
     * hysteresis left {@code >= 1}. Whether the run's own scaler could is checked on restore, against
     * its settings.
     */
    private static DynamicLossScaler.State scaler(Path file, float scale, int goodSteps, int hysteresisLeft) {
        if (!(scale > 0 && Float.isFinite(scale))) {
            throw field(file, "scaler", "the scale is " + scale + ", expected a finite value > 0");
        }
        if (goodSteps < 0) {
            throw field(file, "scaler", "good steps " + goodSteps + ", expected >= 0");
        }
        if (hysteresisLeft < 1) {
            throw field(file, "scaler", "hysteresis left " + hysteresisLeft + ", expected >= 1");
        }
        return new DynamicLossScaler.State(scale, goodSteps, hysteresisLeft);
    }

    /** {@code buffer TENSOR KIND DTYPE FROM COUNT OFFSET CRC32C}, its range inside its tensor (listed before it). */
    private static Buffer buffer(Path file, int version, String[] w, List<Long> lengths) {
        int tensor = Integer.parseInt(w[1]);
        if (tensor < 0 || tensor >= lengths.size()) {
            throw field(file, "buffer", "tensor number " + tensor + ", expected [0, " + lengths.size()
                    + ") (the tensors listed before it)");
        }
        Dtype dtype = Dtype.valueOf(w[3]);
        if (dtype == Dtype.U8 && version < BLOCKWISE_SINCE) {
            throw field(file, "buffer", "dtype U8 is not part of format version " + version);
        }
        long from = Long.parseLong(w[4]), count = Long.parseLong(w[5]), offset = Long.parseLong(w[6]);
        if (w[7].length() != 8) {
            throw field(file, "buffer", "CRC32C \"" + w[7] + "\", expected 8 hex digits");
        }
        int crc = Integer.parseUnsignedInt(w[7], 16);
        boolean blocks = version >= BLOCKWISE_SINCE && perBlock(w[2]);
        long length = blocks ? units(w[2], lengths.get(tensor)) : lengths.get(tensor);
        if (from < 0 || count < 0 || from > length || count > length - from) {
            String unit = blocks ? "blocks" : "elements";
            throw field(file, "buffer", unit + " [" + from + ", " + from + " + " + count + ") of tensor " + tensor
                    + ", which has " + length + (blocks ? " blocks of " + BLOCK : ""));
        }
        if (count > Long.MAX_VALUE / dtype.bytes()) {   // (the tensor's length may be as crafted as the count)
            throw field(file, "buffer", count + " elements of " + dtype + ": more bytes than a file holds");
        }
        return new Buffer(tensor, w[2], dtype, from, count, offset, crc);
    }

    /**
     * Copies elements {@code [from, from + count)} of buffer {@code b} of shard {@code h} into
     * {@code target} ({@code count} elements), checking the CRC32C of the whole buffer on the way:
     * the file is mapped, and each chunk is CRC'd and copied while it is in cache. The target may be
     * partly written when the CRC then fails.
     *
     * @throws CheckpointException if the CRC does not match, or the file cannot be read or has changed
     */
    static void load(Header h, Buffer b, long from, long count, MemorySegment target) {
        int e = b.dtype().bytes();
        try (FileChannel ch = FileChannel.open(h.file(), StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            if (ch.size() != h.fileSize()) {   // changed since its header was read
                throw new CheckpointException(h.file() + ": " + h.fileSize() + " bytes when its header was read, "
                        + ch.size() + " now: changed during the restore");
            }
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
            throw new CheckpointException(h.file() + ": cannot read " + b.describe(h.tensorNames()) + ": " + x, x);
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

package dev.adamant.zero;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;

/**
 * Edits checkpoint shard files the way a person or another program might: the header text
 * rewritten with or without a recomputed CRC, the fixed start's fields poked. Written from the
 * format's description (magic, version, length, CRC32C, reserved, then the text), not with the
 * library's writer.
 */
final class ShardFiles {
    static final int FIXED = 24;

    private ShardFiles() {}

    /** The header text of {@code shard}. */
    static String header(Path shard) throws IOException {
        byte[] all = Files.readAllBytes(shard);
        int length = ByteBuffer.wrap(all, 12, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        return new String(all, FIXED, length, StandardCharsets.UTF_8);
    }

    /**
     * Replaces the header text of {@code shard} with {@code edit} of it, in place: the new length is
     * written, and the CRC32C recomputed if {@code recomputeCrc}, else left as it was. Every buffer
     * stays at its offset (a longer text runs into the padding before the first one).
     */
    static void editHeader(Path shard, UnaryOperator<String> edit, boolean recomputeCrc) throws IOException {
        byte[] all = Files.readAllBytes(shard);
        ByteBuffer fixed = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int length = fixed.getInt(12);
        byte[] text = edit.apply(new String(all, FIXED, length, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
        byte[] out = all.length >= FIXED + text.length ? all : java.util.Arrays.copyOf(all, FIXED + text.length);
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(12, text.length);
        if (recomputeCrc) {
            CRC32C crc = new CRC32C();
            crc.update(text);
            b.putInt(16, (int) crc.getValue());
        }
        System.arraycopy(text, 0, out, FIXED, text.length);
        Files.write(shard, out);
    }

    /** Writes the 4-byte little-endian {@code value} at byte {@code at} of {@code file}. */
    static void pokeInt(Path file, int at, int value) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
        Files.write(file, all);
    }

    /** Gives {@code file} its own copy of its bytes, so that editing it leaves the file it was linked to alone. */
    static void detach(Path file) throws IOException {
        Path copy = file.resolveSibling(file.getFileName() + ".detached");
        Files.copy(file, copy, StandardCopyOption.REPLACE_EXISTING);
        Files.move(copy, file, StandardCopyOption.REPLACE_EXISTING);
    }
}

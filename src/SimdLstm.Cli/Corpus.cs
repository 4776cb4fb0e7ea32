using System;
using System.Buffers;
using System.IO;
using System.Text;
using System.Text.Unicode;

namespace SimdLstm.Cli;

/// <summary>The training text: the embedded Genesis (KJV) corpus or a UTF-8 file.</summary>
internal static class Corpus
{
    /// <summary>The manifest name given to Corpus/genesis-kjv.txt in the project file.</summary>
    public const string EmbeddedName = "SimdLstm.Cli.genesis-kjv.txt";

    /// <summary>The embedded Book of Genesis, King James Version (public domain), one verse per line.</summary>
    public static string LoadEmbedded()
    {
        using Stream stream = typeof(Corpus).Assembly.GetManifestResourceStream(EmbeddedName)
            ?? throw new CliException($"The embedded corpus '{EmbeddedName}' is missing from the program.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Normalize(Decode(copy.ToArray(), EmbeddedName));
    }

    /// <summary>The text of <paramref name="path"/>, or the embedded corpus when the path is null.</summary>
    /// <exception cref="CliException">The file does not exist, is empty, or is not valid UTF-8 (the byte offset is named).</exception>
    public static string Load(string? path)
    {
        if (path is null)
            return LoadEmbedded();
        if (Directory.Exists(path))
            throw new CliException($"Corpus '{path}' is a directory, not a text file.");
        if (!File.Exists(path))
            throw new CliException($"Corpus file '{path}' does not exist.");
        string text = Normalize(Decode(File.ReadAllBytes(path), path));
        if (text.Length == 0)
            throw new CliException($"Corpus file '{path}' is empty.");
        return text;
    }

    /// <summary>
    /// Strict UTF-8 (a leading byte-order mark is skipped): an invalid byte sequence is an error naming the file and the
    /// byte offset, not a replacement character a model would learn.
    /// </summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string name)
    {
        if (bytes.StartsWith("\uFEFF"u8))
            bytes = bytes[3..];
        char[] chars = new char[bytes.Length]; // UTF-16 never needs more code units than UTF-8 has bytes
        OperationStatus status = Utf8.ToUtf16(bytes, chars, out int read, out int written, replaceInvalidSequences: false);
        if (status != OperationStatus.Done)
        {
            int offset = read;
            string at = offset < bytes.Length ? $"byte 0x{bytes[offset]:X2} at offset {offset}" : $"the end of the file (offset {offset})";
            throw new CliException($"Corpus '{name}' is not valid UTF-8: {at} does not begin a valid sequence (is it Latin-1 or another encoding? convert it to UTF-8 first, e.g. with iconv).");
        }
        return new string(chars, 0, written);
    }

    // Windows line endings would add a '\r' class the model must learn to emit before every '\n'.
    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);
}

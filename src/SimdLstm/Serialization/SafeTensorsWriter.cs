using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SimdLstm.Serialization;

/// <summary>
/// Collects named F32 tensors and optional string metadata and writes them in the safetensors format
/// (https://github.com/huggingface/safetensors, README "Format"), to a stream or atomically to a file.
/// </summary>
/// <remarks>
/// <para>
/// Layout written: the 8-byte little-endian header length N; the JSON header, with
/// <c>"__metadata__"</c> first (when there is any) and then the tensors in the order they were added,
/// each <c>{"dtype":"F32","shape":[..],"data_offsets":[begin,end]}</c>; spaces padding N to a multiple
/// of 8 so the data section starts 8-byte aligned; then each tensor's data, little-endian, in the same
/// order, back to back. The output therefore depends only on what was added, in what order.
/// </para>
/// <para>
/// <see cref="Add"/> keeps a reference to the caller's memory, read when the file is written;
/// <see cref="AddCopy"/> copies at once. Names must be unique and may not be <c>"__metadata__"</c>.
/// </para>
/// </remarks>
public sealed class SafeTensorsWriter
{
    private readonly List<Entry> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly List<KeyValuePair<string, string>> _metadata = [];
    private readonly HashSet<string> _metadataKeys = new(StringComparer.Ordinal);

    private sealed record Entry(string Name, int[] Shape, ReadOnlyMemory<float> Data);

    /// <summary>The number of tensors added.</summary>
    public int Count => _tensors.Count;

    /// <summary>
    /// Adds tensor <paramref name="name"/> of shape <paramref name="shape"/> whose row-major elements are
    /// <paramref name="data"/>. The memory is read when the file is written, not now: it must stay valid
    /// and hold the intended values until then.
    /// </summary>
    /// <param name="name">A unique name other than "__metadata__".</param>
    /// <param name="shape">The dimensions, each ≥ 0; empty for a scalar (one element).</param>
    /// <param name="data">product(<paramref name="shape"/>) elements.</param>
    /// <returns>This writer.</returns>
    /// <exception cref="ArgumentException">A duplicate or reserved name, a name with an unpaired surrogate, a negative dimension, or a length that does not match the shape.</exception>
    public SafeTensorsWriter Add(string name, ReadOnlySpan<int> shape, ReadOnlyMemory<float> data)
    {
        ArgumentNullException.ThrowIfNull(name);
        RequireValidUtf16(name, nameof(name));
        if (name == "__metadata__")
            throw new ArgumentException("The name '__metadata__' is reserved for the metadata entry.", nameof(name));
        if (_names.Contains(name))
            throw new ArgumentException($"A tensor named '{name}' was already added.", nameof(name));
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentOutOfRangeException(nameof(shape), $"Expected dimensions of zero or more but got {SafeTensorInfo.FormatShape(shape)}.");
            count = Math.Min(count * d, (long)int.MaxValue + 1);
        }
        if (count != data.Length)
            throw new ArgumentException($"Expected {count} elements for shape {SafeTensorInfo.FormatShape(shape)} but got {data.Length}.", nameof(data));
        _names.Add(name);
        _tensors.Add(new Entry(name, shape.ToArray(), data));
        return this;
    }

    /// <summary>Like <see cref="Add"/>, but copies <paramref name="data"/> now, so the caller may reuse it at once.</summary>
    /// <param name="name">A unique name other than "__metadata__".</param>
    /// <param name="shape">The dimensions, each ≥ 0.</param>
    /// <param name="data">product(<paramref name="shape"/>) elements.</param>
    /// <returns>This writer.</returns>
    /// <exception cref="ArgumentException">As <see cref="Add"/>.</exception>
    public SafeTensorsWriter AddCopy(string name, ReadOnlySpan<int> shape, ReadOnlySpan<float> data)
    {
        // Validate through Add with a view of the right length first, so nothing is copied for bad input.
        Add(name, shape, new ReadOnlyMemory<float>(new float[data.Length]));
        Entry added = _tensors[^1];
        data.CopyTo(MemoryMarshal.AsMemory(added.Data).Span);
        return this;
    }

    /// <summary>Adds a <c>__metadata__</c> entry (string → string), written in the order added.</summary>
    /// <param name="key">A unique key.</param>
    /// <param name="value">The value.</param>
    /// <returns>This writer.</returns>
    /// <exception cref="ArgumentException">A duplicate key, or an unpaired surrogate in the key or value.</exception>
    public SafeTensorsWriter AddMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        RequireValidUtf16(key, nameof(key));
        RequireValidUtf16(value, nameof(value));
        if (!_metadataKeys.Add(key))
            throw new ArgumentException($"Metadata key '{key}' was already added.", nameof(key));
        _metadata.Add(new(key, value));
        return this;
    }

    /// <summary>Writes the file to <paramref name="stream"/> from its current position. The stream is not flushed or disposed.</summary>
    /// <param name="stream">A writable stream.</param>
    /// <exception cref="InvalidOperationException">The header would exceed <see cref="SafeTensorsFile.MaxHeaderLength"/> bytes.</exception>
    /// <exception cref="IOException">Writing fails.</exception>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] header = BuildHeader();
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        Span<byte> chunk = stackalloc byte[1024];
        foreach (Entry t in _tensors)
        {
            ReadOnlySpan<float> data = t.Data.Span;
            if (BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(data));
                continue;
            }
            for (int i = 0; i < data.Length; i += chunk.Length / 4)
            {
                int n = Math.Min(chunk.Length / 4, data.Length - i);
                for (int k = 0; k < n; k++)
                    BinaryPrimitives.WriteSingleLittleEndian(chunk[(4 * k)..], data[i + k]);
                stream.Write(chunk[..(4 * n)]);
            }
        }
    }

    /// <summary>Returns the file as a new byte array.</summary>
    /// <returns>The bytes of the file.</returns>
    public byte[] ToArray()
    {
        using var stream = new MemoryStream();
        WriteTo(stream);
        return stream.ToArray();
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/> atomically: the bytes go to a new temporary file in the
    /// same directory (<c>.NAME.XXXXXXXX.tmp</c>), which is flushed to disk and then moved over the destination in
    /// one rename. If anything fails before the rename (an I/O error, a tensor's memory throwing), the previous file
    /// is left exactly as it was and the temporary file is deleted. A save killed before its rename leaves its
    /// temporary file behind; the next save to the same path deletes such leftovers (those no process holds open that
    /// were last written more than <see cref="StaleTemporaryAge"/> ago).
    /// </summary>
    /// <remarks>
    /// Only a regular file is ever replaced: a destination that is a directory, a device (<c>/dev/full</c>), a pipe or a
    /// socket is refused before anything is written. A symbolic link is followed, and the file it leads to is replaced
    /// (the link stays). The checks and the rename are separate steps, so a destination swapped in between by another
    /// process is not detected.
    /// </remarks>
    /// <param name="path">The destination file; its directory must exist.</param>
    /// <exception cref="IOException">The destination is not a regular file, its directory does not exist or is not
    /// writable, or writing or renaming fails. The message names <paramref name="path"/>, never the temporary file.</exception>
    public void Save(string path)
    {
        string full = CheckDestination(path);
        string directory = Path.GetDirectoryName(full)!;
        DeleteStaleTemporaries(directory, Path.GetFileName(full));
        // Same directory, so the final File.Move is a rename within one file system (atomic on POSIX
        // and NTFS) rather than a copy. The leading dot hides it from casual directory listings.
        string temporary = TemporaryName(full);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new IOException($"Cannot save '{path}': {Reason(e, temporary, full)}", e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>How old a leftover temporary file must be before a later save deletes it.</summary>
    public static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Checks, without changing anything, that <see cref="Save"/> could write <paramref name="path"/>: the path is not
    /// empty, names a regular file or nothing (a symbolic link is followed), and its directory exists and accepts a new
    /// file (checked by creating and deleting an empty temporary file). Returns the full path that would be written.
    /// </summary>
    /// <param name="path">The destination file.</param>
    /// <returns>The absolute path of the file a save replaces (the target of a symbolic link).</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or not a valid path.</exception>
    /// <exception cref="IOException">The destination cannot be written; the message names <paramref name="path"/>.</exception>
    public static string CheckDestination(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (Path.EndsInDirectorySeparator(full) || Path.GetFileName(full).Length == 0)
            throw new IOException($"Cannot save '{path}': the path names a directory, not a file.");
        if (File.Exists(full) && new FileInfo(full).LinkTarget is not null)
        {
            // Follow the link to the file it finally leads to, so the link survives the rename.
            FileSystemInfo? target = File.ResolveLinkTarget(full, returnFinalTarget: true);
            if (target is not null)
                full = target.FullName;
        }
        switch (FileKind.Of(full))
        {
            case FileKindValue.Directory:
                throw new IOException($"Cannot save '{path}': it is a directory, not a file.");
            case FileKindValue.Special:
                throw new IOException($"Cannot save '{path}': it is not a regular file (a device, pipe or socket), so it is not replaced.");
        }
        string directory = Path.GetDirectoryName(full) ?? throw new IOException($"Cannot save '{path}': it has no directory.");
        if (!Directory.Exists(directory))
            throw new IOException($"Cannot save '{path}': the directory '{directory}' does not exist.");
        string probe = TemporaryName(full);
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot save '{path}': {Reason(e, probe, full)}", e);
        }
        finally
        {
            TryDelete(probe);
        }
        return full;
    }

    /// <summary>The longest file name most file systems accept, in UTF-8 bytes.</summary>
    private const int MaxFileNameBytes = 255;

    private const string TemporarySuffix = ".tmp";
    private const int RandomLength = 8;

    /// <summary><c>.NAME.XXXXXXXX.tmp</c> next to <paramref name="full"/>, NAME shortened so the whole name fits in 255 bytes.</summary>
    private static string TemporaryName(string full)
    {
        string prefix = TemporaryPrefix(Path.GetFileName(full));
        string random = Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal)[..RandomLength];
        return Path.Combine(Path.GetDirectoryName(full)!, prefix + random + TemporarySuffix);
    }

    /// <summary>".NAME." with NAME cut (at a character boundary) so that prefix + random + suffix is at most 255 UTF-8 bytes.</summary>
    private static string TemporaryPrefix(string fileName)
    {
        int budget = MaxFileNameBytes - 2 - RandomLength - TemporarySuffix.Length;
        int bytes = 0, length = 0;
        foreach (System.Text.Rune rune in fileName.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > budget)
                break;
            bytes += rune.Utf8SequenceLength;
            length += rune.Utf16SequenceLength;
        }
        return "." + fileName[..length] + ".";
    }

    /// <summary>Deletes the temporary files of earlier, killed saves to the same file name that nobody holds open any more.</summary>
    private static void DeleteStaleTemporaries(string directory, string fileName)
    {
        string prefix = TemporaryPrefix(fileName);
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, prefix + "*" + TemporarySuffix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        DateTime threshold = DateTime.UtcNow - StaleTemporaryAge;
        foreach (string candidate in candidates)
        {
            string name = Path.GetFileName(candidate);
            if (name.Length != prefix.Length + RandomLength + TemporarySuffix.Length
                || !IsAsciiLettersOrDigits(name.AsSpan(prefix.Length, RandomLength))
                || !name.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            try
            {
                if (File.GetLastWriteTimeUtc(candidate) > threshold)
                    continue; // perhaps a save in progress in another process
                // A save in progress holds its file with FileShare.None; opening it exclusively fails then.
                using (new FileStream(candidate, FileMode.Open, FileAccess.ReadWrite, FileShare.None, bufferSize: 1))
                {
                }
                File.Delete(candidate);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use or not ours to delete: leave it.
            }
        }
    }

    private static bool IsAsciiLettersOrDigits(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c))
                return false;
        }
        return true;
    }

    /// <summary>The reason of a failed save, in terms of the destination rather than the temporary file.</summary>
    private static string Reason(Exception e, string temporary, string full) => e switch
    {
        UnauthorizedAccessException => $"permission denied in the directory '{Path.GetDirectoryName(full)}'.",
        _ => e.Message.Replace(temporary, full, StringComparison.Ordinal),
    };

    /// <summary>The header is UTF-8, so a string with an unpaired surrogate cannot be written; reject it when added rather than half way through a save.</summary>
    private static void RequireValidUtf16(string s, string paramName)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                i++;
            else if (char.IsSurrogate(s[i]))
                throw new ArgumentException($"The string has an unpaired surrogate at index {i}, which UTF-8 cannot represent.", paramName);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The original exception matters more; a leftover temporary file is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private byte[] BuildHeader()
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names readable UTF-8 (the output is never embedded in HTML).
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false }))
        {
            json.WriteStartObject();
            if (_metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (KeyValuePair<string, string> kv in _metadata)
                    json.WriteString(kv.Key, kv.Value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (Entry t in _tensors)
            {
                long end = offset + 4L * t.Data.Length;
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int d in t.Shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) & ~7;
        if (padded > SafeTensorsFile.MaxHeaderLength)
            throw new InvalidOperationException($"The header would be {padded} bytes, above the format's limit of {SafeTensorsFile.MaxHeaderLength}.");
        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }
}

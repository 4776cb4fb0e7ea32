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
    /// same directory, which is flushed to disk and then moved over <paramref name="path"/> in one rename.
    /// If anything fails before the rename (an I/O error, a tensor's memory throwing, a crash), the
    /// previous file at <paramref name="path"/> is left exactly as it was and the temporary file is deleted
    /// (unless the process died).
    /// </summary>
    /// <param name="path">The destination file; its directory must exist.</param>
    /// <exception cref="IOException">Writing or renaming fails.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no directory.", nameof(path));
        // Same directory, so the final File.Move is a rename within one file system (atomic on POSIX
        // and NTFS) rather than a copy. The leading dot hides it from casual directory listings.
        string temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Path.GetRandomFileName()}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

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

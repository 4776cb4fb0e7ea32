using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace SimdLstm.Serialization;

/// <summary>
/// A safetensors file held in memory, its header strictly validated, from which tensors are read
/// by name as <see cref="float"/>.
/// </summary>
/// <remarks>
/// <para>
/// Format (https://github.com/huggingface/safetensors, README "Format"): an 8-byte little-endian
/// unsigned header length N; N bytes of UTF-8 JSON, an object mapping each tensor name to
/// <c>{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}</c> (offsets relative to the data
/// section, end exclusive) plus an optional <c>"__metadata__"</c> object of string → string; then the
/// little-endian, row-major data.
/// </para>
/// <para>
/// Every rule is checked before anything is returned, and any violation is a
/// <see cref="SafeTensorsFormatException"/> saying what is wrong: N at most <see cref="MaxHeaderLength"/>
/// and within the buffer; the header valid UTF-8, starting with '{', well-formed JSON (no comments or
/// trailing commas) and followed only by space padding; each entry an object with exactly the three
/// fields; a known dtype (<see cref="SafeTensorsDType"/>); at most <see cref="MaxRank"/> dimensions, each a non-negative integer; offsets
/// non-negative integers with begin ≤ end ≤ data length; end − begin = product(shape) · dtype size, with
/// every product checked for overflow; the tensors contiguous, non-overlapping and covering the data
/// section exactly; names unique (after JSON unescaping); metadata values strings. The header length
/// need not be a multiple of 8 (writers pad it, readers are not required to insist).
/// </para>
/// <para>
/// Memory: the whole file is held (at most <see cref="Array.MaxLength"/> bytes), plus the parsed header,
/// which is bounded by the header's size. A header length or offset larger than the data actually
/// present is rejected before anything is allocated for it.
/// </para>
/// <para>Instances are immutable and may be read from several threads at once.</para>
/// </remarks>
public sealed class SafeTensorsFile
{
    /// <summary>The largest header accepted: 100 MB, the limit of the reference implementation.</summary>
    public const int MaxHeaderLength = 100_000_000;

    /// <summary>The most dimensions a tensor may have: 64, as NumPy (PyTorch allows fewer in practice). It bounds the memory and message a shape can cost.</summary>
    public const int MaxRank = 64;

    private const string MetadataKey = "__metadata__";

    private readonly ReadOnlyMemory<byte> _data;
    private readonly SafeTensorInfo[] _tensors;
    private readonly Dictionary<string, SafeTensorInfo> _byName;
    private readonly IReadOnlyList<SafeTensorInfo> _tensorsView;
    private readonly IReadOnlyDictionary<string, string> _metadataView;

    private SafeTensorsFile(ReadOnlyMemory<byte> data, SafeTensorInfo[] tensors, Dictionary<string, SafeTensorInfo> byName, Dictionary<string, string> metadata)
    {
        _data = data;
        _tensors = tensors;
        _byName = byName;
        // Read-only wrappers, so a caller cannot change what the file says by casting.
        _tensorsView = Array.AsReadOnly(tensors);
        _metadataView = metadata.AsReadOnly();
    }

    /// <summary>The tensors in the order the header lists them.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors => _tensorsView;

    /// <summary>The <c>__metadata__</c> entries (empty when the header has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadataView;

    /// <summary>The length of the data section in bytes.</summary>
    public long DataLength => _data.Length;

    /// <summary>Reads and validates the file at <paramref name="path"/>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The validated file.</returns>
    /// <exception cref="SafeTensorsFormatException">The contents are not a valid safetensors file, or it is larger than
    /// <see cref="Array.MaxLength"/> bytes. The message begins "'PATH' is not a valid safetensors file:" and then gives the reason.</exception>
    /// <exception cref="IOException">The file cannot be read (not found, a directory, a device or pipe, no access, …); the message names the path.</exception>
    public static SafeTensorsFile Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        switch (FileKind.Of(Path.GetFullPath(path)))
        {
            case FileKindValue.Directory:
                throw new IOException($"'{path}' is a directory, not a safetensors file.");
            case FileKindValue.Special when new FileInfo(path).LinkTarget is null:
                // Reading a pipe could block for ever and a device never ends.
                throw new IOException($"'{path}' is not a regular file (a device, pipe or socket).");
        }
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"'{path}' cannot be read: permission denied.", e);
        }
        using (stream)
        {
            try
            {
                return Load(stream);
            }
            catch (SafeTensorsFormatException e)
            {
                throw new SafeTensorsFormatException($"'{path}' is not a valid safetensors file: {e.Message}", e);
            }
        }
    }

    /// <summary>Reads <paramref name="stream"/> to its end and validates what it held.</summary>
    /// <param name="stream">A readable stream positioned at the start of the safetensors data. Not disposed.</param>
    /// <returns>The validated file.</returns>
    /// <exception cref="SafeTensorsFormatException">The contents are not valid, or longer than <see cref="Array.MaxLength"/> bytes.</exception>
    /// <exception cref="IOException">Reading fails.</exception>
    public static SafeTensorsFile Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (remaining > Array.MaxLength)
                throw new SafeTensorsFormatException($"The data is {remaining} bytes; files larger than {Array.MaxLength} bytes are not supported.");
            byte[] bytes = GC.AllocateUninitializedArray<byte>((int)Math.Max(remaining, 0));
            int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (read != bytes.Length)
                throw new SafeTensorsFormatException($"The stream ended after {read} of its {bytes.Length} bytes.");
            return Parse(bytes);
        }
        // Unknown length: grow with what actually arrives, so memory stays proportional to the real size.
        using var copy = new MemoryStream();
        byte[] chunk = new byte[81920];
        int count;
        while ((count = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (copy.Length + count > Array.MaxLength)
                throw new SafeTensorsFormatException($"The data is longer than {Array.MaxLength} bytes, which is not supported.");
            copy.Write(chunk, 0, count);
        }
        return Parse(copy.GetBuffer().AsMemory(0, (int)copy.Length));
    }

    /// <summary>Validates <paramref name="bytes"/> as a safetensors file and keeps a reference to it (no copy).</summary>
    /// <param name="bytes">The whole file. Must not be modified while the result is in use.</param>
    /// <returns>The validated file.</returns>
    /// <exception cref="SafeTensorsFormatException">The bytes are not a valid safetensors file.</exception>
    public static SafeTensorsFile Parse(ReadOnlyMemory<byte> bytes)
    {
        ReadOnlySpan<byte> span = bytes.Span;
        if (span.Length < 8)
            throw Format($"The data is {span.Length} bytes, shorter than the 8-byte header length field.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(span);
        if (headerLength > MaxHeaderLength)
            throw Format($"The header length {headerLength} exceeds the limit of {MaxHeaderLength} bytes.");
        if (headerLength > (ulong)(span.Length - 8))
            throw Format($"The header length {headerLength} exceeds the {span.Length - 8} bytes that follow the length field.");
        int n = (int)headerLength;
        ReadOnlySpan<byte> header = span.Slice(8, n);
        ReadOnlyMemory<byte> data = bytes[(8 + n)..];

        if (n == 0 || header[0] != (byte)'{')
            throw Format("The header does not begin with '{'.");
        if (!Utf8.IsValid(header))
            throw Format("The header is not valid UTF-8.");

        var tensors = new List<SafeTensorInfo>();
        var byName = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            ParseHeader(header, data.Length, tensors, byName, metadata);
        }
        catch (JsonException ex)
        {
            throw new SafeTensorsFormatException($"The header is not well-formed JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader.GetString on an escape that decodes to invalid UTF-16 (a lone surrogate).
            throw new SafeTensorsFormatException($"The header holds a string that cannot be decoded: {ex.Message}", ex);
        }
        SafeTensorInfo[] array = tensors.ToArray();
        CheckLayout(array, data.Length);
        return new SafeTensorsFile(data, array, byName, metadata);
    }

    /// <summary>Looks up a tensor by name.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="info">The entry, when found.</param>
    /// <returns>Whether the file has a tensor called <paramref name="name"/>.</returns>
    public bool TryGetTensor(string name, [NotNullWhen(true)] out SafeTensorInfo? info)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out info);
    }

    /// <summary>
    /// Reads tensor <paramref name="name"/>, which must have shape <paramref name="expectedShape"/>,
    /// into <paramref name="destination"/> (row-major), converting to float: F32 bit for bit, F16 and
    /// BF16 exactly, F64 rounded to nearest. Allocates nothing.
    /// </summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="expectedShape">The shape the caller requires; dimensions ≥ 0, empty for a scalar.</param>
    /// <param name="destination">Exactly product(<paramref name="expectedShape"/>) elements.</param>
    /// <exception cref="ArgumentException">A negative dimension, or <paramref name="destination"/> of the wrong length. Nothing is written.</exception>
    /// <exception cref="SafeTensorsFormatException">No such tensor, a different shape, or a dtype that cannot be read as float. Nothing is written.</exception>
    public void ReadInto(string name, ReadOnlySpan<int> expectedShape, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(name);
        int count = ElementCount(expectedShape);
        Guard.Length(destination.Length, count, nameof(destination));
        SafeTensorInfo info = GetForRead(name, expectedShape);
        Convert(info, _data.Span[(int)info.DataBegin..(int)info.DataEnd], destination);
    }

    /// <summary>Reads tensor <paramref name="name"/>, which must have shape <paramref name="expectedShape"/>, as a new array (conversion as <see cref="ReadInto"/>).</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="expectedShape">The shape the caller requires.</param>
    /// <returns>The elements, row-major.</returns>
    /// <exception cref="ArgumentException">A negative dimension in <paramref name="expectedShape"/>.</exception>
    /// <exception cref="SafeTensorsFormatException">No such tensor, a different shape, or a dtype that cannot be read as float.</exception>
    public float[] Read(string name, ReadOnlySpan<int> expectedShape)
    {
        ArgumentNullException.ThrowIfNull(name);
        int count = ElementCount(expectedShape);
        SafeTensorInfo info = GetForRead(name, expectedShape);
        float[] result = new float[count];
        Convert(info, _data.Span[(int)info.DataBegin..(int)info.DataEnd], result);
        return result;
    }

    /// <summary>Reads tensor <paramref name="name"/> whatever its shape (see <see cref="SafeTensorInfo.Shape"/>) as a new array.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The elements, row-major.</returns>
    /// <exception cref="SafeTensorsFormatException">No such tensor, or a dtype that cannot be read as float.</exception>
    public float[] Read(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        SafeTensorInfo info = Find(name);
        RequireReadable(info);
        // The element count fits in int: the data section is at most Array.MaxLength bytes and every
        // readable dtype has at least 2 bytes.
        float[] result = new float[(int)info.ElementCount];
        Convert(info, _data.Span[(int)info.DataBegin..(int)info.DataEnd], result);
        return result;
    }

    private static int ElementCount(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentOutOfRangeException("expectedShape", $"Expected dimensions of zero or more but got {SafeTensorInfo.FormatShape(shape)}.");
            count = Math.Min(count * d, (long)int.MaxValue + 1); // saturate: never overflows long
        }
        if (count > Array.MaxLength)
            throw new ArgumentOutOfRangeException("expectedShape", $"The shape {SafeTensorInfo.FormatShape(shape)} has more elements than an array can hold.");
        return (int)count;
    }

    private SafeTensorInfo GetForRead(string name, ReadOnlySpan<int> expectedShape)
    {
        SafeTensorInfo info = Find(name);
        if (!info.ShapeEquals(expectedShape))
            throw Format($"Tensor '{name}': expected shape {SafeTensorInfo.FormatShape(expectedShape)} but the file has {info.ShapeText()}.");
        RequireReadable(info);
        return info;
    }

    private SafeTensorInfo Find(string name) =>
        _byName.TryGetValue(name, out SafeTensorInfo? info)
            ? info
            : throw Format($"Tensor '{name}' is not in the file ({_tensors.Length} tensors).");

    private static void RequireReadable(SafeTensorInfo info)
    {
        if (!SafeTensorsDTypes.IsReadableAsSingle(info.DType))
            throw Format($"Tensor '{info.Name}' has dtype {SafeTensorsDTypes.Name(info.DType)}; only F32, F64, F16 and BF16 can be read as float.");
    }

    private static void Convert(SafeTensorInfo info, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (info.DType)
        {
            case SafeTensorsDType.F32 when BitConverter.IsLittleEndian:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case SafeTensorsDType.F32:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(4 * i)..]);
                break;
            case SafeTensorsDType.F64:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(8 * i)..]);
                break;
            case SafeTensorsDType.F16:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(source[(2 * i)..]);
                break;
            case SafeTensorsDType.BF16:
                // A bfloat16 is the upper 16 bits of the binary32 with the same value.
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]) << 16);
                break;
            default:
                throw new InvalidOperationException("Unreachable: dtype checked by RequireReadable.");
        }
    }

    private static SafeTensorsFormatException Format(string message) => new(message);

    private static void ParseHeader(ReadOnlySpan<byte> header, long dataLength, List<SafeTensorInfo> tensors, Dictionary<string, SafeTensorInfo> byName, Dictionary<string, string> metadata)
    {
        // Depth 3 is what the format needs (root object → entry object → shape array); the parser
        // below also rejects any unexpected container as soon as it starts, so nesting never recurses.
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 3, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        Next(ref reader);
        Expect(ref reader, JsonTokenType.StartObject, "the header");
        bool sawMetadata = false;
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
                break;
            string key = reader.GetString()!;
            if (key == MetadataKey)
            {
                if (sawMetadata)
                    throw Format("The header has two '__metadata__' entries.");
                sawMetadata = true;
                ParseMetadata(ref reader, metadata);
                continue;
            }
            if (byName.ContainsKey(key))
                throw Format($"Tensor '{Truncate(key)}' appears twice in the header.");
            SafeTensorInfo info = ParseTensor(ref reader, key, dataLength);
            byName.Add(key, info);
            tensors.Add(info);
        }
        // The spec allows the header to be padded with spaces (0x20) after the JSON object, nothing else.
        ReadOnlySpan<byte> rest = header[(int)reader.BytesConsumed..];
        int bad = rest.IndexOfAnyExcept((byte)' ');
        if (bad >= 0)
            throw Format($"The header has byte 0x{rest[bad]:X2} after the JSON object at offset {reader.BytesConsumed + bad}; only space padding may follow it.");
    }

    private static void ParseMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata)
    {
        Next(ref reader);
        Expect(ref reader, JsonTokenType.StartObject, "'__metadata__'");
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
                return;
            string key = reader.GetString()!;
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.String)
                throw Format($"'__metadata__' entry '{Truncate(key)}' is {Describe(reader.TokenType)}; metadata values must be strings.");
            if (!metadata.TryAdd(key, reader.GetString()!))
                throw Format($"'__metadata__' has key '{Truncate(key)}' twice.");
        }
    }

    private static SafeTensorInfo ParseTensor(ref Utf8JsonReader reader, string name, long dataLength)
    {
        // Names may be long; messages quote at most 64 characters of them.
        string label = Truncate(name);
        Next(ref reader);
        Expect(ref reader, JsonTokenType.StartObject, $"tensor '{label}'");
        SafeTensorsDType? dtype = null;
        List<long>? shape = null;
        ulong begin = 0, end = 0;
        bool sawOffsets = false;
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
                break;
            if (reader.ValueTextEquals("dtype"u8))
            {
                if (dtype is not null)
                    throw Format($"Tensor '{label}' has two 'dtype' fields.");
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.String)
                    throw Format($"Tensor '{label}': 'dtype' is {Describe(reader.TokenType)}, expected a string.");
                if (!SafeTensorsDTypes.TryParse(ref reader, out SafeTensorsDType parsed))
                    throw Format($"Tensor '{label}' has unknown dtype '{Truncate(reader.GetString()!)}'.");
                dtype = parsed;
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                if (shape is not null)
                    throw Format($"Tensor '{label}' has two 'shape' fields.");
                shape = [];
                Next(ref reader);
                Expect(ref reader, JsonTokenType.StartArray, $"tensor '{label}' 'shape'");
                while (true)
                {
                    Next(ref reader);
                    if (reader.TokenType == JsonTokenType.EndArray)
                        break;
                    if (shape.Count == MaxRank)
                        throw Format($"Tensor '{label}' has more than {MaxRank} dimensions.");
                    ulong dim = ReadInteger(ref reader, label, "shape");
                    if (dim > long.MaxValue)
                        throw Format($"Tensor '{label}': dimension {dim} is too large.");
                    shape.Add((long)dim);
                }
            }
            else if (reader.ValueTextEquals("data_offsets"u8))
            {
                if (sawOffsets)
                    throw Format($"Tensor '{label}' has two 'data_offsets' fields.");
                sawOffsets = true;
                Next(ref reader);
                Expect(ref reader, JsonTokenType.StartArray, $"tensor '{label}' 'data_offsets'");
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndArray)
                    throw Format($"Tensor '{label}': 'data_offsets' is empty; expected [begin, end].");
                begin = ReadInteger(ref reader, label, "data_offsets");
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndArray)
                    throw Format($"Tensor '{label}': 'data_offsets' has one entry; expected [begin, end].");
                end = ReadInteger(ref reader, label, "data_offsets");
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.EndArray)
                    throw Format($"Tensor '{label}': 'data_offsets' has more than two entries; expected [begin, end].");
            }
            else
            {
                throw Format($"Tensor '{label}' has unknown field '{Truncate(reader.GetString()!)}'; expected only 'dtype', 'shape' and 'data_offsets'.");
            }
        }
        if (dtype is null)
            throw Format($"Tensor '{label}' has no 'dtype'.");
        if (shape is null)
            throw Format($"Tensor '{label}' has no 'shape'.");
        if (!sawOffsets)
            throw Format($"Tensor '{label}' has no 'data_offsets'.");

        long[] dims = shape.ToArray();
        if (end < begin)
            throw Format($"Tensor '{label}': data_offsets [{begin}, {end}] are reversed.");
        if (end > (ulong)dataLength)
            throw Format($"Tensor '{label}': data_offsets [{begin}, {end}] exceed the data section of {dataLength} bytes.");
        // Element count and byte size with every multiplication checked. A zero dimension makes the
        // tensor empty however large the others are.
        ulong elements = 1;
        bool empty = Array.IndexOf(dims, 0L) >= 0;
        if (!empty)
        {
            foreach (long d in dims)
            {
                if (Math.BigMul(elements, (ulong)d, out elements) != 0)
                    throw Format($"Tensor '{label}': shape {SafeTensorInfo.FormatShape(dims)} has more elements than 2^64.");
            }
        }
        else
        {
            elements = 0;
        }
        int size = SafeTensorsDTypes.Size(dtype.Value);
        bool overflow = Math.BigMul(elements, (ulong)size, out ulong bytes) != 0;
        if (overflow || bytes != end - begin)
        {
            string needed = overflow ? "more than 2^64" : bytes.ToString(CultureInfo.InvariantCulture);
            throw Format($"Tensor '{label}': data_offsets [{begin}, {end}] hold {end - begin} bytes but dtype {SafeTensorsDTypes.Name(dtype.Value)} with shape {SafeTensorInfo.FormatShape(dims)} needs {needed} bytes.");
        }
        // bytes ≤ data length ≤ Array.MaxLength here, so the count and offsets fit in long.
        return new SafeTensorInfo(name, dtype.Value, dims, (long)elements, (long)begin, (long)end);
    }

    /// <summary>Sorted by offset, the tensors must tile the data section: no gap, no overlap, nothing left over.</summary>
    private static void CheckLayout(SafeTensorInfo[] tensors, long dataLength)
    {
        var sorted = (SafeTensorInfo[])tensors.Clone();
        Array.Sort(sorted, static (a, b) => a.DataBegin != b.DataBegin ? a.DataBegin.CompareTo(b.DataBegin) : a.DataEnd.CompareTo(b.DataEnd));
        long expected = 0;
        SafeTensorInfo? previous = null;
        foreach (SafeTensorInfo t in sorted)
        {
            if (t.DataBegin < expected)
                throw Format($"Tensor '{Truncate(t.Name)}': data_offsets [{t.DataBegin}, {t.DataEnd}] overlap tensor '{Truncate(previous!.Name)}' [{previous.DataBegin}, {previous.DataEnd}].");
            if (t.DataBegin > expected)
                throw Format($"Tensor '{Truncate(t.Name)}': data_offsets [{t.DataBegin}, {t.DataEnd}] leave a gap; the previous tensor ends at byte {expected}.");
            expected = t.DataEnd;
            previous = t;
        }
        if (expected != dataLength)
            throw Format($"The data section has {dataLength} bytes but the tensors cover {expected}.");
    }

    private static ulong ReadInteger(ref Utf8JsonReader reader, string name, string field)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out ulong value))
        {
            string text = reader.TokenType == JsonTokenType.Number ? Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 40)]) : Describe(reader.TokenType);
            throw Format($"Tensor '{name}': '{field}' entries must be non-negative integers below 2^64, got {text}.");
        }
        return value;
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
            throw Format("The header ends before the JSON object is complete.");
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (reader.TokenType != type)
            throw Format($"Expected {what} to be {Describe(type)} but found {Describe(reader.TokenType)}.");
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.EndObject => "the end of an object",
        JsonTokenType.EndArray => "the end of an array",
        _ => type.ToString(),
    };

    private static string Truncate(string s) => s.Length <= 64 ? s : string.Concat(s.AsSpan(0, 64), "…");
}

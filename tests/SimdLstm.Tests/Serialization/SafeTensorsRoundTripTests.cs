using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using SimdLstm.Serialization;
using Xunit;
using static SimdLstm.Tests.Serialization.SafeTensorsTestFiles;

namespace SimdLstm.Tests.Serialization;

public class SafeTensorsRoundTripTests
{
    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>Values whose bits a careless conversion would change: a NaN payload, −0, subnormals, ±∞, extremes.</summary>
    private static readonly float[] Special =
    [
        BitConverter.Int32BitsToSingle(0x7FC12345), BitConverter.Int32BitsToSingle(unchecked((int)0xFF812345)), -0f, 0f,
        float.Epsilon, -1.17549421e-38f, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, float.MinValue,
    ];

    private static void AssertBitwiseEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]))) Assert.Fail($"{name}[{i}]: {expected[i]:R} vs {actual[i]:R}");
    }

    [Fact]
    public void RoundTrip_IsBitwiseIdentical_AndKeepsMetadataAndOrder()
    {
        float[] weight = Random(4 * 16 * 3, 1);
        float[] bias = Random(4 * 16, 2);
        var tensors = new (string Name, int[] Shape, float[] Data)[]
        {
            ("rnn.weight_ih_l0", [64, 3], weight),
            ("rnn.bias_ih_l0", [64], bias),
            ("special", [2, 5], Special),
            ("scalar", [], [42.5f]),
            ("empty", [3, 0], []),
            ("gewicht_ä_\"quoted\"", [1, 1, 1], [-3f]),
            ("a", [7], Random(7, 3)),
        };
        var writer = new SafeTensorsWriter();
        foreach (var (name, shape, data) in tensors)
            writer.Add(name, shape, data);
        writer.AddMetadata("format", "pt").AddMetadata("note", "line\nbreak, ünïcode, \"quotes\"");

        byte[] bytes = writer.ToArray();
        string path = Path.Combine(Path.GetTempPath(), $"simdlstm-roundtrip-{Guid.NewGuid():N}.safetensors");
        try
        {
            writer.Save(path);
            Assert.Equal(bytes, File.ReadAllBytes(path));
            foreach (SafeTensorsFile file in new[] { SafeTensorsFile.Parse(bytes), SafeTensorsFile.Load(path) })
            {
                Assert.Equal(tensors.Select(t => t.Name), file.Tensors.Select(t => t.Name));
                Assert.Equal(new Dictionary<string, string> { ["format"] = "pt", ["note"] = "line\nbreak, ünïcode, \"quotes\"" }, file.Metadata);
                foreach (var (name, shape, data) in tensors)
                {
                    Assert.True(file.TryGetTensor(name, out SafeTensorInfo? info));
                    Assert.Equal(SafeTensorsDType.F32, info.DType);
                    Assert.Equal(shape.Select(d => (long)d), info.Shape.ToArray());
                    AssertBitwiseEqual(data, file.Read(name, shape), name);
                    AssertBitwiseEqual(data, file.Read(name), name);
                    float[] into = new float[data.Length];
                    file.ReadInto(name, shape, into);
                    AssertBitwiseEqual(data, into, name);
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A file assembled byte by byte from the format description, as the Python library lays it out
    /// (compact JSON, metadata first, names sorted, offsets in name order, header space-padded to a
    /// multiple of 8), with the expected values stated independently of any reader.
    /// </summary>
    [Fact]
    public void HandAssembledFile_ReadsCorrectly()
    {
        const string Header =
            """{"__metadata__":{"format":"pt"},"a.bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[12,28]}}""";
        byte[] data = LittleEndian(0.5f, -2f, 1e-3f, 1f, 2f, 3f, -4.75f);
        byte[] bytes = Assemble(Header, data);
        Assert.Equal(0, (bytes.Length - 28) % 8); // the padding rule the test depends on

        SafeTensorsFile file = SafeTensorsFile.Parse(bytes);
        Assert.Equal(["a.bias", "b.weight"], file.Tensors.Select(t => t.Name));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal([0.5f, -2f, 1e-3f], file.Read("a.bias", [3]));
        Assert.Equal([1f, 2f, 3f, -4.75f], file.Read("b.weight", [2, 2]));
        Assert.Equal(28, file.DataLength);
    }

    /// <summary>
    /// F16, BF16 and F64 tensors, hand-assembled, read as float. Expected values from the IEEE and
    /// bfloat16 bit layouts: F16 0x3C00 = 1, 0xC000 = −2, 0x7BFF = 65504 (largest half), 0x0001 = 2⁻²⁴
    /// (smallest subnormal half), 0x7C00 = +∞; BF16 0x3F80 = 1, 0x4049 = 3.140625, 0x0001 = 2⁻¹³³;
    /// F64 1.5, −0.1 (rounded to the nearest float), 1e300 (beyond float: +∞).
    /// </summary>
    [Fact]
    public void OtherFloatDTypes_AreConvertedExactly()
    {
        byte[] data = new byte[10 + 6 + 24];
        ushort[] half = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00];
        for (int i = 0; i < half.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), half[i]);
        ushort[] bf16 = [0x3F80, 0x4049, 0x0001];
        for (int i = 0; i < bf16.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(10 + 2 * i), bf16[i]);
        double[] f64 = [1.5, -0.1, 1e300];
        for (int i = 0; i < f64.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(16 + 8 * i), f64[i]);
        byte[] bytes = Assemble(
            """{"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[10,16]},"d":{"dtype":"F64","shape":[3],"data_offsets":[16,40]}}""",
            data);
        SafeTensorsFile file = SafeTensorsFile.Parse(bytes);
        Assert.Equal([1f, -2f, 65504f, MathF.Pow(2, -24), float.PositiveInfinity], file.Read("h", [5]));
        Assert.Equal([1f, 3.140625f, MathF.Pow(2, -133)], file.Read("b", [3]));
        Assert.Equal([1.5f, -0.1f, float.PositiveInfinity], file.Read("d", [3]));
    }

    /// <summary>The writer's output checked against the format rules with an independent JSON parser (JsonDocument).</summary>
    [Fact]
    public void WriterOutput_FollowsTheFormat()
    {
        float[] x = Random(13, 4);
        float[] y = Random(6, 5);
        byte[] bytes = new SafeTensorsWriter()
            .AddCopy("z_last_added_first", [13], x)
            .AddCopy("y", [2, 3], y)
            .AddCopy("e", [0], [])
            .AddMetadata("k", "v")
            .ToArray();

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        byte[] header = bytes[8..(8 + (int)n)];
        Assert.Equal((byte)'{', header[0]);
        int close = Array.LastIndexOf(header, (byte)'}');
        Assert.All(header[(close + 1)..], b => Assert.Equal((byte)' ', b));
        using JsonDocument doc = JsonDocument.Parse(header);
        JsonProperty[] entries = doc.RootElement.EnumerateObject().ToArray();
        Assert.Equal(["__metadata__", "z_last_added_first", "y", "e"], entries.Select(e => e.Name));
        Assert.Equal("v", entries[0].Value.GetProperty("k").GetString());
        int dataStart = 8 + (int)n;
        long expectedBegin = 0;
        foreach ((JsonProperty entry, float[] values, int[] shape) in new[] { (entries[1], x, new[] { 13 }), (entries[2], y, new[] { 2, 3 }), (entries[3], Array.Empty<float>(), new[] { 0 }) })
        {
            Assert.Equal("F32", entry.Value.GetProperty("dtype").GetString());
            Assert.Equal(shape, entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
            long[] offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray();
            Assert.Equal([expectedBegin, expectedBegin + 4L * values.Length], offsets);
            for (int i = 0; i < values.Length; i++)
                Assert.Equal(values[i], BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + (int)offsets[0] + 4 * i)));
            expectedBegin = offsets[1];
        }
        Assert.Equal(bytes.Length - dataStart, expectedBegin);
    }

    [Fact]
    public void Load_FromStreams_SeekableAtAnOffsetAndNonSeekable()
    {
        byte[] sample = Sample();
        byte[] prefixed = [.. new byte[] { 1, 2, 3 }, .. sample];
        using var seekable = new MemoryStream(prefixed);
        seekable.Position = 3;
        Assert.Equal(4, SafeTensorsFile.Load(seekable).Tensors.Count);
        using var forwardOnly = new ForwardOnlyStream(sample);
        SafeTensorsFile file = SafeTensorsFile.Load(forwardOnly);
        Assert.Equal([2.5f], file.Read("scale", []));
    }

    [Fact]
    public void AddCopy_CopiesNow_AddReadsAtWriteTime()
    {
        float[] copied = [1f, 2f];
        float[] referenced = [3f, 4f];
        var writer = new SafeTensorsWriter().AddCopy("c", [2], copied).Add("r", [2], referenced);
        copied[0] = 100f;
        referenced[0] = 300f;
        SafeTensorsFile file = SafeTensorsFile.Parse(writer.ToArray());
        Assert.Equal([1f, 2f], file.Read("c", [2]));
        Assert.Equal([300f, 4f], file.Read("r", [2]));
    }

    [Fact]
    public void Writer_RejectsInvalidTensors_AndAddsNothing()
    {
        var writer = new SafeTensorsWriter().Add("w", [2], new float[2]);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => writer.Add("w", [1], new float[1])).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => writer.Add("__metadata__", [1], new float[1])).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => writer.Add("lone\uD800surrogate", [1], new float[1])).ParamName);
        Assert.Equal("value", Assert.Throws<ArgumentException>(() => writer.AddMetadata("k2", "\uDC00")).ParamName);
        Assert.Equal("shape", Assert.Throws<ArgumentOutOfRangeException>(() => writer.Add("x", [2, -1], new float[2])).ParamName);
        ArgumentException length = Assert.Throws<ArgumentException>(() => writer.AddCopy("x", [2, 3], new float[5]));
        Assert.Equal("data", length.ParamName);
        Assert.Contains("Expected 6 elements for shape [2, 3] but got 5", length.Message, StringComparison.Ordinal);
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => writer.AddMetadata("k", "1").AddMetadata("k", "2")).ParamName);
        Assert.Equal(1, writer.Count);
        Assert.Equal(["w"], SafeTensorsFile.Parse(writer.ToArray()).Tensors.Select(t => t.Name));
    }

    /// <summary>
    /// A save that fails half way (the second tensor's memory throws once the header and the first
    /// tensor are written) leaves the previous checkpoint byte for byte and no temporary file behind.
    /// </summary>
    [Fact]
    public void Save_FailingMidway_LeavesThePreviousFileIntact()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"simdlstm-atomic-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            string path = Path.Combine(directory, "model.safetensors");
            byte[] previous = Sample();
            File.WriteAllBytes(path, previous);

            using var failing = new ThrowingMemoryManager(1000);
            var writer = new SafeTensorsWriter()
                .AddCopy("first", [1000], new float[1000])
                .Add("second", [1000], failing.Memory);
            Assert.Throws<SimulatedFailureException>(() => writer.Save(path));

            Assert.Equal(previous, File.ReadAllBytes(path));
            Assert.Equal([path], Directory.GetFiles(directory));
            Assert.Equal(4, SafeTensorsFile.Load(path).Tensors.Count);

            // And a successful save replaces it.
            new SafeTensorsWriter().AddCopy("only", [1], [9f]).Save(path);
            Assert.Equal([9f], SafeTensorsFile.Load(path).Read("only", [1]));
            Assert.Equal([path], Directory.GetFiles(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ReadInto_AllocatesNothing()
    {
        SafeTensorsFile file = SafeTensorsFile.Parse(Sample());
        float[] destination = new float[8];
        file.ReadInto("lstm.weight_ih_l0", [4, 2], destination);
        Allocations.AssertNone(() => file.ReadInto("lstm.weight_ih_l0", [4, 2], destination), count: 100);
        Assert.Equal([0.5f, -1.25f, 3f, 0f, -0f, 1e-3f, 7f, -8f], destination);
    }

    private sealed class SimulatedFailureException : Exception
    {
        public SimulatedFailureException()
            : base("simulated failure while reading tensor memory")
        {
        }
    }

    /// <summary>Memory whose span cannot be obtained: stands for a tensor source that fails while the file is being written.</summary>
    private sealed class ThrowingMemoryManager(int length) : MemoryManager<float>
    {
        public override Memory<float> Memory => CreateMemory(length);

        public override Span<float> GetSpan() => throw new SimulatedFailureException();

        public override MemoryHandle Pin(int elementIndex = 0) => throw new SimulatedFailureException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            // Short reads, to exercise the copy loop.
            int n = Math.Min(Math.Min(count, 7), bytes.Length - _position);
            Array.Copy(bytes, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

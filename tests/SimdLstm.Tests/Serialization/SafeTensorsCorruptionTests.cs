using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Linq;
using System.Text;
using SimdLstm.Serialization;
using Xunit;
using static SimdLstm.Tests.Serialization.SafeTensorsTestFiles;

namespace SimdLstm.Tests.Serialization;

public class SafeTensorsCorruptionTests
{
    /// <summary>Parses and, if that succeeds, reads every float-readable tensor: everything a loader would do with the bytes.</summary>
    private static SafeTensorsFile ParseAndReadAll(byte[] bytes)
    {
        SafeTensorsFile file = SafeTensorsFile.Parse(bytes);
        foreach (SafeTensorInfo t in file.Tensors)
        {
            if (t.DType is SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F64)
            {
                float[] values = file.Read(t.Name);
                Assert.Equal(t.ElementCount, values.Length);
            }
        }
        return file;
    }

    private static SafeTensorsFormatException Rejects(byte[] bytes, string expectedFragment)
    {
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Parse(bytes));
        Assert.Contains(expectedFragment, ex.Message, StringComparison.Ordinal);
        return ex;
    }

    [Fact]
    public void TruncatedFile_AtEveryLength_Throws()
    {
        byte[] sample = Sample();
        for (int length = 0; length < sample.Length; length++)
            Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Parse(sample.AsMemory(0, length)));
        Assert.Equal(4, SafeTensorsFile.Parse(sample).Tensors.Count);
    }

    /// <summary>
    /// Every single-bit flip of a valid file. A flip in the data section must still parse, with exactly
    /// that element changed; a flip in the length field or header must be either rejected with
    /// <see cref="SafeTensorsFormatException"/> or still be a valid file (e.g. a letter of a name changed).
    /// </summary>
    [Fact]
    public void FlippedBits_AreRejectedOrHarmless()
    {
        byte[] sample = Sample();
        int dataStart = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(sample);
        float[] original = SafeTensorsFile.Parse(sample).Read("lstm.weight_ih_l0", [4, 2]);
        int rejected = 0;
        for (int i = 0; i < sample.Length; i++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                byte[] bytes = (byte[])sample.Clone();
                bytes[i] ^= (byte)(1 << bit);
                if (i >= dataStart)
                {
                    SafeTensorsFile file = ParseAndReadAll(bytes);
                    if (i < dataStart + 32)
                    {
                        float[] changed = file.Read("lstm.weight_ih_l0", [4, 2]);
                        int element = (i - dataStart) / 4;
                        Assert.Equal(BitConverter.SingleToInt32Bits(original[element]) ^ (1 << (8 * ((i - dataStart) % 4) + bit)), BitConverter.SingleToInt32Bits(changed[element]));
                    }
                    continue;
                }
                try
                {
                    ParseAndReadAll(bytes);
                }
                catch (SafeTensorsFormatException)
                {
                    rejected++;
                }
            }
        }
        Assert.True(rejected > 0);
    }

    public static TheoryData<ulong, string> AbsurdHeaderLengths => new()
    {
        { ulong.MaxValue, "exceeds the limit" },
        { 1UL << 63, "exceeds the limit" },
        { (ulong)SafeTensorsFile.MaxHeaderLength + 1, "exceeds the limit" },
        { 0, "does not begin with '{'" },
    };

    [Theory]
    [MemberData(nameof(AbsurdHeaderLengths))]
    public void AbsurdHeaderLength_Throws(ulong headerLength, string fragment)
    {
        byte[] bytes = Sample();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength);
        Rejects(bytes, fragment);
    }

    [Fact]
    public void HeaderLengthBeyondTheFile_Throws_WithoutAllocatingIt()
    {
        byte[] bytes = Sample();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(bytes.Length - 8 + 1));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Rejects(bytes, "exceeds the");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 99_999_992);
        Rejects(bytes, "exceeds the");
        // Two exceptions and their messages, nothing near the claimed 100 MB.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100_000);
    }

    public static TheoryData<string, int, string> BadHeaders => new()
    {
        // Offsets
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", 8, "data_offsets [8, 4] are reversed" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}""", 4, "exceed the data section of 4 bytes" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551615,18446744073709551615]}}""", 4, "exceed the data section" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8, "the tensors cover 4" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "leave a gap" },
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "overlap" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "leave a gap" },
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4, "needs 8 bytes" },
        { """{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}""", 4, "has more elements than 2^64" },
        { """{"x":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}}""", 8, "needs more than 2^64 bytes" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}""", 8, "more than two entries" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[4]}}""", 4, "has one entry" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[]}}""", 4, "is empty" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[-1,3]}}""", 4, "non-negative integers" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}""", 4, "got 4.0" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}}""", 4, "got a string" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}""", 4, "below 2^64" },
        // Shapes
        { """{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, "'shape' entries must be non-negative integers" },
        { """{"x":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}""", 4, "got 1e0" },
        { """{"x":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}}""", 4, "got null" },
        { """{"x":{"dtype":"F32","shape":[9223372036854775808,0],"data_offsets":[0,0]}}""", 0, "is too large" },
        { """{"x":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}""", 4, "to be an array but found a number" },
        // Dtypes and fields
        { """{"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}""", 4, "unknown dtype 'F33'" },
        { """{"x":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}""", 4, "unknown dtype 'f32'" },
        { """{"x":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}""", 4, "'dtype' is a number" },
        { """{"x":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}""", 1, "unknown dtype 'F4'" },
        { """{"x":{"shape":[1],"data_offsets":[0,4]}}""", 4, "has no 'dtype'" },
        { """{"x":{"dtype":"F32","data_offsets":[0,4]}}""", 4, "has no 'shape'" },
        { """{"x":{"dtype":"F32","shape":[1]}}""", 0, "has no 'data_offsets'" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}""", 4, "unknown field 'extra'" },
        { """{"x":[1,2]}""", 0, "tensor 'x' to be an object but found an array" },
        // Duplicates (also after unescaping)
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "Tensor 'x' appears twice" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0078":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "Tensor 'x' appears twice" },
        { """{"x":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, "two 'dtype' fields" },
        { """{"x":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}""", 4, "two 'shape' fields" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,4]}}""", 4, "two 'data_offsets' fields" },
        { """{"__metadata__":{},"__metadata__":{}}""", 0, "two '__metadata__' entries" },
        { """{"__metadata__":{"k":"a","k":"b"}}""", 0, "has key 'k' twice" },
        // Metadata
        { """{"__metadata__":{"k":1}}""", 0, "metadata values must be strings" },
        { """{"__metadata__":{"k":{"nested":"x"}}}""", 0, "metadata values must be strings" },
        { """{"__metadata__":"text"}""", 0, "'__metadata__' to be an object" },
        { """{"__metadata__":null}""", 0, "'__metadata__' to be an object" },
        // Not an object, not JSON, not padding
        { """[]""", 0, "does not begin with '{'" },
        { "\"x\"", 0, "does not begin with '{'" },
        { "1", 0, "does not begin with '{'" },
        { "null", 0, "does not begin with '{'" },
        { " {}", 0, "does not begin with '{'" },
        { "\uFEFF{}", 0, "does not begin with '{'" },
        { "{", 0, "not well-formed JSON" },
        { """{"x":}""", 0, "not well-formed JSON" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],}}""", 4, "not well-formed JSON" },
        { """{/*c*/}""", 0, "not well-formed JSON" },
        { """{'x':1}""", 0, "not well-formed JSON" },
        { "{}x", 0, "only space padding may follow" },
        { "{}\n", 0, "only space padding may follow" },
        { "{}{}", 0, "only space padding may follow" },
        { """{"\uD800":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}""", 0, "cannot be decoded" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void InvalidHeader_Throws(string header, int dataLength, string fragment) =>
        Rejects(WithData(header, dataLength), fragment);

    [Fact]
    public void ValidEdgeCases_Parse()
    {
        // Empty header object, no data; unpadded header; space padding inside the length; escapes.
        Assert.Empty(SafeTensorsFile.Parse(Assemble("{}", [])).Tensors);
        Assert.Empty(SafeTensorsFile.Parse(Assemble("{}", [], pad: false)).Tensors);
        SafeTensorsFile file = SafeTensorsFile.Parse(Assemble(
            """{ "e1" : {"dtype":"F32","shape":[0],"data_offsets":[0,0]}, "a\"b" : {"dtype":"F32","shape":[],"data_offsets":[0,4]}, "e2":{"dtype":"F32","shape":[2,0],"data_offsets":[4,4]} }""",
            LittleEndian(6f)));
        Assert.Equal([6f], file.Read("a\"b", []));
        Assert.Empty(file.Read("e2", [2, 0]));
        // Non-float dtypes are valid in a file, just not readable as float.
        SafeTensorsFile ints = SafeTensorsFile.Parse(WithData("""{"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]}}""", 11));
        Assert.Equal(SafeTensorsDType.I32, ints.Tensors[0].DType);
        Assert.Contains("dtype I32", Assert.Throws<SafeTensorsFormatException>(() => ints.Read("i")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUtf8InHeader_Throws()
    {
        byte[] bytes = Assemble("""{"x?":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}""", []);
        bytes[8 + 3] = 0xFF;
        Rejects(bytes, "not valid UTF-8");
    }

    [Fact]
    public void DeeplyNestedJson_ThrowsQuickly()
    {
        foreach (string open in new[] { "[", "{\"a\":" })
        {
            string close = open == "[" ? "]" : "}";
            foreach (string prefix in new[] { "{\"x\":", "{\"__metadata__\":", "{\"x\":{\"shape\":", "{\"x\":{\"dtype\":\"F32\",\"shape\":[" })
            {
                string header = prefix + string.Concat(Enumerable.Repeat(open, 100_000)) + string.Concat(Enumerable.Repeat(close, 100_000)) + "}";
                Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Parse(Assemble(header, [])));
            }
        }
    }

    [Fact]
    public void ReadErrors_NameTheTensorAndShapes()
    {
        SafeTensorsFile file = SafeTensorsFile.Parse(Sample());
        var missing = Assert.Throws<SafeTensorsFormatException>(() => file.Read("lstm.weight_hh_l0", [4, 2]));
        Assert.Contains("'lstm.weight_hh_l0' is not in the file", missing.Message, StringComparison.Ordinal);
        var shape = Assert.Throws<SafeTensorsFormatException>(() => file.Read("lstm.weight_ih_l0", [2, 4]));
        Assert.Contains("Tensor 'lstm.weight_ih_l0': expected shape [2, 4] but the file has [4, 2]", shape.Message, StringComparison.Ordinal);
        Assert.Throws<SafeTensorsFormatException>(() => file.Read("scale", [1])); // rank differs: [] vs [1]

        float[] destination = [7f, 7f, 7f];
        var length = Assert.Throws<ArgumentException>(() => file.ReadInto("lstm.bias_ih_l0", [3, 1], destination.AsSpan(0, 2)));
        Assert.Equal("destination", length.ParamName);
        Assert.Throws<SafeTensorsFormatException>(() => file.ReadInto("lstm.bias_ih_l0", [3, 1], destination));
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadInto("lstm.bias_ih_l0", [-3], destination));
        Assert.Equal("expectedShape", negative.ParamName);
        Assert.Equal([7f, 7f, 7f], destination);
    }

    /// <summary>
    /// Randomised corruption, 10 000 seeded cases: byte overwrites anywhere, edits of the header text
    /// (JSON punctuation, digits, deletions, duplicated spans) with the length field kept consistent so
    /// the deeper checks run, resized data sections and random length fields. Whatever the input, the
    /// only exception the reader may throw is <see cref="SafeTensorsFormatException"/>.
    /// </summary>
    [Fact]
    public void RandomCorruption_OnlyEverThrowsFormatException()
    {
        byte[] sample = Sample();
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(sample);
        string header = Encoding.UTF8.GetString(sample, 8, headerLength);
        byte[] data = sample[(8 + headerLength)..];
        const string Alphabet = "{}[]\":, 0123456789-.eE+FIUBtrufalsn\\x_";
        var rng = new Random(20240611);
        int accepted = 0, rejected = 0;
        var watch = Stopwatch.StartNew();
        for (int c = 0; c < 10_000; c++)
        {
            byte[] bytes;
            int kind = c % 4;
            if (kind == 0)
            {
                bytes = (byte[])sample.Clone();
                int edits = 1 + rng.Next(4);
                for (int e = 0; e < edits; e++)
                    bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            }
            else if (kind == 1)
            {
                var text = new StringBuilder(header);
                int edits = 1 + rng.Next(3);
                for (int e = 0; e < edits && text.Length > 0; e++)
                {
                    int at = rng.Next(text.Length);
                    switch (rng.Next(4))
                    {
                        case 0: text[at] = Alphabet[rng.Next(Alphabet.Length)]; break;
                        case 1: text.Remove(at, 1); break;
                        case 2: text.Insert(at, Alphabet[rng.Next(Alphabet.Length)]); break;
                        default:
                            int length = rng.Next(Math.Min(40, text.Length - at) + 1);
                            text.Insert(rng.Next(text.Length), text.ToString(at, length));
                            break;
                    }
                }
                bytes = Assemble(text.ToString(), data, pad: rng.Next(2) == 0);
            }
            else if (kind == 2)
            {
                int newLength = Math.Max(0, data.Length + rng.Next(-9, 10));
                byte[] resized = new byte[newLength];
                data.AsSpan(0, Math.Min(newLength, data.Length)).CopyTo(resized);
                bytes = Assemble(header, resized);
            }
            else
            {
                bytes = (byte[])sample.Clone();
                ulong value = rng.Next(3) switch
                {
                    0 => (ulong)rng.Next(bytes.Length + 16),
                    1 => (ulong)rng.NextInt64(),
                    _ => ulong.MaxValue - (ulong)rng.Next(16),
                };
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
            }

            try
            {
                ParseAndReadAll(bytes);
                accepted++;
            }
            catch (SafeTensorsFormatException)
            {
                rejected++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"case {c} (kind {kind}) threw {ex.GetType().Name}: {ex.Message}\nbytes: {Convert.ToHexString(bytes)}");
            }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"{accepted} accepted, {rejected} rejected in {watch.ElapsedMilliseconds} ms");
        Assert.True(rejected > 1000 && accepted > 0, $"{accepted} accepted, {rejected} rejected: the mutations should produce both");
    }
}

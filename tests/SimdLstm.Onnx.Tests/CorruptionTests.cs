using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Google.Protobuf;
using Xunit;

namespace SimdLstm.Onnx.Tests;

/// <summary>Corrupt input gives an <see cref="OnnxFormatException"/> every time: never another exception, a hang or a huge allocation.</summary>
public sealed class CorruptionTests
{
    private static byte[] RealModel()
    {
        var model = new SequenceModel(RecurrentOptions.Lstm(3, 4, numLayers: 2, bidirectional: true), 3, 11);
        return OnnxExport.ToBytes(model, new OnnxExportOptions { SequenceLengths = true, InitialState = true, BatchFirst = true });
    }

    // Loads; true when imported, false when refused with the library's error; any other exception fails the test.
    private static bool Loads(byte[] bytes, string what)
    {
        try
        {
            OnnxImport.Load(bytes);
            return true;
        }
        catch (OnnxFormatException)
        {
            return false;
        }
        catch (Exception e)
        {
            File.WriteAllBytes(Path.Combine(AppContext.BaseDirectory, "failing-mutation.onnx"), bytes);
            Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            return false;
        }
    }

    [Fact]
    public void Every_truncation_is_refused()
    {
        byte[] model = RealModel();
        Assert.True(Loads(model, "the model itself"));
        for (int length = 0; length < model.Length; length++)
            Assert.False(Loads(model[..length], $"truncated to {length} bytes")); // the opset, written last, is always cut off
    }

    /// <summary>10^5 random mutations of a real exported model: bit flips, bytes set, runs of 0xFF (huge varints), insertions, deletions, duplications, truncations.</summary>
    [Fact]
    public void A_hundred_thousand_mutations_give_only_format_errors()
    {
        byte[] model = RealModel();
        var random = new Random(12345);
        int imported = 0, refused = 0;
        var clock = Stopwatch.StartNew();
        const int Mutations = 100_000;
        for (int m = 0; m < Mutations; m++)
        {
            byte[] bytes = Mutate(model, random);
            if (Loads(bytes, $"mutation {m}"))
                imported++;
            else
                refused++;
        }
        clock.Stop();
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "fuzz-figures.txt"),
            $"model {model.Length} bytes; {Mutations} mutations in {clock.Elapsed.TotalSeconds:F1} s: {refused} refused with OnnxFormatException, {imported} imported, 0 other exceptions\n");
        Assert.Equal(Mutations, imported + refused);
    }

    private static byte[] Mutate(byte[] model, Random random)
    {
        byte[] bytes = (byte[])model.Clone();
        int kind = random.Next(7);
        int at = random.Next(bytes.Length);
        switch (kind)
        {
            case 0:
                for (int i = 1 + random.Next(3); i > 0; i--)
                {
                    int p = random.Next(bytes.Length);
                    bytes[p] ^= (byte)(1 << random.Next(8));
                }
                return bytes;
            case 1:
                bytes[at] = (byte)random.Next(256);
                return bytes;
            case 2:
                for (int i = at; i < Math.Min(bytes.Length, at + 1 + random.Next(10)); i++)
                    bytes[i] = 0xFF;
                return bytes;
            case 3:
                {
                    byte[] insert = new byte[1 + random.Next(8)];
                    random.NextBytes(insert);
                    return [.. bytes[..at], .. insert, .. bytes[at..]];
                }
            case 4:
                return [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + 1 + random.Next(16))..]];
            case 5:
                {
                    int length = Math.Min(bytes.Length - at, 1 + random.Next(64));
                    return [.. bytes[..at], .. bytes.AsSpan(at, length).ToArray(), .. bytes[at..]];
                }
            default:
                return bytes[..at];
        }
    }

    [Fact]
    public void Deep_nesting_is_refused()
    {
        // 200,000 nested groups in an unknown field of the model: the protobuf library's recursion limit stops them.
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream, leaveOpen: true);
        for (int i = 0; i < 200_000; i++)
            output.WriteTag(15, WireFormat.WireType.StartGroup);
        output.Flush();
        Assert.False(Loads(stream.ToArray(), "nested groups"));
        // Messages nested 10,000 deep in unknown fields are skipped as bytes, without recursion.
        byte[] nested = [];
        for (int i = 0; i < 10_000; i++)
            nested = Field(15, nested);
        Assert.False(Loads([.. Field(7, nested)], "nested messages"));
    }

    [Fact]
    public void Absurd_sizes_are_refused_without_allocating()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        // A graph claiming 2^31 − 1 bytes.
        using (var stream = new MemoryStream())
        {
            var output = new CodedOutputStream(stream, leaveOpen: true);
            output.WriteTag(7, WireFormat.WireType.LengthDelimited);
            output.WriteLength(int.MaxValue);
            output.Flush();
            Assert.False(Loads(stream.ToArray(), "a huge graph length"));
        }
        // A tensor of 2^40 × 2^40 elements with no data, and one of 2^30 floats with 4 bytes of data.
        foreach (long[] dims in new[] { new[] { 1L << 40, 1L << 40 }, new[] { 1L << 30 } })
        {
            byte[] model = new TestModelWriter()
                .Input("x", 1, "seq", 1, 2)
                .Floats("W", dims, [0f], TestModelWriter.Storage.Raw).Floats("R", [1, 1, 1], [0f])
                .Node("RNN", "rnn", ["x", "W", "R"], ["y"], ("hidden_size", 1L)).Output("y", 1, "seq", 1, 1, 1)
                .ToBytes();
            Assert.False(Loads(model, $"a tensor of dims [{string.Join(", ", dims)}]"));
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 16 << 20, $"{allocated} bytes allocated");
    }

    private static byte[] Field(int number, byte[] payload)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream, leaveOpen: true);
        output.WriteTag(number, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(payload));
        output.Flush();
        return stream.ToArray();
    }
}

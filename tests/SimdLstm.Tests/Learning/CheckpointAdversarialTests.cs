using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using SimdLstm.Serialization;
using SimdLstm.Text;
using Xunit;

namespace SimdLstm.Tests.Learning;

/// <summary>
/// Checkpoints that are not what they claim: metadata that describes a model far larger than the file, weights that are
/// not finite, and a hundred thousand random mutations of a real checkpoint. Every one fails with the format exception,
/// quickly and without allocating more than the file.
/// </summary>
public sealed class CheckpointAdversarialTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("simdlstm-adversarial-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly Vocabulary Letters = Vocabulary.FromText("abcdef");

    private static SequenceModel SmallModel() => new(RecurrentOptions.Lstm(Letters.Count, 4), Letters.Count, seed: 3);

    private static byte[] SmallCheckpoint() => ModelCheckpoint.CreateWriter(SmallModel(), Letters, new Dictionary<string, string> { ["lr"] = "0.002" }).ToArray();

    /// <summary>The small checkpoint with metadata values replaced (tensors untouched).</summary>
    private static byte[] WithMetadata(params (string Key, string? Value)[] changes)
    {
        SafeTensorsFile good = SafeTensorsFile.Parse(SmallCheckpoint());
        var writer = new SafeTensorsWriter();
        var replaced = changes.ToDictionary(c => c.Key, c => c.Value);
        foreach ((string key, string value) in good.Metadata)
        {
            if (!replaced.TryGetValue(key, out string? v))
                writer.AddMetadata(key, value);
            else if (v is not null)
                writer.AddMetadata(key, v);
        }
        foreach (SafeTensorInfo t in good.Tensors)
            writer.AddCopy(t.Name, [.. t.Shape.ToArray().Select(d => (int)d)], good.Read(t.Name));
        return writer.ToArray();
    }

    public static TheoryData<string, string, string> ClaimsOfAHugeModel => new()
    {
        { "hidden_size", "8192", "'weight_ih_l0' has shape [16, 6]; expected [32768, 6]" },
        { "input_size", "8192", "'weight_ih_l0' has shape [16, 6]; expected [16, 8192]" },
        { "num_layers", "100000000", "missing tensor 'weight_ih_l1'" },
        { "output_size", "2147483647", "'fc.weight' has shape [6, 4]; expected [2147483647, 4]" },
        { "proj_size", "3", "'weight_hh_l0' has shape [16, 4]; expected [16, 3]" },
        { "bidirectional", "true", "missing tensor 'weight_ih_l0_reverse'" },
    };

    [Theory]
    [MemberData(nameof(ClaimsOfAHugeModel))]
    public void MetadataClaimingAnotherModel_FailsBeforeAllocating(string key, string value, string fragment)
    {
        byte[] bytes = WithMetadata((key, value));
        SafeTensorsFile file = SafeTensorsFile.Parse(bytes);
        var watch = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<SafeTensorsFormatException>(() => ModelCheckpoint.Load(file));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 256 * 1024, $"allocated {allocated} bytes for a {bytes.Length}-byte file");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Load_FromPath_NamesTheFileBeforeTheReason()
    {
        string path = Path.Combine(_directory, "huge.safetensors");
        File.WriteAllBytes(path, WithMetadata(("hidden_size", "8192")));
        var e = Assert.Throws<SafeTensorsFormatException>(() => ModelCheckpoint.Load(path));
        Assert.StartsWith($"'{path}' is not a valid SimdLstm checkpoint: Checkpoint tensor 'weight_ih_l0' has shape", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bidirectional", "yes", "'bidirectional' is 'yes'; expected 'true' or 'false'")]
    [InlineData("proj_size", "-1", "'proj_size' is '-1'; expected an integer of 0 or more")]
    [InlineData("proj_size", "4", "invalid model")] // proj_size must be below hidden_size
    [InlineData("dropout", "1.5", "'dropout' is '1.5'; expected a probability in [0, 1]")]
    [InlineData("dropout", "NaN", "'dropout' is 'NaN'")]
    [InlineData("dropout", "0,5", "'dropout' is '0,5'")]
    public void InvalidNewMetadataValues_AreFormatErrors(string key, string value, string fragment)
    {
        var e = Assert.Throws<SafeTensorsFormatException>(() => ModelCheckpoint.Load(SafeTensorsFile.Parse(WithMetadata((key, value)))));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckpointWithoutTheNewKeys_LoadsWithTheirDefaults()
    {
        LoadedModel loaded = ModelCheckpoint.Load(SafeTensorsFile.Parse(WithMetadata(("bidirectional", null), ("proj_size", null), ("dropout", null))));
        Assert.False(loaded.Model.Options.Bidirectional);
        Assert.Equal(0, loaded.Model.Options.ProjectionSize);
        Assert.Equal(0f, loaded.Model.Options.Dropout);
        Assert.Equal(SmallModel().Parameters.Span.ToArray(), loaded.Model.Parameters.Span.ToArray());
    }

    [Theory]
    [InlineData(false, 0, 0f)]
    [InlineData(true, 0, 0.25f)]
    [InlineData(false, 3, 0.5f)]
    [InlineData(true, 3, 0.1f)]
    public void BidirectionalProjectionAndDropout_RoundTripThroughTheFile(bool bidirectional, int projSize, float dropout)
    {
        // At the file level: the metadata and tensors written, and the architecture read back from them.
        var options = RecurrentOptions.Lstm(5, 6, numLayers: 2, bidirectional: bidirectional, projSize: projSize, dropout: dropout);
        var model = new SequenceModel(options, 5, seed: 1);
        SafeTensorsFile file = SafeTensorsFile.Parse(ModelCheckpoint.CreateWriter(model).ToArray());
        Assert.Equal(bidirectional ? "true" : "false", file.Metadata["bidirectional"]);
        Assert.Equal(projSize.ToString(System.Globalization.CultureInfo.InvariantCulture), file.Metadata["proj_size"]);
        Assert.Equal(dropout, float.Parse(file.Metadata["dropout"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(SequenceModel.Layout(options, 5).Select(t => t.Name).Order(), file.Tensors.Select(t => t.Name).Order());
        Assert.Equal(bidirectional, file.TryGetTensor("weight_hh_l1_reverse", out _));
        Assert.Equal(projSize > 0, file.TryGetTensor("weight_hr_l1", out _));
        if (bidirectional && projSize > 0)
        {
            Assert.True(file.TryGetTensor("weight_hr_l1_reverse", out SafeTensorInfo? hr));
            Assert.Equal([3L, 6L], hr.Shape.ToArray());
            Assert.True(file.TryGetTensor("weight_ih_l1", out SafeTensorInfo? ih));
            Assert.Equal([24L, 6L], ih.Shape.ToArray()); // layer 1 takes both directions' projected h: 2·P inputs
        }

        (RecurrentOptions read, int outputSize, _) = ModelCheckpoint.ReadArchitecture(file);
        Assert.Equal(options, read);
        Assert.Equal(5, outputSize);
    }

    [Fact]
    public void NonFiniteWeights_AreRefusedUnlessAllowed()
    {
        SequenceModel model = SmallModel();
        model.Parameters["weight_hh_l0"].Span[7] = float.NaN;
        string path = Path.Combine(_directory, "nan.safetensors");
        ModelCheckpoint.Save(path, model, Letters);
        var e = Assert.Throws<SafeTensorsFormatException>(() => ModelCheckpoint.Load(path));
        Assert.Contains("tensor 'weight_hh_l0' holds NaN at element 7", e.Message, StringComparison.Ordinal);

        LoadedModel loaded = ModelCheckpoint.Load(path, allowNonFiniteWeights: true);
        Assert.True(float.IsNaN(loaded.Model.Parameters["weight_hh_l0"].Span[7]));
    }

    [Fact]
    public void HundredThousandMutations_OnlyEverFormatErrors_BoundedInTimeAndMemory()
    {
        byte[] original = SmallCheckpoint();
        int headerEnd = 8 + (int)BitConverter.ToUInt64(original, 0);
        var random = new Random(20261203);
        const int mutations = 100_000;
        long worstAllocation = 0;
        TimeSpan worstTime = TimeSpan.Zero;
        int loaded = 0, rejected = 0;
        var failures = new List<string>();
        var total = Stopwatch.StartNew();
        for (int i = 0; i < mutations; i++)
        {
            byte[] bytes = Mutate(original, headerEnd, random);
            long before = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            try
            {
                ModelCheckpoint.Load(SafeTensorsFile.Parse(bytes));
                loaded++;
            }
            catch (SafeTensorsFormatException)
            {
                rejected++;
            }
            catch (Exception e) when (failures.Count < 5)
            {
                failures.Add($"mutation {i}: {e.GetType().Name}: {e.Message}");
            }
            TimeSpan took = Stopwatch.GetElapsedTime(start);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            worstTime = took > worstTime ? took : worstTime;
            worstAllocation = Math.Max(worstAllocation, allocated);
        }
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{mutations} mutations in {total.Elapsed.TotalSeconds:F1} s: {loaded} loaded, {rejected} rejected; worst load {worstTime.TotalMilliseconds:F1} ms, {worstAllocation} bytes");
        Assert.Empty(failures);
        Assert.Equal(mutations, loaded + rejected);
        Assert.True(rejected > mutations / 2, $"only {rejected} rejected: the mutations are too gentle");
        Assert.True(worstAllocation < 4 << 20, $"a load allocated {worstAllocation} bytes for a {original.Length}-byte file");
        Assert.True(worstTime < TimeSpan.FromSeconds(2), $"a load took {worstTime}");
    }

    // Numbers an attacker would try in place of a size in the header.
    private static readonly string[] Numbers = ["0", "1", "3", "8192", "65536", "100000000", "2147483647", "2147483648", "4294967296", "18446744073709551615", "-1", "1e9", "0.5"];

    /// <summary>One of: a flipped bit, a changed byte, a number in the header replaced (metadata sizes and shapes alike), a byte inserted or removed, a truncation, a header-length change.</summary>
    private static byte[] Mutate(byte[] original, int headerEnd, Random random)
    {
        byte[] bytes = (byte[])original.Clone();
        switch (random.Next(7))
        {
            case 0:
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 1:
                bytes[8 + random.Next(headerEnd - 8)] = (byte)random.Next(256);
                return bytes;
            case 2:
            case 3:
                return ReplaceNumber(bytes, headerEnd, random);
            case 4:
            {
                int at = 8 + random.Next(headerEnd - 8);
                var list = bytes.ToList();
                if (random.Next(2) == 0)
                    list.RemoveAt(at);
                else
                    list.Insert(at, (byte)"{}[],:\"0 9a\\"[random.Next(12)]);
                return [.. list];
            }
            case 5:
                return bytes[..random.Next(bytes.Length)];
            default:
                BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)random.Next(headerEnd * 2));
                return bytes;
        }
    }

    /// <summary>Replaces one run of digits in the header (inside a string or not) by another number, keeping the header length right.</summary>
    private static byte[] ReplaceNumber(byte[] bytes, int headerEnd, Random random)
    {
        string header = Encoding.UTF8.GetString(bytes, 8, headerEnd - 8);
        var runs = new List<(int Start, int Length)>();
        for (int i = 0; i < header.Length; i++)
        {
            if (!char.IsAsciiDigit(header[i]))
                continue;
            int start = i;
            while (i < header.Length && char.IsAsciiDigit(header[i]))
                i++;
            runs.Add((start, i - start));
        }
        (int s, int n) = runs[random.Next(runs.Count)];
        string replaced = header[..s] + Numbers[random.Next(Numbers.Length)] + header[(s + n)..];
        byte[] newHeader = Encoding.UTF8.GetBytes(replaced);
        byte[] result = new byte[8 + newHeader.Length + bytes.Length - headerEnd];
        BitConverter.TryWriteBytes(result.AsSpan(0, 8), (ulong)newHeader.Length);
        newHeader.CopyTo(result, 8);
        bytes.AsSpan(headerEnd).CopyTo(result.AsSpan(8 + newHeader.Length));
        return result;
    }
}

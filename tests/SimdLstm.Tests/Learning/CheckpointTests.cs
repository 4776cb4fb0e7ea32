using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using SimdLstm.Text;
using SimdLstm.Serialization;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Learning;

/// <summary>Checkpoints: save → load gives the same model; PyTorch names and shapes; clear errors on a mismatched file.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "simdlstm-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void SaveThenLoad_GivesIdenticalParametersAndOutputs(CellKind cell)
    {
        Vocabulary vocabulary = Vocabulary.FromText("In the beginning God created the heaven and the earth.\n");
        var model = new SequenceModel(new RecurrentOptions(cell, vocabulary.Count, 12, numLayers: 2), vocabulary.Count, seed: 4);
        string path = Path.Combine(_directory, "sub", "model.safetensors");
        ModelCheckpoint.Save(path, model, vocabulary, new Dictionary<string, string> { ["lr"] = "0.002", ["seq_len"] = "64" });

        LoadedModel loaded = ModelCheckpoint.Load(path);
        Assert.Equal(model.Options, loaded.Model.Options);
        Assert.Equal(model.OutputSize, loaded.Model.OutputSize);
        Assert.Equal(model.Parameters.Span.ToArray(), loaded.Model.Parameters.Span.ToArray());
        Assert.Equal(vocabulary.Serialize(), loaded.Vocabulary!.Serialize());
        Assert.Equal("0.002", loaded.HyperParameters["lr"]);
        Assert.Equal("64", loaded.HyperParameters["seq_len"]);

        // Streaming both models over the same text gives bit-identical logits.
        int[] ids = vocabulary.Encode("the earth");
        float[] a = StreamLogits(model, ids), b = StreamLogits(loaded.Model, ids);
        Assert.Equal(a, b);
        // And so identical samples.
        Assert.Equal(
            new TextSampler(model, vocabulary).Generate(80, 1f, seed: 9).Text,
            new TextSampler(loaded.Model, vocabulary).Generate(80, 1f, seed: 9).Text);
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void Save_WritesPyTorchNamesAndShapes(CellKind cell)
    {
        const int vocabulary = 5, hidden = 3;
        var model = new SequenceModel(new RecurrentOptions(cell, vocabulary, hidden, numLayers: 2), vocabulary, seed: 1);
        SafeTensorsFile file = SafeTensorsFile.Parse(ModelCheckpoint.CreateWriter(model).ToArray());
        // nn.LSTM / nn.GRU / nn.RNN(5, 3, num_layers=2) + nn.Linear(3, 5) named fc, written out by hand from PyTorch's
        // documentation: weight_ih_l0 is (4·hidden, input) for an LSTM (W_ii|W_if|W_ig|W_io), (3·hidden, input) for a GRU
        // (W_ir|W_iz|W_in) and (hidden, input) for an RNN.
        (string name, long rows) = cell switch
        {
            CellKind.Lstm => ("lstm", 12L),
            CellKind.Gru => ("gru", 9L),
            CellKind.Rnn => ("rnn", 3L),
            _ => throw new ArgumentOutOfRangeException(nameof(cell)),
        };
        var expected = new Dictionary<string, long[]>
        {
            ["weight_ih_l0"] = [rows, 5], ["weight_hh_l0"] = [rows, 3], ["bias_ih_l0"] = [rows], ["bias_hh_l0"] = [rows],
            ["weight_ih_l1"] = [rows, 3], ["weight_hh_l1"] = [rows, 3], ["bias_ih_l1"] = [rows], ["bias_hh_l1"] = [rows],
            ["fc.weight"] = [5, 3], ["fc.bias"] = [5],
        };
        Assert.Equal(expected.Keys.Order(), file.Tensors.Select(t => t.Name).Order());
        foreach (SafeTensorInfo t in file.Tensors)
        {
            Assert.Equal(expected[t.Name], t.Shape.ToArray());
            Assert.Equal(model.Parameters[t.Name].ToArray(), file.Read(t.Name));
        }
        Assert.Equal(name, file.Metadata["cell"]);
        Assert.Equal("3", file.Metadata["hidden_size"]);
        Assert.Equal("2", file.Metadata["num_layers"]);
    }

    [Fact]
    public void Load_MissingTensor_FailsNamingIt()
    {
        var model = new SequenceModel(RecurrentOptions.Lstm(4, 3), 4, seed: 1);
        string path = WriteVariant(model, skip: "weight_hh_l0", reshape: null);
        var e = Assert.Throws<SafeTensorsFormatException>(() => ModelCheckpoint.Load(path));
        Assert.Contains("missing tensor 'weight_hh_l0'", e.Message, StringComparison.Ordinal);
        Assert.Contains("[12, 3]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MisshapedTensor_FailsWithExpectedAndActualShapes()
    {
        var model = new SequenceModel(RecurrentOptions.Lstm(4, 3), 4, seed: 1);
        string path = WriteVariant(model, skip: null, reshape: "fc.weight");
        var e = Assert.Throws<SafeTensorsFormatException>(() => ModelCheckpoint.Load(path));
        Assert.Contains("'fc.weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 4]", e.Message, StringComparison.Ordinal); // as written
        Assert.Contains("[4, 3]", e.Message, StringComparison.Ordinal); // as expected
    }

    [Theory]
    [InlineData("foo")]
    [InlineData("GRU")] // the names are lower case, as written
    [InlineData("")]
    public void Load_UnknownCell_FailsNamingTheValueAndTheChoices(string cell)
    {
        var model = new SequenceModel(RecurrentOptions.Gru(4, 3), 4, seed: 1);
        string path = WriteVariant(model, skip: null, reshape: null, metadata: ("cell", cell));
        var e = Assert.Throws<SafeTensorsFormatException>(() => ModelCheckpoint.Load(path));
        Assert.Equal($"'{path}' is not a valid SimdLstm checkpoint: Checkpoint metadata 'cell' is '{cell}'; expected 'lstm', 'gru' or 'rnn'.", e.Message);
    }

    [Fact]
    public void Load_GruCheckpointWithLstmShapes_FailsNamingTheTensor()
    {
        // An LSTM's tensors under a GRU's metadata: weight_ih_l0 has 4·H rows where a GRU has 3·H.
        var lstm = new SequenceModel(RecurrentOptions.Lstm(4, 3), 4, seed: 1);
        string path = WriteVariant(lstm, skip: null, reshape: null, metadata: ("cell", "gru"));
        var e = Assert.Throws<SafeTensorsFormatException>(() => ModelCheckpoint.Load(path));
        Assert.Contains("'weight_ih_l0' has shape [12, 4]; expected [9, 4]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingMetadata_FailsClearly()
    {
        string path = Path.Combine(_directory, "plain.safetensors");
        Directory.CreateDirectory(_directory);
        new SafeTensorsWriter().AddCopy("x", [2], [1f, 2f]).Save(path);
        var e = Assert.Throws<SafeTensorsFormatException>(() => ModelCheckpoint.Load(path));
        Assert.Contains("'format'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Vocabulary_SerializeThenDeserialize_RoundTrips()
    {
        Vocabulary v = Vocabulary.FromText("babel, \"Babel\"\n");
        Assert.Equal(" \n\",Babel".Length, v.Count);
        Vocabulary back = Vocabulary.Deserialize(v.Serialize());
        Assert.Equal("babel\n", back.Decode(back.Encode("babel\n")));
        Assert.Equal(v.Encode("Babel, babel"), back.Encode("Babel, babel"));
        Assert.Throws<ArgumentException>(() => Vocabulary.Deserialize("abca"));
        var e = Assert.Throws<ArgumentException>(() => v.Encode("bz"));
        Assert.Contains("index 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampler_SameSeed_SameText_AndAllocatesNothing()
    {
        Vocabulary vocabulary = Vocabulary.FromText("abcdefgh \n");
        var model = new SequenceModel(RecurrentOptions.Lstm(vocabulary.Count, 8), vocabulary.Count, seed: 2);
        var sampler = new TextSampler(model, vocabulary);
        string first = sampler.Generate(50, 1f, seed: 3, prime: "ab").Text;
        Assert.Equal(first, sampler.Generate(50, 1f, seed: 3, prime: "ab").Text);
        Assert.NotEqual(first, sampler.Generate(50, 1f, seed: 4, prime: "ab").Text);
        Assert.All(first.EnumerateRunes(), c => Assert.True(vocabulary.TryGetId(c, out _)));

        // Generating into a span allocates nothing at all, not even per call (the draws' generator is a struct).
        var buffer = new Rune[64];
        sampler.Generate(buffer, 0.7f, 1, "a".AsSpan());
        Allocations.AssertNone(() => sampler.Generate(buffer, 0.7f, 1, "a".AsSpan()), count: 3);

        Assert.Throws<ArgumentException>(() => sampler.Generate(5, 1f, 1, prime: "xyz"));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Generate(5, 0f, 1));
    }

    private static float[] StreamLogits(SequenceModel model, int[] ids)
    {
        RecurrentState state = model.CreateState(1);
        SequenceModelWorkspace workspace = model.CreateWorkspace(1, 1);
        var all = new float[ids.Length * model.OutputSize];
        for (int i = 0; i < ids.Length; i++)
            model.Step(ids.AsSpan(i, 1), state, workspace, all.AsSpan(i * model.OutputSize, model.OutputSize));
        return all;
    }

    /// <summary>A checkpoint of <paramref name="model"/> with one tensor left out or stored transposed, or one metadata value replaced.</summary>
    private string WriteVariant(SequenceModel model, string? skip, string? reshape, (string Key, string Value)? metadata = null)
    {
        SafeTensorsFile good = SafeTensorsFile.Parse(ModelCheckpoint.CreateWriter(model).ToArray());
        var writer = new SafeTensorsWriter();
        foreach ((string key, string value) in good.Metadata)
            writer.AddMetadata(key, key == metadata?.Key ? metadata.Value.Value : value);
        foreach (ParameterTensor t in model.Parameters.Tensors)
        {
            if (t.Name == skip)
                continue;
            int[] shape = [.. t.Shape];
            if (t.Name == reshape)
                Array.Reverse(shape);
            writer.AddCopy(t.Name, shape, model.Parameters[t.Name].Span);
        }
        Directory.CreateDirectory(_directory);
        string path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".safetensors");
        writer.Save(path);
        return path;
    }
}

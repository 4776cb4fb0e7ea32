using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using SimdLstm.Interop;
using SimdLstm.Serialization;
using Xunit;

namespace SimdLstm.Tests.Interop;

/// <summary>
/// PyTorch state_dicts in safetensors form, written here byte by byte as <c>safetensors.torch.save_file</c> lays them out
/// (a little-endian header length, a JSON header of name → dtype, shape, data offsets, then the data), with PyTorch's
/// module names: each is loaded exactly, or refused naming its reason.
/// </summary>
public class TorchStateDictTests
{
    public static TheoryData<string, string> Dtypes => new() { { "F32", "" }, { "F16", "lstm." }, { "BF16", "encoder.rnn." }, { "F64", "rnn." } };

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void EveryCellAndShape_LoadsExactly_FromEveryDtypeAndPrefix(string dtype, string prefix)
    {
        RecurrentOptions[] shapes =
        [
            RecurrentOptions.Lstm(5, 6, numLayers: 2),
            RecurrentOptions.Lstm(3, 8, numLayers: 2, bidirectional: true, projSize: 5),
            RecurrentOptions.Gru(4, 3, bidirectional: true, bias: false),
            RecurrentOptions.Rnn(7, 2, numLayers: 3),
        ];
        foreach (RecurrentOptions options in shapes)
        {
            // Values on a 1/64 grid in [−2, 2): exact in F16, BF16, F32 and F64, so "exactly" means bitwise.
            var tensors = RecurrentParameters.Layout(options).Select((t, k) => (prefix + t.Name, t.Shape, Grid(t.Shape, k))).ToList();
            SafeTensorsFile file = SafeTensorsFile.Parse(StateDict(dtype, tensors));
            RecurrentLayer layer = TorchStateDict.LoadLayer(file);
            Assert.Equal(options, layer.Options);
            foreach ((string name, int[] _, float[] values) in tensors)
                Assert.Equal(values, layer.Weights.Buffer[name[prefix.Length..]].Span.ToArray());
            Assert.Equal(prefix, TorchStateDict.FindRecurrent(file).Prefix);
        }
    }

    [Fact]
    public void Activation_AndDropout_ComeFromTheCaller()
    {
        var options = RecurrentOptions.Rnn(3, 4, numLayers: 2, activation: RnnActivation.Relu, dropout: 0.25f);
        SafeTensorsFile file = SafeTensorsFile.Parse(StateDict("F32", Tensors(options, "")));
        RecurrentLayer layer = TorchStateDict.LoadLayer(file, new TorchLoadOptions { Activation = RnnActivation.Relu, Dropout = 0.25f });
        Assert.Equal(options, layer.Options);
    }

    [Fact]
    public void SaveThenLoad_RoundTripsLayerAndModel_WithPyTorchsNames()
    {
        var layer = new RecurrentLayer(RecurrentOptions.Lstm(4, 6, numLayers: 2, bidirectional: true, projSize: 3), seed: 2);
        byte[] bytes = TorchStateDict.ToWriter(layer, "lstm.").ToArray();
        SafeTensorsFile file = SafeTensorsFile.Parse(bytes);
        // The names and order PyTorch's nn.LSTM(4, 6, 2, bidirectional=True, proj_size=3) registers, under its attribute.
        Assert.Equal(RecurrentParameters.Layout(layer.Options).Select(t => "lstm." + t.Name), file.Tensors.Select(t => t.Name));
        Assert.Equal(layer.Weights.Buffer.Span.ToArray(), TorchStateDict.LoadLayer(file).Weights.Buffer.Span.ToArray());

        var model = new SequenceModel(RecurrentOptions.Gru(5, 7, numLayers: 2, bidirectional: true), outputSize: 9, seed: 3, vocabularySize: 11);
        SafeTensorsFile saved = SafeTensorsFile.Parse(TorchStateDict.ToWriter(model, "gru.", "decoder.", "embed.").ToArray());
        Assert.Equal("embed.weight", saved.Tensors[0].Name);
        Assert.Equal("decoder.bias", saved.Tensors[^1].Name);
        SequenceModel loaded = TorchStateDict.LoadModel(saved);
        Assert.Equal(model.Options, loaded.Options);
        Assert.Equal(11, loaded.VocabularySize);
        Assert.Equal(9, loaded.OutputSize);
        Assert.Equal(model.Parameters.Span.ToArray(), loaded.Parameters.Span.ToArray());
    }

    [Fact]
    public void Model_WithoutEmbedding_AndSameWidths_FindsTheHeadByItsBias()
    {
        // I = D·H' = 6: an embedding and a head would both be [·, 6]; the head is the one with a bias.
        var model = new SequenceModel(RecurrentOptions.Lstm(6, 6), outputSize: 4, seed: 1, vocabularySize: 10);
        SequenceModel loaded = TorchStateDict.LoadModel(SafeTensorsFile.Parse(TorchStateDict.ToWriter(model).ToArray()));
        Assert.Equal(10, loaded.VocabularySize);
        Assert.Equal(model.Parameters.Span.ToArray(), loaded.Parameters.Span.ToArray());
        var bare = new SequenceModel(RecurrentOptions.Gru(6, 6), outputSize: 4, seed: 1);
        Assert.Equal(0, TorchStateDict.LoadModel(SafeTensorsFile.Parse(TorchStateDict.ToWriter(bare).ToArray())).VocabularySize);
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { "missing", "missing tensor 'rnn.weight_hh_l1'" },
        { "shape", "tensor 'rnn.bias_ih_l1' has shape [23]" },
        { "extra", "unexpected tensor 'rnn.weight_ih_l2_extra'" },
        { "unrelated", "unexpected tensor 'optimizer.step'" },
        { "nan", "tensor 'rnn.weight_hh_l0' holds NaN" },
        { "none", "no recurrent module" },
        { "two", "2 recurrent modules" },
        { "gates", "has 2·H rows" },
        { "reverse", "missing tensor 'rnn.weight_ih_l1_reverse'" },
        { "dtype", "is I32" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void BadStateDicts_AreRefusedNamingTheReason(string fault, string expected)
    {
        var options = RecurrentOptions.Lstm(3, 6, numLayers: 2, bidirectional: fault == "reverse");
        var tensors = Tensors(options, "rnn.");
        tensors.Add(("fc.weight", [4, options.OutputSize], Grid([4, options.OutputSize], 9)));
        tensors.Add(("fc.bias", [4], Grid([4], 10)));
        string dtype = "F32";
        switch (fault)
        {
            case "missing": tensors.RemoveAll(t => t.Name == "rnn.weight_hh_l1"); break;
            case "shape": tensors[tensors.FindIndex(t => t.Name == "rnn.bias_ih_l1")] = ("rnn.bias_ih_l1", [23], Grid([23], 1)); break;
            case "extra": tensors.Add(("rnn.weight_ih_l2_extra", [2], Grid([2], 2))); break;
            case "unrelated": tensors.Add(("optimizer.step", [1], [1f])); break;
            case "nan": tensors.First(t => t.Name == "rnn.weight_hh_l0").Values[5] = float.NaN; break;
            case "none": tensors.RemoveAll(t => t.Name.StartsWith("rnn.", StringComparison.Ordinal)); break;
            case "two": tensors.AddRange(Tensors(RecurrentOptions.Gru(2, 2), "other.")); break;
            case "gates":
                tensors = Tensors(RecurrentOptions.Lstm(3, 6), "rnn.").Select(t => (t.Name, t.Shape[0] == 24 ? [12, .. t.Shape[1..]] : t.Shape, t.Values)).ToList();
                tensors = tensors.Select(t => (t.Name, t.Shape, Grid(t.Shape, 3))).ToList();
                break;
            case "reverse": tensors.RemoveAll(t => t.Name == "rnn.weight_ih_l1_reverse"); break;
            case "dtype": dtype = "I32"; break;
        }
        byte[] bytes = StateDict(dtype, tensors);
        SafeTensorsFile file = SafeTensorsFile.Parse(bytes);
        var e = Assert.Throws<SafeTensorsFormatException>(() => TorchStateDict.LoadModel(file));
        Assert.Contains(expected, e.Message);

        // From a path, the message names the file first.
        string path = Path.Combine(Path.GetTempPath(), $"state-dict-{fault}-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        try
        {
            var named = Assert.Throws<SafeTensorsFormatException>(() => TorchStateDict.LoadModel(path));
            Assert.StartsWith($"'{path}': ", named.Message);
            Assert.Contains(expected, named.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void NonFiniteWeights_LoadWhenAllowed()
    {
        var tensors = Tensors(RecurrentOptions.Gru(2, 3), "");
        tensors[1].Values[0] = float.PositiveInfinity;
        SafeTensorsFile file = SafeTensorsFile.Parse(StateDict("F32", tensors));
        Assert.Throws<SafeTensorsFormatException>(() => TorchStateDict.LoadLayer(file));
        RecurrentLayer layer = TorchStateDict.LoadLayer(file, new TorchLoadOptions { AllowNonFinite = true });
        Assert.Equal(float.PositiveInfinity, layer.Weights.WeightHh(0)[0]);
    }

    private static List<(string Name, int[] Shape, float[] Values)> Tensors(RecurrentOptions options, string prefix) =>
        RecurrentParameters.Layout(options).Select((t, k) => (prefix + t.Name, t.Shape, Grid(t.Shape, k))).ToList();

    private static float[] Grid(int[] shape, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => random.Next(-128, 128) / 64f).ToArray();
    }

    // A safetensors file as PyTorch's save_file writes it, every tensor in `dtype` (I32 stores the values truncated).
    private static byte[] StateDict(string dtype, List<(string Name, int[] Shape, float[] Values)> tensors)
    {
        var data = new MemoryStream();
        var header = new StringBuilder("{");
        foreach ((string name, int[] shape, float[] values) in tensors)
        {
            long begin = data.Length;
            foreach (float v in values)
            {
                byte[] bytes = dtype switch
                {
                    "F16" => BitConverter.GetBytes((Half)v),
                    "BF16" => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)),
                    "F64" => BitConverter.GetBytes((double)v),
                    "I32" => BitConverter.GetBytes((int)v),
                    _ => BitConverter.GetBytes(v),
                };
                data.Write(bytes);
            }
            if (header.Length > 1)
                header.Append(',');
            header.Append($"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{data.Length}]}}");
        }
        header.Append('}');
        byte[] json = Encoding.UTF8.GetBytes(header.ToString());
        var file = new MemoryStream();
        file.Write(BitConverter.GetBytes((ulong)json.Length));
        file.Write(json);
        data.Position = 0;
        data.CopyTo(file);
        return file.ToArray();
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using SimdLstm.Serialization;

namespace SimdLstm.Text;

/// <summary>A <see cref="SequenceModel"/> read back by <see cref="ModelCheckpoint.Load(string)"/>.</summary>
/// <param name="Model">The model, its parameters as stored.</param>
/// <param name="Vocabulary">The character vocabulary, when the checkpoint has one.</param>
/// <param name="HyperParameters">The training hyper-parameters recorded at save time (strings, keys without the <c>hp.</c> prefix).</param>
public sealed record LoadedModel(SequenceModel Model, Vocabulary? Vocabulary, IReadOnlyDictionary<string, string> HyperParameters);

/// <summary>
/// Saves and loads a <see cref="SequenceModel"/> as a safetensors file whose tensors carry the model's PyTorch names
/// (<c>weight_ih_l0</c>, …, <c>fc.weight</c>, <c>fc.bias</c>, all F32) and whose <c>__metadata__</c> describes the model.
/// </summary>
/// <remarks>
/// <para>
/// Metadata keys (all values strings, as the format requires): <c>format</c> = <see cref="FormatName"/>, <c>cell</c>
/// (<c>lstm</c>, <c>gru</c> or <c>rnn</c>), <c>input_size</c>, <c>hidden_size</c>, <c>num_layers</c>, <c>bias</c> (<c>true</c>/<c>false</c>),
/// <c>nonlinearity</c> (<c>tanh</c>/<c>relu</c>), <c>output_size</c>, optionally <c>vocabulary</c>
/// (<see cref="Vocabulary.Serialize"/>), and each hyper-parameter as <c>hp.NAME</c>.
/// </para>
/// <para>
/// Loading rebuilds the shape from the metadata and then requires exactly the model's tensors: a missing tensor, one of a
/// different shape or an unexpected extra one is a <see cref="SafeTensorsFormatException"/> naming the tensor and the
/// expected and actual shapes. Saving is atomic (<see cref="SafeTensorsWriter.Save"/>: a temporary file renamed over the
/// destination), so a crash mid-save leaves the previous checkpoint intact.
/// </para>
/// </remarks>
public static class ModelCheckpoint
{
    /// <summary>The value of the <c>format</c> metadata key.</summary>
    public const string FormatName = "simdlstm.sequence-model.v1";

    private const string HyperParameterPrefix = "hp.";

    /// <summary>A writer holding the model's tensors (referenced, not copied) and metadata.</summary>
    /// <param name="model">The model.</param>
    /// <param name="vocabulary">The character vocabulary, if any; its size must equal the model's input size.</param>
    /// <param name="hyperParameters">Training settings to record, e.g. <c>lr</c> → <c>0.002</c>; may be null.</param>
    /// <exception cref="ArgumentException">The vocabulary does not match the model, or a hyper-parameter name is empty.</exception>
    public static SafeTensorsWriter CreateWriter(SequenceModel model, Vocabulary? vocabulary = null, IReadOnlyDictionary<string, string>? hyperParameters = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (vocabulary is not null)
            Guard.Length(vocabulary.Count, model.Options.InputSize, nameof(vocabulary));
        var writer = new SafeTensorsWriter();
        RecurrentOptions o = model.Options;
        writer.AddMetadata("format", FormatName)
            .AddMetadata("cell", CellName(o.Cell))
            .AddMetadata("input_size", Text(o.InputSize))
            .AddMetadata("hidden_size", Text(o.HiddenSize))
            .AddMetadata("num_layers", Text(o.NumLayers))
            .AddMetadata("bias", o.Bias ? "true" : "false")
            .AddMetadata("nonlinearity", o.Activation == RnnActivation.Relu ? "relu" : "tanh")
            .AddMetadata("output_size", Text(model.OutputSize));
        if (vocabulary is not null)
            writer.AddMetadata("vocabulary", vocabulary.Serialize());
        if (hyperParameters is not null)
        {
            foreach ((string key, string value) in hyperParameters)
            {
                ArgumentException.ThrowIfNullOrEmpty(key, nameof(hyperParameters));
                writer.AddMetadata(HyperParameterPrefix + key, value);
            }
        }
        foreach (ParameterTensor tensor in model.Parameters.Tensors)
        {
            int[] shape = [.. tensor.Shape];
            writer.Add(tensor.Name, shape, model.Parameters.Memory.Slice(tensor.Offset, tensor.Length));
        }
        return writer;
    }

    /// <summary>Writes the checkpoint to <paramref name="path"/> atomically, creating its directory if needed.</summary>
    /// <param name="path">The destination file.</param>
    /// <param name="model">The model.</param>
    /// <param name="vocabulary">The character vocabulary, if any.</param>
    /// <param name="hyperParameters">Training settings to record; may be null.</param>
    /// <exception cref="IOException">Writing fails.</exception>
    public static void Save(string path, SequenceModel model, Vocabulary? vocabulary = null, IReadOnlyDictionary<string, string>? hyperParameters = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeTensorsWriter writer = CreateWriter(model, vocabulary, hyperParameters);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        writer.Save(path);
    }

    /// <summary>Reads a checkpoint file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors, lacks or has invalid metadata, or its tensors do not match the described model.</exception>
    public static LoadedModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Load(SafeTensorsFile.Load(path));
    }

    /// <summary>Builds the model a parsed checkpoint describes.</summary>
    /// <exception cref="SafeTensorsFormatException">Metadata missing or invalid, or the tensors do not match the described model.</exception>
    public static LoadedModel Load(SafeTensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        IReadOnlyDictionary<string, string> metadata = file.Metadata;
        string format = Required(metadata, "format");
        if (format != FormatName)
            throw new SafeTensorsFormatException($"Checkpoint metadata 'format' is '{format}'; expected '{FormatName}'.");
        CellKind cell = Required(metadata, "cell") switch
        {
            "lstm" => CellKind.Lstm,
            "gru" => CellKind.Gru,
            "rnn" => CellKind.Rnn,
            string other => throw new SafeTensorsFormatException($"Checkpoint metadata 'cell' is '{other}'; expected 'lstm', 'gru' or 'rnn'."),
        };
        int inputSize = PositiveInt(metadata, "input_size");
        int hiddenSize = PositiveInt(metadata, "hidden_size");
        int layers = PositiveInt(metadata, "num_layers");
        int outputSize = PositiveInt(metadata, "output_size");
        bool bias = Required(metadata, "bias") switch
        {
            "true" => true,
            "false" => false,
            string other => throw new SafeTensorsFormatException($"Checkpoint metadata 'bias' is '{other}'; expected 'true' or 'false'."),
        };
        RnnActivation activation = Required(metadata, "nonlinearity") switch
        {
            "tanh" => RnnActivation.Tanh,
            "relu" => RnnActivation.Relu,
            string other => throw new SafeTensorsFormatException($"Checkpoint metadata 'nonlinearity' is '{other}'; expected 'tanh' or 'relu'."),
        };
        Vocabulary? vocabulary = null;
        if (metadata.TryGetValue("vocabulary", out string? serialized))
        {
            try
            {
                vocabulary = Vocabulary.Deserialize(serialized);
            }
            catch (ArgumentException e)
            {
                throw new SafeTensorsFormatException($"Checkpoint metadata 'vocabulary' is invalid: {e.Message}", e);
            }
            if (vocabulary.Count != inputSize)
                throw new SafeTensorsFormatException($"Checkpoint vocabulary has {vocabulary.Count} characters; expected input_size = {inputSize}.");
        }

        RecurrentOptions options;
        try
        {
            options = new RecurrentOptions(cell, inputSize, hiddenSize, layers, bias, activation);
        }
        catch (ArgumentException e)
        {
            throw new SafeTensorsFormatException($"Checkpoint metadata describes an invalid model: {e.Message}", e);
        }
        var parameters = new ParameterBuffer(SequenceModel.Layout(options, outputSize));
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (ParameterTensor tensor in parameters.Tensors)
        {
            expected.Add(tensor.Name);
            if (!file.TryGetTensor(tensor.Name, out SafeTensorInfo? info))
                throw new SafeTensorsFormatException($"Checkpoint is missing tensor '{tensor.Name}' of shape {tensor.ShapeText}.");
            int[] shape = [.. tensor.Shape];
            if (!info.ShapeEquals(shape))
                throw new SafeTensorsFormatException($"Checkpoint tensor '{tensor.Name}' has shape {info.ShapeText()}; expected {tensor.ShapeText}.");
            file.ReadInto(tensor.Name, shape, parameters.Span.Slice(tensor.Offset, tensor.Length));
        }
        foreach (SafeTensorInfo info in file.Tensors)
        {
            if (!expected.Contains(info.Name))
                throw new SafeTensorsFormatException($"Checkpoint has unexpected tensor '{info.Name}' {info.ShapeText()}; a {Required(metadata, "cell")} model of {layers} layer(s) has none of that name.");
        }

        var hyperParameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string value) in metadata)
        {
            if (key.StartsWith(HyperParameterPrefix, StringComparison.Ordinal))
                hyperParameters[key[HyperParameterPrefix.Length..]] = value;
        }
        return new LoadedModel(new SequenceModel(options, outputSize, parameters), vocabulary, hyperParameters);
    }

    /// <summary>The <c>cell</c> metadata value: PyTorch's module name in lower case (<c>nn.LSTM</c> → <c>lstm</c>).</summary>
    private static string CellName(CellKind cell) => cell switch
    {
        CellKind.Lstm => "lstm",
        CellKind.Gru => "gru",
        CellKind.Rnn => "rnn",
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, "Unknown cell kind."),
    };

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Required(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out string? value) ? value : throw new SafeTensorsFormatException($"Checkpoint metadata lacks '{key}' (is this a SimdLstm model checkpoint?).");

    private static int PositiveInt(IReadOnlyDictionary<string, string> metadata, string key)
    {
        string text = Required(metadata, key);
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
            throw new SafeTensorsFormatException($"Checkpoint metadata '{key}' is '{text}'; expected a positive integer.");
        return value;
    }
}

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
/// <c>nonlinearity</c> (<c>tanh</c>/<c>relu</c>), <c>bidirectional</c> (<c>true</c>/<c>false</c>), <c>proj_size</c>,
/// <c>dropout</c>, <c>output_size</c>, <c>num_embeddings</c> for a model with an embedding (its <c>embedding.weight</c> is
/// [num_embeddings, input_size]), optionally <c>vocabulary</c> (<see cref="Vocabulary.Serialize"/>), and each
/// hyper-parameter as <c>hp.NAME</c>. <c>bidirectional</c>, <c>proj_size</c>, <c>dropout</c> and <c>num_embeddings</c>
/// are optional on load (false, 0, 0 and none), so checkpoints written before they existed still load.
/// </para>
/// <para>
/// Loading rebuilds the shape from the metadata and then requires exactly the model's tensors (with
/// <c>…_reverse</c> and <c>weight_hr_l{k}</c> tensors as the options call for): a missing tensor, one of a different
/// shape or an unexpected extra one is a <see cref="SafeTensorsFormatException"/> naming the tensor and the expected and
/// actual shapes. All of that is checked before the parameters are allocated, so a small file cannot make a load allocate
/// more than the file holds. Weights must be finite unless the caller allows otherwise. Saving is atomic (<see cref="SafeTensorsWriter.Save"/>: a temporary file renamed over the
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
            Guard.Length(vocabulary.Count, model.VocabularySize > 0 ? model.VocabularySize : model.Options.InputSize, nameof(vocabulary));
        var writer = new SafeTensorsWriter();
        RecurrentOptions o = model.Options;
        writer.AddMetadata("format", FormatName)
            .AddMetadata("cell", CellName(o.Cell))
            .AddMetadata("input_size", Text(o.InputSize))
            .AddMetadata("hidden_size", Text(o.HiddenSize))
            .AddMetadata("num_layers", Text(o.NumLayers))
            .AddMetadata("bias", o.Bias ? "true" : "false")
            .AddMetadata("nonlinearity", o.Activation == RnnActivation.Relu ? "relu" : "tanh")
            .AddMetadata("bidirectional", o.Bidirectional ? "true" : "false")
            .AddMetadata("proj_size", Text(o.ProjectionSize))
            .AddMetadata("dropout", o.Dropout.ToString("R", CultureInfo.InvariantCulture))
            .AddMetadata("output_size", Text(model.OutputSize));
        if (model.VocabularySize > 0)
            writer.AddMetadata("num_embeddings", Text(model.VocabularySize));
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

    /// <summary>Reads a checkpoint file, requiring every weight to be finite.</summary>
    /// <exception cref="IOException">The file cannot be read (missing, a directory, no access, …).</exception>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors, lacks or has invalid metadata, its
    /// tensors do not match the described model, or a weight is NaN or infinite. The message names the file.</exception>
    public static LoadedModel Load(string path) => Load(path, allowNonFiniteWeights: false);

    /// <summary>Reads a checkpoint file; <paramref name="allowNonFiniteWeights"/> lets NaN or infinite weights through (to inspect a diverged run).</summary>
    /// <exception cref="IOException">The file cannot be read (missing, a directory, no access, …).</exception>
    /// <exception cref="SafeTensorsFormatException">As <see cref="Load(string)"/>; the message names the file.</exception>
    public static LoadedModel Load(string path, bool allowNonFiniteWeights)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeTensorsFile file = SafeTensorsFile.Load(path); // its format errors already name the file
        try
        {
            return Load(file, allowNonFiniteWeights);
        }
        catch (SafeTensorsFormatException e)
        {
            throw new SafeTensorsFormatException($"'{path}' is not a valid SimdLstm checkpoint: {e.Message}", e);
        }
    }

    /// <summary>Builds the model a parsed checkpoint describes, requiring every weight to be finite unless <paramref name="allowNonFiniteWeights"/>.</summary>
    /// <remarks>
    /// The architecture read from the metadata is checked against the tensors actually in the file — their number, names,
    /// shapes and dtypes — before the model's parameters are allocated, so the memory a load takes is bounded by the size
    /// of the file whatever the metadata claims.
    /// </remarks>
    /// <exception cref="SafeTensorsFormatException">Metadata missing or invalid, the tensors do not match the described model, or a weight is not finite.</exception>
    public static LoadedModel Load(SafeTensorsFile file, bool allowNonFiniteWeights = false)
    {
        ArgumentNullException.ThrowIfNull(file);
        (RecurrentOptions options, int outputSize, int embeddings) = ReadArchitecture(file);
        IReadOnlyDictionary<string, string> metadata = file.Metadata;
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
            int tokens = embeddings > 0 ? embeddings : options.InputSize;
            if (vocabulary.Count != tokens)
                throw new SafeTensorsFormatException($"Checkpoint vocabulary has {vocabulary.Count} characters; expected {(embeddings > 0 ? "num_embeddings" : "input_size")} = {tokens}.");
        }

        // Every tensor's name, shape and dtype agree with the file now, so this buffer is no larger than the file's data.
        var parameters = new ParameterBuffer(SequenceModel.Layout(options, outputSize, embeddings));
        foreach (ParameterTensor tensor in parameters.Tensors)
        {
            Span<float> values = parameters.Span.Slice(tensor.Offset, tensor.Length);
            file.ReadInto(tensor.Name, [.. tensor.Shape], values);
            if (!allowNonFiniteWeights)
            {
                int bad = FirstNonFinite(values);
                if (bad >= 0)
                    throw new SafeTensorsFormatException(
                        $"Checkpoint tensor '{tensor.Name}' holds {values[bad].ToString(CultureInfo.InvariantCulture)} at element {bad}: the weights are not finite (a diverged run?); load with allowNonFiniteWeights to inspect them.");
            }
        }

        var hyperParameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string value) in metadata)
        {
            if (key.StartsWith(HyperParameterPrefix, StringComparison.Ordinal))
                hyperParameters[key[HyperParameterPrefix.Length..]] = value;
        }
        SequenceModel model;
        try
        {
            model = new SequenceModel(options, outputSize, parameters, embeddings);
        }
        catch (ArgumentException e)
        {
            throw new SafeTensorsFormatException($"Checkpoint describes a model that cannot be built: {e.Message}", e);
        }
        return new LoadedModel(model, vocabulary, hyperParameters);
    }

    /// <summary>
    /// The recurrent options and output size a checkpoint's metadata describes, checked against the tensors in the file
    /// (count, names, shapes, dtypes) without allocating anything proportional to the claimed sizes.
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">The metadata is missing or invalid, or disagrees with the tensors.</exception>
    internal static (RecurrentOptions Options, int OutputSize, int Embeddings) ReadArchitecture(SafeTensorsFile file)
    {
        IReadOnlyDictionary<string, string> metadata = file.Metadata;
        string format = Required(metadata, "format");
        if (format != FormatName)
            throw new SafeTensorsFormatException($"Checkpoint metadata 'format' is '{Quote(format)}'; expected '{FormatName}'.");
        CellKind cell = Required(metadata, "cell") switch
        {
            "lstm" => CellKind.Lstm,
            "gru" => CellKind.Gru,
            "rnn" => CellKind.Rnn,
            string other => throw new SafeTensorsFormatException($"Checkpoint metadata 'cell' is '{Quote(other)}'; expected 'lstm', 'gru' or 'rnn'."),
        };
        int inputSize = PositiveInt(metadata, "input_size");
        int hiddenSize = PositiveInt(metadata, "hidden_size");
        int layers = PositiveInt(metadata, "num_layers");
        int outputSize = PositiveInt(metadata, "output_size");
        bool bias = Boolean(metadata, "bias", defaultValue: null);
        RnnActivation activation = Required(metadata, "nonlinearity") switch
        {
            "tanh" => RnnActivation.Tanh,
            "relu" => RnnActivation.Relu,
            string other => throw new SafeTensorsFormatException($"Checkpoint metadata 'nonlinearity' is '{Quote(other)}'; expected 'tanh' or 'relu'."),
        };
        bool bidirectional = Boolean(metadata, "bidirectional", defaultValue: false);
        int projSize = 0;
        if (metadata.TryGetValue("proj_size", out string? projText)
            && (!int.TryParse(projText, NumberStyles.None, CultureInfo.InvariantCulture, out projSize) || projSize < 0))
            throw new SafeTensorsFormatException($"Checkpoint metadata 'proj_size' is '{Quote(projText)}'; expected an integer of 0 or more.");
        float dropout = 0f;
        if (metadata.TryGetValue("dropout", out string? dropoutText)
            && (!float.TryParse(dropoutText, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out dropout) || !(dropout >= 0f && dropout <= 1f)))
            throw new SafeTensorsFormatException($"Checkpoint metadata 'dropout' is '{Quote(dropoutText)}'; expected a probability in [0, 1].");

        int embeddings = 0;
        if (metadata.TryGetValue("num_embeddings", out string? embeddingsText)
            && (!int.TryParse(embeddingsText, NumberStyles.None, CultureInfo.InvariantCulture, out embeddings) || embeddings < 1))
            throw new SafeTensorsFormatException($"Checkpoint metadata 'num_embeddings' is '{Quote(embeddingsText)}'; expected a positive integer.");

        RecurrentOptions options;
        try
        {
            options = new RecurrentOptions(cell, inputSize, hiddenSize, layers, bias, activation, bidirectional, projSize, dropout);
        }
        catch (ArgumentException e)
        {
            throw new SafeTensorsFormatException($"Checkpoint metadata describes an invalid model: {e.Message}", e);
        }

        // The tensor count first, in long: metadata can claim a hundred million layers, and the layout is only walked as far
        // as the file's own tensors go.
        long perUnit = 2 + (bias ? 2 : 0) + (projSize > 0 ? 1 : 0);
        long expectedCount = (long)options.StateLayers * perUnit + 2 + (embeddings > 0 ? 1 : 0);
        string described = $"a {Required(metadata, "cell")} model of {layers} layer(s)";
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, int[] shape) in SequenceModel.Layout(options, outputSize, embeddings))
        {
            if (!file.TryGetTensor(name, out SafeTensorInfo? info))
                throw new SafeTensorsFormatException($"Checkpoint is missing tensor '{name}' of shape {ShapeText(shape)} ({described} has {expectedCount} tensors, the file {file.Tensors.Count}).");
            if (!info.ShapeEquals(shape))
                throw new SafeTensorsFormatException($"Checkpoint tensor '{name}' has shape {ShapeText(info.Shape)}; expected {ShapeText(shape)}.");
            if (!SafeTensorsDTypes.IsReadableAsSingle(info.DType))
                throw new SafeTensorsFormatException($"Checkpoint tensor '{name}' has dtype {SafeTensorsDTypes.Name(info.DType)}; expected F32, F64, F16 or BF16.");
            // The layout's names are distinct, so each one found is another of the file's tensors: the walk ends, at the
            // latest, at the first name past the file's own tensors.
            expected.Add(name);
        }
        foreach (SafeTensorInfo info in file.Tensors)
        {
            if (!expected.Contains(info.Name))
                throw new SafeTensorsFormatException($"Checkpoint has unexpected tensor '{Quote(info.Name)}' {ShapeText(info.Shape)}; {described} has none of that name.");
        }
        return (options, outputSize, embeddings);
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

    /// <summary>At most 64 characters of a value read from a file, so a message stays short whatever the file holds.</summary>
    private static string Quote(string value) => value.Length <= 64 ? value : string.Concat(value.AsSpan(0, 64), "…");

    private static string ShapeText(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static string ShapeText(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                return i;
        }
        return -1;
    }

    private static bool Boolean(IReadOnlyDictionary<string, string> metadata, string key, bool? defaultValue)
    {
        string? text;
        if (defaultValue is bool fallback)
        {
            if (!metadata.TryGetValue(key, out text))
                return fallback;
        }
        else
        {
            text = Required(metadata, key);
        }
        return text switch
        {
            "true" => true,
            "false" => false,
            _ => throw new SafeTensorsFormatException($"Checkpoint metadata '{key}' is '{Quote(text)}'; expected 'true' or 'false'."),
        };
    }

    private static string Required(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out string? value) ? value : throw new SafeTensorsFormatException($"Checkpoint metadata lacks '{key}' (is this a SimdLstm model checkpoint?).");

    private static int PositiveInt(IReadOnlyDictionary<string, string> metadata, string key)
    {
        string text = Required(metadata, key);
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
            throw new SafeTensorsFormatException($"Checkpoint metadata '{key}' is '{Quote(text)}'; expected a positive integer.");
        return value;
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using SimdLstm.Serialization;

namespace SimdLstm.Interop;

/// <summary>What to load from a PyTorch state_dict, beyond what its tensors say.</summary>
public sealed record TorchLoadOptions
{
    /// <summary>
    /// The recurrent module's name prefix, such as <c>"lstm."</c> or <c>"encoder.rnn."</c> (<c>""</c> for a bare
    /// <c>nn.LSTM</c>'s state_dict); null to find it, which needs exactly one recurrent module in the file.
    /// </summary>
    public string? Prefix { get; init; }

    /// <summary>An RNN's nonlinearity, which its tensors cannot tell (PyTorch's <c>nonlinearity</c>); LSTM and GRU ignore it.</summary>
    public RnnActivation Activation { get; init; } = RnnActivation.Tanh;

    /// <summary>The dropout between layers (training only), which the tensors cannot tell; PyTorch's <c>dropout</c>.</summary>
    public float Dropout { get; init; }

    /// <summary>A model's <c>nn.Embedding</c> prefix (<c>"embedding."</c>); null to find it: the one other [V, I] <c>….weight</c>, if any.</summary>
    public string? EmbeddingPrefix { get; init; }

    /// <summary>A model's <c>nn.Linear</c> head prefix (<c>"fc."</c>); null to find it: the one other [C, D·H'] <c>….weight</c>.</summary>
    public string? HeadPrefix { get; init; }

    /// <summary>Whether NaN and infinite weights are accepted (for debugging a diverged model); refused by default.</summary>
    public bool AllowNonFinite { get; init; }
}

/// <summary>
/// PyTorch state_dicts saved as safetensors (<c>safetensors.torch.save_file(model.state_dict(), path)</c>) in and out:
/// the recurrent module's architecture — cell, input and hidden size, layers, bias, bidirectional, projection — read
/// from its tensors' names and shapes, the weights loaded exactly (F32, F16, BF16 and F64 converted to float), and a
/// layer or model written back with the names and shapes <c>model.load_state_dict(load_file(path))</c> accepts.
/// </summary>
/// <remarks>
/// Loading is strict, as the user asked for exact weights: a missing tensor, a tensor of another shape, a tensor under the
/// module's prefix that such a module does not have, a tensor that belongs to no part of the model, or a non-finite
/// weight is a <see cref="SafeTensorsFormatException"/> that names it. Every name and shape is checked before anything
/// is allocated for the weights.
/// </remarks>
public static class TorchStateDict
{
    // Name (after the module prefix) of a recurrent tensor: kind, layer, direction.
    private static readonly Regex RecurrentName = new(@"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d{1,4})(_reverse)?$", RegexOptions.CultureInvariant);

    // More layers than any model has: a name with a larger index is refused before anything is sized by it.
    private const int MaxLayers = 1000;

    /// <summary>
    /// Finds the recurrent module in <paramref name="file"/> (or the one under <paramref name="prefix"/>) and infers its
    /// options from its tensors' names and shapes, checking every one of them.
    /// </summary>
    /// <returns>The module's prefix and options.</returns>
    /// <exception cref="SafeTensorsFormatException">No recurrent module (or several, when no prefix is given), or its tensors do not form one.</exception>
    public static (string Prefix, RecurrentOptions Options) FindRecurrent(SafeTensorsFile file, string? prefix = null,
        RnnActivation activation = RnnActivation.Tanh, float dropout = 0f)
    {
        ArgumentNullException.ThrowIfNull(file);
        prefix ??= FindPrefix(file);
        RecurrentOptions options = Infer(file, prefix, activation, dropout);
        CheckLayout(file, RecurrentParameters.Layout(options, prefix), "the recurrent module");
        foreach (SafeTensorInfo t in file.Tensors)
        {
            if (t.Name.StartsWith(prefix, StringComparison.Ordinal) && !RecurrentParameters.Layout(options, prefix).Any(e => e.Name == t.Name))
            {
                string rest = t.Name[prefix.Length..];
                if (rest.Contains('.', StringComparison.Ordinal) && prefix.Length == 0)
                    continue; // another module's tensor beside a bare recurrent module's: judged by the caller
                throw Error($"unexpected tensor '{t.Name}' {t.ShapeText()}: a {Describe(options)} under '{prefix}' has no tensor of that name");
            }
        }
        return (prefix, options);
    }

    /// <summary>Loads the recurrent module of a state_dict file as a layer (tensors outside the module are refused unless they are another module's, see <see cref="LoadLayer(SafeTensorsFile, TorchLoadOptions?)"/>).</summary>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors, or does not hold exactly one such module; the message names the file.</exception>
    public static RecurrentLayer LoadLayer(string path, TorchLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Named(path, () => LoadLayer(SafeTensorsFile.Load(path), options));
    }

    /// <summary>
    /// Loads the recurrent module of <paramref name="file"/> as a layer: the architecture from the tensors, the weights
    /// converted to float. Other tensors in the file (another module's, e.g. a head) are ignored here; under the module's
    /// prefix everything must be the module's.
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">No such module, or a tensor missing, misshapen, unexpected or non-finite.</exception>
    public static RecurrentLayer LoadLayer(SafeTensorsFile file, TorchLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        options ??= new TorchLoadOptions();
        (string prefix, RecurrentOptions recurrent) = FindRecurrent(file, options.Prefix, options.Activation, options.Dropout);
        var buffer = new ParameterBuffer(RecurrentParameters.Layout(recurrent));
        foreach ((string name, int[] shape) in RecurrentParameters.Layout(recurrent))
            Read(file, prefix + name, shape, buffer[name].Span, options.AllowNonFinite);
        return new RecurrentLayer(new RecurrentParameters(recurrent, buffer));
    }

    /// <summary>Loads a whole model from a state_dict file; see <see cref="LoadModel(SafeTensorsFile, TorchLoadOptions?)"/>.</summary>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors or not such a model; the message names the file.</exception>
    public static SequenceModel LoadModel(string path, TorchLoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Named(path, () => LoadModel(SafeTensorsFile.Load(path), options));
    }

    /// <summary>
    /// Loads the usual shape of a PyTorch sequence model — an optional <c>nn.Embedding</c>, the recurrent module, an
    /// <c>nn.Linear</c> head on every step — as a <see cref="SequenceModel"/>. Every tensor in the file must belong to one
    /// of the three.
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">A part is missing or ambiguous, or a tensor is misshapen, unexpected or non-finite.</exception>
    public static SequenceModel LoadModel(SafeTensorsFile file, TorchLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        options ??= new TorchLoadOptions();
        (string prefix, RecurrentOptions recurrent) = FindRecurrent(file, options.Prefix, options.Activation, options.Dropout);
        bool Recurrent(SafeTensorInfo t) => RecurrentParameters.Layout(recurrent, prefix).Any(e => e.Name == t.Name);
        var others = file.Tensors.Where(t => !Recurrent(t)).ToList();

        string head = options.HeadPrefix ?? FindModule(others, recurrent.OutputSize, "head", "an nn.Linear on the recurrent output, weight [classes, " +
            recurrent.OutputSize + "]", exclude: options.EmbeddingPrefix);
        SafeTensorInfo headWeight = Require(file, head + "weight");
        if (headWeight.Shape.Length != 2 || headWeight.Shape[1] != recurrent.OutputSize || headWeight.Shape[0] < 1 || headWeight.Shape[0] > int.MaxValue)
            throw Error($"head '{head}weight' has shape {headWeight.ShapeText()}; expected [classes, {recurrent.OutputSize}] (the recurrent output's features)");
        int classes = (int)headWeight.Shape[0];
        if (!file.TryGetTensor(head + "bias", out _))
            throw Error($"head '{head}' has no bias; a head without a bias is not supported");

        string? embedding = options.EmbeddingPrefix;
        if (embedding is null)
        {
            var candidates = others.Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal) && t.Name != head + "weight"
                && t.Shape.Length == 2 && t.Shape[1] == recurrent.InputSize).ToList();
            if (candidates.Count > 1)
                throw Error($"more than one embedding candidate ({string.Join(", ", candidates.Select(c => $"'{c.Name}' {c.ShapeText()}"))}); name it with EmbeddingPrefix");
            embedding = candidates.Count == 1 ? candidates[0].Name[..^"weight".Length] : null;
        }
        int vocabulary = 0;
        if (embedding is not null)
        {
            SafeTensorInfo table = Require(file, embedding + "weight");
            if (table.Shape.Length != 2 || table.Shape[1] != recurrent.InputSize || table.Shape[0] < 1 || table.Shape[0] > int.MaxValue)
                throw Error($"embedding '{embedding}weight' has shape {table.ShapeText()}; expected [tokens, {recurrent.InputSize}] (the recurrent input's features)");
            vocabulary = (int)table.Shape[0];
        }

        // Strict: nothing in the file that is not one of the three parts.
        var expected = new HashSet<string>(RecurrentParameters.Layout(recurrent, prefix).Select(e => e.Name)) { head + "weight", head + "bias" };
        if (embedding is not null)
            expected.Add(embedding + "weight");
        foreach (SafeTensorInfo t in file.Tensors)
        {
            if (!expected.Contains(t.Name))
                throw Error($"unexpected tensor '{t.Name}' {t.ShapeText()}: it belongs to none of the embedding, the recurrent module '{prefix}' and the head '{head}'");
        }
        CheckLayout(file, Linear.Layout(recurrent.OutputSize, classes, head), "the head");

        var model = new SequenceModel(recurrent, classes, new ParameterBuffer(SequenceModel.Layout(recurrent, classes, vocabulary)), vocabulary);
        foreach ((string name, int[] shape) in RecurrentParameters.Layout(recurrent))
            Read(file, prefix + name, shape, model.Parameters[name].Span, options.AllowNonFinite);
        Read(file, head + "weight", [classes, recurrent.OutputSize], model.Head.Weight, options.AllowNonFinite);
        Read(file, head + "bias", [classes], model.Head.Bias, options.AllowNonFinite);
        if (embedding is not null)
            Read(file, embedding + "weight", [vocabulary, recurrent.InputSize], model.Embedding!.Weight, options.AllowNonFinite);
        return model;
    }

    /// <summary>
    /// The layer's tensors under PyTorch's names with <paramref name="prefix"/> (<c>""</c> for a bare <c>nn.LSTM</c>,
    /// <c>"lstm."</c> for a module's attribute), F32, for <see cref="SafeTensorsWriter.Save"/>.
    /// </summary>
    public static SafeTensorsWriter ToWriter(RecurrentLayer layer, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(prefix);
        var writer = new SafeTensorsWriter();
        foreach ((string name, int[] shape) in RecurrentParameters.Layout(layer.Options))
            writer.Add(prefix + name, shape, layer.Weights.Buffer[name]);
        return writer;
    }

    /// <summary>
    /// The model's tensors under the names of a PyTorch module holding an <c>nn.Embedding</c> (if the model has one), the
    /// recurrent module and an <c>nn.Linear</c> head, F32, for <see cref="SafeTensorsWriter.Save"/>.
    /// </summary>
    public static SafeTensorsWriter ToWriter(SequenceModel model, string recurrentPrefix = "rnn.", string headPrefix = "fc.", string embeddingPrefix = "embedding.")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(recurrentPrefix);
        ArgumentNullException.ThrowIfNull(headPrefix);
        ArgumentNullException.ThrowIfNull(embeddingPrefix);
        var writer = new SafeTensorsWriter();
        if (model.Embedding is not null)
            writer.Add(embeddingPrefix + "weight", [model.VocabularySize, model.Options.InputSize], model.Parameters[SequenceModel.EmbeddingPrefix + "weight"]);
        foreach ((string name, int[] shape) in RecurrentParameters.Layout(model.Options))
            writer.Add(recurrentPrefix + name, shape, model.Parameters[name]);
        writer.Add(headPrefix + "weight", [model.OutputSize, model.Options.OutputSize], model.Parameters[SequenceModel.HeadPrefix + "weight"]);
        writer.Add(headPrefix + "bias", [model.OutputSize], model.Parameters[SequenceModel.HeadPrefix + "bias"]);
        return writer;
    }

    /// <summary>Saves the layer as a state_dict file (atomically; see <see cref="SafeTensorsWriter.Save"/>).</summary>
    public static void Save(RecurrentLayer layer, string path, string prefix = "") => ToWriter(layer, prefix).Save(path);

    /// <summary>Saves the model as a state_dict file (atomically; see <see cref="SafeTensorsWriter.Save"/>).</summary>
    public static void Save(SequenceModel model, string path, string recurrentPrefix = "rnn.", string headPrefix = "fc.", string embeddingPrefix = "embedding.") =>
        ToWriter(model, recurrentPrefix, headPrefix, embeddingPrefix).Save(path);

    // The one prefix p with a tensor p + "weight_ih_l0".
    private static string FindPrefix(SafeTensorsFile file)
    {
        var prefixes = file.Tensors.Where(t => t.Name.EndsWith("weight_ih_l0", StringComparison.Ordinal))
            .Select(t => t.Name[..^"weight_ih_l0".Length]).ToList();
        return prefixes.Count switch
        {
            0 => throw Error("no recurrent module: no tensor named '…weight_ih_l0' (is this a PyTorch LSTM, GRU or RNN state_dict?)"),
            1 => prefixes[0],
            _ => throw Error($"{prefixes.Count} recurrent modules ({string.Join(", ", prefixes.Select(p => $"'{p}'"))}); choose one with Prefix"),
        };
    }

    // The options of the module under `prefix`, from its tensors' names and the shapes of layer 0's.
    private static RecurrentOptions Infer(SafeTensorsFile file, string prefix, RnnActivation activation, float dropout)
    {
        int layers = 0;
        bool reverse = false;
        foreach (SafeTensorInfo t in file.Tensors)
        {
            if (!t.Name.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            Match m = RecurrentName.Match(t.Name[prefix.Length..]);
            if (!m.Success)
                continue;
            int layer = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            if (layer >= MaxLayers)
                throw Error($"tensor '{t.Name}' names layer {layer}; at most {MaxLayers} layers are supported");
            layers = Math.Max(layers, layer + 1);
            reverse |= m.Groups[3].Success;
        }
        SafeTensorInfo ih = Require(file, prefix + "weight_ih_l0"), hh = Require(file, prefix + "weight_hh_l0");
        if (ih.Shape.Length != 2 || hh.Shape.Length != 2 || ih.Shape[0] != hh.Shape[0])
            throw Error($"'{ih.Name}' {ih.ShapeText()} and '{hh.Name}' {hh.ShapeText()} are not [G·H, I] and [G·H, H'] with the same G·H");
        long gateRows = ih.Shape[0], inputSize = ih.Shape[1], stateSize = hh.Shape[1], hiddenSize = stateSize, projection = 0;
        if (file.TryGetTensor(prefix + "weight_hr_l0", out SafeTensorInfo? hr))
        {
            if (hr.Shape.Length != 2 || hr.Shape[0] != stateSize)
                throw Error($"'{hr.Name}' has shape {hr.ShapeText()}; expected [{stateSize}, H] (P = weight_hh's columns)");
            hiddenSize = hr.Shape[1];
            projection = stateSize;
        }
        if (hiddenSize < 1 || inputSize < 1 || gateRows % hiddenSize != 0)
            throw Error($"'{ih.Name}' has {gateRows} rows, not a multiple of the hidden size {hiddenSize}");
        CellKind cell = (gateRows / hiddenSize, projection > 0) switch
        {
            (4, _) => CellKind.Lstm,
            (3, false) => CellKind.Gru,
            (1, false) => CellKind.Rnn,
            (long g, _) => throw Error($"'{ih.Name}' has {g}·H rows (H = {hiddenSize}); an LSTM has 4·H, a GRU 3·H, an RNN 1·H{(projection > 0 ? ", and only an LSTM has weight_hr" : "")}"),
        };
        bool bias = file.TryGetTensor(prefix + "bias_ih_l0", out _);
        if (hiddenSize > int.MaxValue || inputSize > int.MaxValue)
            throw Error($"sizes I = {inputSize}, H = {hiddenSize} are too large");
        try
        {
            return new RecurrentOptions(cell, (int)inputSize, (int)hiddenSize, layers, bias, activation, reverse, (int)projection, dropout);
        }
        catch (ArgumentException e)
        {
            throw Error($"the tensors describe an invalid module ({cell}, I = {inputSize}, H = {hiddenSize}, {layers} layers): {e.Message}");
        }
    }

    // Every tensor of `layout` present, with its shape and a dtype that converts to float.
    private static void CheckLayout(SafeTensorsFile file, IEnumerable<(string Name, int[] Shape)> layout, string what)
    {
        foreach ((string name, int[] shape) in layout)
        {
            if (!file.TryGetTensor(name, out SafeTensorInfo? info))
                throw Error($"missing tensor '{name}' [{string.Join(", ", shape)}] of {what}");
            if (!info.ShapeEquals(shape))
                throw Error($"tensor '{name}' has shape {info.ShapeText()}; {what} needs [{string.Join(", ", shape)}]");
            if (!SafeTensorsDTypes.IsReadableAsSingle(info.DType))
                throw Error($"tensor '{name}' is {SafeTensorsDTypes.Name(info.DType)}; expected F32, F16, BF16 or F64");
        }
    }

    // A module prefix among `tensors` whose weight is [·, columns]: the only one, or an error.
    private static string FindModule(List<SafeTensorInfo> tensors, int columns, string role, string description, string? exclude)
    {
        var candidates = tensors.Where(t => t.Name.EndsWith("weight", StringComparison.Ordinal) && t.Shape.Length == 2 && t.Shape[1] == columns
            && (exclude is null || !t.Name.StartsWith(exclude, StringComparison.Ordinal))).Select(t => t.Name[..^"weight".Length]).ToList();
        // A head has a bias beside its weight; an embedding of the same width does not.
        var withBias = candidates.Where(p => tensors.Any(t => t.Name == p + "bias")).ToList();
        if (withBias.Count == 1)
            return withBias[0];
        if (candidates.Count == 1)
            return candidates[0];
        if (candidates.Count == 0)
            throw Error($"no {role}: no tensor '….weight' of shape [·, {columns}] ({description})");
        throw Error($"more than one {role} candidate ({string.Join(", ", candidates.Select(c => $"'{c}'"))}); name it with HeadPrefix");
    }

    private static SafeTensorInfo Require(SafeTensorsFile file, string name) =>
        file.TryGetTensor(name, out SafeTensorInfo? info) ? info : throw Error($"missing tensor '{name}'");

    private static void Read(SafeTensorsFile file, string name, int[] shape, Span<float> destination, bool allowNonFinite)
    {
        file.ReadInto(name, shape, destination);
        if (allowNonFinite)
            return;
        for (int i = 0; i < destination.Length; i++)
        {
            if (!float.IsFinite(destination[i]))
                throw Error($"tensor '{name}' holds {destination[i]} at element {i}; non-finite weights are refused (TorchLoadOptions.AllowNonFinite accepts them)");
        }
    }

    private static string Describe(RecurrentOptions o) =>
        $"{o.Cell} of {o.NumLayers} layer(s){(o.Bidirectional ? ", bidirectional" : "")}{(o.ProjectionSize > 0 ? $", proj_size {o.ProjectionSize}" : "")}";

    private static SafeTensorsFormatException Error(string reason) => new($"Not a state_dict this can load: {reason}.");

    // Runs a load from a file, naming the file in any format error.
    private static T Named<T>(string path, Func<T> load)
    {
        try
        {
            return load();
        }
        catch (SafeTensorsFormatException e)
        {
            throw new SafeTensorsFormatException($"'{path}': {e.Message}", e);
        }
    }
}

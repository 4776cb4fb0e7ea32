using System;
using System.Collections.Generic;

namespace SimdLstm;

/// <summary>
/// The tensors of a stacked LSTM, GRU or RNN, as views into a <see cref="ParameterBuffer"/>, named and shaped as PyTorch's
/// state_dict: per layer l and direction (suffix "" or <c>_reverse</c>), <c>weight_ih_l{l}</c> [G·H, I_l],
/// <c>weight_hh_l{l}</c> [G·H, H'], with bias <c>bias_ih_l{l}</c>, <c>bias_hh_l{l}</c> [G·H], and with a projection
/// <c>weight_hr_l{l}</c> [P, H]; G = 4 for LSTM (gate rows i, f, g, o), 3 for GRU (r, z, n), 1 for RNN; H' = P with a
/// projection, else H; I_l = I for layer 0, D·H' above it.
/// </summary>
/// <remarks>
/// The same type views a model's weights and its gradients (a buffer of the same layout), so backward writes gradients
/// through exactly the views the forward pass reads weights through.
/// </remarks>
public sealed class RecurrentParameters
{
    private readonly Memory<float>[] _weightIh;
    private readonly Memory<float>[] _weightHh;
    private readonly Memory<float>[] _biasIh;
    private readonly Memory<float>[] _biasHh;
    private readonly Memory<float>[] _weightHr;

    /// <summary>Views the tensors named <paramref name="prefix"/> + <c>weight_ih_l0</c>, … in <paramref name="buffer"/>.</summary>
    /// <exception cref="ArgumentException">A tensor is missing from the buffer or has the wrong shape.</exception>
    public RecurrentParameters(RecurrentOptions options, ParameterBuffer buffer, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentNullException.ThrowIfNull(prefix);
        Options = options;
        Buffer = buffer;
        Prefix = prefix;
        int units = options.StateLayers;
        _weightIh = new Memory<float>[units];
        _weightHh = new Memory<float>[units];
        _biasIh = new Memory<float>[units];
        _biasHh = new Memory<float>[units];
        _weightHr = new Memory<float>[units];
        foreach ((string name, int[] shape) in Layout(options, prefix))
        {
            if (!buffer.Contains(name))
                throw new ArgumentException($"The parameter buffer has no tensor '{name}' (expected shape [{string.Join(", ", shape)}]).", nameof(buffer));
            ParameterTensor t = buffer.Describe(name);
            string expected = "[" + string.Join(", ", shape) + "]";
            if (t.ShapeText != expected)
                throw new ArgumentException($"Tensor '{name}' has shape {t.ShapeText}; expected {expected}.", nameof(buffer));
        }
        for (int l = 0; l < options.NumLayers; l++)
        {
            for (int d = 0; d < options.NumDirections; d++)
            {
                int u = l * options.NumDirections + d;
                string suffix = l + DirectionSuffix(d);
                _weightIh[u] = buffer[prefix + "weight_ih_l" + suffix];
                _weightHh[u] = buffer[prefix + "weight_hh_l" + suffix];
                if (options.Bias)
                {
                    _biasIh[u] = buffer[prefix + "bias_ih_l" + suffix];
                    _biasHh[u] = buffer[prefix + "bias_hh_l" + suffix];
                }
                if (options.ProjectionSize > 0)
                    _weightHr[u] = buffer[prefix + "weight_hr_l" + suffix];
            }
        }
    }

    /// <summary>The network's shape.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>The buffer these tensors live in.</summary>
    public ParameterBuffer Buffer { get; }

    /// <summary>The prefix of every tensor name.</summary>
    public string Prefix { get; }

    /// <summary>The names and shapes of a network's tensors, in PyTorch's order.</summary>
    public static IEnumerable<(string Name, int[] Shape)> Layout(RecurrentOptions options, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(prefix);
        return LayoutIterator(options, prefix);
    }

    private static IEnumerable<(string Name, int[] Shape)> LayoutIterator(RecurrentOptions options, string prefix)
    {
        int gates = options.GateSize;
        for (int l = 0; l < options.NumLayers; l++)
        {
            for (int d = 0; d < options.NumDirections; d++)
            {
                string suffix = l + DirectionSuffix(d);
                yield return (prefix + "weight_ih_l" + suffix, new[] { gates, options.LayerInputSize(l) });
                yield return (prefix + "weight_hh_l" + suffix, new[] { gates, options.HiddenStateSize });
                if (options.Bias)
                {
                    yield return (prefix + "bias_ih_l" + suffix, new[] { gates });
                    yield return (prefix + "bias_hh_l" + suffix, new[] { gates });
                }
                if (options.ProjectionSize > 0)
                    yield return (prefix + "weight_hr_l" + suffix, new[] { options.ProjectionSize, options.HiddenSize });
            }
        }
    }

    /// <summary>PyTorch's name suffix of direction <paramref name="direction"/>: "" (forward) or <c>_reverse</c>.</summary>
    public static string DirectionSuffix(int direction) => direction == 0 ? "" : "_reverse";

    /// <summary><c>weight_ih_l{layer}</c> (direction 1: <c>…_reverse</c>), row-major [G·H, I_l].</summary>
    public Span<float> WeightIh(int layer, int direction = 0) => _weightIh[Unit(layer, direction)].Span;

    /// <summary><c>weight_hh_l{layer}</c> (direction 1: <c>…_reverse</c>), row-major [G·H, H'].</summary>
    public Span<float> WeightHh(int layer, int direction = 0) => _weightHh[Unit(layer, direction)].Span;

    /// <summary><c>bias_ih_l{layer}</c> (direction 1: <c>…_reverse</c>) [G·H]; empty when the network has no bias.</summary>
    public Span<float> BiasIh(int layer, int direction = 0) => _biasIh[Unit(layer, direction)].Span;

    /// <summary><c>bias_hh_l{layer}</c> (direction 1: <c>…_reverse</c>) [G·H]; empty when the network has no bias.</summary>
    public Span<float> BiasHh(int layer, int direction = 0) => _biasHh[Unit(layer, direction)].Span;

    /// <summary><c>weight_hr_l{layer}</c> (direction 1: <c>…_reverse</c>), row-major [P, H]; empty without a projection.</summary>
    public Span<float> WeightHr(int layer, int direction = 0) => _weightHr[Unit(layer, direction)].Span;

    private int Unit(int layer, int direction)
    {
        if ((uint)layer >= (uint)Options.NumLayers)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"Expected a layer in [0, {Options.NumLayers}).");
        if ((uint)direction >= (uint)Options.NumDirections)
            throw new ArgumentOutOfRangeException(nameof(direction), direction, $"Expected a direction in [0, {Options.NumDirections}).");
        return layer * Options.NumDirections + direction;
    }

    /// <summary>
    /// Fills every tensor with U(−1/√H, 1/√H), PyTorch's default for <c>nn.LSTM</c>/<c>nn.RNN</c>, from a generator seeded with
    /// <paramref name="seed"/> so runs are reproducible.
    /// </summary>
    public void InitializeUniform(int seed) => InitializeUniform(new Random(seed));

    /// <summary>Fills every tensor with U(−1/√H, 1/√H) drawn from <paramref name="random"/>.</summary>
    public void InitializeUniform(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        float bound = 1f / MathF.Sqrt(Options.HiddenSize);
        // PyTorch's order: per layer, per direction, the tensors in state_dict order (weight_hr last).
        for (int u = 0; u < Options.StateLayers; u++)
        {
            FillUniform(_weightIh[u].Span, bound, random);
            FillUniform(_weightHh[u].Span, bound, random);
            FillUniform(_biasIh[u].Span, bound, random);
            FillUniform(_biasHh[u].Span, bound, random);
            FillUniform(_weightHr[u].Span, bound, random);
        }
    }

    internal static void FillUniform(Span<float> values, float bound, Random random)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
    }
}

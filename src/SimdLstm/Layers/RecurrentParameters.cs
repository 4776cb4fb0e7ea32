using System;
using System.Collections.Generic;

namespace SimdLstm;

/// <summary>
/// The tensors of a stacked LSTM or RNN, as views into a <see cref="ParameterBuffer"/>, named and shaped as PyTorch's
/// state_dict: per layer l, <c>weight_ih_l{l}</c> [G·H, I_l], <c>weight_hh_l{l}</c> [G·H, H] and, with bias,
/// <c>bias_ih_l{l}</c>, <c>bias_hh_l{l}</c> [G·H]; G = 4 for LSTM with gate rows i, f, g, o, G = 1 for RNN.
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
        int layers = options.NumLayers;
        _weightIh = new Memory<float>[layers];
        _weightHh = new Memory<float>[layers];
        _biasIh = new Memory<float>[layers];
        _biasHh = new Memory<float>[layers];
        foreach ((string name, int[] shape) in Layout(options, prefix))
        {
            if (!buffer.Contains(name))
                throw new ArgumentException($"The parameter buffer has no tensor '{name}' (expected shape [{string.Join(", ", shape)}]).", nameof(buffer));
            ParameterTensor t = buffer.Describe(name);
            string expected = "[" + string.Join(", ", shape) + "]";
            if (t.ShapeText != expected)
                throw new ArgumentException($"Tensor '{name}' has shape {t.ShapeText}; expected {expected}.", nameof(buffer));
        }
        for (int l = 0; l < layers; l++)
        {
            _weightIh[l] = buffer[prefix + "weight_ih_l" + l];
            _weightHh[l] = buffer[prefix + "weight_hh_l" + l];
            if (options.Bias)
            {
                _biasIh[l] = buffer[prefix + "bias_ih_l" + l];
                _biasHh[l] = buffer[prefix + "bias_hh_l" + l];
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
            yield return (prefix + "weight_ih_l" + l, new[] { gates, options.LayerInputSize(l) });
            yield return (prefix + "weight_hh_l" + l, new[] { gates, options.HiddenSize });
            if (options.Bias)
            {
                yield return (prefix + "bias_ih_l" + l, new[] { gates });
                yield return (prefix + "bias_hh_l" + l, new[] { gates });
            }
        }
    }

    /// <summary><c>weight_ih_l{layer}</c>, row-major [G·H, I_l].</summary>
    public Span<float> WeightIh(int layer) => _weightIh[layer].Span;

    /// <summary><c>weight_hh_l{layer}</c>, row-major [G·H, H].</summary>
    public Span<float> WeightHh(int layer) => _weightHh[layer].Span;

    /// <summary><c>bias_ih_l{layer}</c> [G·H]; empty when the network has no bias.</summary>
    public Span<float> BiasIh(int layer) => _biasIh[layer].Span;

    /// <summary><c>bias_hh_l{layer}</c> [G·H]; empty when the network has no bias.</summary>
    public Span<float> BiasHh(int layer) => _biasHh[layer].Span;

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
        for (int l = 0; l < Options.NumLayers; l++)
        {
            FillUniform(WeightIh(l), bound, random);
            FillUniform(WeightHh(l), bound, random);
            FillUniform(BiasIh(l), bound, random);
            FillUniform(BiasHh(l), bound, random);
        }
    }

    internal static void FillUniform(Span<float> values, float bound, Random random)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
    }
}

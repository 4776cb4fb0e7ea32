using System;
using System.Collections.Generic;
using SimdLstm.Testing;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// The weights of a stacked LSTM, GRU or RNN in PyTorch's layout and names, as flat row-major double arrays. Also used,
/// zero-filled, as the gradient buffers of the same layout.
/// </summary>
public sealed class ReferenceWeights
{
    /// <summary>Creates zero-filled weights of the given shape (PyTorch's <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c> arguments).</summary>
    /// <param name="cell">LSTM, GRU or vanilla RNN.</param>
    /// <param name="inputSize">I, features per input step.</param>
    /// <param name="hiddenSize">H, features of the hidden state.</param>
    /// <param name="layers">L, stacked layers.</param>
    /// <param name="hasBias">Whether the layers have <c>bias_ih</c> and <c>bias_hh</c>.</param>
    /// <param name="activation">The RNN nonlinearity (unused by an LSTM or a GRU).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1.</exception>
    public ReferenceWeights(CellKind cell, int inputSize, int hiddenSize, int layers, bool hasBias, RnnActivation activation = RnnActivation.Tanh)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        Cell = cell;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        Layers = layers;
        HasBias = hasBias;
        Activation = activation;
        int gh = GateCount * hiddenSize;
        WeightIh = new double[layers][];
        WeightHh = new double[layers][];
        BiasIh = new double[layers][];
        BiasHh = new double[layers][];
        for (int l = 0; l < layers; l++)
        {
            WeightIh[l] = new double[gh * LayerInputSize(l)]; // [G·H, I_l]
            WeightHh[l] = new double[gh * hiddenSize];        // [G·H, H]
            BiasIh[l] = hasBias ? new double[gh] : [];        // [G·H] or empty
            BiasHh[l] = hasBias ? new double[gh] : [];        // [G·H] or empty
        }
    }

    /// <summary>LSTM, GRU or vanilla RNN.</summary>
    public CellKind Cell { get; }

    /// <summary>The nonlinearity of a <see cref="CellKind.Rnn"/> (PyTorch's <c>nonlinearity</c>); unused by an LSTM or a GRU.</summary>
    public RnnActivation Activation { get; }

    /// <summary>I, features per input step of layer 0.</summary>
    public int InputSize { get; }

    /// <summary>H, features of the hidden state.</summary>
    public int HiddenSize { get; }

    /// <summary>L, the number of stacked layers.</summary>
    public int Layers { get; }

    /// <summary>Whether the layers have biases.</summary>
    public bool HasBias { get; }

    /// <summary>G: 4 for an LSTM (rows i, f, g, o in that order), 3 for a GRU (rows r, z, n), 1 for an RNN.</summary>
    public int GateCount => Cell switch
    {
        CellKind.Lstm => 4,
        CellKind.Gru => 3,
        _ => 1,
    };

    /// <summary><c>weight_ih_l{l}</c>: [L][G·H, I_l].</summary>
    public double[][] WeightIh { get; }

    /// <summary><c>weight_hh_l{l}</c>: [L][G·H, H].</summary>
    public double[][] WeightHh { get; }

    /// <summary><c>bias_ih_l{l}</c>: [L][G·H]; empty arrays when <see cref="HasBias"/> is false.</summary>
    public double[][] BiasIh { get; }

    /// <summary><c>bias_hh_l{l}</c>: [L][G·H]; empty arrays when <see cref="HasBias"/> is false.</summary>
    public double[][] BiasHh { get; }

    /// <summary>I_l: <see cref="InputSize"/> for layer 0, <see cref="HiddenSize"/> above (layer l reads layer l − 1's h).</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : HiddenSize;

    /// <summary>A zero-filled copy of the layout: the gradient buffers backward accumulates into.</summary>
    public ReferenceWeights ZerosLike() => new(Cell, InputSize, HiddenSize, Layers, HasBias, Activation);

    /// <summary>Fills every tensor, in <see cref="Named"/> order, with values uniform in [−scale, scale).</summary>
    public ReferenceWeights Randomize(SeededRandom random, double scale)
    {
        foreach ((_, double[] values) in Named())
            random.Uniform(values.Length, -scale, scale).CopyTo(values, 0);
        return this;
    }

    /// <summary>The tensors in PyTorch's <c>named_parameters()</c> order: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_ih_l1, ...</summary>
    public IEnumerable<(string Name, double[] Values)> Named()
    {
        for (int l = 0; l < Layers; l++)
        {
            yield return ($"weight_ih_l{l}", WeightIh[l]);
            yield return ($"weight_hh_l{l}", WeightHh[l]);
            if (HasBias)
            {
                yield return ($"bias_ih_l{l}", BiasIh[l]);
                yield return ($"bias_hh_l{l}", BiasHh[l]);
            }
        }
    }
}

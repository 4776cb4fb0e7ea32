using System;
using System.Collections.Generic;
using SimdLstm.Testing;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// The weights of a stacked LSTM, GRU or RNN in PyTorch's layout and names, as flat row-major double arrays. Also used,
/// zero-filled, as the gradient buffers of the same layout.
/// </summary>
/// <remarks>
/// Every per-tensor array is indexed by the unit u = layer · <see cref="Directions"/> + direction (direction 0 runs
/// forward in time, 1 in reverse), so for a unidirectional network it is the layer index. H' (<see cref="HiddenStateSize"/>)
/// is the width of h: <see cref="ProjectionSize"/> P with a projection, else H.
/// </remarks>
public sealed class ReferenceWeights
{
    /// <summary>Creates zero-filled weights of the given shape (PyTorch's <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c> arguments).</summary>
    /// <param name="cell">LSTM, GRU or vanilla RNN.</param>
    /// <param name="inputSize">I, features per input step.</param>
    /// <param name="hiddenSize">H, features of the hidden state (of the cell state and gate blocks, with a projection).</param>
    /// <param name="layers">L, stacked layers.</param>
    /// <param name="hasBias">Whether the layers have <c>bias_ih</c> and <c>bias_hh</c>.</param>
    /// <param name="activation">The RNN nonlinearity (unused by an LSTM or a GRU).</param>
    /// <param name="bidirectional">Whether every layer also has a reverse direction (PyTorch's <c>bidirectional</c>).</param>
    /// <param name="projSize">P, the size an LSTM's h is projected to by <c>weight_hr</c> (PyTorch's <c>proj_size</c>); 0 for none.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1, or P is negative or not below H.</exception>
    /// <exception cref="ArgumentException">A projection was asked of a GRU or an RNN.</exception>
    public ReferenceWeights(
        CellKind cell, int inputSize, int hiddenSize, int layers, bool hasBias, RnnActivation activation = RnnActivation.Tanh,
        bool bidirectional = false, int projSize = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(projSize);
        if (projSize > 0 && cell != CellKind.Lstm)
            throw new ArgumentException($"A projection (proj_size) exists for an LSTM only, not a {cell}.", nameof(projSize));
        if (projSize >= hiddenSize && projSize > 0)
            throw new ArgumentOutOfRangeException(nameof(projSize), projSize, $"proj_size must be smaller than hidden_size ({hiddenSize}).");
        Cell = cell;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        Layers = layers;
        HasBias = hasBias;
        Activation = activation;
        Bidirectional = bidirectional;
        ProjectionSize = projSize;
        int gh = GateCount * hiddenSize, units = Units;
        WeightIh = new double[units][];
        WeightHh = new double[units][];
        BiasIh = new double[units][];
        BiasHh = new double[units][];
        WeightHr = new double[units][];
        for (int u = 0; u < units; u++)
        {
            WeightIh[u] = new double[gh * LayerInputSize(u / Directions)]; // [G·H, I_l]
            WeightHh[u] = new double[gh * HiddenStateSize];                // [G·H, H']
            BiasIh[u] = hasBias ? new double[gh] : [];                     // [G·H] or empty
            BiasHh[u] = hasBias ? new double[gh] : [];                     // [G·H] or empty
            WeightHr[u] = projSize > 0 ? new double[projSize * hiddenSize] : []; // [P, H] or empty
        }
    }

    /// <summary>LSTM, GRU or vanilla RNN.</summary>
    public CellKind Cell { get; }

    /// <summary>The nonlinearity of a <see cref="CellKind.Rnn"/> (PyTorch's <c>nonlinearity</c>); unused by an LSTM or a GRU.</summary>
    public RnnActivation Activation { get; }

    /// <summary>I, features per input step of layer 0.</summary>
    public int InputSize { get; }

    /// <summary>H, features of the hidden state (without a projection), of the LSTM's cell state and of each gate block.</summary>
    public int HiddenSize { get; }

    /// <summary>L, the number of stacked layers.</summary>
    public int Layers { get; }

    /// <summary>Whether the layers have biases.</summary>
    public bool HasBias { get; }

    /// <summary>Whether every layer has a reverse direction (PyTorch's <c>bidirectional</c>).</summary>
    public bool Bidirectional { get; }

    /// <summary>P, the size an LSTM's h is projected to (PyTorch's <c>proj_size</c>); 0 without a projection.</summary>
    public int ProjectionSize { get; }

    /// <summary>D: 2 when <see cref="Bidirectional"/>, else 1.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>L · D, the number of (layer, direction) units: the first dimension of h_n and of every per-tensor array.</summary>
    public int Units => Layers * Directions;

    /// <summary>H': the width of h and of each direction's output, <see cref="ProjectionSize"/> with a projection, else <see cref="HiddenSize"/>.</summary>
    public int HiddenStateSize => ProjectionSize > 0 ? ProjectionSize : HiddenSize;

    /// <summary>D · H': the features of each step of a layer's output.</summary>
    public int OutputSize => Directions * HiddenStateSize;

    /// <summary>G: 4 for an LSTM (rows i, f, g, o in that order), 3 for a GRU (rows r, z, n), 1 for an RNN.</summary>
    public int GateCount => Cell switch
    {
        CellKind.Lstm => 4,
        CellKind.Gru => 3,
        _ => 1,
    };

    /// <summary><c>weight_ih_l{l}</c> (direction 1: <c>…_reverse</c>): [L·D][G·H, I_l], indexed by unit.</summary>
    public double[][] WeightIh { get; }

    /// <summary><c>weight_hh_l{l}</c> (direction 1: <c>…_reverse</c>): [L·D][G·H, H'], indexed by unit.</summary>
    public double[][] WeightHh { get; }

    /// <summary><c>bias_ih_l{l}</c>: [L·D][G·H]; empty arrays when <see cref="HasBias"/> is false.</summary>
    public double[][] BiasIh { get; }

    /// <summary><c>bias_hh_l{l}</c>: [L·D][G·H]; empty arrays when <see cref="HasBias"/> is false.</summary>
    public double[][] BiasHh { get; }

    /// <summary><c>weight_hr_l{l}</c>: [L·D][P, H]; empty arrays without a projection.</summary>
    public double[][] WeightHr { get; }

    /// <summary>I_l: <see cref="InputSize"/> for layer 0, <see cref="OutputSize"/> above (layer l reads layer l − 1's output).</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : OutputSize;

    /// <summary>The unit index of (<paramref name="layer"/>, <paramref name="direction"/>): layer · D + direction.</summary>
    public int Unit(int layer, int direction)
    {
        if ((uint)layer >= (uint)Layers)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"Expected a layer in [0, {Layers}).");
        if ((uint)direction >= (uint)Directions)
            throw new ArgumentOutOfRangeException(nameof(direction), direction, $"Expected a direction in [0, {Directions}).");
        return layer * Directions + direction;
    }

    /// <summary>A zero-filled copy of the layout: the gradient buffers backward accumulates into.</summary>
    public ReferenceWeights ZerosLike() => new(Cell, InputSize, HiddenSize, Layers, HasBias, Activation, Bidirectional, ProjectionSize);

    /// <summary>Fills every tensor, in <see cref="Named"/> order, with values uniform in [−scale, scale).</summary>
    public ReferenceWeights Randomize(SeededRandom random, double scale)
    {
        foreach ((_, double[] values) in Named())
            random.Uniform(values.Length, -scale, scale).CopyTo(values, 0);
        return this;
    }

    /// <summary>
    /// The tensors in PyTorch's <c>named_parameters()</c> order: per layer, per direction, weight_ih, weight_hh,
    /// bias_ih, bias_hh, weight_hr — e.g. weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_hr_l0,
    /// weight_ih_l0_reverse, ..., weight_ih_l1, ...
    /// </summary>
    public IEnumerable<(string Name, double[] Values)> Named()
    {
        for (int l = 0; l < Layers; l++)
        {
            for (int d = 0; d < Directions; d++)
            {
                int u = l * Directions + d;
                string suffix = d == 0 ? $"l{l}" : $"l{l}_reverse";
                yield return ($"weight_ih_{suffix}", WeightIh[u]);
                yield return ($"weight_hh_{suffix}", WeightHh[u]);
                if (HasBias)
                {
                    yield return ($"bias_ih_{suffix}", BiasIh[u]);
                    yield return ($"bias_hh_{suffix}", BiasHh[u]);
                }
                if (ProjectionSize > 0)
                    yield return ($"weight_hr_{suffix}", WeightHr[u]);
            }
        }
    }
}

using System;

namespace SimdLstm;

/// <summary>
/// The shape of a stacked recurrent network, as the arguments of PyTorch's <c>nn.LSTM</c> / <c>nn.GRU</c> / <c>nn.RNN</c>.
/// </summary>
public sealed record RecurrentOptions
{
    /// <summary>Creates options, validating every size.</summary>
    /// <param name="cell">LSTM, GRU or vanilla RNN.</param>
    /// <param name="inputSize">Features per input step (I). For token inputs, the vocabulary size.</param>
    /// <param name="hiddenSize">Features of the hidden state (H).</param>
    /// <param name="numLayers">Number of stacked layers; layer l &gt; 0 takes layer l−1's h as input.</param>
    /// <param name="bias">Whether the layers have <c>bias_ih</c> and <c>bias_hh</c>.</param>
    /// <param name="activation">The nonlinearity of an RNN cell (ignored for LSTM and GRU).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1.</exception>
    public RecurrentOptions(CellKind cell, int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, RnnActivation activation = RnnActivation.Tanh)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        if (!Enum.IsDefined(cell))
            throw new ArgumentOutOfRangeException(nameof(cell), cell, "Unknown cell kind.");
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        Recurrence = RecurrentCell.For(cell, activation);
        // Keep every buffer of one layer's gates for a batch row addressable with int offsets (in long: the product of
        // three ints wraps in int).
        if ((long)hiddenSize * Recurrence.GateCount * Math.Max(inputSize, hiddenSize) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "The weight matrices would not fit in one array.");
        Cell = cell;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        Bias = bias;
        Activation = activation;
    }

    /// <summary>LSTM, GRU or vanilla RNN.</summary>
    public CellKind Cell { get; }

    /// <summary>Features per input step (I).</summary>
    public int InputSize { get; }

    /// <summary>Features of the hidden state (H).</summary>
    public int HiddenSize { get; }

    /// <summary>Number of stacked layers.</summary>
    public int NumLayers { get; }

    /// <summary>Whether the layers have biases.</summary>
    public bool Bias { get; }

    /// <summary>The RNN nonlinearity (LSTM and GRU ignore it).</summary>
    public RnnActivation Activation { get; }

    /// <summary>Gate blocks per layer: 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n), 1 for RNN.</summary>
    public int GateCount => Recurrence.GateCount;

    /// <summary>Whether the cell has a cell state c besides h (LSTM only).</summary>
    public bool HasCellState => Recurrence.HasCellState;

    // The cell's pointwise math and what it needs of the layers, picked once from (cell, activation).
    internal RecurrentCell Recurrence { get; }

    /// <summary>Rows of each layer's weight matrices: <see cref="GateCount"/> · H.</summary>
    public int GateSize => GateCount * HiddenSize;

    /// <summary>Input features of layer <paramref name="layer"/>: I for layer 0, H above it.</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : HiddenSize;

    /// <summary>Creates LSTM options.</summary>
    public static RecurrentOptions Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true) =>
        new(CellKind.Lstm, inputSize, hiddenSize, numLayers, bias);

    /// <summary>Creates GRU options (PyTorch's <c>nn.GRU</c>).</summary>
    public static RecurrentOptions Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true) =>
        new(CellKind.Gru, inputSize, hiddenSize, numLayers, bias);

    /// <summary>Creates vanilla RNN options.</summary>
    public static RecurrentOptions Rnn(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, RnnActivation activation = RnnActivation.Tanh) =>
        new(CellKind.Rnn, inputSize, hiddenSize, numLayers, bias, activation);
}

using System;

namespace SimdLstm;

/// <summary>
/// The shape of a stacked recurrent network, as the arguments of PyTorch's <c>nn.LSTM</c> / <c>nn.GRU</c> / <c>nn.RNN</c>:
/// cell, <c>input_size</c>, <c>hidden_size</c>, <c>num_layers</c>, <c>bias</c>, <c>nonlinearity</c>, <c>bidirectional</c>,
/// <c>proj_size</c> and <c>dropout</c>.
/// </summary>
/// <remarks>
/// <para>With <see cref="Bidirectional"/>, every layer has a forward and a reverse direction, each with its own weights
/// (the reverse ones named <c>…_reverse</c>); a layer's output is [T, B, 2·H'] (the forward direction's h, then the
/// reverse direction's), layer k &gt; 0 takes 2·H' inputs, and the state is [2·L, B, H'] ordered layer by layer, forward
/// before reverse, as PyTorch's <c>h_n</c>. H' is <see cref="HiddenStateSize"/>: H, or P with a projection.</para>
/// <para>With <see cref="ProjectionSize"/> P &gt; 0 (LSTM only), h is projected to P features after each step by
/// <c>weight_hr_l{k}</c> [P, H]: h [·, P], c [·, H].</para>
/// <para><see cref="Dropout"/> is applied, in training passes only, to the output of every layer but the last.</para>
/// </remarks>
public sealed record RecurrentOptions
{
    /// <summary>Creates options, validating every size.</summary>
    /// <param name="cell">LSTM, GRU or vanilla RNN.</param>
    /// <param name="inputSize">Features per input step (I). For token inputs, the vocabulary size.</param>
    /// <param name="hiddenSize">Features of the hidden state (H).</param>
    /// <param name="numLayers">Number of stacked layers; layer l &gt; 0 takes layer l−1's output as input.</param>
    /// <param name="bias">Whether the layers have <c>bias_ih</c> and <c>bias_hh</c>.</param>
    /// <param name="activation">The nonlinearity of an RNN cell (ignored for LSTM and GRU).</param>
    /// <param name="bidirectional">Whether each layer also runs over the reversed sequence (PyTorch's <c>bidirectional</c>).</param>
    /// <param name="projSize">P, the size h is projected to after each step (PyTorch's <c>proj_size</c>); 0 for none. LSTM only, 0 ≤ P &lt; H.</param>
    /// <param name="dropout">The probability p of zeroing an element of each layer's output but the last in training passes (PyTorch's <c>dropout</c>), 0 ≤ p ≤ 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or the dropout probability is out of range, or the network would not fit in arrays.</exception>
    /// <exception cref="ArgumentException">A projection was asked of a GRU or an RNN.</exception>
    public RecurrentOptions(CellKind cell, int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, RnnActivation activation = RnnActivation.Tanh,
        bool bidirectional = false, int projSize = 0, float dropout = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(projSize);
        if (!Enum.IsDefined(cell))
            throw new ArgumentOutOfRangeException(nameof(cell), cell, "Unknown cell kind.");
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        if (projSize > 0 && cell != CellKind.Lstm)
            throw new ArgumentException($"proj_size is supported for an LSTM only, not a {cell} (PyTorch's rule).", nameof(projSize));
        if (projSize >= hiddenSize)
            throw new ArgumentOutOfRangeException(nameof(projSize), projSize, $"proj_size must be smaller than hidden_size ({hiddenSize}).");
        if (!(dropout >= 0f && dropout <= 1f))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Expected a dropout probability in [0, 1].");
        Recurrence = RecurrentCell.For(cell, activation);
        int directions = bidirectional ? 2 : 1;
        long state = projSize > 0 ? projSize : hiddenSize;
        // Every weight matrix and every per-row buffer must be addressable with int offsets; the product of the sizes is
        // formed in 128 bits, which three int factors cannot overflow.
        long widestInput = Math.Max(inputSize, directions * state);
        long gateRows = (long)hiddenSize * Recurrence.GateCount;
        if ((Int128)gateRows * Math.Max(widestInput, Math.Max(state, hiddenSize)) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "The weight matrices would not fit in one array.");
        Cell = cell;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        Bias = bias;
        Activation = activation;
        Bidirectional = bidirectional;
        ProjectionSize = projSize;
        Dropout = dropout;
    }

    /// <summary>LSTM, GRU or vanilla RNN.</summary>
    public CellKind Cell { get; }

    /// <summary>Features per input step (I).</summary>
    public int InputSize { get; }

    /// <summary>Features of the hidden state (H): the size of each gate block and, without a projection, of h.</summary>
    public int HiddenSize { get; }

    /// <summary>Number of stacked layers.</summary>
    public int NumLayers { get; }

    /// <summary>Whether the layers have biases.</summary>
    public bool Bias { get; }

    /// <summary>The RNN nonlinearity (LSTM and GRU ignore it).</summary>
    public RnnActivation Activation { get; }

    /// <summary>Whether every layer has a reverse direction too (PyTorch's <c>bidirectional</c>).</summary>
    public bool Bidirectional { get; }

    /// <summary>P, the size h is projected to (PyTorch's <c>proj_size</c>); 0 for no projection.</summary>
    public int ProjectionSize { get; }

    /// <summary>The dropout probability on each layer's output but the last, in training passes (PyTorch's <c>dropout</c>).</summary>
    public float Dropout { get; }

    /// <summary>Directions per layer: 2 when <see cref="Bidirectional"/>, else 1.</summary>
    public int NumDirections => Bidirectional ? 2 : 1;

    /// <summary>H': the features of h and of each direction's output, P with a projection, else H.</summary>
    public int HiddenStateSize => ProjectionSize > 0 ? ProjectionSize : HiddenSize;

    /// <summary>Features of each step of a layer's output: <see cref="NumDirections"/> · <see cref="HiddenStateSize"/>.</summary>
    public int OutputSize => NumDirections * HiddenStateSize;

    /// <summary>Rows of the state h (and c): <see cref="NumLayers"/> · <see cref="NumDirections"/>, PyTorch's first dimension of <c>h_n</c>.</summary>
    public int StateLayers => NumLayers * NumDirections;

    /// <summary>Gate blocks per layer: 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n), 1 for RNN.</summary>
    public int GateCount => Recurrence.GateCount;

    /// <summary>Whether the cell has a cell state c besides h (LSTM only).</summary>
    public bool HasCellState => Recurrence.HasCellState;

    // The cell's pointwise math and what it needs of the layers, picked once from (cell, activation).
    internal RecurrentCell Recurrence { get; }

    /// <summary>Rows of each layer's weight matrices: <see cref="GateCount"/> · H.</summary>
    public int GateSize => GateCount * HiddenSize;

    /// <summary>Input features of layer <paramref name="layer"/>: I for layer 0, <see cref="OutputSize"/> above it.</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : OutputSize;

    /// <summary>Creates LSTM options.</summary>
    public static RecurrentOptions Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool bidirectional = false,
        int projSize = 0, float dropout = 0f) =>
        new(CellKind.Lstm, inputSize, hiddenSize, numLayers, bias, RnnActivation.Tanh, bidirectional, projSize, dropout);

    /// <summary>Creates GRU options (PyTorch's <c>nn.GRU</c>).</summary>
    public static RecurrentOptions Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool bidirectional = false, float dropout = 0f) =>
        new(CellKind.Gru, inputSize, hiddenSize, numLayers, bias, RnnActivation.Tanh, bidirectional, 0, dropout);

    /// <summary>Creates vanilla RNN options.</summary>
    public static RecurrentOptions Rnn(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, RnnActivation activation = RnnActivation.Tanh,
        bool bidirectional = false, float dropout = 0f) =>
        new(CellKind.Rnn, inputSize, hiddenSize, numLayers, bias, activation, bidirectional, 0, dropout);
}

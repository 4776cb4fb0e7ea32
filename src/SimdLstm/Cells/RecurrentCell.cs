using System;

namespace SimdLstm;

/// <summary>
/// What a recurrent cell is and its pointwise math: the one place a cell's kind is known. Layers, the packed copy and the
/// pool's split code ask the cell of their <see cref="RecurrentOptions"/> these questions instead of switching on
/// <see cref="CellKind"/>; each cell is one sealed subclass in its own file, and <see cref="For"/> is the list of them.
/// </summary>
/// <remarks>
/// <para>A cell is called once per step for a block of rows, never per element (its per-element loops are kernels with
/// operator structs, specialised by the JIT), so one virtual call per step is all the dispatch costs.</para>
/// <para>Buffers of one step, for B rows (streams), each row laid out as PyTorch's gate blocks:</para>
/// <list type="bullet">
/// <item><c>gates</c> [B, G·H]: in, the input projection W_ih·x + b_ih, plus W_hh·h₋₁ + b_hh when the cell fuses the two
/// (<see cref="SeparateRecurrent"/> false); out, whatever the backward step reads (activations).</item>
/// <item><c>recurrent</c> [B, G·H]: W_hh·h₋₁ + b_hh when <see cref="SeparateRecurrent"/>, read and kept for backward;
/// empty otherwise.</item>
/// <item><c>hPrev</c>, <c>cPrev</c>, <c>c</c>, <c>h</c> [B, H]; c and cPrev are empty without <see cref="HasCellState"/>.</item>
/// </list>
/// <para>Backward writes dL/d(gates) (the gradient of the input projection, and of the recurrent one when fused) and, when
/// <see cref="SeparateRecurrent"/>, dL/d(recurrent) apart; replaces dCell by dL/dc₋₁; and, when
/// <see cref="PassesHiddenDirectly"/>, writes the part of dL/dh₋₁ that does not flow through W_hh (the layer then adds
/// W_hhᵀ·dRecurrent to it; otherwise it overwrites dHPrev with that product).</para>
/// </remarks>
internal abstract class RecurrentCell
{
    /// <summary>The public name of the cell.</summary>
    public abstract CellKind Kind { get; }

    /// <summary>G: gate blocks of H rows in each weight matrix.</summary>
    public abstract int GateCount { get; }

    /// <summary>Whether the cell carries a cell state c besides h.</summary>
    public abstract bool HasCellState { get; }

    /// <summary>Whether W_hh·h₋₁ + b_hh must be kept apart from the input projection (a GRU's r multiplies it alone).</summary>
    public abstract bool SeparateRecurrent { get; }

    /// <summary>Whether h₋₁ reaches h other than through W_hh (a GRU's z ⊙ h₋₁), so backward writes a direct dh₋₁.</summary>
    public abstract bool PassesHiddenDirectly { get; }

    /// <summary>One step's pointwise part for <paramref name="batch"/> rows. h may be exactly hPrev, c exactly cPrev.</summary>
    public abstract void Forward(int hiddenSize, int batch, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h);

    /// <summary>
    /// <see cref="Forward"/> of one row for units [<paramref name="first"/>, <paramref name="last"/>) only, bitwise the
    /// whole row's values for those units (so disjoint ranges may run on different threads). c is updated in place; h
    /// must not be hPrev (other ranges still read it).
    /// </summary>
    public abstract void ForwardUnits(int hiddenSize, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        Span<float> c, Span<float> h, int first, int last);

    /// <summary>
    /// One step's pointwise backward for <paramref name="batch"/> rows, from dH (all of dL/dh: from the output and from
    /// step t+1) and dCell (dL/dc from step t+1, replaced by dL/dc₋₁).
    /// </summary>
    public abstract void Backward(int hiddenSize, int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c, ReadOnlySpan<float> h, ReadOnlySpan<float> dH,
        Span<float> dCell, Span<float> dGates, Span<float> dRecurrent, Span<float> dHPrev);

    /// <summary>Every cell: the cell of <paramref name="cell"/> (with <paramref name="activation"/> for an RNN).</summary>
    public static RecurrentCell For(CellKind cell, RnnActivation activation) => (cell, activation) switch
    {
        (CellKind.Lstm, _) => LstmCell.Instance,
        (CellKind.Gru, _) => GruCell.Instance,
        (CellKind.Rnn, RnnActivation.Tanh) => RnnCell.Tanh,
        (CellKind.Rnn, RnnActivation.Relu) => RnnCell.Relu,
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, $"Unknown cell kind {cell} (activation {activation})."),
    };
}

using System;

namespace SimdLstm;

/// <summary>
/// A cell (<see cref="IRecurrentCell"/>) as an object the layers hold: the questions and the pointwise steps, one virtual
/// call per step of a block of rows. <see cref="For"/> is the list of every cell: adding a cell means adding its struct
/// and one line there.
/// </summary>
internal abstract class RecurrentCells
{
    public abstract CellKind Kind { get; }

    public abstract int GateCount { get; }

    public abstract bool HasCellState { get; }

    public abstract bool SeparateRecurrent { get; }

    public abstract bool PassesHiddenDirectly { get; }

    /// <inheritdoc cref="IRecurrentCell.Forward"/>
    public abstract void Forward(int hiddenSize, int batch, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h);

    /// <inheritdoc cref="IRecurrentCell.ForwardUnits"/>
    public abstract void ForwardUnits(int hiddenSize, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        Span<float> c, Span<float> h, int first, int last);

    /// <inheritdoc cref="IRecurrentCell.Backward"/>
    public abstract void Backward(int hiddenSize, int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c, ReadOnlySpan<float> h, ReadOnlySpan<float> dH,
        Span<float> dCell, Span<float> dGates, Span<float> dRecurrent, Span<float> dHPrev);

    /// <summary>The cell of <paramref name="cell"/> (with <paramref name="activation"/> for an RNN).</summary>
    public static RecurrentCells For(CellKind cell, RnnActivation activation) => (cell, activation) switch
    {
        (CellKind.Lstm, _) => Of<LstmCell>.Instance,
        (CellKind.Gru, _) => Of<GruCell>.Instance,
        (CellKind.Rnn, RnnActivation.Tanh) => Of<RnnTanhCell>.Instance,
        (CellKind.Rnn, RnnActivation.Relu) => Of<RnnReluCell>.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, $"Unknown cell kind {cell} (activation {activation})."),
    };

    private sealed class Of<TCell> : RecurrentCells
        where TCell : struct, IRecurrentCell
    {
        public static readonly Of<TCell> Instance = new();

        public override CellKind Kind => TCell.Kind;

        public override int GateCount => TCell.GateCount;

        public override bool HasCellState => TCell.HasCellState;

        public override bool SeparateRecurrent => TCell.SeparateRecurrent;

        public override bool PassesHiddenDirectly => TCell.PassesHiddenDirectly;

        public override void Forward(int hiddenSize, int batch, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
            ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h) =>
            TCell.Forward(hiddenSize, batch, gates, recurrent, hPrev, cPrev, c, h);

        public override void ForwardUnits(int hiddenSize, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
            Span<float> c, Span<float> h, int first, int last) =>
            TCell.ForwardUnits(hiddenSize, gates, recurrent, hPrev, c, h, first, last);

        public override void Backward(int hiddenSize, int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent,
            ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c, ReadOnlySpan<float> h, ReadOnlySpan<float> dH,
            Span<float> dCell, Span<float> dGates, Span<float> dRecurrent, Span<float> dHPrev) =>
            TCell.Backward(hiddenSize, batch, gates, recurrent, hPrev, cPrev, c, h, dH, dCell, dGates, dRecurrent, dHPrev);
    }
}

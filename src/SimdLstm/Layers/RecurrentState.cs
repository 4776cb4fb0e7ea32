using System;

namespace SimdLstm;

/// <summary>
/// The recurrent state of B streams through a stacked network: h [L·D, B, H'] and, for an LSTM, c [L·D, B, H], as
/// PyTorch's <c>h_n</c>/<c>c_n</c>: D = 2 directions for a bidirectional network (row l·D + d is layer l's direction d),
/// H' = P with a projection, else H.
/// Zero when created and after <see cref="Reset()"/> (never ones: a nonzero initial state is a modelling choice, made
/// explicitly with <see cref="SetHidden"/>/<see cref="SetCell"/>).
/// </summary>
/// <remarks>
/// One state per stream (or per batch of streams); many states may share one set of weights, each used by one thread at a
/// time. Steps and forward passes update the state in place, so consecutive calls continue the same streams.
/// </remarks>
public sealed class RecurrentState
{
    private readonly float[] _hidden;
    private readonly float[] _cell;

    /// <summary>Creates a zero state for <paramref name="batchSize"/> streams of a network shaped by <paramref name="options"/>.</summary>
    public RecurrentState(RecurrentOptions options, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Options = options;
        BatchSize = batchSize;
        long length = (long)options.StateLayers * batchSize * options.HiddenStateSize;
        long cellLength = (long)options.StateLayers * batchSize * options.HiddenSize;
        if (cellLength > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The state would not fit in one array.");
        _hidden = new float[length];
        _cell = options.HasCellState ? new float[cellLength] : [];
    }

    /// <summary>The network shape this state belongs to.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>Number of streams (B).</summary>
    public int BatchSize { get; }

    /// <summary>h of every layer and direction, [L·D, B, H'].</summary>
    public Span<float> Hidden => _hidden;

    /// <summary>c of every layer and direction, [L·D, B, H]; empty without a cell state.</summary>
    public Span<float> Cell => _cell;

    /// <summary>h of one layer's direction, [B, H'] (row <paramref name="layer"/>·D + <paramref name="direction"/> of <see cref="Hidden"/>).</summary>
    public Span<float> HiddenOf(int layer, int direction = 0) =>
        _hidden.AsSpan(HiddenOffset(Index(layer, direction)), BatchSize * Options.HiddenStateSize);

    /// <summary>c of one layer's direction, [B, H]; empty without a cell state.</summary>
    public Span<float> CellOf(int layer, int direction = 0) =>
        _cell.Length == 0 ? Span<float>.Empty : _cell.AsSpan(CellOffset(Index(layer, direction)), BatchSize * Options.HiddenSize);

    /// <summary>Sets every stream's h and c to zero.</summary>
    public void Reset()
    {
        Array.Clear(_hidden);
        Array.Clear(_cell);
    }

    /// <summary>Sets stream <paramref name="batchIndex"/>'s h and c to zero in every layer, leaving the other streams as they are.</summary>
    public void Reset(int batchIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(batchIndex, BatchSize);
        int hs = Options.HiddenStateSize, h = Options.HiddenSize;
        for (int u = 0; u < Options.StateLayers; u++)
        {
            _hidden.AsSpan(HiddenOffset(u) + batchIndex * hs, hs).Clear();
            if (_cell.Length != 0)
                _cell.AsSpan(CellOffset(u) + batchIndex * h, h).Clear();
        }
    }

    /// <summary>Copies h for every layer and direction from <paramref name="hidden"/> [L·D, B, H'].</summary>
    /// <exception cref="ArgumentException">The length is not L·D·B·H'.</exception>
    public void SetHidden(ReadOnlySpan<float> hidden)
    {
        Guard.Length(hidden.Length, _hidden.Length, nameof(hidden));
        hidden.CopyTo(_hidden);
    }

    /// <summary>Copies c for every layer and direction from <paramref name="cell"/> [L·D, B, H].</summary>
    /// <exception cref="ArgumentException">The network is not an LSTM, or the length is not L·D·B·H.</exception>
    public void SetCell(ReadOnlySpan<float> cell)
    {
        if (_cell.Length == 0)
            throw new ArgumentException($"A {Options.Cell} has no cell state.", nameof(cell));
        Guard.Length(cell.Length, _cell.Length, nameof(cell));
        cell.CopyTo(_cell);
    }

    /// <summary>Copies h and c from another state of the same shape.</summary>
    public void CopyFrom(RecurrentState source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Options != Options || source.BatchSize != BatchSize)
            throw new ArgumentException($"Expected a state for the same network with batch size {BatchSize}, got batch size {source.BatchSize}.", nameof(source));
        source._hidden.AsSpan().CopyTo(_hidden);
        source._cell.AsSpan().CopyTo(_cell);
    }

    // The backing arrays, for work handed to a ComputePool (which cannot carry spans).
    internal float[] HiddenArray => _hidden;
    internal float[] CellArray => _cell;

    private int Index(int layer, int direction)
    {
        if ((uint)layer >= (uint)Options.NumLayers)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"Expected a layer in [0, {Options.NumLayers}).");
        if ((uint)direction >= (uint)Options.NumDirections)
            throw new ArgumentOutOfRangeException(nameof(direction), direction, $"Expected a direction in [0, {Options.NumDirections}).");
        return layer * Options.NumDirections + direction;
    }

    // Offsets of row u = l·D + d of h [L·D, B, H'] and of c [L·D, B, H].
    internal int HiddenOffset(int unit) => unit * BatchSize * Options.HiddenStateSize;
    internal int CellOffset(int unit) => unit * BatchSize * Options.HiddenSize;
}

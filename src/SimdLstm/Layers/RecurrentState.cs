using System;

namespace SimdLstm;

/// <summary>
/// The recurrent state of B streams through a stacked network: h [L, B, H] and, for an LSTM, c [L, B, H].
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
        long length = (long)options.NumLayers * batchSize * options.HiddenSize;
        if (length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The state would not fit in one array.");
        _hidden = new float[length];
        _cell = options.HasCellState ? new float[length] : [];
    }

    /// <summary>The network shape this state belongs to.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>Number of streams (B).</summary>
    public int BatchSize { get; }

    /// <summary>h of every layer, [L, B, H].</summary>
    public Span<float> Hidden => _hidden;

    /// <summary>c of every layer, [L, B, H]; empty for an RNN.</summary>
    public Span<float> Cell => _cell;

    /// <summary>h of one layer, [B, H].</summary>
    public Span<float> HiddenOf(int layer) => _hidden.AsSpan(LayerOffset(layer), BatchSize * Options.HiddenSize);

    /// <summary>c of one layer, [B, H]; empty for an RNN.</summary>
    public Span<float> CellOf(int layer) =>
        _cell.Length == 0 ? Span<float>.Empty : _cell.AsSpan(LayerOffset(layer), BatchSize * Options.HiddenSize);

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
        int h = Options.HiddenSize;
        for (int l = 0; l < Options.NumLayers; l++)
        {
            int at = LayerOffset(l) + batchIndex * h;
            _hidden.AsSpan(at, h).Clear();
            if (_cell.Length != 0)
                _cell.AsSpan(at, h).Clear();
        }
    }

    /// <summary>Copies h for every layer from <paramref name="hidden"/> [L, B, H].</summary>
    /// <exception cref="ArgumentException">The length is not L·B·H.</exception>
    public void SetHidden(ReadOnlySpan<float> hidden)
    {
        Guard.Length(hidden.Length, _hidden.Length, nameof(hidden));
        hidden.CopyTo(_hidden);
    }

    /// <summary>Copies c for every layer from <paramref name="cell"/> [L, B, H].</summary>
    /// <exception cref="ArgumentException">The network is not an LSTM, or the length is not L·B·H.</exception>
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

    internal int LayerOffset(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Options.NumLayers);
        return layer * BatchSize * Options.HiddenSize;
    }
}

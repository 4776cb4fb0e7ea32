using System;

namespace SimdLstm;

/// <summary>
/// One recurrent step of a stream through gate panels: the product y += A·xa + B·xb (<see cref="Kernels.GatePanelGemvBlocks"/>)
/// and the cell's pointwise step on the same units, handed to a
/// <see cref="ComputePool"/>: share p of n takes the panel blocks [p·blocks/n, (p+1)·blocks/n). Blocks are independent
/// (each writes only its own rows of y, each row is computed by the same operations wherever it runs), so the result is
/// bitwise that of one call, for any number of shares. Arrays and offsets, because a pool's work cannot carry spans.
/// </summary>
internal sealed class GatePanelWork : IComputeWork
{
    private float[] _panelA = [], _panelB = [], _xa = [], _xb = [], _y = [];
    private int _colsA, _colsB, _offsetXA, _offsetXB, _offsetY, _gateCount = 1, _hiddenSize;

    public void Set(float[] panelA, int colsA, float[] xa, int offsetXA, float[] panelB, int colsB, float[] xb, int offsetXB,
        int gateCount, int hiddenSize, float[] y, int offsetY)
    {
        (_panelA, _colsA, _xa, _offsetXA) = (panelA, colsA, xa, offsetXA);
        (_panelB, _colsB, _xb, _offsetXB) = (panelB, colsB, xb, offsetXB);
        (_gateCount, _hiddenSize, _y, _offsetY) = (gateCount, hiddenSize, y, offsetY);
    }

    /// <summary>Drops the references, so a workspace does not keep a layer's panels alive after the call.</summary>
    public void Clear()
    {
        Set([], 0, [], 0, [], 0, [], 0, _gateCount, _hiddenSize, [], 0);
        SetPointwise(null, [], 0, [], 0, [], 0);
    }

    // The cell's pointwise part, run by each share on its own units right after their gates are complete: c is updated
    // in place (a unit's c is read and written only by the share that owns the unit) and h goes to a separate buffer,
    // because every share still reads the old h as the product's input (B's input xb is that old h).
    private RecurrentCell? _recurrence;
    private float[] _cellState = [];
    private float[] _hiddenNext = [];
    private float[] _recurrent = [];
    private int _cellAt, _hiddenNextAt, _recurrentAt;

    /// <summary>
    /// After the product, each share runs the cell's pointwise step on its units: gates → c (in place), h → hiddenNext.
    /// A cell that keeps its recurrent projection apart gets B·xb in <paramref name="recurrent"/> (which holds b_hh on
    /// entry) and A·xa alone in y.
    /// </summary>
    public void SetPointwise(RecurrentCell? recurrence, float[] cellState, int cellAt, float[] hiddenNext, int hiddenNextAt, float[] recurrent, int recurrentAt)
    {
        (_recurrence, _cellState, _cellAt, _hiddenNext, _hiddenNextAt) = (recurrence, cellState, cellAt, hiddenNext, hiddenNextAt);
        (_recurrent, _recurrentAt) = (recurrent, recurrentAt);
    }

    public void Run(int part, int parts)
    {
        int blocks = Kernels.PanelBlocks(_gateCount, _hiddenSize);
        int start = (int)((long)blocks * part / parts), end = (int)((long)blocks * (part + 1) / parts);
        if (start == end)
            return;
        RecurrentCell recurrence = _recurrence!;
        int g = _gateCount * _hiddenSize;
        Span<float> y = _y.AsSpan(_offsetY, g);
        ReadOnlySpan<float> xb = _xb.AsSpan(_offsetXB, _colsB);
        Span<float> recurrent = Span<float>.Empty;
        if (recurrence.SeparateRecurrent)
        {
            // The two products into their own buffers, each block's weights still streamed once.
            recurrent = _recurrent.AsSpan(_recurrentAt, g);
            Kernels.GatePanelGemvBlocks(_panelA, _colsA, _xa.AsSpan(_offsetXA, _colsA), [], 0, [], _gateCount, _hiddenSize, y, start, end);
            Kernels.GatePanelGemvBlocks([], 0, [], _panelB, _colsB, xb, _gateCount, _hiddenSize, recurrent, start, end);
        }
        else
        {
            Kernels.GatePanelGemvBlocks(_panelA, _colsA, _xa.AsSpan(_offsetXA, _colsA), _panelB, _colsB, xb, _gateCount, _hiddenSize, y, start, end);
        }

        int units = Kernels.PanelRows / _gateCount;
        int first = start * units, last = Math.Min(end * units, _hiddenSize);
        Span<float> c = _cellState.Length == 0 ? Span<float>.Empty : _cellState.AsSpan(_cellAt, _hiddenSize);
        recurrence.ForwardUnits(_hiddenSize, y, recurrent, xb, c, _hiddenNext.AsSpan(_hiddenNextAt, _hiddenSize), first, last);
    }
}

/// <summary>
/// C += A·op(B) with op(B) prepacked (<see cref="Kernels.GemmPackedB"/>) handed to a <see cref="ComputePool"/>: share p of
/// n takes rows [p·m/n, (p+1)·m/n) of A and C. Each row of C is the same sum with the same blocking along k wherever the
/// rows are cut (partial row tiles run the same kernel through a stack tile), so the result is bitwise that of one call.
/// </summary>
internal sealed class PackedGemmRowsWork : IComputeWork
{
    private float[] _a = [], _packedB = [], _c = [];
    private int _rows, _n, _k, _offsetA, _offsetC;

    public void Set(int rows, int n, int k, float[] a, int offsetA, float[] packedB, float[] c, int offsetC)
    {
        (_rows, _n, _k, _a, _offsetA, _packedB, _c, _offsetC) = (rows, n, k, a, offsetA, packedB, c, offsetC);
    }

    public void Clear() => Set(0, 0, 0, [], 0, [], [], 0);

    public void Run(int part, int parts)
    {
        int start = (int)((long)_rows * part / parts), end = (int)((long)_rows * (part + 1) / parts);
        if (end == start)
            return;
        Kernels.GemmPackedB(end - start, _n, _k, _a.AsSpan(_offsetA + start * _k, (end - start) * _k), _k, _packedB, 1f,
            _c.AsSpan(_offsetC + start * _n, (end - start) * _n), _n);
    }
}

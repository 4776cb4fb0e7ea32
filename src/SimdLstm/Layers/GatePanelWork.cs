using System;

namespace SimdLstm;

/// <summary>
/// One recurrent step of a stream through gate panels of any format: the product y += A·xa + B·xb
/// (<see cref="Kernels.PanelGemvBlocks"/>) and the cell's pointwise step on the same units, handed to a
/// <see cref="ComputePool"/>: share p of n takes the panel blocks [p·blocks/n, (p+1)·blocks/n). Blocks are independent
/// (each writes only its own rows of y, each row is computed by the same operations wherever it runs), so the result is
/// bitwise that of one call, for any number of shares. Inputs a format converts (int8) are converted before the work is
/// shared (<see cref="PanelWeights.Prepare"/>). Arrays and offsets, because a pool's work cannot carry spans.
/// </summary>
internal sealed class GatePanelWork : IComputeWork
{
    private PanelWeights? _a, _b;
    private float[] _xa = [], _xb = [], _y = [];
    private short[] _preparedA = [], _preparedB = [];
    private float _scaleA, _scaleB;
    private int _offsetXA, _offsetXB, _offsetY;

    /// <summary>The product: A (null: none) times xa[offsetXA ..], B times xb[offsetXB ..], into y[offsetY ..].</summary>
    public void Set(PanelWeights? a, float[] xa, int offsetXA, short[] preparedA, float scaleA,
        PanelWeights b, float[] xb, int offsetXB, short[] preparedB, float scaleB, float[] y, int offsetY)
    {
        (_a, _xa, _offsetXA, _preparedA, _scaleA) = (a, xa, offsetXA, preparedA, scaleA);
        (_b, _xb, _offsetXB, _preparedB, _scaleB) = (b, xb, offsetXB, preparedB, scaleB);
        (_y, _offsetY) = (y, offsetY);
    }

    /// <summary>Drops the references, so a workspace does not keep a layer's panels alive after the call.</summary>
    public void Clear()
    {
        (_a, _b, _xa, _xb, _y, _preparedA, _preparedB) = (null, null, [], [], [], [], []);
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
        PanelWeights b = _b!;
        int gateCount = b.GateCount, hiddenSize = b.HiddenSize, blocks = b.Blocks;
        int start = (int)((long)blocks * part / parts), end = (int)((long)blocks * (part + 1) / parts);
        if (start == end)
            return;
        RecurrentCell recurrence = _recurrence!;
        int g = gateCount * hiddenSize;
        Span<float> y = _y.AsSpan(_offsetY, g);
        ReadOnlySpan<float> xb = _xb.AsSpan(_offsetXB, b.Cols);
        var inputA = _a is null ? default : new PanelInput(_xa.AsSpan(_offsetXA, _a.Cols), _preparedA.AsSpan(0, _a.PreparedLength), _scaleA);
        var inputB = new PanelInput(xb, _preparedB.AsSpan(0, b.PreparedLength), _scaleB);
        Span<float> recurrent = Span<float>.Empty;
        if (recurrence.SeparateRecurrent)
        {
            // The two products into their own buffers, each block's weights still streamed once.
            recurrent = _recurrent.AsSpan(_recurrentAt, g);
            if (_a is not null)
                Kernels.PanelGemvBlocks(_a, inputA, null, default, y, start, end);
            Kernels.PanelGemvBlocks(null, default, b, inputB, recurrent, start, end);
        }
        else
        {
            Kernels.PanelGemvBlocks(_a, inputA, b, inputB, y, start, end);
        }

        int units = Kernels.PanelRows / gateCount;
        int first = start * units, last = Math.Min(end * units, hiddenSize);
        Span<float> c = _cellState.Length == 0 ? Span<float>.Empty : _cellState.AsSpan(_cellAt, hiddenSize);
        recurrence.ForwardUnits(hiddenSize, y, recurrent, xb, c, _hiddenNext.AsSpan(_hiddenNextAt, hiddenSize), first, last);
    }
}

/// <summary>
/// y[r] += A·x_r for rows r of a batch of inputs through gate panels of any format (the input projection of a sequence
/// pass for a format without a matrix-product path), handed to a <see cref="ComputePool"/>: share p of n takes the panel
/// blocks [p·blocks/n, (p+1)·blocks/n) of every row. The inputs were prepared beforehand, row by row
/// (<see cref="PanelWeights.Prepare"/>), so each row's result is bitwise that of a step's product.
/// </summary>
internal sealed class PanelRowsWork : IComputeWork
{
    private PanelWeights? _a;
    private float[] _x = [], _y = [], _scales = [];
    private short[] _prepared = [];
    private int _rows;

    public void Set(PanelWeights a, int rows, float[] x, short[] prepared, float[] scales, float[] y)
    {
        (_a, _rows, _x, _prepared, _scales, _y) = (a, rows, x, prepared, scales, y);
    }

    public void Clear() => (_a, _x, _prepared, _scales, _y) = (null, [], [], [], []);

    public void Run(int part, int parts)
    {
        PanelWeights a = _a!;
        int start = (int)((long)a.Blocks * part / parts), end = (int)((long)a.Blocks * (part + 1) / parts);
        if (start == end)
            return;
        int k = a.Cols, g = a.GateCount * a.HiddenSize, prepared = a.PreparedLength;
        // Block by block, every row: a block's weights are read from memory once and stay in cache for the other rows.
        for (int j = start; j < end; j++)
        {
            for (int r = 0; r < _rows; r++)
            {
                var input = new PanelInput(_x.AsSpan(r * k, k), _prepared.AsSpan(r * prepared, prepared), prepared == 0 ? 1f : _scales[r]);
                Kernels.PanelGemvBlocks(a, input, null, default, _y.AsSpan(r * g, g), j, j + 1);
            }
        }
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

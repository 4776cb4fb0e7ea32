using System;

namespace SimdLstm;

/// <summary>
/// One gate-panel product y += A·xa + B·xb (<see cref="Kernels.GatePanelGemvBlocks"/>) handed to a
/// <see cref="ComputePool"/>: share p of n takes the panel blocks [p·blocks/n, (p+1)·blocks/n). Blocks are independent
/// (each writes only its own rows of y, each row is computed by the same operations wherever it runs), so the result is
/// bitwise that of one call, for any number of shares. Arrays and offsets, because a pool's work cannot carry spans.
/// </summary>
internal sealed class GatePanelWork : IComputeWork
{
    public float[] PanelA { get; private set; } = [];
    public float[] PanelB { get; private set; } = [];
    public float[] XA { get; private set; } = [];
    public float[] XB { get; private set; } = [];
    public float[] Y { get; private set; } = [];
    public int ColsA { get; private set; }
    public int ColsB { get; private set; }
    public int OffsetXA { get; private set; }
    public int OffsetXB { get; private set; }
    public int OffsetY { get; private set; }
    public int GateCount { get; private set; }
    public int HiddenSize { get; private set; }

    public void Set(float[] panelA, int colsA, float[] xa, int offsetXA, float[] panelB, int colsB, float[] xb, int offsetXB,
        int gateCount, int hiddenSize, float[] y, int offsetY)
    {
        PanelA = panelA;
        ColsA = colsA;
        XA = xa;
        OffsetXA = offsetXA;
        PanelB = panelB;
        ColsB = colsB;
        XB = xb;
        OffsetXB = offsetXB;
        GateCount = gateCount;
        HiddenSize = hiddenSize;
        Y = y;
        OffsetY = offsetY;
    }

    /// <summary>Drops the references, so a workspace does not keep a layer's panels alive after the call.</summary>
    public void Clear() => Set([], 0, [], 0, [], 0, [], 0, GateCount, HiddenSize, [], 0);

    public void Run(int part, int parts)
    {
        int blocks = Kernels.PanelBlocks(GateCount, HiddenSize);
        int start = (int)((long)blocks * part / parts), end = (int)((long)blocks * (part + 1) / parts);
        Kernels.GatePanelGemvBlocks(PanelA, ColsA, XA.AsSpan(OffsetXA, ColsA), PanelB, ColsB, XB.AsSpan(OffsetXB, ColsB),
            GateCount, HiddenSize, Y.AsSpan(OffsetY, GateCount * HiddenSize), start, end);
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

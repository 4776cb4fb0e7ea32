using System;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// <see cref="SimdLstm.Kernels.Ger"/> (W += α·u·vᵀ) against a double-precision loop written here, over every
/// length 0..257 of one dimension, random offsets 0..7 for every operand and strides whose padding must
/// stay untouched.
/// </summary>
public class GerTests
{
    private static readonly float[] Alphas = [1f, -0.75f, 2.5f, 0.1f];

    [Fact]
    public void Ger_MatchesDoubleReference_EveryColumnCount()
    {
        var random = new Random(2001);
        foreach (int rows in new[] { 1, 3, 6 })
        {
            for (int cols = 0; cols <= 257; cols++)
                CheckGer(rows, cols, Alphas[cols % Alphas.Length], random);
        }
    }

    [Fact]
    public void Ger_MatchesDoubleReference_EveryRowCount()
    {
        var random = new Random(2002);
        foreach (int cols in new[] { 1, 9, 24 })
        {
            for (int rows = 0; rows <= 257; rows++)
                CheckGer(rows, cols, Alphas[rows % Alphas.Length], random);
        }
    }

    [Fact]
    public void Ger_AlphaZero_LeavesMatrixBitwiseUnchanged()
    {
        // As BLAS: α = 0 is a quick return, so even NaN in u or v does not reach W.
        var random = new Random(2003);
        var w = new GemmTestMatrix(5, 19, 21, 3, random, GuardedBuffer.Sentinel);
        float[] before = w.Span.ToArray();
        float[] u = GemmTestMatrix.RandomVector(5, random);
        u[2] = float.NaN;
        SimdLstm.Kernels.Ger(0f, u, GemmTestMatrix.RandomVector(19, random), w.Span, 5, 19, 21);
        Assert.Equal(before, w.Span.ToArray());
    }

    [Fact]
    public void Ger_ResultsDoNotDependOnAlignment()
    {
        float[] expected = RunAtOffsets(0, 0, 0);
        for (int offset = 1; offset < 8; offset++)
        {
            Assert.Equal(expected, RunAtOffsets(offset, 0, 0));
            Assert.Equal(expected, RunAtOffsets(0, offset, 0));
            Assert.Equal(expected, RunAtOffsets(0, 0, offset));
        }
    }

    [Fact]
    public void Ger_ThrowsForBadArgumentsBeforeWriting()
    {
        float[] u = new float[3], v = new float[4];
        AssertThrowsUntouched("rows", w => SimdLstm.Kernels.Ger(1f, u, v, w, -3, 4, 4), 12);
        AssertThrowsUntouched("cols", w => SimdLstm.Kernels.Ger(1f, u, v, w, 3, -4, 4), 12);
        AssertThrowsUntouched("ldw", w => SimdLstm.Kernels.Ger(1f, u, v, w, 3, 4, 2), 12);
        AssertThrowsUntouched("w", w => SimdLstm.Kernels.Ger(1f, u, v, w, 3, 4, 4), 11);
        AssertThrowsUntouched("u", w => SimdLstm.Kernels.Ger(1f, new float[4], v, w, 3, 4, 4), 12);
        AssertThrowsUntouched("v", w => SimdLstm.Kernels.Ger(1f, u, new float[5], w, 3, 4, 4), 12);

        float[] storage = new float[30];
        storage.AsSpan().Fill(1f);
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => SimdLstm.Kernels.Ger(1f, storage.AsSpan(10, 3), v, storage.AsSpan(0, 12), 3, 4, 4));
        Assert.Equal("w", e.ParamName);
        e = Assert.ThrowsAny<ArgumentException>(() => SimdLstm.Kernels.Ger(1f, u, storage.AsSpan(0, 4), storage.AsSpan(2, 12), 3, 4, 4));
        Assert.Equal("w", e.ParamName);
        Assert.All(storage, value => Assert.Equal(1f, value));
    }

    private static void CheckGer(int rows, int cols, float alpha, Random random)
    {
        int ldw = Math.Max(1, cols + random.Next(0, 4));
        var w = new GemmTestMatrix(rows, cols, ldw, random.Next(8), random, GuardedBuffer.Sentinel);
        float[] w0 = w.Span.ToArray();
        var u = new GuardedBuffer(GemmTestMatrix.RandomVector(rows, random), random.Next(8));
        var v = new GuardedBuffer(GemmTestMatrix.RandomVector(cols, random), random.Next(8));

        SimdLstm.Kernels.Ger(alpha, u.Span, v.Span, w.Span, rows, cols, ldw);

        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                double before = w0[r * ldw + c];
                double update = (double)alpha * u.Span[r] * v.Span[c];
                // Three roundings at most: α·u[r], the product with v[c] and the addition (the last two fused on FMA hardware).
                GemmTestMatrix.AssertClose(before + update, Math.Abs(before) + Math.Abs(update), w[r, c], 3, $"Ger [{rows}, {cols}] ldw {ldw} α {alpha}: W[{r}, {c}]");
            }
        }

        w.AssertPaddingIntact();
        u.AssertGuardsIntact();
        v.AssertGuardsIntact();
    }

    private static float[] RunAtOffsets(int wOffset, int uOffset, int vOffset)
    {
        const int rows = 7, cols = 45, ldw = 50;
        var random = new Random(88);
        var w = new GemmTestMatrix(rows, cols, ldw, wOffset, random, GuardedBuffer.Sentinel);
        var u = new GuardedBuffer(GemmTestMatrix.RandomVector(rows, random), uOffset);
        var v = new GuardedBuffer(GemmTestMatrix.RandomVector(cols, random), vOffset);
        SimdLstm.Kernels.Ger(-1.25f, u.Span, v.Span, w.Span, rows, cols, ldw);
        w.AssertPaddingIntact();
        return w.Span.ToArray();
    }

    private delegate void GerCall(Span<float> w);

    private static void AssertThrowsUntouched(string paramName, GerCall call, int wLength)
    {
        var w = new GuardedBuffer(wLength);
        GuardedBuffer captured = w;
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => call(captured.Span));
        Assert.Equal(paramName, e.ParamName);
        Assert.All(w.ToArray(), value => Assert.Equal(GuardedBuffer.Sentinel, value));
        w.AssertGuardsIntact();
    }
}

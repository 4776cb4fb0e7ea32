using System;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// <see cref="SimdLstm.Kernels.Gemv"/> (y += W·x) and <see cref="SimdLstm.Kernels.GemvTransposed"/> (y += Wᵀ·x)
/// against a double-precision loop written here, over every length 0..257 of one dimension, several sizes
/// of the other, random start offsets 0..7 for every operand and row strides with NaN-filled padding.
/// </summary>
public class GemvTests
{
    private static readonly int[] FewSizes = [1, 3, 4, 9];

    [Fact]
    public void Gemv_MatchesDoubleReference_EveryColumnCount()
    {
        var random = new Random(1001);
        foreach (int rows in FewSizes)
        {
            for (int cols = 0; cols <= 257; cols++)
                CheckGemv(rows, cols, random);
        }
    }

    [Fact]
    public void Gemv_MatchesDoubleReference_EveryRowCount()
    {
        var random = new Random(1002);
        foreach (int cols in new[] { 1, 7, 33 })
        {
            for (int rows = 0; rows <= 257; rows++)
                CheckGemv(rows, cols, random);
        }
    }

    [Fact]
    public void GemvTransposed_MatchesDoubleReference_EveryRowCount()
    {
        var random = new Random(1003);
        foreach (int cols in new[] { 1, 7, 8, 33 })
        {
            for (int rows = 0; rows <= 257; rows++)
                CheckGemvTransposed(rows, cols, random);
        }
    }

    [Fact]
    public void GemvTransposed_MatchesDoubleReference_EveryColumnCount()
    {
        var random = new Random(1004);
        foreach (int rows in FewSizes)
        {
            for (int cols = 0; cols <= 257; cols++)
                CheckGemvTransposed(rows, cols, random);
        }
    }

    [Fact]
    public void Gemv_ResultsDoNotDependOnAlignment()
    {
        const int rows = 13, cols = 259, ldw = 263;
        float[] expected = RunAtOffsets(0, 0, 0, transposed: false, rows, cols, ldw);
        for (int offset = 1; offset < 8; offset++)
        {
            Assert.Equal(expected, RunAtOffsets(offset, 0, 0, transposed: false, rows, cols, ldw));
            Assert.Equal(expected, RunAtOffsets(0, offset, 0, transposed: false, rows, cols, ldw));
            Assert.Equal(expected, RunAtOffsets(0, 0, offset, transposed: false, rows, cols, ldw));
        }
    }

    [Fact]
    public void GemvTransposed_ResultsDoNotDependOnAlignment()
    {
        const int rows = 259, cols = 21, ldw = 29;
        float[] expected = RunAtOffsets(0, 0, 0, transposed: true, rows, cols, ldw);
        for (int offset = 1; offset < 8; offset++)
        {
            Assert.Equal(expected, RunAtOffsets(offset, 0, 0, transposed: true, rows, cols, ldw));
            Assert.Equal(expected, RunAtOffsets(0, offset, 0, transposed: true, rows, cols, ldw));
            Assert.Equal(expected, RunAtOffsets(0, 0, offset, transposed: true, rows, cols, ldw));
        }
    }

    [Fact]
    public void Gemv_ThrowsForBadArgumentsBeforeWriting()
    {
        float[] w = new float[12], x = new float[4];
        AssertThrowsUntouched("rows", y => SimdLstm.Kernels.Gemv(w, -1, 4, 4, x, y), 0);
        AssertThrowsUntouched("cols", y => SimdLstm.Kernels.Gemv(w, 3, -1, 4, x, y), 3);
        AssertThrowsUntouched("ldw", y => SimdLstm.Kernels.Gemv(w, 3, 4, 3, x, y), 3);
        AssertThrowsUntouched("w", y => SimdLstm.Kernels.Gemv(w, 3, 4, 5, x, y), 3);
        AssertThrowsUntouched("w", y => SimdLstm.Kernels.Gemv(w.AsSpan(1), 3, 4, 4, x, y), 3);
        AssertThrowsUntouched("x", y => SimdLstm.Kernels.Gemv(w, 3, 4, 4, x.AsSpan(1), y), 3);
        AssertThrowsUntouched("x", y => SimdLstm.Kernels.Gemv(w, 3, 3, 4, x, y), 3);
        AssertThrowsUntouched("y", y => SimdLstm.Kernels.Gemv(w, 3, 4, 4, x, y), 4);
        AssertThrowsUntouched("y", y => SimdLstm.Kernels.Gemv(w, 3, 4, 4, x, y), 2);
    }

    [Fact]
    public void GemvTransposed_ThrowsForBadArgumentsBeforeWriting()
    {
        float[] w = new float[12], x = new float[3];
        AssertThrowsUntouched("rows", y => SimdLstm.Kernels.GemvTransposed(w, -1, 4, 4, x, y), 4);
        AssertThrowsUntouched("ldw", y => SimdLstm.Kernels.GemvTransposed(w, 3, 4, 0, x, y), 4);
        AssertThrowsUntouched("w", y => SimdLstm.Kernels.GemvTransposed(w.AsSpan(..11), 3, 4, 4, x, y), 4);
        AssertThrowsUntouched("x", y => SimdLstm.Kernels.GemvTransposed(w, 3, 4, 4, new float[4], y), 4);
        AssertThrowsUntouched("y", y => SimdLstm.Kernels.GemvTransposed(w, 3, 4, 4, x, y), 3);
    }

    [Fact]
    public void Gemv_ThrowsWhenOutputOverlapsAnInput()
    {
        // y placed on the last element of W's used extent, and on x: both must be refused, nothing written.
        float[] storage = new float[40];
        for (int i = 0; i < storage.Length; i++)
            storage[i] = i;
        float[] before = (float[])storage.Clone();
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => SimdLstm.Kernels.Gemv(storage.AsSpan(0, 12), 3, 4, 4, storage.AsSpan(20, 4), storage.AsSpan(11, 3)));
        Assert.Equal("y", e.ParamName);
        e = Assert.ThrowsAny<ArgumentException>(() => SimdLstm.Kernels.Gemv(storage.AsSpan(0, 12), 3, 4, 4, storage.AsSpan(20, 4), storage.AsSpan(22, 3)));
        Assert.Equal("y", e.ParamName);
        e = Assert.ThrowsAny<ArgumentException>(() => SimdLstm.Kernels.GemvTransposed(storage.AsSpan(0, 12), 3, 4, 4, storage.AsSpan(20, 3), storage.AsSpan(8, 4)));
        Assert.Equal("y", e.ParamName);
        Assert.Equal(before, storage);

        // Beyond the used extent (after the last row's columns) there is no overlap: this is allowed.
        SimdLstm.Kernels.Gemv(storage.AsSpan(0, 14), 3, 4, 4, storage.AsSpan(20, 4), storage.AsSpan(12, 3));
    }

    private static void CheckGemv(int rows, int cols, Random random)
    {
        int ldw = Math.Max(1, cols + random.Next(0, 4));
        var w = new GemmTestMatrix(rows, cols, ldw, random.Next(8), random, float.NaN);
        var x = new GuardedBuffer(GemmTestMatrix.RandomVector(cols, random), random.Next(8));
        float[] y0 = GemmTestMatrix.RandomVector(rows, random);
        var y = new GuardedBuffer(y0, random.Next(8));

        SimdLstm.Kernels.Gemv(w.Span, rows, cols, ldw, x.Span, y.Span);

        for (int r = 0; r < rows; r++)
        {
            double exact = y0[r], magnitude = Math.Abs((double)y0[r]);
            for (int c = 0; c < cols; c++)
            {
                double product = (double)w[r, c] * x.Span[c];
                exact += product;
                magnitude += Math.Abs(product);
            }

            GemmTestMatrix.AssertClose(exact, magnitude, y.Span[r], cols + 1, $"Gemv [{rows}, {cols}] ldw {ldw}: y[{r}]");
        }

        y.AssertGuardsIntact();
    }

    private static void CheckGemvTransposed(int rows, int cols, Random random)
    {
        int ldw = Math.Max(1, cols + random.Next(0, 4));
        var w = new GemmTestMatrix(rows, cols, ldw, random.Next(8), random, float.NaN);
        var x = new GuardedBuffer(GemmTestMatrix.RandomVector(rows, random), random.Next(8));
        float[] y0 = GemmTestMatrix.RandomVector(cols, random);
        var y = new GuardedBuffer(y0, random.Next(8));

        SimdLstm.Kernels.GemvTransposed(w.Span, rows, cols, ldw, x.Span, y.Span);

        for (int c = 0; c < cols; c++)
        {
            double exact = y0[c], magnitude = Math.Abs((double)y0[c]);
            for (int r = 0; r < rows; r++)
            {
                double product = (double)w[r, c] * x.Span[r];
                exact += product;
                magnitude += Math.Abs(product);
            }

            GemmTestMatrix.AssertClose(exact, magnitude, y.Span[c], rows + 1, $"GemvTransposed [{rows}, {cols}] ldw {ldw}: y[{c}]");
        }

        y.AssertGuardsIntact();
    }

    /// <summary>Same data (fixed seed), placed at the given offsets; returns y.</summary>
    private static float[] RunAtOffsets(int wOffset, int xOffset, int yOffset, bool transposed, int rows, int cols, int ldw)
    {
        var random = new Random(77);
        var w = new GemmTestMatrix(rows, cols, ldw, wOffset, random, float.NaN);
        var x = new GuardedBuffer(GemmTestMatrix.RandomVector(transposed ? rows : cols, random), xOffset);
        var y = new GuardedBuffer(GemmTestMatrix.RandomVector(transposed ? cols : rows, random), yOffset);
        if (transposed)
            SimdLstm.Kernels.GemvTransposed(w.Span, rows, cols, ldw, x.Span, y.Span);
        else
            SimdLstm.Kernels.Gemv(w.Span, rows, cols, ldw, x.Span, y.Span);
        y.AssertGuardsIntact();
        return y.ToArray();
    }

    private delegate void GemvCall(Span<float> y);

    /// <summary>Calls with a sentinel-filled y; requires an ArgumentException naming <paramref name="paramName"/> and y untouched.</summary>
    private static void AssertThrowsUntouched(string paramName, GemvCall call, int yLength)
    {
        var y = new GuardedBuffer(yLength);
        GuardedBuffer captured = y;
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => call(captured.Span));
        Assert.Equal(paramName, e.ParamName);
        Assert.All(y.ToArray(), v => Assert.Equal(GuardedBuffer.Sentinel, v));
        y.AssertGuardsIntact();
    }
}

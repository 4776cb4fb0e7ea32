using System;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// <see cref="SimdLstm.Kernels.GemvPair"/> (y += A·xa + B·xb, the projection of a batch-1 step) against a
/// double-precision loop written here, over every length 0..257 of each dimension, random start offsets 0..7 for every
/// operand and guards around every buffer; and the position independence that the eight-row blocking of it and of
/// <see cref="SimdLstm.Kernels.Gemv"/> promises.
/// </summary>
public class GemvPairTests
{
    private static readonly int[] FewRows = [1, 3, 8, 9, 17];

    [Fact]
    public void GemvPair_MatchesDoubleReference_EveryColumnCountOfA()
    {
        var random = new Random(2001);
        foreach (int rows in FewRows)
        {
            for (int colsA = 0; colsA <= 257; colsA++)
                Check(rows, colsA, random.Next(0, 40), random);
        }
    }

    [Fact]
    public void GemvPair_MatchesDoubleReference_EveryColumnCountOfB()
    {
        var random = new Random(2002);
        foreach (int rows in FewRows)
        {
            for (int colsB = 0; colsB <= 257; colsB++)
                Check(rows, random.Next(0, 40), colsB, random);
        }
    }

    [Fact]
    public void GemvPair_MatchesDoubleReference_EveryRowCount()
    {
        var random = new Random(2003);
        foreach ((int colsA, int colsB) in new[] { (7, 33), (16, 8), (0, 5), (64, 64) })
        {
            for (int rows = 0; rows <= 257; rows++)
                Check(rows, colsA, colsB, random);
        }
    }

    [Fact]
    public void GemvPair_ResultsDoNotDependOnAlignment()
    {
        const int rows = 13, colsA = 37, colsB = 259;
        float[] expected = RunAtOffsets(0, 0, 0, 0, 0, rows, colsA, colsB);
        for (int offset = 1; offset < 8; offset++)
        {
            Assert.Equal(expected, RunAtOffsets(offset, 0, 0, 0, 0, rows, colsA, colsB));
            Assert.Equal(expected, RunAtOffsets(0, offset, 0, 0, 0, rows, colsA, colsB));
            Assert.Equal(expected, RunAtOffsets(0, 0, offset, 0, 0, rows, colsA, colsB));
            Assert.Equal(expected, RunAtOffsets(0, 0, 0, offset, 0, rows, colsA, colsB));
            Assert.Equal(expected, RunAtOffsets(0, 0, 0, 0, offset, rows, colsA, colsB));
        }
    }

    [Fact]
    public void GemvPair_RowResultDoesNotDependOnItsPosition()
    {
        // Each row computed inside a 21-row call (two full blocks of eight and a partial one) must equal, bit for bit,
        // the same row computed alone.
        const int rows = 21, colsA = 19, colsB = 45;
        var random = new Random(2004);
        float[] a = GemmTestMatrix.RandomVector(rows * colsA, random), b = GemmTestMatrix.RandomVector(rows * colsB, random);
        float[] xa = GemmTestMatrix.RandomVector(colsA, random), xb = GemmTestMatrix.RandomVector(colsB, random);
        float[] y0 = GemmTestMatrix.RandomVector(rows, random);
        float[] all = (float[])y0.Clone();
        SimdLstm.Kernels.GemvPair(a, colsA, xa, b, colsB, xb, rows, all);
        for (int r = 0; r < rows; r++)
        {
            float[] one = [y0[r]];
            SimdLstm.Kernels.GemvPair(a.AsSpan(r * colsA, colsA), colsA, xa, b.AsSpan(r * colsB, colsB), colsB, xb, 1, one);
            Assert.Equal(one[0], all[r]);
        }
    }

    [Fact]
    public void Gemv_RowResultDoesNotDependOnItsPosition()
    {
        const int rows = 21, cols = 45, ldw = 47;
        var random = new Random(2005);
        float[] w = GemmTestMatrix.RandomVector((rows - 1) * ldw + cols, random);
        float[] x = GemmTestMatrix.RandomVector(cols, random);
        float[] y0 = GemmTestMatrix.RandomVector(rows, random);
        float[] all = (float[])y0.Clone();
        SimdLstm.Kernels.Gemv(w, rows, cols, ldw, x, all);
        for (int r = 0; r < rows; r++)
        {
            float[] one = [y0[r]];
            SimdLstm.Kernels.Gemv(w.AsSpan(r * ldw, cols), 1, cols, cols, x, one);
            Assert.Equal(one[0], all[r]);
        }
    }

    [Fact]
    public void GemvPair_ThrowsForBadArgumentsBeforeWriting()
    {
        float[] a = new float[12], b = new float[6], xa = new float[4], xb = new float[2];
        AssertThrowsUntouched("rows", y => SimdLstm.Kernels.GemvPair(a, 4, xa, b, 2, xb, -1, y), 0);
        AssertThrowsUntouched("colsA", y => SimdLstm.Kernels.GemvPair(a, -4, xa, b, 2, xb, 3, y), 3);
        AssertThrowsUntouched("colsB", y => SimdLstm.Kernels.GemvPair(a, 4, xa, b, -2, xb, 3, y), 3);
        AssertThrowsUntouched("a", y => SimdLstm.Kernels.GemvPair(a.AsSpan(1), 4, xa, b, 2, xb, 3, y), 3);
        AssertThrowsUntouched("b", y => SimdLstm.Kernels.GemvPair(a, 4, xa, b.AsSpan(1), 2, xb, 3, y), 3);
        AssertThrowsUntouched("xa", y => SimdLstm.Kernels.GemvPair(a, 4, xa.AsSpan(1), b, 2, xb, 3, y), 3);
        AssertThrowsUntouched("xb", y => SimdLstm.Kernels.GemvPair(a, 4, xa, b, 2, xb.AsSpan(1), 3, y), 3);
        AssertThrowsUntouched("y", y => SimdLstm.Kernels.GemvPair(a, 4, xa, b, 2, xb, 3, y), 4);
        AssertThrowsUntouched("y", y => SimdLstm.Kernels.GemvPair(a, 4, xa, b, 2, xb, 3, y), 2);
    }

    [Fact]
    public void GemvPair_ThrowsWhenOutputOverlapsAnInput()
    {
        float[] storage = new float[64];
        for (int i = 0; i < storage.Length; i++)
            storage[i] = i;
        float[] before = (float[])storage.Clone();
        // A [3, 4] at 0..11, B [3, 2] at 12..17, xa at 20..23, xb at 24..25; y [3] placed on each in turn.
        foreach ((int yStart, string name) in new[] { (10, "y"), (16, "y"), (21, "y"), (25, "y") })
        {
            ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => SimdLstm.Kernels.GemvPair(
                storage.AsSpan(0, 12), 4, storage.AsSpan(20, 4), storage.AsSpan(12, 6), 2, storage.AsSpan(24, 2), 3, storage.AsSpan(yStart, 3)));
            Assert.Equal(name, e.ParamName);
        }
        Assert.Equal(before, storage);
    }

    [Fact]
    public void GemvPair_AllocatesNothing()
    {
        var random = new Random(2006);
        float[] a = GemmTestMatrix.RandomVector(40 * 33, random), b = GemmTestMatrix.RandomVector(40 * 64, random);
        float[] xa = GemmTestMatrix.RandomVector(33, random), xb = GemmTestMatrix.RandomVector(64, random), y = new float[40];
        SimdLstm.Kernels.GemvPair(a, 33, xa, b, 64, xb, 40, y);
        Allocations.AssertNone(() => SimdLstm.Kernels.GemvPair(a, 33, xa, b, 64, xb, 40, y), count: 100);
    }

    private static void Check(int rows, int colsA, int colsB, Random random)
    {
        var a = new GuardedBuffer(GemmTestMatrix.RandomVector(rows * colsA, random), random.Next(8));
        var b = new GuardedBuffer(GemmTestMatrix.RandomVector(rows * colsB, random), random.Next(8));
        var xa = new GuardedBuffer(GemmTestMatrix.RandomVector(colsA, random), random.Next(8));
        var xb = new GuardedBuffer(GemmTestMatrix.RandomVector(colsB, random), random.Next(8));
        float[] y0 = GemmTestMatrix.RandomVector(rows, random);
        var y = new GuardedBuffer(y0, random.Next(8));

        SimdLstm.Kernels.GemvPair(a.Span, colsA, xa.Span, b.Span, colsB, xb.Span, rows, y.Span);

        for (int r = 0; r < rows; r++)
        {
            double exact = y0[r], magnitude = Math.Abs((double)y0[r]);
            for (int c = 0; c < colsA; c++)
            {
                double product = (double)a.Span[r * colsA + c] * xa.Span[c];
                exact += product;
                magnitude += Math.Abs(product);
            }
            for (int c = 0; c < colsB; c++)
            {
                double product = (double)b.Span[r * colsB + c] * xb.Span[c];
                exact += product;
                magnitude += Math.Abs(product);
            }

            // colsA + colsB products plus y and the one addition joining the two sums: the γₙ bound of AssertClose.
            GemmTestMatrix.AssertClose(exact, magnitude, y.Span[r], colsA + colsB + 2, $"GemvPair [{rows}, {colsA} + {colsB}]: y[{r}]");
        }

        y.AssertGuardsIntact();
        a.AssertGuardsIntact();
        b.AssertGuardsIntact();
    }

    /// <summary>Same data (fixed seed), placed at the given offsets; returns y.</summary>
    private static float[] RunAtOffsets(int aOffset, int xaOffset, int bOffset, int xbOffset, int yOffset, int rows, int colsA, int colsB)
    {
        var random = new Random(78);
        var a = new GuardedBuffer(GemmTestMatrix.RandomVector(rows * colsA, random), aOffset);
        var xa = new GuardedBuffer(GemmTestMatrix.RandomVector(colsA, random), xaOffset);
        var b = new GuardedBuffer(GemmTestMatrix.RandomVector(rows * colsB, random), bOffset);
        var xb = new GuardedBuffer(GemmTestMatrix.RandomVector(colsB, random), xbOffset);
        var y = new GuardedBuffer(GemmTestMatrix.RandomVector(rows, random), yOffset);
        SimdLstm.Kernels.GemvPair(a.Span, colsA, xa.Span, b.Span, colsB, xb.Span, rows, y.Span);
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

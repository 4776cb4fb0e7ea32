using System;
using System.Numerics.Tensors;
using FsCheck.Xunit;
using Xunit;
using static SimdLstm.Tests.Kernels.KernelTestData;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// Dot, Sum and SumOfSquares: against a double reference at every length 0..257 and offset 0..7,
/// bitwise independence of the start offset, symmetry, special values, and validation.
/// </summary>
public class ReductionTests
{
    [Fact]
    public void Reductions_MatchDoubleReference_AtEveryLengthAndOffset()
    {
        var random = new Random(11);
        foreach ((int n, int xOffset, int yOffset) in LengthsAndOffsets())
        {
            var x = new GuardedBuffer(Uniform(random, n, -4, 4), xOffset);
            var y = new GuardedBuffer(Uniform(random, n, -4, 4), yOffset);
            double dot = 0, dotAbs = 0, sum = 0, sumAbs = 0, squares = 0;
            for (int k = 0; k < n; k++)
            {
                double a = x.Span[k], b = y.Span[k];
                dot += a * b;
                dotAbs += Math.Abs(a * b);
                sum += a;
                sumAbs += Math.Abs(a);
                squares += a * a;
            }

            // Whatever the order of a float summation of n terms, its error is at most
            // (n − 1)·u·Σ|terms| (u = 2^−24, first order); rounding each product adds at most u·|term|.
            // So n·u·Σ|terms| bounds all three; the 1e-30 only covers n = 0 comparisons of 0 with 0.
            AssertClose(dot, SimdLstm.Kernels.Dot(x.Span, y.Span), n * Eps * dotAbs + 1e-30, $"Dot, length {n}");
            AssertClose(sum, SimdLstm.Kernels.Sum(x.Span), n * Eps * sumAbs + 1e-30, $"Sum, length {n}");
            AssertClose(squares, SimdLstm.Kernels.SumOfSquares(x.Span), n * Eps * squares + 1e-30, $"SumOfSquares, length {n}");
            x.AssertGuardsIntact();
            y.AssertGuardsIntact();
        }
    }

    /// <summary>
    /// The same values at start offsets 0..7 give the same bits: the accumulation order does not
    /// depend on alignment. This is also the check that decided to use TensorPrimitives' Dot, Sum and
    /// SumOfSquares (version 11) rather than rewrite them: they pass it.
    /// </summary>
    [Fact]
    public void Reductions_AreBitwiseIndependentOfStartOffset()
    {
        var random = new Random(12);
        int[] lengths = new int[258 + 5];
        for (int n = 0; n <= 257; n++)
            lengths[n] = n;
        new[] { 1000, 1031, 4099, 16384, 65539 }.CopyTo(lengths, 258);
        foreach (int n in lengths)
        {
            // Wide dynamic range so any change of order would change the rounding.
            float[] xs = Uniform(random, n, -1, 1), ys = Uniform(random, n, -1, 1);
            for (int k = 0; k < n; k++)
                xs[k] *= MathF.Pow(10, random.Next(-4, 5));
            float dot0 = 0, sum0 = 0, sq0 = 0;
            for (int offset = 0; offset < 8; offset++)
            {
                var x = new GuardedBuffer(xs, offset);
                var y = new GuardedBuffer(ys, 7 - offset);
                float dot = SimdLstm.Kernels.Dot(x.Span, y.Span), sum = SimdLstm.Kernels.Sum(x.Span), sq = SimdLstm.Kernels.SumOfSquares(x.Span);
                if (offset == 0)
                {
                    (dot0, sum0, sq0) = (dot, sum, sq);
                    continue;
                }

                Assert.True(Same(dot0, dot), $"Dot, length {n}: offset 0 gives {dot0:R}, offset {offset} gives {dot:R}");
                Assert.True(Same(sum0, sum), $"Sum, length {n}: offset 0 gives {sum0:R}, offset {offset} gives {sum:R}");
                Assert.True(Same(sq0, sq), $"SumOfSquares, length {n}: offset 0 gives {sq0:R}, offset {offset} gives {sq:R}");
            }
        }
    }

    [Property(MaxTest = 200)]
    public bool Dot_IsSymmetricBitwise(float[] x, float[] y)
    {
        int n = Math.Min(x.Length, y.Length);
        float[] a = Finite(x.AsSpan(0, n)), b = Finite(y.AsSpan(0, n));
        return Same(SimdLstm.Kernels.Dot(a, b), SimdLstm.Kernels.Dot(b, a));
    }

    [Fact]
    public void Reductions_PropagateNaNAndInfinity()
    {
        var random = new Random(13);
        for (int n = 1; n <= 100; n++)
        {
            float[] x = Uniform(random, n, -1, 1);
            int at = random.Next(n);
            x[at] = float.NaN;
            Assert.True(float.IsNaN(SimdLstm.Kernels.Sum(x)));
            Assert.True(float.IsNaN(SimdLstm.Kernels.Dot(x, x)));
            Assert.True(float.IsNaN(SimdLstm.Kernels.SumOfSquares(x)));
            x[at] = float.NegativeInfinity;
            Assert.Equal(float.NegativeInfinity, SimdLstm.Kernels.Sum(x));
            Assert.Equal(float.PositiveInfinity, SimdLstm.Kernels.SumOfSquares(x));
            Assert.Equal(float.PositiveInfinity, SimdLstm.Kernels.Dot(x, x));
        }

        Assert.Equal(0f, SimdLstm.Kernels.Dot([], []));
        Assert.Equal(0f, SimdLstm.Kernels.Sum([]));
    }

    [Fact]
    public void Dot_ThrowsForMismatchedLengths()
    {
        foreach ((int n, int m) in new[] { (5, 4), (4, 5), (0, 3) })
            AssertLengthError(() => SimdLstm.Kernels.Dot(new float[n], new float[m]), "y", n, m);
    }

    /// <summary>Documents how the TensorPrimitives version in use orders its sums, for the record in the test output.</summary>
    [Fact]
    public void TensorPrimitivesSum_IsOffsetIndependentInThisVersion()
    {
        var random = new Random(14);
        const int n = 4099;
        float[] values = Uniform(random, n + 8, -1000, 1000);
        float first = TensorPrimitives.Sum(values.AsSpan(0, n));
        for (int offset = 1; offset < 8; offset++)
        {
            var shifted = new float[n + 8];
            values.AsSpan(0, n).CopyTo(shifted.AsSpan(offset));
            Assert.True(Same(first, TensorPrimitives.Sum(shifted.AsSpan(offset, n))));
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"TensorPrimitives {typeof(TensorPrimitives).Assembly.GetName().Version}: Sum of {n} values identical at offsets 0..7");
    }

    private static float[] Finite(ReadOnlySpan<float> values)
    {
        var result = new float[values.Length];
        for (int k = 0; k < values.Length; k++)
            result[k] = float.IsFinite(values[k]) ? values[k] : 0f;
        return result;
    }

    private static bool Same(float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b);

    private static void AssertClose(double expected, float actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance, $"{what}: expected {expected:R}, got {actual:R}, tolerance {tolerance:G3}");
}

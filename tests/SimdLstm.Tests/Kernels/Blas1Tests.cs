using System;
using Xunit;
using static SimdLstm.Tests.Kernels.KernelTestData;

namespace SimdLstm.Tests.Kernels;

/// <summary>Axpy and in-place Scale against the double reference; fusion; validation.</summary>
public class Blas1Tests
{
    [Fact]
    public void Axpy_MatchesDoubleReference_AtEveryLengthAndOffset()
    {
        var random = new Random(21);
        foreach ((int n, int xOffset, int yOffset) in LengthsAndOffsets())
        {
            float alpha = (float)(random.NextDouble() * 4 - 2);
            var x = new GuardedBuffer(Uniform(random, n, -10, 10), xOffset);
            float[] y0 = Uniform(random, n, -10, 10);
            var y = new GuardedBuffer(y0, yOffset);
            SimdLstm.Kernels.Axpy(alpha, x.Span, y.Span);
            x.AssertGuardsIntact();
            y.AssertGuardsIntact();
            for (int k = 0; k < n; k++)
            {
                // α·x is exact in double, so the reference has one double rounding (2^−53 relative)
                // before rounding to float: a correctly rounded fma is at most 1 float ulp from it
                // (0 except next to a tie).
                double exact = (double)alpha * x.Span[k] + y0[k];
                Assert.True(FloatUlp.Distance(y.Span[k], exact) <= 1, $"Axpy length {n} element {k}: got {y.Span[k]:R}, exact {exact:R}");
            }
        }
    }

    [Fact]
    public void Axpy_IsFused()
    {
        // (1 + 2^-12)² = 1 + 2^-11 + 2^-24. Rounded first, the product is 1 + 2^-11 (a tie, to even) and
        // y = −(1 + 2^-11) cancels it to 0; fused, the exact 2^-24 survives.
        float a = 1f + MathF.ScaleB(1f, -12);
        float[] x = [a, a, a, a, a, a, a, a, a, a, a];
        float[] y = new float[x.Length];
        y.AsSpan().Fill(-(1f + MathF.ScaleB(1f, -11)));
        SimdLstm.Kernels.Axpy(a, x, y);
        AssertAllEqual(MathF.ScaleB(1f, -24), y);
    }

    [Fact]
    public void Axpy_ThrowsForBadArguments_AndWritesNothing()
    {
        var y = new float[9];
        y.AsSpan().Fill(3f);
        AssertLengthError(() => SimdLstm.Kernels.Axpy(2f, new float[10], y), "y", 10, 9);
        AssertAllEqual(3f, y);
        var shared = new float[20];
        shared.AsSpan().Fill(3f);
        AssertArgumentError(() => SimdLstm.Kernels.Axpy(2f, shared.AsSpan(0, 10), shared.AsSpan(5, 10)), "y");
        AssertArgumentError(() => SimdLstm.Kernels.Axpy(2f, shared.AsSpan(0, 10), shared.AsSpan(0, 10)), "y");
        AssertAllEqual(3f, shared);
    }

    [Fact]
    public void ScaleInPlace_MatchesDoubleReference_AtEveryLengthAndOffset()
    {
        var random = new Random(22);
        foreach ((int n, int offset, _) in LengthsAndOffsets())
        {
            float alpha = (float)(random.NextDouble() * 4 - 2);
            float[] x0 = Uniform(random, n, -10, 10);
            var x = new GuardedBuffer(x0, offset);
            SimdLstm.Kernels.Scale(alpha, x.Span);
            x.AssertGuardsIntact();
            for (int k = 0; k < n; k++)
                Assert.Equal(0, FloatUlp.Distance(x.Span[k], (double)alpha * x0[k])); // exact product in double, rounded once
        }
    }
}

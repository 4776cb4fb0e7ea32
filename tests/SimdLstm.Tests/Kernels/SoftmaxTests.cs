using System;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using FsCheck.Xunit;
using Xunit;
using static SimdLstm.Tests.Kernels.KernelTestData;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// Softmax, LogSoftmax and SoftmaxCrossEntropy against double references, their non-finite policy,
/// stability for huge logits, properties, validation; and the two TensorPrimitives defects that made
/// us write our own softmax and tanh.
/// </summary>
/// <remarks>
/// Error budget used by the tolerances (u = 2^−24): each e[k] = exp(x[k] − m) is within 4 ulp ≤ 8u
/// relative (ExpNonPositive's tested bound) plus |x[k] − m|·u from rounding the subtraction; the sum
/// S of n terms adds n·u; 1/S and the final product add u each. So softmax is within
/// (n + 20 + |x[k] − m|)·u relative.
/// </remarks>
public class SoftmaxTests
{
    [Fact]
    public void Softmax_MatchesDoubleReference_AtEveryLengthAndOffset()
    {
        var random = new Random(31);
        foreach ((int n, int inOffset, int outOffset) in LengthsAndOffsets())
        {
            var logits = new GuardedBuffer(Uniform(random, n, -20, 20), inOffset);
            var p = new GuardedBuffer(n, outOffset);
            SimdLstm.Kernels.Softmax(logits.Span, p.Span);
            logits.AssertGuardsIntact();
            p.AssertGuardsIntact();
            AssertSoftmaxClose(logits.ToArray(), p.ToArray(), $"length {n}");
        }
    }

    [Fact]
    public void LogSoftmax_MatchesDoubleReference_AtEveryLengthAndOffset()
    {
        var random = new Random(32);
        foreach ((int n, int inOffset, int outOffset) in LengthsAndOffsets())
        {
            var logits = new GuardedBuffer(Uniform(random, n, -20, 20), inOffset);
            var lp = new GuardedBuffer(n, outOffset);
            SimdLstm.Kernels.LogSoftmax(logits.Span, lp.Span);
            logits.AssertGuardsIntact();
            lp.AssertGuardsIntact();
            AssertLogSoftmaxClose(logits.ToArray(), lp.ToArray(), $"length {n}");
        }
    }

    [Fact]
    public void SoftmaxCrossEntropy_MatchesDoubleReference_AtEveryLengthAndOffset()
    {
        var random = new Random(33);
        foreach ((int n, int inOffset, int outOffset) in LengthsAndOffsets())
        {
            if (n == 0)
                continue;
            int target = random.Next(n);
            float scale = (float)(random.NextDouble() * 2 - 0.5);
            var logits = new GuardedBuffer(Uniform(random, n, -20, 20), inOffset);
            var d = new GuardedBuffer(n, outOffset);
            float loss = SimdLstm.Kernels.SoftmaxCrossEntropy(logits.Span, target, d.Span, scale);
            logits.AssertGuardsIntact();
            d.AssertGuardsIntact();
            AssertCrossEntropyClose(logits.ToArray(), target, scale, loss, d.ToArray(), $"length {n}");
        }
    }

    [Fact]
    public void SoftmaxCrossEntropy_GradientIsSoftmaxMinusOneHot_Bitwise()
    {
        var random = new Random(34);
        for (int n = 1; n <= 70; n++)
        {
            float[] logits = Uniform(random, n, -8, 8);
            int target = random.Next(n);
            var p = new float[n];
            var d = new float[n];
            SimdLstm.Kernels.Softmax(logits, p);
            SimdLstm.Kernels.SoftmaxCrossEntropy(logits, target, d);
            p[target] -= 1f;
            AssertBitwiseEqual(p, d, $"length {n}");
        }
    }

    [Fact]
    public void SoftmaxFamily_InPlace_EqualsOutOfPlace()
    {
        var random = new Random(35);
        for (int n = 1; n <= 70; n++)
        {
            float[] logits = Uniform(random, n, -8, 8);
            int target = random.Next(n);
            var expected = new float[n];
            var buffer = new GuardedBuffer(logits, n % 8);

            SimdLstm.Kernels.Softmax(logits, expected);
            SimdLstm.Kernels.Softmax(buffer.Span, buffer.Span);
            AssertBitwiseEqual(expected, buffer.Span, "Softmax in place");

            logits.CopyTo(buffer.Span);
            SimdLstm.Kernels.LogSoftmax(logits, expected);
            SimdLstm.Kernels.LogSoftmax(buffer.Span, buffer.Span);
            AssertBitwiseEqual(expected, buffer.Span, "LogSoftmax in place");

            logits.CopyTo(buffer.Span);
            float loss = SimdLstm.Kernels.SoftmaxCrossEntropy(logits, target, expected, 0.5f);
            float lossInPlace = SimdLstm.Kernels.SoftmaxCrossEntropy(buffer.Span, target, buffer.Span, 0.5f);
            Assert.Equal(BitConverter.SingleToInt32Bits(loss), BitConverter.SingleToInt32Bits(lossInPlace));
            AssertBitwiseEqual(expected, buffer.Span, "SoftmaxCrossEntropy in place");
            buffer.AssertGuardsIntact();
        }
    }

    [Fact]
    public void SoftmaxFamily_StaysFiniteForHugeLogits()
    {
        float[] logits = [1e30f, 0f, -1e30f, 5f, 3e38f, -3e38f];
        var p = new float[logits.Length];
        SimdLstm.Kernels.Softmax(logits, p);
        Assert.Equal([0f, 0f, 0f, 0f, 1f, 0f], p);
        SimdLstm.Kernels.LogSoftmax(logits, p);
        foreach (float v in p.AsSpan(0, 4))
            Assert.True(float.IsFinite(v));
        Assert.Equal(0f, p[4]);
        Assert.Equal(float.NegativeInfinity, p[5]); // −6e38 is beyond float range: the exact value is not representable

        float[] three = [1e30f, 0f, 1f];
        float lossRight = SimdLstm.Kernels.SoftmaxCrossEntropy(three, 0, p.AsSpan(0, 3));
        Assert.Equal(0f, lossRight);
        Assert.Equal([0f, 0f, 0f], p.AsSpan(0, 3).ToArray());
        float lossWrong = SimdLstm.Kernels.SoftmaxCrossEntropy(three, 1, p.AsSpan(0, 3));
        Assert.Equal(1e30f, lossWrong);
        Assert.Equal([1f, -1f, 0f], p.AsSpan(0, 3).ToArray());
    }

    [Fact]
    public void SoftmaxFamily_NonFiniteLogits_FollowDocumentedPolicy()
    {
        var random = new Random(36);
        for (int n = 2; n <= 40; n++)
        {
            float[] logits = Uniform(random, n, -5, 5);
            var p = new float[n];
            var d = new float[n];

            // NaN anywhere: everything NaN.
            float[] withNaN = (float[])logits.Clone();
            withNaN[random.Next(n)] = float.NaN;
            SimdLstm.Kernels.Softmax(withNaN, p);
            Assert.All(p, v => Assert.True(float.IsNaN(v)));
            SimdLstm.Kernels.LogSoftmax(withNaN, p);
            Assert.All(p, v => Assert.True(float.IsNaN(v)));
            Assert.True(float.IsNaN(SimdLstm.Kernels.SoftmaxCrossEntropy(withNaN, 0, d)));
            Assert.All(d, v => Assert.True(float.IsNaN(v)));

            // Some +∞: they share the mass equally, the rest get 0.
            float[] withInf = (float[])logits.Clone();
            int first = random.Next(n), second = (first + 1 + random.Next(n - 1)) % n;
            withInf[first] = withInf[second] = float.PositiveInfinity;
            SimdLstm.Kernels.Softmax(withInf, p);
            for (int k = 0; k < n; k++)
                Assert.Equal(k == first || k == second ? 0.5f : 0f, p[k]);
            SimdLstm.Kernels.LogSoftmax(withInf, p);
            for (int k = 0; k < n; k++)
                Assert.Equal(k == first || k == second ? -MathF.Log(2f) : float.NegativeInfinity, p[k]);
            Assert.Equal(MathF.Log(2f), SimdLstm.Kernels.SoftmaxCrossEntropy(withInf, first, d), 6);
            Assert.Equal(-0.5f, d[first]);
            int other = (second + 1) % n == first ? (second + 2) % n : (second + 1) % n;
            if (other != first && other != second)
                Assert.Equal(float.PositiveInfinity, SimdLstm.Kernels.SoftmaxCrossEntropy(withInf, other, d));

            // Some −∞ among finite logits: probability 0, log-probability −∞.
            float[] withNegInf = (float[])logits.Clone();
            int at = random.Next(n);
            withNegInf[at] = float.NegativeInfinity;
            SimdLstm.Kernels.Softmax(withNegInf, p);
            Assert.Equal(0f, p[at]);
            AssertSoftmaxClose(withNegInf, p, "with −∞");
            SimdLstm.Kernels.LogSoftmax(withNegInf, p);
            Assert.Equal(float.NegativeInfinity, p[at]);
            Assert.Equal(float.PositiveInfinity, SimdLstm.Kernels.SoftmaxCrossEntropy(withNegInf, at, d));

            // All −∞: undefined, NaN.
            var allNegInf = new float[n];
            allNegInf.AsSpan().Fill(float.NegativeInfinity);
            SimdLstm.Kernels.Softmax(allNegInf, p);
            Assert.All(p, v => Assert.True(float.IsNaN(v)));
        }
    }

    [Property(MaxTest = 300)]
    public bool Softmax_SumsToOne(float[] raw)
    {
        if (raw.Length == 0)
            return true;
        float[] logits = Array.ConvertAll(raw, v => float.IsFinite(v) ? v : 0f);
        var p = new float[logits.Length];
        SimdLstm.Kernels.Softmax(logits, p);
        double sum = 0;
        foreach (float v in p)
            sum += v;

        // Σp = Σ fl(e[k]·fl(1/S)) with S = fl(Σe): (n − 1)·u from the sum, u from 1/S, u per product;
        // rounding x − m does not matter here because S is made of the same e[k].
        return Math.Abs(sum - 1) <= (logits.Length + 3) * Eps;
    }

    [Property(MaxTest = 300)]
    public bool Softmax_IsInvariantToAddingAConstant(float[] raw, float rawShift)
    {
        if (raw.Length == 0)
            return true;
        float[] logits = Array.ConvertAll(raw, v => float.IsFinite(v) ? v % 20f : 0f);
        float shift = float.IsFinite(rawShift) ? rawShift % 100f : 0f;
        float[] shifted = Array.ConvertAll(logits, v => v + shift);
        var p = new float[logits.Length];
        var q = new float[logits.Length];
        SimdLstm.Kernels.Softmax(logits, p);
        SimdLstm.Kernels.Softmax(shifted, q);

        // Each softmax is within (n + 20 + 40)·u relative (|x − m| ≤ 40 here), and rounding x + c moves each
        // logit by at most 120·u, which moves the differences x[k] − m by 240·u, hence p[k] by that relatively.
        int n = logits.Length;
        for (int k = 0; k < n; k++)
        {
            double tolerance = (2 * (n + 60) + 240) * Eps * Math.Max(p[k], q[k]) + 1e-44;
            if (Math.Abs(p[k] - q[k]) > tolerance)
                return false;
        }

        return true;
    }

    [Property(MaxTest = 300)]
    public bool SoftmaxCrossEntropy_GradientSumsToZero(float[] raw, int rawTarget, float rawScale)
    {
        if (raw.Length == 0)
            return true;
        float[] logits = Array.ConvertAll(raw, v => float.IsFinite(v) ? v : 0f);
        int target = (int)((uint)rawTarget % (uint)logits.Length);
        float scale = float.IsFinite(rawScale) ? rawScale % 10f : 1f;
        var d = new float[logits.Length];
        SimdLstm.Kernels.SoftmaxCrossEntropy(logits, target, d, scale);
        double sum = 0;
        foreach (float v in d)
            sum += v;

        // Σd = scale·(Σp − 1): (n + 3)·u from Σp (see Softmax_SumsToOne), u from p[target] − 1, u per
        // product with scale (≤ 2u over all terms since Σ|p| + 1 = 2). A product that lands among the
        // subnormals is rounded to a multiple of 2^−149 instead (absolute error ≤ 2^−150 each): the n·1.4e-45.
        return Math.Abs(sum) <= Math.Abs(scale) * (logits.Length + 6) * Eps + logits.Length * 1.5e-45;
    }

    [Fact]
    public void SoftmaxCrossEntropy_ThrowsForTargetOutOfRange_AndWritesNothing()
    {
        var logits = new float[5];
        var d = new float[5];
        d.AsSpan().Fill(9f);
        foreach (int target in new[] { -1, 5, int.MaxValue, int.MinValue })
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SimdLstm.Kernels.SoftmaxCrossEntropy(logits, target, d));
            Assert.Equal("target", ex.ParamName);
            AssertAllEqual(9f, d);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => SimdLstm.Kernels.SoftmaxCrossEntropy([], 0, []));
    }

    [Fact]
    public void SoftmaxFamily_ThrowsForBadLengthsAndOverlap_AndWritesNothing()
    {
        var logits = new float[6];
        var small = new float[5];
        small.AsSpan().Fill(9f);
        AssertLengthError(() => SimdLstm.Kernels.Softmax(logits, small), "destination", 6, 5);
        AssertLengthError(() => SimdLstm.Kernels.LogSoftmax(logits, small), "destination", 6, 5);
        AssertLengthError(() => SimdLstm.Kernels.SoftmaxCrossEntropy(logits, 0, small), "dLogits", 6, 5);
        AssertAllEqual(9f, small);

        var shared = new float[12];
        shared.AsSpan().Fill(9f);
        AssertArgumentError(() => SimdLstm.Kernels.Softmax(shared.AsSpan(0, 6), shared.AsSpan(2, 6)), "destination");
        AssertArgumentError(() => SimdLstm.Kernels.LogSoftmax(shared.AsSpan(3, 6), shared.AsSpan(0, 6)), "destination");
        AssertArgumentError(() => SimdLstm.Kernels.SoftmaxCrossEntropy(shared.AsSpan(0, 6), 1, shared.AsSpan(1, 6)), "dLogits");
        AssertAllEqual(9f, shared);
    }

    /// <summary>
    /// TensorPrimitives.SoftMax computes e^x / Σe^x without subtracting the maximum: e^100 overflows
    /// float and ∞/∞ gives NaN. Ours returns the right distribution for the same input.
    /// </summary>
    [Fact]
    public void TensorPrimitivesSoftMax_ReturnsNaNForLargeLogit()
    {
        float[] logits = [100f, 1f, 2f];
        var theirs = new float[3];
        TensorPrimitives.SoftMax(logits, theirs);
        Assert.True(float.IsNaN(theirs[0]), $"TensorPrimitives.SoftMax(100, 1, 2)[0] = {theirs[0]:R}; if this is no longer NaN the defect is fixed in this package version");

        var ours = new float[3];
        SimdLstm.Kernels.Softmax(logits, ours);
        AssertSoftmaxClose(logits, ours, "[100, 1, 2]");
        Assert.Equal(1f, ours[0]);
    }

    /// <summary>
    /// TensorPrimitives.Tanh's vector path returns about −6e-8 for tanh(0) (its scalar path returns 0).
    /// Ours returns exactly 0 (and −0 for −0) on every path.
    /// </summary>
    [Fact]
    public void TensorPrimitivesTanh_ReturnsNonZeroForZero()
    {
        var zeros = new float[16];
        var theirs = new float[16];
        TensorPrimitives.Tanh(zeros, theirs);
        if (Vector128.IsHardwareAccelerated)
        {
            Assert.True(theirs[0] != 0f, "TensorPrimitives.Tanh(0) is now 0 on the vector path: the defect is fixed in this package version");
            TestContext.Current.TestOutputHelper?.WriteLine($"TensorPrimitives.Tanh(0) = {theirs[0]:R} on the vector path");
        }
        else
        {
            // Scalar-only runtime: TensorPrimitives falls back to an exact scalar tanh, so the defect does not show.
            Assert.Equal(0f, theirs[0]);
            TestContext.Current.TestOutputHelper?.WriteLine("No vector path: TensorPrimitives.Tanh(0) is 0 here; its defect is on the vector paths only");
        }

        var ours = new float[16];
        SimdLstm.Kernels.Tanh(zeros, ours);
        AssertAllEqual(0f, ours);
    }

    private static void AssertSoftmaxClose(float[] logits, float[] p, string where)
    {
        int n = logits.Length;
        if (n == 0)
            return;
        double m = double.NegativeInfinity;
        foreach (float v in logits)
            m = Math.Max(m, v);
        double s = 0;
        foreach (float v in logits)
            s += Math.Exp(v - m);
        for (int k = 0; k < n; k++)
        {
            double exact = Math.Exp(logits[k] - m) / s;
            double diff = logits[k] - m;
            double tolerance = (n + 20 + (double.IsFinite(diff) ? -diff : 0)) * Eps * exact + 1e-45;
            Assert.True(Math.Abs(p[k] - exact) <= tolerance, $"Softmax {where}, element {k}: got {p[k]:R}, exact {exact:R}");
        }
    }

    private static void AssertLogSoftmaxClose(float[] logits, float[] lp, string where)
    {
        int n = logits.Length;
        if (n == 0)
            return;
        double m = double.NegativeInfinity;
        foreach (float v in logits)
            m = Math.Max(m, v);
        double s = 0;
        foreach (float v in logits)
            s += Math.Exp(v - m);
        double logS = Math.Log(s);
        for (int k = 0; k < n; k++)
        {
            double exact = logits[k] - m - logS;

            // log S inherits S's relative error (n + 8)·u as an absolute error, and is rounded to float;
            // x − m and the final subtraction each round (≤ u times their magnitude).
            double tolerance = (n + 10 + 2 * (m - logits[k]) + 2 * logS) * Eps;
            Assert.True(Math.Abs(lp[k] - exact) <= tolerance, $"LogSoftmax {where}, element {k}: got {lp[k]:R}, exact {exact:R}");
        }
    }

    private static void AssertCrossEntropyClose(float[] logits, int target, float scale, float loss, float[] d, string where)
    {
        int n = logits.Length;
        double m = double.NegativeInfinity;
        foreach (float v in logits)
            m = Math.Max(m, v);
        double s = 0;
        foreach (float v in logits)
            s += Math.Exp(v - m);
        double exactLoss = Math.Log(s) - (logits[target] - m);

        // log S carries S's (n + 8)·u relative error as absolute error; the loss is then rounded once.
        Assert.True(Math.Abs(loss - exactLoss) <= (n + 10 + exactLoss) * Eps, $"loss {where}: got {loss:R}, exact {exactLoss:R}");
        for (int k = 0; k < n; k++)
        {
            double p = Math.Exp(logits[k] - m) / s;
            double exact = scale * (p - (k == target ? 1 : 0));

            // p as in softmax; p − 1 and the product with scale round once each.
            double tolerance = Math.Abs(scale) * ((n + 22 + (m - logits[k])) * Eps * p + 2 * Eps * Math.Abs(p - (k == target ? 1 : 0))) + 1e-44;
            Assert.True(Math.Abs(d[k] - exact) <= tolerance, $"dLogits {where}, element {k}: got {d[k]:R}, exact {exact:R}");
        }
    }
}

using System;
using System.Linq;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Training;

public class GradientClippingTests
{
    /// <summary>
    /// ‖x‖₂ in double by the scaled sum Σ (xᵢ/s)² with s = max |xᵢ|, a different method from the code
    /// under test (which sums unscaled squares), that neither overflows nor underflows.
    /// </summary>
    private static double ReferenceNorm(ReadOnlySpan<float> x)
    {
        double scale = 0;
        foreach (float v in x) scale = Math.Max(scale, Math.Abs((double)v));
        if (scale == 0) return 0;
        double sum = 0;
        foreach (float v in x)
        {
            double r = v / scale;
            sum += r * r;
        }
        return scale * Math.Sqrt(sum);
    }

    /// <summary>
    /// The returned norm is the double norm rounded to float: 2⁻²⁴ relative for a normal result, or
    /// half the smallest subnormal (float.Epsilon / 2) absolute when the norm itself is subnormal;
    /// 2⁻²³ leaves room for the double summation (n·2⁻⁵³) and the reference's own error (~1e-15).
    /// </summary>
    private static void AssertNorm(float norm, double expected, string context)
    {
        if (!(Math.Abs(norm - expected) <= expected * Math.Pow(2, -23) + float.Epsilon / 2.0))
            Assert.Fail($"{context}: norm {norm:R}, expected {expected:R}");
    }

    /// <summary>
    /// Magnitude classes chosen so a float sum of squares would overflow (1e20, 1e30) or underflow
    /// (1e-25, subnormals), next to ordinary values.
    /// </summary>
    private static void Fill(Span<float> x, Random rng, double magnitude)
    {
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)((rng.NextDouble() * 2 - 1) * magnitude * Math.Pow(10, -2 * rng.NextDouble()));
    }

    private static readonly double[] Magnitudes = [1, 1e20, 1e30, 1e-25, 1e-40];

    /// <summary>
    /// Every length 0..257, five magnitude classes, random offsets, with maxNorm = +∞ (never clips);
    /// tolerance in <see cref="AssertNorm"/>.
    /// </summary>
    [Fact]
    public void Norm_MatchesDoubleReference_WithoutOverflowOrUnderflow()
    {
        var rng = new Random(42);
        foreach (double magnitude in Magnitudes)
        {
            for (int n = 0; n <= 257; n++)
            {
                var g = new GuardedBuffer(n, rng.Next(8));
                Fill(g.Span, rng, magnitude);
                float[] before = g.ToArray();
                double expected = ReferenceNorm(before);
                float norm = GradientClipping.ClipByGlobalNorm(g.Span, float.PositiveInfinity);
                AssertNorm(norm, expected, $"n = {n}, magnitude {magnitude}");
                Assert.Equal(before, g.ToArray());
                g.AssertGuardsIntact();
            }
        }
    }

    /// <summary>
    /// When the norm exceeds maxNorm every element is multiplied by maxNorm/‖g‖: each element's ratio
    /// to its old value equals the double ratio within 2⁻²² (one rounding of the float scale plus one of
    /// the product, 2⁻²⁴ each, plus the norm's own ≤ 2⁻²⁴), and the clipped norm is maxNorm within the same bound.
    /// </summary>
    [Fact]
    public void Clip_ScalesToMaxNorm_WhenTheNormExceedsIt()
    {
        var rng = new Random(7);
        foreach (double magnitude in Magnitudes)
        {
            for (int n = 1; n <= 257; n += 3)
            {
                var g = new GuardedBuffer(n, rng.Next(8));
                Fill(g.Span, rng, magnitude);
                if (g.Span.IndexOfAnyExcept(0f) < 0) continue;
                float[] before = g.ToArray();
                double expectedNorm = ReferenceNorm(before);
                float maxNorm = (float)(expectedNorm * (0.05 + 0.9 * rng.NextDouble()));
                if (maxNorm == 0) continue;
                float norm = GradientClipping.ClipByGlobalNorm(g.Span, maxNorm);
                AssertNorm(norm, expectedNorm, $"n = {n}, magnitude {magnitude}");
                double ratio = maxNorm / expectedNorm;
                const double Tolerance = 1.0 / (1 << 22);
                for (int i = 0; i < n; i++)
                {
                    if (before[i] == 0) { Assert.Equal(0f, g.Span[i]); continue; }
                    // Products that land in float's subnormal range carry an absolute error of half
                    // the smallest subnormal instead of a relative one.
                    double error = Math.Abs(g.Span[i] - before[i] * ratio);
                    if (!(error <= Math.Abs(before[i] * ratio) * Tolerance + float.Epsilon)) Assert.Fail($"n = {n}, element {i}: {g.Span[i]:R} vs {before[i] * ratio:R}");
                }
                if (magnitude >= 1)
                    if (!(Math.Abs(ReferenceNorm(g.Span) - maxNorm) <= maxNorm * Tolerance)) Assert.Fail($"clipped norm {ReferenceNorm(g.Span):R} vs {maxNorm:R}");
                g.AssertGuardsIntact();
            }
        }
    }

    [Fact]
    public void Clip_LeavesGradientsUntouched_WhenTheNormIsWithinMaxNorm()
    {
        var rng = new Random(8);
        for (int n = 0; n <= 257; n += 2)
        {
            float[] g = new float[n];
            Fill(g, rng, 3);
            float[] before = (float[])g.Clone();
            double expected = ReferenceNorm(g);
            // Well above, and just above (the next float up from the norm).
            foreach (float maxNorm in new[] { (float)(expected * 1.5) + 1e-30f, MathF.BitIncrement((float)expected) + 1e-30f })
            {
                float norm = GradientClipping.ClipByGlobalNorm(g, maxNorm);
                AssertNorm(norm, expected, $"n = {n}");
                if (!(before.AsSpan().SequenceEqual(g))) Assert.Fail($"n = {n}: gradients changed with maxNorm {maxNorm:R} ≥ norm {expected:R}");
            }
        }
    }

    public static TheoryData<float, bool> NonFiniteValues => new()
    {
        { float.NaN, true },
        { float.PositiveInfinity, false },
        { float.NegativeInfinity, false },
    };

    [Theory]
    [MemberData(nameof(NonFiniteValues))]
    public void NonFiniteNorm_SkipStep_ReturnsItAndLeavesGradientsUntouched(float bad, bool isNaN)
    {
        var rng = new Random(9);
        foreach (int n in new[] { 1, 7, 8, 9, 33, 257 })
        {
            float[] g = new float[n];
            Fill(g, rng, 1);
            g[rng.Next(n)] = bad;
            float[] before = (float[])g.Clone();
            float norm = GradientClipping.ClipByGlobalNorm(g, 1e-3f, NonFiniteNormPolicy.SkipStep);
            Assert.Equal(isNaN, float.IsNaN(norm));
            Assert.Equal(!isNaN, float.IsPositiveInfinity(norm));
            Assert.True(before.AsSpan().SequenceEqual(g));
        }
    }

    [Theory]
    [MemberData(nameof(NonFiniteValues))]
    public void NonFiniteNorm_Throw_ThrowsAndLeavesGradientsUntouched(float bad, bool isNaN)
    {
        float[] g = [0.5f, -2f, 3f, 1f, 0f, 7f, 1f, 2f, 9f, 4f, 1f];
        g[9] = bad;
        float[] before = (float[])g.Clone();
        var ex = Assert.Throws<NonFiniteGradientException>(() => GradientClipping.ClipByGlobalNorm(g, 1f, NonFiniteNormPolicy.Throw));
        Assert.Equal(isNaN, float.IsNaN(ex.Norm));
        Assert.Equal(!isNaN, float.IsPositiveInfinity(ex.Norm));
        Assert.Contains("11 gradient elements", ex.Message, StringComparison.Ordinal);
        Assert.True(before.AsSpan().SequenceEqual(g));
    }

    /// <summary>Finite gradients whose norm exceeds float.MaxValue (√2 · 3e38) get the non-finite policy, documented as such.</summary>
    [Fact]
    public void NormAboveFloatMax_IsTreatedAsNonFinite()
    {
        float[] g = [3e38f, -3e38f];
        float norm = GradientClipping.ClipByGlobalNorm(g, 1f);
        Assert.True(float.IsPositiveInfinity(norm));
        Assert.Equal([3e38f, -3e38f], g);
        Assert.Throws<NonFiniteGradientException>(() => GradientClipping.ClipByGlobalNorm(g, 1f, NonFiniteNormPolicy.Throw));
        // Just inside the range: √2 · 2e38 ≈ 2.83e38 < 3.40e38 clips normally.
        float[] h = [2e38f, 2e38f];
        float finite = GradientClipping.ClipByGlobalNorm(h, 1f);
        Assert.True(float.IsFinite(finite));
        Assert.True(Math.Abs(ReferenceNorm(h) - 1) < 1e-6);
    }

    [Fact]
    public void EmptyAndZeroGradients_HaveNormZero()
    {
        Assert.Equal(0f, GradientClipping.ClipByGlobalNorm([], 1f));
        float[] zeros = new float[19];
        Assert.Equal(0f, GradientClipping.ClipByGlobalNorm(zeros, 1f));
        Assert.All(zeros, z => Assert.Equal(0, BitConverter.SingleToInt32Bits(z)));
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        float[] g = [1f, 2f];
        foreach (float bad in new[] { 0f, -1f, float.NaN, float.NegativeInfinity })
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm(g, bad));
            Assert.Equal("maxNorm", ex.ParamName);
        }
        var policyEx = Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm(g, 1f, (NonFiniteNormPolicy)7));
        Assert.Equal("policy", policyEx.ParamName);
        Assert.Equal([1f, 2f], g);
    }

    [Fact]
    public void Clip_AllocatesNothing()
    {
        float[] g = Enumerable.Range(0, 1001).Select(i => (float)Math.Sin(i)).ToArray();
        GradientClipping.ClipByGlobalNorm(g, 0.5f);
        int i = 0;
        Allocations.AssertNone(() => GradientClipping.ClipByGlobalNorm(g, 0.5f + i++), count: 500);
    }
}

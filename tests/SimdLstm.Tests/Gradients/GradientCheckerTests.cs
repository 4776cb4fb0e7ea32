using System;
using System.Linq;
using SimdLstm.Testing;
using Xunit;

namespace SimdLstm.Tests.Gradients;

/// <summary>The checker itself, on hand-made functions whose gradients are known in closed form.</summary>
public class GradientCheckerTests
{
    // L(a, b) = Σ_i a_i² · b_(i mod 3) + sin(a_0 · b_1), a [7], b [3]:
    // ∂L/∂a_i = 2 a_i b_(i mod 3) + [i = 0] b_1 cos(a_0 b_1);  ∂L/∂b_j = Σ_(i mod 3 = j) a_i² + [j = 1] a_0 cos(a_0 b_1).
    private static double Loss(double[] a, double[] b)
    {
        double s = Math.Sin(a[0] * b[1]);
        for (int i = 0; i < a.Length; i++)
            s += a[i] * a[i] * b[i % 3];
        return s;
    }

    private static (double[] DA, double[] DB) KnownGradient(double[] a, double[] b)
    {
        var dA = new double[a.Length];
        var dB = new double[b.Length];
        for (int i = 0; i < a.Length; i++)
        {
            dA[i] = 2 * a[i] * b[i % 3];
            dB[i % 3] += a[i] * a[i];
        }
        dA[0] += b[1] * Math.Cos(a[0] * b[1]);
        dB[1] += a[0] * Math.Cos(a[0] * b[1]);
        return (dA, dB);
    }

    private static (double[] A, double[] B) Point() =>
        ([0.3, -1.2, 0.7, 2.0, -0.4, 1.1, -0.9], [0.5, -1.5, 0.8]);

    [Fact]
    public void KnownGradient_Passes()
    {
        (double[] a, double[] b) = Point();
        (double[] dA, double[] dB) = KnownGradient(a, b);
        GradientCheckReport report = GradientChecker.Check(() => Loss(a, b), [new("a", a, dA), new("b", b, dB)]);
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        report.AssertWithin(1e-6);
        Assert.Equal(["a", "b"], report.Tensors.Select(t => t.Name));
        Assert.Equal(7, report.Tensors[0].CheckedElements);
    }

    [Fact]
    public void FivePointStencil_IsFarMoreAccurateThanThreePointAtTheSameStep()
    {
        (double[] a, double[] b) = Point();
        (double[] dA, double[] dB) = KnownGradient(a, b);
        var three = new GradientCheckOptions { Step = 1e-3 };
        var five = new GradientCheckOptions { Step = 1e-3, Stencil = DifferenceStencil.FivePoint };
        double threeError = GradientChecker.Check(() => Loss(a, b), [new("a", a, dA), new("b", b, dB)], three).Tensors.Max(t => t.MaxAbsoluteDifference);
        double fiveError = GradientChecker.Check(() => Loss(a, b), [new("a", a, dA), new("b", b, dB)], five).Tensors.Max(t => t.MaxAbsoluteDifference);
        TestContext.Current.TestOutputHelper?.WriteLine($"h = 1e-3: three-point max |a − n| {threeError:G3}, five-point {fiveError:G3}");
        // The sin term's third derivative is ~|b₁|³ ≈ 3.4, so the three-point truncation error h²·|L‴|/6 is ~6e-7; the
        // five-point one, h⁴·|L⁽⁵⁾|/30 with |L⁽⁵⁾| ≤ |b₁|⁵ ≈ 7.6, is ~3e-13, under the rounding error δ/h ≈ 1e-12.
        Assert.True(threeError > 1e-7, $"three-point error {threeError}");
        Assert.True(fiveError < 1e-10, $"five-point error {fiveError}");
    }

    [Fact]
    public void WrongGradientInOneTensor_FailsNamingThatTensorAndElement()
    {
        (double[] a, double[] b) = Point();
        (double[] dA, double[] dB) = KnownGradient(a, b);
        dB[2] *= 1.001; // a 0.1 % error in one element of b

        GradientCheckReport report = GradientChecker.Check(() => Loss(a, b), [new("a", a, dA), new("b", b, dB)]);
        var exception = Assert.Throws<ToleranceExceededException>(() => report.AssertWithin(1e-6));
        TestContext.Current.TestOutputHelper?.WriteLine(exception.Message);

        TensorGradientResult failure = Assert.Single(report.Failures(1e-6));
        Assert.Equal("b", failure.Name);
        Assert.Equal(2, failure.WorstIndex);
        Assert.Contains("b: max relative error", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("a: max relative error", exception.Message, StringComparison.Ordinal);
        // 0.1 % of the value: relative error 0.001 / (2 + 0.001) ≈ 5e-4.
        Assert.InRange(failure.MaxRelativeError, 4e-4, 6e-4);
    }

    [Fact]
    public void NaNGradient_Fails()
    {
        (double[] a, double[] b) = Point();
        (double[] dA, double[] dB) = KnownGradient(a, b);
        dA[4] = double.NaN;
        GradientCheckReport report = GradientChecker.Check(() => Loss(a, b), [new("a", a, dA), new("b", b, dB)]);
        TensorGradientResult failure = Assert.Single(report.Failures(1e-6));
        Assert.Equal(("a", 4), (failure.Name, failure.WorstIndex));
        Assert.Equal(double.PositiveInfinity, failure.MaxRelativeError);
    }

    [Fact]
    public void Check_RestoresValuesBitForBit()
    {
        (double[] a, double[] b) = Point();
        double[] aBefore = (double[])a.Clone(), bBefore = (double[])b.Clone();
        (double[] dA, double[] dB) = KnownGradient(a, b);
        GradientChecker.Check(() => Loss(a, b), [new("a", a, dA), new("b", b, dB)]);
        Assert.Equal(aBefore.Select(BitConverter.DoubleToInt64Bits), a.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(bBefore.Select(BitConverter.DoubleToInt64Bits), b.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void Sampling_ChecksOnlyTheRequestedNumberOfElements_Reproducibly()
    {
        // L = Σ c_i x_i² over 100 elements; the gradient 2 c_i x_i is wrong at every index ≥ 50.
        var random = new SeededRandom(3);
        double[] x = random.Uniform(100, -1, 1), c = random.Uniform(100, 0.5, 1.5);
        double[] dX = x.Select((v, i) => 2 * c[i] * v * (i >= 50 ? 1.01 : 1)).ToArray();
        int calls = 0;
        double LossCounting()
        {
            calls++;
            return x.Select((v, i) => c[i] * v * v).Sum();
        }

        var options = new GradientCheckOptions { MaxElementsPerTensor = 10, SampleSeed = 99 };
        GradientCheckReport first = GradientChecker.Check(LossCounting, [new("x", x, dX)], options);
        Assert.Equal(20, calls); // two evaluations per sampled element, none for the rest
        Assert.Equal((10, 100), (first.Tensors[0].CheckedElements, first.Tensors[0].Length));
        GradientCheckReport second = GradientChecker.Check(LossCounting, [new("x", x, dX)], options);
        Assert.Equal(first.Tensors[0], second.Tensors[0]); // same seed, same sample, same worst element
        // A sample of 10 of 100 elements misses all 50 wrong ones with probability C(50,10)/C(100,10) ≈ 6e-4; this seed hits.
        Assert.InRange(first.Tensors[0].WorstIndex, 50, 99);
    }

    [Fact]
    public void TinyGradient_BelowTheFloor_IsJudgedAbsolutely()
    {
        // L = 1 + 1e-12·x: the true derivative 1e-12 is below what a float64 central difference resolves at L ≈ 1
        // (one ulp of L over 2h is 1.1e-11), so the numeric value is rounding noise. Judged relatively it scores ~1;
        // through the floor it scores |a − n| / 1e-3 ≈ 1e-8.
        double[] x = [0.25];
        GradientTensor[] tensors = [new("x", x, [1e-12])];
        GradientChecker.Check(() => 1 + 1e-12 * x[0], tensors).AssertWithin(1e-6);
        GradientCheckReport withoutFloor = GradientChecker.Check(() => 1 + 1e-12 * x[0], tensors, new GradientCheckOptions { RelativeErrorFloor = 1e-300 });
        Assert.True(withoutFloor.Tensors[0].MaxRelativeError > 0.5, withoutFloor.ToString());
    }

    [Fact]
    public void MismatchedLengths_ThrowNamingTheGradient()
    {
        var exception = Assert.Throws<ArgumentException>(() => new GradientTensor("w", new double[6], new double[5]));
        Assert.Equal("analyticGradient", exception.ParamName);
        Assert.Contains("6", exception.Message, StringComparison.Ordinal);
        Assert.Contains("5", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateNames_Throw()
    {
        double[] x = [1.0];
        Assert.Throws<ArgumentException>(() => GradientChecker.Check(() => x[0], [new("x", x, [1.0]), new("x", x, [1.0])]));
    }

    [Fact]
    public void RelativeError_UsesTheFloorOnlyBelowIt()
    {
        Assert.Equal(0.5 / 1.5, GradientChecker.RelativeError(1.0, 0.5, 1e-3), 15);
        Assert.Equal(1e-9 / 1e-3, GradientChecker.RelativeError(1e-9, 0, 1e-3), 15);
        Assert.Equal(double.PositiveInfinity, GradientChecker.RelativeError(double.NaN, 0, 1e-3));
    }
}

using System;
using System.Collections.Generic;
using System.Runtime.Intrinsics;
using Xunit;
using static SimdLstm.Tests.Kernels.KernelTestData;

namespace SimdLstm.Tests.Kernels;

internal delegate void UnaryKernel(ReadOnlySpan<float> x, Span<float> destination);

/// <summary>
/// The elementwise kernels (activations, their derivatives, Scale, RNN forward) against the double
/// reference at every length 0..257 and start offset 0..7, in place, with special values, with bad
/// arguments; and the three vector widths of each operator against each other, bitwise.
/// </summary>
public class ElementwiseTests
{
    /// <summary>One kernel: how to call it, the exact function, the input range and the allowed error.</summary>
    private sealed record Case(string Name, UnaryKernel Kernel, Func<double, double> Reference, double Low, double High, long MaxUlps, double MaxAbs);

    private const float ScaleAlpha = -0.3711f;

    // Tolerances. Sigmoid/Tanh: the documented bound (8 ulp and 3e-7 absolute). Relu, its
    // derivative and Scale are exact (a select, or a single correctly rounded multiply of values
    // whose exact product double holds). (1 − t)(1 + t) and s·(1 − s) each round at most three times
    // (≤ 2^−24 relative each, no cancellation: 1 − x is exact for x ≥ 0.5), and comparing with the
    // rounded reference adds half an ulp: ≤ 3 ulp.
    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["Sigmoid"] = new("Sigmoid", SimdLstm.Kernels.Sigmoid, PointwiseReference.Sigmoid, -30, 30, 8, 3e-7),
        ["Tanh"] = new("Tanh", SimdLstm.Kernels.Tanh, PointwiseReference.Tanh, -10, 10, 8, 3e-7),
        ["Relu"] = new("Relu", SimdLstm.Kernels.Relu, PointwiseReference.Relu, -5, 5, 0, 0),
        ["SigmoidDerivativeFromOutput"] = new("SigmoidDerivativeFromOutput", SimdLstm.Kernels.SigmoidDerivativeFromOutput, PointwiseReference.SigmoidDerivative, 0, 1, 3, 1),
        ["TanhDerivativeFromOutput"] = new("TanhDerivativeFromOutput", SimdLstm.Kernels.TanhDerivativeFromOutput, PointwiseReference.TanhDerivative, -1, 1, 3, 1),
        ["ReluDerivativeFromOutput"] = new("ReluDerivativeFromOutput", SimdLstm.Kernels.ReluDerivativeFromOutput, PointwiseReference.ReluDerivative, -1, 1, 0, 0),
        ["Scale"] = new("Scale", (x, d) => SimdLstm.Kernels.Scale(ScaleAlpha, x, d), v => ScaleAlpha * v, -100, 100, 0, 0),
        ["RnnForwardTanh"] = new("RnnForwardTanh", (x, d) => SimdLstm.Kernels.RnnPointwiseForward(x, d, RnnActivation.Tanh), PointwiseReference.Tanh, -10, 10, 8, 3e-7),
        ["RnnForwardRelu"] = new("RnnForwardRelu", (x, d) => SimdLstm.Kernels.RnnPointwiseForward(x, d, RnnActivation.Relu), PointwiseReference.Relu, -5, 5, 0, 0),
    };

    public static TheoryData<string> KernelNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in Cases.Keys)
            data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void Kernel_MatchesDoubleReference_AtEveryLengthAndOffset(string name)
    {
        Case c = Cases[name];
        var random = new Random(name.Length * 7919);
        foreach ((int n, int inOffset, int outOffset) in LengthsAndOffsets())
        {
            var input = new GuardedBuffer(Uniform(random, n, c.Low, c.High), inOffset);
            var output = new GuardedBuffer(n, outOffset);
            c.Kernel(input.Span, output.Span);
            input.AssertGuardsIntact();
            output.AssertGuardsIntact();
            AssertWithinTolerance(c, input.ToArray(), output.ToArray(), $"length {n}, offsets {inOffset}/{outOffset}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void Kernel_InPlace_EqualsOutOfPlace(string name)
    {
        Case c = Cases[name];
        var random = new Random(name.Length * 31);
        for (int n = 0; n <= 80; n++)
        {
            float[] x = Uniform(random, n, c.Low, c.High);
            var expected = new float[n];
            c.Kernel(x, expected);
            var buffer = new GuardedBuffer(x, n % 8);
            c.Kernel(buffer.Span, buffer.Span);
            buffer.AssertGuardsIntact();
            AssertBitwiseEqual(expected, buffer.Span, $"{name} in place, length {n}");
        }
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void Kernel_SpecialValuesAtRandomPositions_FollowPolicy(string name)
    {
        Case c = Cases[name];
        var random = new Random(name.Length * 101);
        for (int n = 1; n <= 100; n++)
        {
            float[] x = Uniform(random, n, c.Low, c.High);
            SprinkleSpecials(random, x);
            var y = new float[n];
            c.Kernel(x, y);
            AssertWithinTolerance(c, x, y, $"length {n} with specials");
            for (int k = 0; k < n; k++)
            {
                // Zeros keep their documented sign: tanh is odd (tanh(−0) = −0), ReLU gives +0.
                if (name.Contains("Tanh", StringComparison.Ordinal) && !name.Contains("Derivative", StringComparison.Ordinal) && !float.IsNaN(x[k]))
                    Assert.Equal(float.IsNegative(x[k]), float.IsNegative(y[k]));
                if (name is "Relu" or "RnnForwardRelu" && x[k] <= 0f)
                    Assert.Equal(0, BitConverter.SingleToInt32Bits(y[k]));
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void Kernel_ThrowsForWrongDestinationLength_AndWritesNothing(string name)
    {
        Case c = Cases[name];
        foreach ((int n, int m) in new[] { (10, 9), (10, 11), (0, 1), (8, 0) })
        {
            var x = new float[n];
            var destination = new float[m];
            destination.AsSpan().Fill(42f);
            AssertLengthError(() => c.Kernel(x, destination), "destination" is var p && name.StartsWith("Rnn", StringComparison.Ordinal) ? "h" : p, n, m);
            AssertAllEqual(42f, destination);
        }
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void Kernel_ThrowsForPartialOverlap_AndWritesNothing(string name)
    {
        Case c = Cases[name];
        var buffer = new float[40];
        buffer.AsSpan().Fill(0.25f);
        string destinationName = name.StartsWith("Rnn", StringComparison.Ordinal) ? "h" : "destination";
        foreach (int shift in new[] { 1, 3, 8, -1, -7 })
        {
            int inStart = Math.Max(0, -shift), outStart = Math.Max(0, shift);
            AssertArgumentError(() => c.Kernel(buffer.AsSpan(inStart, 30), buffer.AsSpan(outStart, 30)), destinationName);
            AssertAllEqual(0.25f, buffer);
        }
    }

    [Fact]
    public void RnnPointwiseForward_ThrowsForUndefinedActivation()
    {
        var x = new float[4];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SimdLstm.Kernels.RnnPointwiseForward(x, x, (RnnActivation)7));
        Assert.Equal("activation", ex.ParamName);
    }

    [Fact]
    public void Operators_GiveBitwiseIdenticalResultsOnEveryVectorWidth()
    {
        float[] inputs = WidthTestInputs();
        AssertWidthsAgree<SigmoidOperator>(inputs, "Sigmoid");
        AssertWidthsAgree<TanhOperator>(inputs, "Tanh");
        AssertWidthsAgree<ReluOperator>(inputs, "Relu");
        AssertWidthsAgree<SigmoidDerivativeOperator>(inputs, "SigmoidDerivative");
        AssertWidthsAgree<TanhDerivativeOperator>(inputs, "TanhDerivative");
        AssertWidthsAgree<ReluDerivativeOperator>(inputs, "ReluDerivative");
    }

    [Fact]
    public void Sigmoid_SaturatesAndUnderflowsAsDocumented()
    {
        float[] x = [float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 20f, -90f, -103f, -104f, -200f, float.NaN];
        var y = new float[x.Length];
        SimdLstm.Kernels.Sigmoid(x, y);
        Assert.Equal(1f, y[0]);
        Assert.Equal(0f, y[1]);
        Assert.Equal(0.5f, y[2]);
        Assert.Equal(0.5f, y[3]);
        Assert.Equal(1f, y[4]);                                   // 1 − 2e-9 rounds to 1
        Assert.True(y[5] > 0f && float.IsSubnormal(y[5]));        // σ(−90) ≈ 8.2e-40: subnormal, not 0
        Assert.True(y[6] > 0f && y[6] < 1e-44f);                  // σ(−103) ≈ 1.4e-45 · 1.3
        Assert.Equal(0f, y[7]);                                   // σ(−104) ≈ 6.8e-46 < half the smallest subnormal
        Assert.Equal(0f, y[8]);
        Assert.True(float.IsNaN(y[9]));
    }

    [Fact]
    public void Tanh_IsRelativelyAccurateNearZero()
    {
        float[] x = [1e-3f, -1e-3f, 1e-20f, -1e-38f, float.Epsilon, -float.Epsilon, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity];
        var y = new float[x.Length];
        SimdLstm.Kernels.Tanh(x, y);
        for (int k = 0; k < 6; k++)
            Assert.True(FloatUlp.Distance(y[k], Math.Tanh(x[k])) <= 1, $"tanh({x[k]:R}) = {y[k]:R}");
        Assert.Equal(0, BitConverter.SingleToInt32Bits(y[6]));
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(y[7]));
        Assert.Equal(1f, y[8]);
        Assert.Equal(-1f, y[9]);
    }

    private static float[] WidthTestInputs()
    {
        var random = new Random(5);
        var inputs = new List<float>();
        for (int k = 0; k < 40_000; k++)
            inputs.Add((float)(random.NextDouble() * 240 - 120));
        for (int k = 0; k < 40_000; k++)
            inputs.Add((float)(random.NextDouble() * 2 - 1));
        for (int k = 0; k < 20_000; k++)
            inputs.Add(BitConverter.Int32BitsToSingle(random.Next() | (random.Next(2) << 31)));
        inputs.AddRange([float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, -float.Epsilon, 0.625f, -0.625f, 0.62499994f]);
        while (inputs.Count % 8 != 0)
            inputs.Add(1f);
        return inputs.ToArray();
    }

    private static void AssertWidthsAgree<TOp>(float[] inputs, string name)
        where TOp : struct, IUnaryOperator
    {
        for (int k = 0; k < inputs.Length; k += 8)
        {
            Vector256<float> wide = TOp.Invoke(Vector256.Create(inputs.AsSpan(k, 8)));
            Vector128<float> low = TOp.Invoke(Vector128.Create(inputs.AsSpan(k, 4)));
            Vector128<float> high = TOp.Invoke(Vector128.Create(inputs.AsSpan(k + 4, 4)));
            for (int lane = 0; lane < 8; lane++)
            {
                int scalar = BitConverter.SingleToInt32Bits(TOp.Invoke(inputs[k + lane]));
                int v256 = BitConverter.SingleToInt32Bits(wide.GetElement(lane));
                int v128 = BitConverter.SingleToInt32Bits(lane < 4 ? low.GetElement(lane) : high.GetElement(lane - 4));
                if (scalar != v256 || scalar != v128)
                    Assert.Fail($"{name}({inputs[k + lane]:R}): scalar {TOp.Invoke(inputs[k + lane]):R}, Vector128 {BitConverter.Int32BitsToSingle(v128):R}, Vector256 {BitConverter.Int32BitsToSingle(v256):R}");
            }
        }
    }

    private static void AssertWithinTolerance(Case c, float[] x, float[] y, string where)
    {
        for (int k = 0; k < x.Length; k++)
        {
            double exact = c.Reference(x[k]);
            long ulps = FloatUlp.Distance(y[k], exact);
            if (ulps == 0)
                continue;
            double abs = Math.Abs(y[k] - exact);
            if (ulps > c.MaxUlps || !(abs <= c.MaxAbs))
                Assert.Fail($"{c.Name}, {where}, element {k}: x = {x[k]:R}, got {y[k]:R}, exact {exact:R} ({ulps} ulp, abs error {abs:G3})");
        }
    }
}

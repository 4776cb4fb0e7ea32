using System;
using Xunit;
using static SimdLstm.Tests.Kernels.KernelTestData;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// The RNN pointwise backward against the double reference at every length and offset, bitwise
/// against the unfused derivative kernels, in place, validation; and the reference derivative
/// against central differences of the reference forward. (The forward is covered in ElementwiseTests.)
/// </summary>
public class RnnPointwiseTests
{
    [Theory]
    [InlineData(RnnActivation.Tanh)]
    [InlineData(RnnActivation.Relu)]
    public void Backward_MatchesDoubleReference_AtEveryLengthAndOffset(RnnActivation activation)
    {
        var random = new Random(51 + (int)activation);
        foreach ((int n, int o1, int o2) in LengthsAndOffsets())
        {
            float[] pre = Uniform(random, n, -4, 4);
            var hValues = new float[n];
            SimdLstm.Kernels.RnnPointwiseForward(pre, hValues, activation);
            var h = new GuardedBuffer(hValues, o1);
            var dH = new GuardedBuffer(Uniform(random, n, -2, 2), o2);
            var dPre = new GuardedBuffer(n, (o1 + 3) % 8);
            SimdLstm.Kernels.RnnPointwiseBackward(h.Span, dH.Span, dPre.Span, activation);
            h.AssertGuardsIntact();
            dH.AssertGuardsIntact();
            dPre.AssertGuardsIntact();
            for (int k = 0; k < n; k++)
            {
                double hk = h.Span[k];
                double exact = dH.Span[k] * (activation == RnnActivation.Tanh ? 1 - hk * hk : hk > 0 ? 1 : 0);

                // (1 − h)(1 + h) rounds at most three times (u relative each) and the product with dH once more: 4u.
                Assert.True(Math.Abs(dPre.Span[k] - exact) <= 4 * Eps * Math.Abs(exact), $"length {n} element {k}: got {dPre.Span[k]:R}, exact {exact:R}");
            }
        }
    }

    [Theory]
    [InlineData(RnnActivation.Tanh)]
    [InlineData(RnnActivation.Relu)]
    public void Backward_EqualsUnfusedKernels_Bitwise_AndInPlace(RnnActivation activation)
    {
        var random = new Random(53);
        for (int n = 0; n <= 80; n++)
        {
            float[] h = Uniform(random, n, -1, 1);
            float[] dH = Uniform(random, n, -2, 2);
            var derivative = new float[n];
            if (activation == RnnActivation.Tanh)
                SimdLstm.Kernels.TanhDerivativeFromOutput(h, derivative);
            else
                SimdLstm.Kernels.ReluDerivativeFromOutput(h, derivative);
            var expected = new float[n];
            for (int k = 0; k < n; k++)
                expected[k] = dH[k] * derivative[k];

            var dPre = new float[n];
            SimdLstm.Kernels.RnnPointwiseBackward(h, dH, dPre, activation);
            AssertBitwiseEqual(expected, dPre, $"length {n}");
            SimdLstm.Kernels.RnnPointwiseBackward(h, dH, dH, activation);
            AssertBitwiseEqual(expected, dH, $"in place, length {n}");
        }
    }

    /// <summary>
    /// The reference derivative from the output equals d act/d pre by central differences (step 1e-6,
    /// error ~1e-10; ReLU sampled away from its kink at 0).
    /// </summary>
    [Theory]
    [InlineData(RnnActivation.Tanh)]
    [InlineData(RnnActivation.Relu)]
    public void ReferenceDerivative_MatchesFiniteDifferences(RnnActivation activation)
    {
        Func<double, double> act = activation == RnnActivation.Tanh ? Math.Tanh : v => Math.Max(v, 0);
        var random = new Random(54);
        for (int k = 0; k < 1000; k++)
        {
            double pre = random.NextDouble() * 8 - 4;
            if (Math.Abs(pre) < 1e-3)
                continue;
            double h = act(pre);
            double fromOutput = activation == RnnActivation.Tanh ? PointwiseReference.TanhDerivative(h) : PointwiseReference.ReluDerivative(h);
            double numeric = (act(pre + 1e-6) - act(pre - 1e-6)) / 2e-6;
            Assert.True(Math.Abs(fromOutput - numeric) < 1e-8, $"pre {pre:R}: from output {fromOutput:R}, numeric {numeric:R}");
        }
    }

    [Fact]
    public void Backward_ThrowsForBadArguments_AndWritesNothing()
    {
        var h = new float[6];
        var dPre = new float[6];
        dPre.AsSpan().Fill(7f);
        AssertLengthError(() => SimdLstm.Kernels.RnnPointwiseBackward(h, new float[5], dPre, RnnActivation.Tanh), "dH", 6, 5);
        AssertLengthError(() => SimdLstm.Kernels.RnnPointwiseBackward(h, new float[6], new float[7], RnnActivation.Tanh), "dPreActivation", 6, 7);
        AssertArgumentError(() => SimdLstm.Kernels.RnnPointwiseBackward(dPre, new float[6], dPre, RnnActivation.Tanh), "dPreActivation");
        var shared = new float[8];
        AssertArgumentError(() => SimdLstm.Kernels.RnnPointwiseBackward(h, shared.AsSpan(0, 6), shared.AsSpan(2, 6), RnnActivation.Relu), "dPreActivation");
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SimdLstm.Kernels.RnnPointwiseBackward(h, new float[6], dPre, (RnnActivation)(-1)));
        Assert.Equal("activation", ex.ParamName);
        AssertAllEqual(7f, dPre);
    }
}

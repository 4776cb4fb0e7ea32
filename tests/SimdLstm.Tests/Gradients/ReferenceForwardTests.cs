using System;
using System.Linq;
using SimdLstm.Text;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Gradients;

/// <summary>
/// The reference's forward semantics, which the gradient checks cannot prove (a consistent but wrong forward has
/// consistent gradients): values computed independently from PyTorch's documented equations, stacking, defaults and heads.
/// </summary>
public class ReferenceForwardTests
{
    // Expected values below were computed outside this code base with Python's math module, transcribing the
    // nn.LSTM / nn.RNN equations directly (scalar loops, gate rows i, f, g, o). Double rounding differs only in the
    // order of a handful of additions, hence 1e-15. The GRU's values are fractions worked out by hand (see its test).
    private const double Tolerance = 1e-15;

    [Fact]
    public void Lstm_MatchesIndependentlyComputedValues()
    {
        var p = new ReferenceWeights(CellKind.Lstm, inputSize: 1, hiddenSize: 1, layers: 1, hasBias: true);
        new[] { 0.5, -0.3, 0.8, 0.1 }.CopyTo(p.WeightIh[0], 0);  // rows i, f, g, o
        new[] { 0.2, 0.4, -0.6, 0.7 }.CopyTo(p.WeightHh[0], 0);
        new[] { 0.1, 0.2, -0.1, 0.05 }.CopyTo(p.BiasIh[0], 0);
        new[] { 0.0, 0.3, 0.2, -0.15 }.CopyTo(p.BiasHh[0], 0);

        RecurrentForward f = LstmReference.Forward(p, [1.0, -0.5], steps: 2, batchSize: 1);

        Assert.Equal(0.21605257069136274, f.Output[0], Tolerance);
        Assert.Equal(0.060259585897607486, f.Output[1], Tolerance);
        Assert.Equal(0.060259585897607486, f.HN[0], Tolerance);
        Assert.Equal(0.1210322387860544, f.CN[0], Tolerance);
    }

    /// <summary>
    /// nn.GRU with I = H = 1 over T = 2 steps, weights chosen so that every pre-activation is 0 or the logarithm of a
    /// small number and every value is a fraction worked out by hand (σ(0) = 1/2, σ(ln 3) = 3/4, tanh(ln k) = (k² − 1)/(k² + 1)).
    /// Every weight and bias is non-zero at some step, so a wrong gate row, a bias on the wrong side of r, or z and 1 − z
    /// swapped each change the result.
    /// <code>
    /// rows r, z, n:  W_ih = [1, −1, 1]   W_hh = [−1, 1, 0.4]   b_ih = [0.5, ln 3, ln 2 + 0.26]   b_hh = [−0.3, −0.2, −0.6]
    /// h0 = 0.2, x1 = 0, x2 = ln 3 + 0.1
    ///
    /// t = 1:  r = σ(0 + 0.5 + (−1)(0.2) − 0.3)                    = σ(0)    = 1/2
    ///         z = σ(0 + ln 3 + (1)(0.2) − 0.2)                    = σ(ln 3) = 3/4
    ///         u_n = 0.4 · 0.2 − 0.6 = −0.52
    ///         n = tanh(0 + ln 2 + 0.26 + (1/2)(−0.52))            = tanh(ln 2) = 3/5
    ///         h1 = (1 − 3/4)(3/5) + (3/4)(0.2) = 3/20 + 3/20      = 3/10
    /// t = 2:  r = σ((ln 3 + 0.1) + 0.5 + (−1)(0.3) − 0.3)         = σ(ln 3) = 3/4
    ///         z = σ(−(ln 3 + 0.1) + ln 3 + (1)(0.3) − 0.2)        = σ(0)    = 1/2
    ///         u_n = 0.4 · 0.3 − 0.6 = −0.48
    ///         n = tanh((ln 3 + 0.1) + ln 2 + 0.26 + (3/4)(−0.48)) = tanh(ln 6) = 35/37
    ///         h2 = (1/2)(35/37) + (1/2)(3/10) = 35/74 + 3/20 = (350 + 111)/740 = 461/740
    /// </code>
    /// The two GRU forward faults: z and 1 − z swapped gives h1 = (3/4)(3/5) + (1/4)(0.2) = 1/2; r on the input side gives
    /// n = tanh((1/2)(ln 2 + 0.26) − 0.52) at t = 1, no longer 3/5.
    /// </summary>
    [Fact]
    public void Gru_MatchesHandComputedValues()
    {
        var p = new ReferenceWeights(CellKind.Gru, inputSize: 1, hiddenSize: 1, layers: 1, hasBias: true);
        new[] { 1.0, -1.0, 1.0 }.CopyTo(p.WeightIh[0], 0); // rows r, z, n
        new[] { -1.0, 1.0, 0.4 }.CopyTo(p.WeightHh[0], 0);
        new[] { 0.5, Math.Log(3), Math.Log(2) + 0.26 }.CopyTo(p.BiasIh[0], 0);
        new[] { -0.3, -0.2, -0.6 }.CopyTo(p.BiasHh[0], 0);
        double[] input = [0, Math.Log(3) + 0.1], h0 = [0.2]; // [T, B, I], [L, B, H]

        RecurrentForward f = GruReference.Forward(p, input, steps: 2, batchSize: 1, h0);

        // Exact fractions, rounded once to double; the reference's exp, tanh and sums round a few times more.
        const double GruTolerance = 4e-16;
        Assert.Equal(3.0 / 10, f.Output[0], GruTolerance);
        Assert.Equal(461.0 / 740, f.Output[1], GruTolerance);
        Assert.Equal(461.0 / 740, f.HN[0], GruTolerance);
        Assert.Empty(f.CN);
        double[] gates = [1.0 / 2, 3.0 / 4, 3.0 / 5, 3.0 / 4, 1.0 / 2, 35.0 / 37]; // [T, B, 3H], rows r, z, n
        for (int k = 0; k < gates.Length; k++)
            Assert.Equal(gates[k], f.Gates[0][k], GruTolerance);
        double[] recurrent = [-0.5, 0, -0.52]; // t = 1: W_hh h0 + b_hh = (−1)(0.2) − 0.3, (1)(0.2) − 0.2, 0.4 · 0.2 − 0.6
        for (int k = 0; k < recurrent.Length; k++)
            Assert.Equal(recurrent[k], f.RecurrentProjection[0][k], GruTolerance);

        Assert.Equal(1.0 / 2, GruReference.Forward(p, input, 2, 1, h0, ReferenceFault.UpdateGateSwapped).Output[0], GruTolerance);
        double resetOnInput = Math.Tanh(0.5 * (Math.Log(2) + 0.26) - 0.52);
        Assert.Equal(resetOnInput, GruReference.Forward(p, input, 2, 1, h0, ReferenceFault.ResetGateOnInputSide).Gates[0][2], GruTolerance);
    }

    [Theory]
    [InlineData(RnnActivation.Tanh, new[] { 0.09966799462495582, 0.22127846789844396, -0.9739740662747073, 0.7844855120029857 })]
    [InlineData(RnnActivation.Relu, new[] { 0.1, 0.22499999999999998, 0.0, 1.0574999999999999 })]
    public void Rnn_MatchesIndependentlyComputedValues(RnnActivation activation, double[] expected)
    {
        var p = new ReferenceWeights(CellKind.Rnn, inputSize: 2, hiddenSize: 2, layers: 1, hasBias: true, activation);
        new[] { 0.5, -1.0, 0.25, 0.75 }.CopyTo(p.WeightIh[0], 0); // [H, I]
        new[] { 0.3, -0.2, 0.6, 0.1 }.CopyTo(p.WeightHh[0], 0);   // [H, H]
        new[] { 0.05, -0.1 }.CopyTo(p.BiasIh[0], 0);
        new[] { 0.05, -0.3 }.CopyTo(p.BiasHh[0], 0);

        RecurrentForward f = RnnReference.Forward(p, [1.0, 0.5, -0.5, 2.0], steps: 2, batchSize: 1); // [T, B, I]

        for (int k = 0; k < expected.Length; k++)
            Assert.Equal(expected[k], f.Output[k], Tolerance);
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void StackedLayers_EqualSingleLayersChained(CellKind cell)
    {
        const int Steps = 3, BatchSize = 2, InputSize = 4, HiddenSize = 5;
        var random = new SeededRandom(5);
        var stacked = new ReferenceWeights(cell, InputSize, HiddenSize, layers: 2, hasBias: true).Randomize(random, 0.6);
        double[] input = random.Uniform(Steps * BatchSize * InputSize, -1, 1);
        double[] h0 = random.Uniform(2 * BatchSize * HiddenSize, -1, 1), c0 = random.Uniform(2 * BatchSize * HiddenSize, -1, 1);

        var bottom = new ReferenceWeights(cell, InputSize, HiddenSize, 1, true);
        var top = new ReferenceWeights(cell, HiddenSize, HiddenSize, 1, true);
        foreach ((ReferenceWeights single, int l) in new[] { (bottom, 0), (top, 1) })
        {
            stacked.WeightIh[l].CopyTo(single.WeightIh[0], 0);
            stacked.WeightHh[l].CopyTo(single.WeightHh[0], 0);
            stacked.BiasIh[l].CopyTo(single.BiasIh[0], 0);
            stacked.BiasHh[l].CopyTo(single.BiasHh[0], 0);
        }
        int n = BatchSize * HiddenSize;
        RecurrentForward first = RecurrentReference.Forward(bottom, input, Steps, BatchSize, h0[..n], c0[..n]);
        RecurrentForward second = RecurrentReference.Forward(top, first.Output, Steps, BatchSize, h0[n..], c0[n..]);
        RecurrentForward both = RecurrentReference.Forward(stacked, input, Steps, BatchSize, h0, c0);

        Assert.Equal(second.Output, both.Output);
        Assert.Equal(first.HN.Concat(second.HN), both.HN);
        Assert.Equal(first.CN.Concat(second.CN), both.CN);
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void AbsentInitialState_IsZeros_AndTheFaultMakesItOnes(CellKind cell)
    {
        const int Steps = 2, BatchSize = 2, InputSize = 3, HiddenSize = 4, Layers = 2;
        var random = new SeededRandom(6);
        var p = new ReferenceWeights(cell, InputSize, HiddenSize, Layers, hasBias: false).Randomize(random, 0.6);
        double[] input = random.Uniform(Steps * BatchSize * InputSize, -1, 1);
        int stateLength = Layers * BatchSize * HiddenSize;
        double[] zeros = new double[stateLength], ones = Enumerable.Repeat(1.0, stateLength).ToArray();

        Assert.Equal(RecurrentReference.Forward(p, input, Steps, BatchSize, zeros, zeros).Output, RecurrentReference.Forward(p, input, Steps, BatchSize).Output);
        double[] faulty = RecurrentReference.Forward(p, input, Steps, BatchSize, faults: ReferenceFault.InitialStateOnes).Output;
        Assert.Equal(RecurrentReference.Forward(p, input, Steps, BatchSize, ones, ones).Output, faulty);
        Assert.NotEqual(RecurrentReference.Forward(p, input, Steps, BatchSize).Output, faulty);
    }

    [Fact]
    public void OneHotInput_SelectsAColumnOfWeightIh()
    {
        const int Vocabulary = 6, HiddenSize = 3;
        var p = new ReferenceWeights(CellKind.Rnn, Vocabulary, HiddenSize, 1, hasBias: false).Randomize(new SeededRandom(8), 1);
        int[] tokens = [4]; // T = B = 1
        RecurrentForward f = RnnReference.Forward(p, TokenReference.OneHot(tokens, Vocabulary), 1, 1);
        for (int j = 0; j < HiddenSize; j++)
            Assert.Equal(Math.Tanh(p.WeightIh[0][j * Vocabulary + 4]), f.Output[j], Tolerance); // h0 = 0, so z = column 4
    }

    [Fact]
    public void SoftmaxCrossEntropy_MatchesClosedForm()
    {
        // Row 0: logits [0, ln 3] → p = [1/4, 3/4], target 1 → −ln(3/4). Row 1: equal logits → p = [1/2, 1/2], target 0 → ln 2.
        double[] logits = [0, Math.Log(3), 5, 5];
        int[] targets = [1, 0];
        double loss = SoftmaxCrossEntropyReference.Forward(logits, targets, rows: 2, classes: 2, out double[] p);
        Assert.Equal((-Math.Log(0.75) + Math.Log(2)) / 2, loss, Tolerance);
        Assert.Equal([0.25, 0.75, 0.5, 0.5], p.Select(v => Math.Round(v, 15)));
        double[] dLogits = SoftmaxCrossEntropyReference.Backward(p, targets, 2, 2);
        Assert.Equal([0.125, -0.125, -0.25, 0.25], dLogits.Select(v => Math.Round(v, 15)));
    }

    [Fact]
    public void Linear_MatchesHandComputedValues()
    {
        double[] y = LinearReference.Forward([1, 2, 3, -1, 0, 4], [0.5, -0.5], [1, 1, 1, 2, 0, -1], rows: 2, inFeatures: 3, outFeatures: 2);
        Assert.Equal([6.5, 2.5, -0.5, -6.5], y); // W [2, 3] · x rows (1,1,1), (2,0,−1), plus bias
    }

    [Fact]
    public void WrongInputLength_ThrowsNamingInputWithShape()
    {
        var p = new ReferenceWeights(CellKind.Lstm, 3, 2, 1, hasBias: true);
        var exception = Assert.Throws<ArgumentException>(() => LstmReference.Forward(p, new double[7], steps: 2, batchSize: 1));
        Assert.Equal("input", exception.ParamName);
        Assert.Contains("[T, B, I] = 6 elements but got 7", exception.Message, StringComparison.Ordinal);
    }
}

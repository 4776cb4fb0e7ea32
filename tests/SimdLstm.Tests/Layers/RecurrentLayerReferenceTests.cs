using System;
using System.Linq;
using FsCheck.Xunit;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// The fast float layers against the float64 reference (itself proven against finite differences in
/// SimdLstm.Tests.Gradients): forward outputs, final states and every gradient of BPTT, over random small odd shapes.
/// </summary>
/// <remarks>
/// Tolerance: an element passes when |fast − reference| ≤ 2e-5 + 1e-4·|reference|. Why: the reference computes in double
/// from exactly the same float inputs and weights, so the difference is float rounding alone. Each value is a dot product
/// of at most I + H ≤ 34 terms (|terms| ≤ ~1) per step, with relative rounding ≤ n·2⁻²⁴ ≈ 2e-6, through at most 8 steps and
/// 3 layers where it is carried by factors below 1 (σ', tanh', f); the activations add ≤ 3e-7 absolute each. Gradients
/// sum up to T·B = 24 such products, so their absolute error stays near 1e-5 at the scale of the values (≤ ~1) — the
/// relative term covers larger values. A float implementation with one wrong term (a dropped carry, a wrong derivative)
/// is off by the size of that term, orders of magnitude above this bound.
/// </remarks>
public class RecurrentLayerReferenceTests
{
    private const double RelativeTolerance = 1e-4;
    private const double AbsoluteTolerance = 2e-5;

    [Property(Arbitrary = new[] { typeof(RecurrentArbitraries) }, MaxTest = 40)]
    public void EveryCell_ForwardAndBackward_MatchReference(RecurrentCase testCase)
    {
        foreach (CellKind cell in CellCases.All)
            CheckAgainstReference(testCase, cell);
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void LargerShape_ForwardAndBackward_MatchReference(CellKind cell)
    {
        // Larger than the property's shapes so that every kernel's vector path and blocking (not just remainders) runs.
        // Weights as PyTorch initialises them, U(−1/√H, 1/√H): with the property's ±0.6 at H = 45 the recurrence would
        // amplify gradients ~2× per step, outside the regime the tolerance above is derived for.
        var shape = new RecurrentShape(InputSize: 37, HiddenSize: 45, Steps: 6, BatchSize: 5, Layers: 2, HasBias: true, RnnActivation.Tanh);
        CheckAgainstReference(new RecurrentCase(shape, 99), cell, weightScale: 1 / Math.Sqrt(shape.HiddenSize));
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void TruncatedBptt_TwoChunks_EqualsSumOfChunksWithTheBoundaryCut(CellKind cell)
    {
        const int steps = 4, batch = 2, inputSize = 5, hiddenSize = 6, layers = 2;
        var random = new SeededRandom(77);
        var options = new RecurrentOptions(cell, inputSize, hiddenSize, layers);
        ReferenceWeights reference = new ReferenceWeights(cell, inputSize, hiddenSize, layers, hasBias: true).Randomize(random, 0.5);
        RecurrentLayer layer = CreateLayer(options, reference);
        float[] chunk1 = random.UniformSingle(steps * batch * inputSize, -1, 1), chunk2 = random.UniformSingle(steps * batch * inputSize, -1, 1);
        float[] dOut1 = random.UniformSingle(steps * batch * hiddenSize, -1, 1), dOut2 = random.UniformSingle(steps * batch * hiddenSize, -1, 1);

        // Fast: the state carries from chunk 1 into chunk 2; gradients accumulate over both backward passes.
        RecurrentState state = layer.CreateState(batch);
        RecurrentWorkspace workspace = layer.CreateWorkspace(steps, batch);
        RecurrentParameters gradients = layer.CreateGradients();
        float[] output = new float[steps * batch * hiddenSize];
        layer.Forward(chunk1, steps, state, workspace, output);
        layer.Backward(dOut1, workspace, gradients);
        layer.Forward(chunk2, steps, state, workspace, output);
        layer.Backward(dOut2, workspace, gradients);

        // Reference: chunk 1 from zeros; chunk 2 from chunk 1's final state taken as a constant (the cut); gradients summed.
        int stateLength = layers * batch * hiddenSize;
        ReferenceWeights expected = reference.ZerosLike();
        RecurrentForward f1 = RecurrentReference.Forward(reference, ToDouble(chunk1), steps, batch);
        RecurrentReference.Backward(f1, ToDouble(dOut1), null, null, expected, new double[chunk1.Length], new double[stateLength], new double[stateLength]);
        RecurrentForward f2 = RecurrentReference.Forward(reference, ToDouble(chunk2), steps, batch, f1.HN, f1.CN);
        RecurrentReference.Backward(f2, ToDouble(dOut2), null, null, expected, new double[chunk2.Length], new double[stateLength], new double[stateLength]);

        ReferenceComparison.AssertClose("output of chunk 2", output, f2.Output, RelativeTolerance, AbsoluteTolerance);
        AssertGradientsMatch(gradients, expected);
    }

    [Theory]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Gru, true)]
    [InlineData(CellKind.Gru, false)]
    [InlineData(CellKind.Rnn, false)]
    public void SequenceModel_TokenInputs_LossAndGradientsMatchReference(CellKind cell, bool bias)
    {
        const int vocabulary = 11, hiddenSize = 9, layers = 2, steps = 5, batch = 3, classes = 7;
        var random = new SeededRandom(5);
        var options = new RecurrentOptions(cell, vocabulary, hiddenSize, layers, bias);
        var reference = new ModelReference(new ReferenceWeights(cell, vocabulary, hiddenSize, layers, bias), classes, linearHasBias: true).Randomize(random, 0.5);
        SequenceModel model = new(options, classes, seed: 0);
        CopyNamed(reference.NamedParameters(), model.Parameters);
        int[] tokens = random.Tokens(steps * batch, vocabulary), targets = random.Tokens(steps * batch, classes);

        SequenceModelGradients gradients = model.CreateGradients();
        float loss = model.ForwardBackward(tokens, targets, steps, model.CreateState(batch), model.CreateWorkspace(steps, batch), gradients);
        ModelGradients expected = reference.GradientsFromTokens(tokens, steps, batch, targets);

        Assert.True(Math.Abs(loss - expected.Loss) <= 1e-5 * Math.Abs(expected.Loss), $"loss {loss} vs reference {expected.Loss}");
        foreach ((string name, double[] values) in expected.NamedParameters())
            ReferenceComparison.AssertClose(name, gradients.Buffer[name].Span, values, RelativeTolerance, AbsoluteTolerance);

        float evaluation = model.Loss(tokens, targets, steps, model.CreateState(batch), model.CreateWorkspace(steps, batch));
        Assert.Equal(loss, evaluation);
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void SequenceModel_DenseInputs_LossAndGradientsMatchReference(CellKind cell)
    {
        const int inputSize = 2, hiddenSize = 16, steps = 8, batch = 4, classes = 2;
        var random = new SeededRandom(8);
        var options = new RecurrentOptions(cell, inputSize, hiddenSize);
        var reference = new ModelReference(new ReferenceWeights(cell, inputSize, hiddenSize, 1, true), classes, linearHasBias: true).Randomize(random, 0.5);
        SequenceModel model = new(options, classes, seed: 0);
        CopyNamed(reference.NamedParameters(), model.Parameters);
        float[] input = random.UniformSingle(steps * batch * inputSize, 0, 1);
        int[] targets = random.Tokens(steps * batch, classes);

        SequenceModelGradients gradients = model.CreateGradients();
        float loss = model.ForwardBackward(input, targets, steps, model.CreateState(batch), model.CreateWorkspace(steps, batch), gradients);
        ModelGradients expected = reference.Gradients(ToDouble(input), steps, batch, targets);
        Assert.True(Math.Abs(loss - expected.Loss) <= 1e-5 * Math.Abs(expected.Loss), $"loss {loss} vs reference {expected.Loss}");
        foreach ((string name, double[] values) in expected.NamedParameters())
            ReferenceComparison.AssertClose(name, gradients.Buffer[name].Span, values, RelativeTolerance, AbsoluteTolerance);
    }

    private static void CheckAgainstReference(RecurrentCase testCase, CellKind cell, double weightScale = 0.6)
    {
        RecurrentShape s = testCase.Shape;
        SeededRandom random = testCase.CreateRandom();
        var options = new RecurrentOptions(cell, s.InputSize, s.HiddenSize, s.Layers, s.HasBias, s.Activation);
        ReferenceWeights reference = new ReferenceWeights(cell, s.InputSize, s.HiddenSize, s.Layers, s.HasBias, s.Activation).Randomize(random, weightScale);
        RecurrentLayer layer = CreateLayer(options, reference);
        int stateLength = s.Layers * s.BatchSize * s.HiddenSize;
        float[] input = random.UniformSingle(s.Steps * s.BatchSize * s.InputSize, -1, 1);
        float[] h0 = random.UniformSingle(stateLength, -0.5f, 0.5f), c0 = random.UniformSingle(stateLength, -0.5f, 0.5f);
        float[] dOutput = random.UniformSingle(s.Steps * s.BatchSize * s.HiddenSize, -1, 1);
        float[] dHN = random.UniformSingle(stateLength, -1, 1), dCN = random.UniformSingle(stateLength, -1, 1);
        bool lstm = options.HasCellState;

        RecurrentState state = layer.CreateState(s.BatchSize);
        state.SetHidden(h0);
        if (lstm) state.SetCell(c0);
        RecurrentWorkspace workspace = layer.CreateWorkspace(s.Steps, s.BatchSize);
        float[] output = new float[dOutput.Length];
        layer.Forward(input, s.Steps, state, workspace, output);
        RecurrentParameters gradients = layer.CreateGradients();
        float[] dInput = new float[input.Length], dH0 = new float[stateLength], dC0 = lstm ? new float[stateLength] : [];
        layer.Backward(dOutput, workspace, gradients, dInput, dHN, lstm ? dCN : default, dH0, lstm ? dC0 : default);

        RecurrentForward f = RecurrentReference.Forward(reference, ToDouble(input), s.Steps, s.BatchSize, ToDouble(h0), lstm ? ToDouble(c0) : null);
        ReferenceWeights expected = reference.ZerosLike();
        double[] eInput = new double[input.Length], eH0 = new double[stateLength], eC0 = new double[stateLength];
        RecurrentReference.Backward(f, ToDouble(dOutput), ToDouble(dHN), lstm ? ToDouble(dCN) : null, expected, eInput, eH0, eC0);

        var worst = new WorstComparison();
        worst.Add(ReferenceComparison.AssertClose("output", output, f.Output, RelativeTolerance, AbsoluteTolerance));
        worst.Add(ReferenceComparison.AssertClose("hN", state.Hidden, f.HN, RelativeTolerance, AbsoluteTolerance));
        if (lstm) worst.Add(ReferenceComparison.AssertClose("cN", state.Cell, f.CN, RelativeTolerance, AbsoluteTolerance));
        AssertGradientsMatch(gradients, expected, worst);
        worst.Add(ReferenceComparison.AssertClose("dInput", dInput, eInput, RelativeTolerance, AbsoluteTolerance));
        worst.Add(ReferenceComparison.AssertClose("dH0", dH0, eH0, RelativeTolerance, AbsoluteTolerance));
        if (lstm) worst.Add(ReferenceComparison.AssertClose("dC0", dC0, eC0, RelativeTolerance, AbsoluteTolerance));
        worst.Report($"{cell} {s}");
    }

    private static void AssertGradientsMatch(RecurrentParameters actual, ReferenceWeights expected, WorstComparison? worst = null)
    {
        foreach ((string name, double[] values) in expected.Named())
        {
            ComparisonResult result = ReferenceComparison.AssertClose("d" + name, actual.Buffer[name].Span, values, RelativeTolerance, AbsoluteTolerance);
            worst?.Add(result);
        }
    }

    /// <summary>Tracks the comparison closest to its tolerance, and writes it to the test output (the margin of a passing check).</summary>
    private sealed class WorstComparison
    {
        private ComparisonResult? _worst;
        private double _maxDifference;

        public void Add(ComparisonResult result)
        {
            _maxDifference = Math.Max(_maxDifference, result.MaxAbsoluteDifference);
            if (_worst is null || result.WorstRatio > _worst.WorstRatio)
                _worst = result;
        }

        public void Report(string what) =>
            TestContext.Current.TestOutputHelper?.WriteLine($"{what}: max |fast − reference| {_maxDifference:G3}; closest to tolerance: {_worst}");
    }

    /// <summary>A fast layer whose float weights equal the reference's, which is then rounded to those float values.</summary>
    private static RecurrentLayer CreateLayer(RecurrentOptions options, ReferenceWeights reference)
    {
        var layer = new RecurrentLayer(options);
        CopyNamed(reference.Named(), layer.Weights.Buffer);
        return layer;
    }

    private static void CopyNamed(System.Collections.Generic.IEnumerable<(string Name, double[] Values)> tensors, ParameterBuffer buffer) =>
        ReferenceCopy.CopyNamed(tensors, buffer);

    private static double[] ToDouble(float[] values) => values.Select(v => (double)v).ToArray();
}

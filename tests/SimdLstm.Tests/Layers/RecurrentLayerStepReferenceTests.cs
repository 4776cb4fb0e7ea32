using System;
using System.Linq;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// The batch-1 streaming step (one pass over W_ih and W_hh together) against the float64 reference, step by step, with
/// shapes chosen so the eight-row blocks of the step kernel end in a partial block (G·H not a multiple of 8) and both
/// matrices have leftover columns (I and H not multiples of 8), over two layers (the upper layer's input is the lower
/// layer's new h).
/// </summary>
/// <remarks>
/// Tolerance: |fast − reference| ≤ 2e-5 + 1e-4·|reference|, as in <see cref="RecurrentLayerReferenceTests"/>: each
/// pre-activation is a dot product of I + H ≤ 82 terms with |w| ≤ 0.3 and |x|, |h| ≤ 1, so its float rounding is at most
/// about 82 · 2⁻²⁴ · 82 · 0.3 ≈ 1.2e-4 in the worst case and a few 1e-6 in practice (errors of random sign); it reaches h
/// through factors below 1 (σ', tanh', o) and over 6 steps is carried by f &lt; 1. A wrong or missing term (one weight
/// row, a bias, a column of the tail) is off by ~0.01–0.3, far beyond the bound.
/// </remarks>
public class RecurrentLayerStepReferenceTests
{
    private const double RelativeTolerance = 1e-4;
    private const double AbsoluteTolerance = 2e-5;

    // Every cell with and without bias, and the ReLU RNN.
    public static TheoryData<CellKind, RnnActivation, bool> Configurations
    {
        get
        {
            var data = new TheoryData<CellKind, RnnActivation, bool>();
            foreach (CellKind cell in CellCases.All)
            {
                data.Add(cell, RnnActivation.Tanh, true);
                data.Add(cell, RnnActivation.Tanh, false);
            }
            data.Add(CellKind.Rnn, RnnActivation.Relu, false);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void StepBatchOne_MatchesReference_EveryStep(CellKind cell, RnnActivation activation, bool bias)
    {
        const int inputSize = 37, hiddenSize = 45, layers = 2, steps = 6;
        var random = new SeededRandom(4242);
        var reference = new ReferenceWeights(cell, inputSize, hiddenSize, layers, bias, activation).Randomize(random, 0.3);
        var layer = new RecurrentLayer(new RecurrentOptions(cell, inputSize, hiddenSize, layers, bias, activation));
        foreach ((string name, double[] values) in reference.Named())
        {
            Span<float> target = layer.Weights.Buffer[name].Span;
            Assert.Equal(values.Length, target.Length);
            for (int i = 0; i < values.Length; i++)
            {
                // Round to the stored float and use that value in the reference too, so only arithmetic differs.
                target[i] = (float)values[i];
                values[i] = target[i];
            }
        }

        float[] input = random.UniformSingle(steps * inputSize, -1, 1);
        float[] h0 = random.UniformSingle(layers * hiddenSize, -0.5f, 0.5f), c0 = random.UniformSingle(layers * hiddenSize, -0.5f, 0.5f);
        bool lstm = layer.Options.HasCellState;
        RecurrentForward expected = RecurrentReference.Forward(reference, input.Select(v => (double)v).ToArray(), steps, 1,
            h0.Select(v => (double)v).ToArray(), lstm ? c0.Select(v => (double)v).ToArray() : null);

        RecurrentState state = layer.CreateState();
        state.SetHidden(h0);
        if (lstm)
            state.SetCell(c0);
        RecurrentWorkspace workspace = layer.CreateWorkspace(1);
        float[] output = new float[hiddenSize];
        for (int t = 0; t < steps; t++)
        {
            layer.Step(input.AsSpan(t * inputSize, inputSize), state, workspace, output);
            ReferenceComparison.AssertClose($"h of step {t}", output, expected.Output.AsSpan(t * hiddenSize, hiddenSize),
                RelativeTolerance, AbsoluteTolerance);
        }
        ReferenceComparison.AssertClose("hN", state.Hidden, expected.HN, RelativeTolerance, AbsoluteTolerance);
        if (lstm)
            ReferenceComparison.AssertClose("cN", state.Cell, expected.CN, RelativeTolerance, AbsoluteTolerance);
    }
}

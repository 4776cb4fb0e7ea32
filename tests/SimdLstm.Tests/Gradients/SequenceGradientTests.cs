using System.Collections.Generic;
using System.Linq;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Gradients;

/// <summary>
/// The reference's analytic gradients with every feature PyTorch's recurrent modules add to the plain stack — reverse
/// directions, per-stream lengths, the LSTM's projection, dropout masks between layers — equal central finite
/// differences (relative error ≤ <see cref="GradientTolerance.MaxRelativeError"/>, with the checker's default step 1e-5
/// and floor 1e-3) for every parameter tensor (weight_hr and the <c>_reverse</c> ones included), the input, h0 and c0.
/// </summary>
/// <remarks>
/// The bar is the one derived for the plain stack (see <see cref="GradientTolerance.MaxRelativeError"/>): the central
/// difference's own error is its rounding δ/h with δ the rounding of one loss evaluation, ≈ 5e-10 absolute at losses of
/// order 1–10, i.e. ≈ 5e-7 relative at the floor. None of the new features changes that budget by more than the size of
/// the loss does: a reverse direction doubles the terms of the loss (δ grows by about √2), lengths and dropout only
/// remove or rescale terms, and the projection adds one more product of order-one factors per step. Measured with every
/// element checked, over 1,500 random shapes of <see cref="Shapes"/> × 3 cells of the recurrent problem, the worst
/// relative error of a case with the feature was: bidirectional 4.0e-7, lengths (some stream shorter than T) 4.0e-7,
/// projection 1.9e-7, dropout 3.2e-7 (the same case, a bidirectional LSTM with all lengths 1, was worst for the first
/// two: |a − n| = 4.6e-10 on a derivative of 1.4e-6, below the floor). Over 1,000 shapes × 3 cells of the token model
/// the worst was 5.9e-8. A real bug is off by a sizeable fraction of a term: leaving the mask out of backward, starting
/// the reverse direction's backward at T − 1 instead of len − 1, dropping dW_hr or running padded steps in backward
/// each fail these tests.
/// </remarks>
public class SequenceGradientTests
{
    // Each checked element costs two runs of the whole network, and the float64 reference has no SIMD remainder paths to
    // exercise, so the shapes are small: sizes 1..6, steps 1..5, batch 1..4 (room for mixed lengths), layers 1..3.
    internal static readonly Gen<RecurrentShape> Shapes = RecurrentGenerators.SequenceShapes(maxSize: 6, maxSteps: 5, maxBatchSize: 4, maxLayers: 3);

    [Property(MaxTest = 30, Arbitrary = new[] { typeof(SmallSequenceArbitraries) })]
    public Property EveryCell_Gradients_MatchFiniteDifferences(RecurrentCase testCase)
    {
        bool clearOfKink = testCase.Shape.Activation == RnnActivation.Tanh
            || new SequenceProblem(CellKind.Rnn, testCase).Forward().MinAbsPreActivation() > GradientTolerance.ReluKinkMargin;
        return Prop.When(clearOfKink, () =>
        {
            foreach (CellKind cell in CellCases.All)
            {
                GradientCheckReport report = new SequenceProblem(cell, testCase).Check(GradientTolerance.Sampled);
                GradientTolerance.Log($"{cell} {testCase}", report);
                GradientTolerance.AssertWithin($"{cell} {testCase.Shape}", report);
            }
        });
    }

    [Property(MaxTest = 20, Arbitrary = new[] { typeof(SmallSequenceArbitraries) })]
    public Property EveryCell_ModelGradients_TokenInputs_MatchFiniteDifferences(RecurrentCase testCase)
    {
        bool clearOfKink = testCase.Shape.Activation == RnnActivation.Tanh
            || new SequenceModelProblem(CellKind.Rnn, testCase).MinAbsPreActivation() > GradientTolerance.ReluKinkMargin;
        return Prop.When(clearOfKink, () =>
        {
            foreach (CellKind cell in CellCases.All)
            {
                GradientCheckReport report = new SequenceModelProblem(cell, testCase).Check(GradientTolerance.Sampled);
                GradientTolerance.Log($"{cell} model {testCase}", report);
                GradientTolerance.AssertWithin($"{cell} model {testCase.Shape}", report);
            }
        });
    }

    public static TheoryData<CellKind, string> Features => CellCases.Each("bidirectional", "lengths", "projection", "dropout", "everything");

    /// <summary>Every element of every tensor (no sampling), one fixed two-layer shape per feature and for all of them together.</summary>
    [Theory]
    [MemberData(nameof(Features))]
    public void AllElements_MatchFiniteDifferences(CellKind cell, string feature)
    {
        var plain = new RecurrentShape(InputSize: 3, HiddenSize: 4, Steps: 4, BatchSize: 3, Layers: 2, HasBias: true, RnnActivation.Tanh);
        RecurrentShape shape = feature switch
        {
            "bidirectional" => plain with { Bidirectional = true },
            "lengths" => plain with { Lengths = [2, 4, 1] },
            "projection" => plain with { ProjectionSize = 3 },
            "dropout" => plain with { DropoutProbability = 0.5, MaskSeed = 77 },
            _ => plain with { Bidirectional = true, Lengths = [2, 4, 1], ProjectionSize = 2, DropoutProbability = 0.25, MaskSeed = 78 },
        };
        var problem = new SequenceProblem(cell, new RecurrentCase(shape, Seed: 2025));
        GradientCheckReport report = problem.Check(GradientCheckOptions.Default);
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        Assert.All(report.Tensors, r => Assert.Equal(r.Length, r.CheckedElements));
        if (feature is "projection" or "everything" && cell == CellKind.Lstm)
            Assert.Contains(report.Tensors, r => r.Name == "weight_hr_l1");
        if (feature is "bidirectional" or "everything")
            Assert.Contains(report.Tensors, r => r.Name == "weight_hh_l1_reverse");
        report.AssertWithin(GradientTolerance.MaxRelativeError);
    }
}

/// <summary>Cases over <see cref="SequenceGradientTests.Shapes"/>, shrinking their shapes (a case keeps its seed).</summary>
public static class SmallSequenceArbitraries
{
    public static Arbitrary<RecurrentCase> Case() => Arb.From(RecurrentGenerators.Cases(SequenceGradientTests.Shapes), Shrink);

    private static IEnumerable<RecurrentCase> Shrink(RecurrentCase testCase) =>
        RecurrentGenerators.Shrink(testCase.Shape).Select(shape => testCase with { Shape = shape });
}

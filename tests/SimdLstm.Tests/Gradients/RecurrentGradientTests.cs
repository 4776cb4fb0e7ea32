using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Gradients;

/// <summary>
/// The reference's analytic gradients equal central finite differences (relative error ≤ 1e-6) for every parameter
/// tensor, the input, h0 and c0, over random small odd shapes: 1..17 units, 1..8 steps, batch 1..3, 1..3 layers,
/// with and without bias, for every cell of <see cref="CellCases.All"/> (the RNN with tanh and relu, as the shape draws).
/// </summary>
public class RecurrentGradientTests
{
    // A case whose ReLU RNN has a pre-activation at the kink is discarded for every cell (FsCheck counts it as rejected
    // and draws another), so each cell, the ReLU RNN included, is checked on MaxTest accepted cases.
    [Property(MaxTest = 40, Arbitrary = new[] { typeof(RecurrentArbitraries) })]
    public Property EveryCell_Gradients_MatchFiniteDifferences(RecurrentCase testCase)
    {
        bool clearOfKink = testCase.Shape.Activation == RnnActivation.Tanh
            || new RecurrentProblem(CellKind.Rnn, testCase).MinAbsPreActivation() > GradientTolerance.ReluKinkMargin;
        return Prop.When(clearOfKink, () =>
        {
            foreach (CellKind cell in CellCases.All)
            {
                GradientCheckReport report = new RecurrentProblem(cell, testCase).Check(ReferenceFault.None, GradientTolerance.Sampled);
                GradientTolerance.Log($"{cell} {testCase}", report);
                GradientTolerance.AssertWithin(cell, report);
            }
        });
    }

    [Property(MaxTest = 30, Arbitrary = new[] { typeof(RecurrentArbitraries) })]
    public Property EveryCell_ModelGradients_TokenInputs_MatchFiniteDifferences(RecurrentCase testCase)
    {
        bool clearOfKink = testCase.Shape.Activation == RnnActivation.Tanh
            || new TokenModelProblem(CellKind.Rnn, testCase).MinAbsPreActivation() > GradientTolerance.ReluKinkMargin;
        return Prop.When(clearOfKink, () =>
        {
            foreach (CellKind cell in CellCases.All)
            {
                GradientCheckReport report = new TokenModelProblem(cell, testCase).Check(ReferenceFault.None, GradientTolerance.Sampled);
                GradientTolerance.Log($"{cell} model {testCase}", report);
                GradientTolerance.AssertWithin($"{cell} model", report);
            }
        });
    }

    /// <summary>Every element of every tensor (no sampling) on one fixed odd shape, for each cell.</summary>
    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void AllElements_MatchFiniteDifferences(CellKind cell) => CheckAllElements(cell, RnnActivation.Tanh);

    /// <summary>As <see cref="AllElements_MatchFiniteDifferences"/> for the ReLU RNN, which <see cref="CellCases.All"/> leaves to the shape draws.</summary>
    [Fact]
    public void AllElements_ReluRnn_MatchFiniteDifferences() => CheckAllElements(CellKind.Rnn, RnnActivation.Relu);

    /// <summary>The whole model with dense inputs, every element including the input gradient.</summary>
    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void ModelGradients_DenseInputs_MatchFiniteDifferences(CellKind cell)
    {
        const int Steps = 3, BatchSize = 2, InputSize = 4, HiddenSize = 5, Classes = 6;
        var random = new SeededRandom(7);
        var model = new ModelReference(new ReferenceWeights(cell, InputSize, HiddenSize, layers: 2, hasBias: true), Classes, linearHasBias: true)
            .Randomize(random, RecurrentProblem.WeightScale);
        double[] input = random.Uniform(Steps * BatchSize * InputSize, -1, 1); // [T, B, I]
        int[] targets = random.Tokens(Steps * BatchSize, Classes);            // [T, B]

        ModelGradients gradients = model.Gradients(input, Steps, BatchSize, targets);
        var tensors = new System.Collections.Generic.List<GradientTensor>();
        foreach (((string name, double[] values), (_, double[] gradient)) in System.Linq.Enumerable.Zip(model.NamedParameters(), gradients.NamedParameters()))
            tensors.Add(new GradientTensor(name, values, gradient));
        tensors.Add(new GradientTensor("input", input, gradients.Input));

        GradientCheckReport report = GradientChecker.Check(() => model.Loss(input, Steps, BatchSize, targets), tensors);
        TestContext.Current.TestOutputHelper?.WriteLine($"loss {gradients.Loss}{System.Environment.NewLine}{report}");
        Assert.Equal(gradients.Loss, model.Loss(input, Steps, BatchSize, targets));
        report.AssertWithin(GradientTolerance.MaxRelativeError);
    }

    private static void CheckAllElements(CellKind cell, RnnActivation activation)
    {
        var testCase = new RecurrentCase(new RecurrentShape(InputSize: 5, HiddenSize: 7, Steps: 4, BatchSize: 3, Layers: 2, HasBias: true, activation), Seed: 2024);
        var problem = new RecurrentProblem(cell, testCase);
        if (activation == RnnActivation.Relu)
            Assert.True(problem.MinAbsPreActivation() > GradientTolerance.ReluKinkMargin, "this fixed case must stay clear of the ReLU kink");
        GradientCheckReport report = problem.Check(ReferenceFault.None, GradientCheckOptions.Default);
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        Assert.All(report.Tensors, r => Assert.Equal(r.Length, r.CheckedElements));
        report.AssertWithin(GradientTolerance.MaxRelativeError);
    }
}

using System;
using System.Linq;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Gradients;

/// <summary>
/// Teeth: every injected classic BPTT bug makes the same gradient check that passes on the correct reference fail, and
/// the failure names the tensor the bug corrupts. The analytic gradients come from the faulty forward + backward, the
/// numeric ones from the fault-free loss, as a buggy fast path would be checked against the true model.
/// </summary>
public class ReferenceFaultTests
{
    // T ≥ 2 so the quantities carried between steps matter; two layers so faults also cross layers.
    private static readonly RecurrentShape Shape = new(InputSize: 3, HiddenSize: 5, Steps: 4, BatchSize: 2, Layers: 2, HasBias: true, RnnActivation.Tanh);

    [Theory]
    [InlineData(CellKind.Lstm, ReferenceFault.DropDhFromNextStep, "weight_hh_l0")]
    [InlineData(CellKind.Rnn, ReferenceFault.DropDhFromNextStep, "weight_hh_l0")]
    [InlineData(CellKind.Lstm, ReferenceFault.DropDcFromNextStep, "weight_hh_l0")]
    [InlineData(CellKind.Lstm, ReferenceFault.TanhDerivativeOfPreActivation, "weight_ih_l0")]
    [InlineData(CellKind.Rnn, ReferenceFault.TanhDerivativeOfPreActivation, "weight_ih_l0")]
    [InlineData(CellKind.Lstm, ReferenceFault.SigmoidDerivativeOfPreActivation, "weight_ih_l0")]
    [InlineData(CellKind.Gru, ReferenceFault.DropDhFromNextStep, "weight_hh_l0")]
    [InlineData(CellKind.Gru, ReferenceFault.TanhDerivativeOfPreActivation, "weight_ih_l0")]
    [InlineData(CellKind.Gru, ReferenceFault.SigmoidDerivativeOfPreActivation, "weight_ih_l0")]
    [InlineData(CellKind.Gru, ReferenceFault.ResetGateOnInputSide, "weight_ih_l0")]
    [InlineData(CellKind.Gru, ReferenceFault.UpdateGateSwapped, "weight_ih_l0")]
    [InlineData(CellKind.Gru, ReferenceFault.DropDhThroughUpdateGate, "h0")]
    public void RecurrentFault_FailsTheCheck_NamingTheTensor(CellKind cell, ReferenceFault fault, string expectedTensor)
    {
        var problem = new RecurrentProblem(cell, new RecurrentCase(Shape, Seed: 11));
        problem.Check(ReferenceFault.None, GradientCheckOptions.Default).AssertWithin(GradientTolerance.MaxRelativeError); // the control passes

        GradientCheckReport report = problem.Check(fault, GradientCheckOptions.Default);
        AssertFailsNaming(report, expectedTensor);
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void BiasOverwrittenPerStep_FailsOnlyTheBiasTensors(CellKind cell)
    {
        var problem = new RecurrentProblem(cell, new RecurrentCase(Shape, Seed: 12));
        GradientCheckReport report = problem.Check(ReferenceFault.BiasGradientOverwrittenPerStep, GradientCheckOptions.Default);
        AssertFailsNaming(report, "bias_ih_l0");
        // The precision of the report: the weights, input and state gradients are untouched by this bug and pass.
        Assert.Equal(
            ["bias_hh_l0", "bias_hh_l1", "bias_ih_l0", "bias_ih_l1"],
            report.Failures(GradientTolerance.MaxRelativeError).Select(f => f.Name).Order());
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void InitialStateOnes_FailsTheCheck(CellKind cell)
    {
        // The fault only changes an absent initial state, so this problem has none (zeros, PyTorch's default).
        var problem = new RecurrentProblem(cell, new RecurrentCase(Shape, Seed: 13), explicitInitialState: false);
        problem.Check(ReferenceFault.None, GradientCheckOptions.Default).AssertWithin(GradientTolerance.MaxRelativeError);
        AssertFailsNaming(problem.Check(ReferenceFault.InitialStateOnes, GradientCheckOptions.Default), "weight_hh_l0");
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void SoftmaxDerivativeOnCrossEntropy_FailsTheCheck_NamingTheHead(CellKind cell)
    {
        var problem = new TokenModelProblem(cell, new RecurrentCase(Shape with { InputSize = 6 }, Seed: 14));
        problem.Check(ReferenceFault.None, GradientCheckOptions.Default).AssertWithin(GradientTolerance.MaxRelativeError);
        AssertFailsNaming(problem.Check(ReferenceFault.SoftmaxDerivativeOnCrossEntropy, GradientCheckOptions.Default), "fc.weight");
    }

    /// <summary>
    /// The GRU's forward faults compute another model and differentiate that model correctly: checked against their own
    /// (faulty) loss they pass. So the gradient check alone cannot tell a consistently wrong forward from the right one;
    /// only checking against the true model's loss, as above, or its values (ReferenceForwardTests) can.
    /// </summary>
    [Theory]
    [InlineData(ReferenceFault.ResetGateOnInputSide)]
    [InlineData(ReferenceFault.UpdateGateSwapped)]
    public void GruForwardFault_HasTheGradientsOfTheModelItComputes(ReferenceFault fault)
    {
        var problem = new RecurrentProblem(CellKind.Gru, new RecurrentCase(Shape, Seed: 11));
        problem.Check(fault, GradientCheckOptions.Default, lossFaults: fault).AssertWithin(GradientTolerance.MaxRelativeError);
        AssertFailsNaming(problem.Check(fault, GradientCheckOptions.Default), "weight_ih_l0");
    }

    [Fact]
    public void EveryFault_IsCoveredByATest()
    {
        // Guards against adding a fault to the enum without giving it teeth above.
        ReferenceFault[] covered =
        [
            ReferenceFault.DropDhFromNextStep, ReferenceFault.DropDcFromNextStep, ReferenceFault.TanhDerivativeOfPreActivation,
            ReferenceFault.SigmoidDerivativeOfPreActivation, ReferenceFault.BiasGradientOverwrittenPerStep,
            ReferenceFault.InitialStateOnes, ReferenceFault.SoftmaxDerivativeOnCrossEntropy,
            ReferenceFault.ResetGateOnInputSide, ReferenceFault.UpdateGateSwapped, ReferenceFault.DropDhThroughUpdateGate,
        ];
        Assert.Equal(Enum.GetValues<ReferenceFault>().Where(f => f != ReferenceFault.None).Order(), covered.Order());
    }

    private static void AssertFailsNaming(GradientCheckReport report, string expectedTensor)
    {
        var exception = Assert.Throws<ToleranceExceededException>(() => report.AssertWithin(GradientTolerance.MaxRelativeError));
        TestContext.Current.TestOutputHelper?.WriteLine(exception.Message);
        Assert.Contains(report.Failures(GradientTolerance.MaxRelativeError), f => f.Name == expectedTensor);
        Assert.Contains(expectedTensor + ":", exception.Message, StringComparison.Ordinal);
    }
}

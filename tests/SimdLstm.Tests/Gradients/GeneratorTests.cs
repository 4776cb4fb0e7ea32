using System.Linq;
using FsCheck.Fluent;
using SimdLstm.Testing;
using Xunit;

namespace SimdLstm.Tests.Gradients;

public class GeneratorTests
{
    [Fact]
    public void Shapes_StayInRange_AndReachTheExtremes()
    {
        RecurrentShape[] shapes = Gen.Sample(RecurrentGenerators.Shapes(), 2000);
        Assert.True(shapes.Length >= 1000);
        Assert.All(shapes, s =>
        {
            Assert.InRange(s.InputSize, 1, 17);
            Assert.InRange(s.HiddenSize, 1, 17);
            Assert.InRange(s.Steps, 1, 8);
            Assert.InRange(s.BatchSize, 1, 3);
            Assert.InRange(s.Layers, 1, 3);
        });
        Assert.Equal((1, 17), (shapes.Min(s => s.HiddenSize), shapes.Max(s => s.HiddenSize)));
        Assert.Equal((1, 8), (shapes.Min(s => s.Steps), shapes.Max(s => s.Steps)));
        Assert.Equal((1, 3), (shapes.Min(s => s.Layers), shapes.Max(s => s.Layers)));
        Assert.Contains(shapes, s => s.HasBias);
        Assert.Contains(shapes, s => !s.HasBias);
        Assert.Contains(shapes, s => s.Activation == RnnActivation.Relu);
        Assert.Contains(shapes, s => s.Activation == RnnActivation.Tanh);
    }

    [Fact]
    public void Shrink_OnlyProposesSimplerShapes()
    {
        var shape = new RecurrentShape(9, 4, 3, 2, 3, true, RnnActivation.Relu);
        RecurrentShape[] smaller = RecurrentGenerators.Shrink(shape).ToArray();
        Assert.NotEmpty(smaller);
        Assert.All(smaller, s => Assert.True(
            s.InputSize <= shape.InputSize && s.HiddenSize <= shape.HiddenSize && s.Steps <= shape.Steps
            && s.BatchSize <= shape.BatchSize && s.Layers <= shape.Layers && s != shape));
        Assert.Empty(RecurrentGenerators.Shrink(new RecurrentShape(1, 1, 1, 1, 1, false, RnnActivation.Tanh)));
    }

    [Fact]
    public void UniformAndTokens_StayInRange()
    {
        Assert.All(Gen.Sample(RecurrentGenerators.Uniform(50, -0.5, 0.25), 20), v => Assert.All(v, x => Assert.InRange(x, -0.5, 0.25)));
        Assert.All(Gen.Sample(RecurrentGenerators.Tokens(50, 7), 20), v => Assert.All(v, t => Assert.InRange(t, 0, 6)));
    }

    [Fact]
    public void SeededRandom_IsDeterministic_AndInRange()
    {
        double[] first = new SeededRandom(42).Uniform(1000, -2, 3);
        Assert.Equal(first, new SeededRandom(42).Uniform(1000, -2, 3));
        Assert.NotEqual(first, new SeededRandom(43).Uniform(1000, -2, 3));
        Assert.All(first, x => Assert.InRange(x, -2, 3));
        Assert.InRange(first.Average(), 0.5 - 0.15, 0.5 + 0.15); // mean 0.5, standard error 5/√12/√1000 ≈ 0.046
        int[] tokens = new SeededRandom(1).Tokens(1000, 5);
        Assert.Equal([0, 1, 2, 3, 4], tokens.Distinct().Order());
    }
}

using System;
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
    public void Shapes_KeepTheOriginalFeatures()
    {
        // The original generator draws none of the sequence features: unidirectional, unprojected, full length, no dropout.
        Assert.All(Gen.Sample(RecurrentGenerators.Shapes(), 500), s => Assert.True(
            !s.Bidirectional && s.ProjectionSize == 0 && s.Lengths is null && s.DropoutProbability == 0 && s.DropoutMasks(CellKind.Lstm) is null));
    }

    [Fact]
    public void SequenceShapes_StayConsistent_AndDrawEveryFeature()
    {
        RecurrentShape[] shapes = Gen.Sample(RecurrentGenerators.SequenceShapes(), 3000);
        Assert.True(shapes.Length >= 1000);
        Assert.All(shapes, s =>
        {
            Assert.InRange(s.ProjectionSize, 0, s.HiddenSize - 1);
            if (s.Lengths is not null)
            {
                Assert.Equal(s.BatchSize, s.Lengths.Length);
                Assert.All(s.Lengths, n => Assert.InRange(n, 1, s.Steps));
            }
            Assert.Contains(s.DropoutProbability, new[] { 0, 0.25, 0.5 });
            if (s.Layers == 1) Assert.Equal(0, s.DropoutProbability);
            _ = s.CreateWeights(CellKind.Lstm); // a valid LSTM (P < H) ...
            _ = s.CreateWeights(CellKind.Gru);  // ... and the GRU runs the shape without the projection
        });
        Assert.Contains(shapes, s => s.Bidirectional);
        Assert.Contains(shapes, s => !s.Bidirectional);
        Assert.Contains(shapes, s => s.ProjectionSize == 0);
        Assert.Contains(shapes, s => s.ProjectionSize > 0 && s.ProjectionSize == s.HiddenSize - 1);
        Assert.Contains(shapes, s => s.DropoutProbability == 0.25);
        Assert.Contains(shapes, s => s.DropoutProbability == 0.5);
        Assert.Contains(shapes, s => s.Lengths is null);
        // The five patterns of lengths, each seen on a batch where it means something.
        RecurrentShape[] batched = shapes.Where(s => s.BatchSize >= 3 && s.Steps >= 3 && s.Lengths is not null).ToArray();
        Assert.Contains(batched, s => s.Lengths!.Distinct().Count() == 1 && s.Lengths![0] < s.Steps);                        // all equal, short
        Assert.Contains(batched, s => s.Lengths!.Count(n => n == s.Steps) == 1 && s.Lengths!.Max(n => n == s.Steps ? 0 : n) < s.Steps); // one long
        Assert.Contains(batched, s => s.Lengths!.Contains(1) && s.Lengths!.Any(n => n > 1));                                  // some of length 1
        Assert.Contains(batched, s => s.Lengths!.Distinct().Count() == s.BatchSize && s.Lengths![0] > s.Lengths![^1]);        // unsorted
    }

    [Fact]
    public void DropoutMasks_AreFixedScaledAndShapedPerCell()
    {
        var shape = new RecurrentShape(3, 6, 5, 4, 3, true, RnnActivation.Tanh) { Bidirectional = true, ProjectionSize = 2, DropoutProbability = 0.25, MaskSeed = 9 };
        double[][] lstm = shape.DropoutMasks(CellKind.Lstm)!, gru = shape.DropoutMasks(CellKind.Gru)!;
        Assert.Equal(2, lstm.Length);                             // L − 1 masks
        Assert.All(lstm, m => Assert.Equal(5 * 4 * 2 * 2, m.Length)); // T·B·D·P for the projected LSTM
        Assert.All(gru, m => Assert.Equal(5 * 4 * 2 * 6, m.Length));  // T·B·D·H for the GRU
        Assert.All(lstm.Concat(gru).SelectMany(m => m), v => Assert.Contains(v, new[] { 0, 4.0 / 3 }));
        Assert.Equal(lstm, shape.DropoutMasks(CellKind.Lstm));     // the same masks on every call
        double kept = gru.SelectMany(m => m).Count(v => v != 0) / (double)(2 * 240);
        Assert.InRange(kept, 0.75 - 0.06, 0.75 + 0.06);            // 480 draws: standard error √(0.75 · 0.25 / 480) ≈ 0.02
        Assert.Null((shape with { DropoutProbability = 0 }).DropoutMasks(CellKind.Lstm));
        Assert.Null((shape with { Layers = 1 }).DropoutMasks(CellKind.Lstm));
    }

    [Fact]
    public void Shrink_KeepsSequenceShapesConsistent()
    {
        var shape = new RecurrentShape(4, 5, 6, 3, 2, true, RnnActivation.Tanh)
        {
            Bidirectional = true, ProjectionSize = 4, Lengths = [6, 2, 5], DropoutProbability = 0.5, MaskSeed = 3,
        };
        RecurrentShape[] smaller = RecurrentGenerators.Shrink(shape).ToArray();
        Assert.All(smaller, s =>
        {
            Assert.NotEqual(shape, s);
            Assert.InRange(s.ProjectionSize, 0, s.HiddenSize - 1);
            if (s.Lengths is not null)
            {
                Assert.Equal(s.BatchSize, s.Lengths.Length);
                Assert.All(s.Lengths, n => Assert.InRange(n, 1, s.Steps));
            }
            if (s.Layers == 1) Assert.Equal(0, s.DropoutProbability);
        });
        Assert.Contains(smaller, s => s.Lengths is null);
        Assert.Contains(smaller, s => !s.Bidirectional);
        Assert.Contains(smaller, s => s.ProjectionSize == 0);
        Assert.Contains(smaller, s => s.DropoutProbability == 0);
        // Equality and printing see the lengths' elements, so a replayed case reads back the same.
        Assert.Equal(shape, shape with { Lengths = [6, 2, 5] });
        Assert.NotEqual(shape, shape with { Lengths = [6, 2, 4] });
        Assert.Equal(shape.GetHashCode(), (shape with { Lengths = [6, 2, 5] }).GetHashCode());
        Assert.Contains("Lengths = [6, 2, 5]", shape.ToString(), System.StringComparison.Ordinal);
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

    [Fact]
    public void SeededRandom_NormalSingle_IsDeterministic_WithTheMomentsOfN01()
    {
        const int n = 20001; // odd: the last pair gives one value
        float[] first = new SeededRandom(42).NormalSingle(n);
        Assert.Equal(first, new SeededRandom(42).NormalSingle(n));
        Assert.NotEqual(first, new SeededRandom(43).NormalSingle(n));
        Assert.Empty(new SeededRandom(1).NormalSingle(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SeededRandom(1).NormalSingle(-1));
        Assert.All(first, x => Assert.True(float.IsFinite(x)));
        double mean = first.Average(x => (double)x);
        double variance = first.Sum(x => ((double)x - mean) * ((double)x - mean)) / (n - 1);
        double fourth = first.Average(x => Math.Pow(x - mean, 4)) / (variance * variance);
        // Standard errors for n = 20001: mean 1/√n ≈ 0.0071, variance √(2/n) ≈ 0.010, kurtosis √(24/n) ≈ 0.035; a
        // uniform or a wrong scale fails these by tens of standard errors (a uniform's kurtosis is 1.8, not 3).
        Assert.InRange(mean, -0.04, 0.04);
        Assert.InRange(variance, 0.95, 1.05);
        Assert.InRange(fourth, 2.8, 3.2);
        Assert.InRange(first.Count(x => Math.Abs(x) < 1) / (double)n, 0.6827 - 0.02, 0.6827 + 0.02); // P(|X| < 1), σ ≈ 0.0033
    }
}

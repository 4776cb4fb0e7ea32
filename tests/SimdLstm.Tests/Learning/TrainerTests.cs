using System;
using System.Collections.Generic;
using System.Linq;
using SimdLstm.Text;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Learning;

/// <summary>The batcher's stream layout, the trainer's reproducibility, non-finite handling and steady-state allocation.</summary>
public class TrainerTests
{
    [Fact]
    public void StreamBatcher_Chunks_FollowContiguousStripes()
    {
        // 0..22: n = 23, B = 2 → stripes of S = ⌊22/2⌋ = 11 inputs starting at 0 and 11; T = 3 → ⌊11/3⌋ = 3 chunks.
        int[] tokens = new int[23];
        for (int i = 0; i < tokens.Length; i++)
            tokens[i] = i;
        var batcher = new StreamBatcher(tokens, batchSize: 2, steps: 3);
        Assert.Equal(11, batcher.StripeLength);
        Assert.Equal(3, batcher.ChunksPerEpoch);

        batcher.Fill(1);
        // [T, B] time-major: (t, b) at t·2 + b; stream 0 positions 3, 4, 5; stream 1 positions 14, 15, 16.
        Assert.Equal(new[] { 3, 14, 4, 15, 5, 16 }, batcher.Inputs.ToArray());
        Assert.Equal(new[] { 4, 15, 5, 16, 6, 17 }, batcher.Targets.ToArray());
        batcher.Fill(2);
        Assert.Equal(new[] { 6, 17, 7, 18, 8, 19 }, batcher.Inputs.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => batcher.Fill(3));
    }

    [Fact]
    public void StreamBatcher_TooFewTokens_ThrowsNamingTokens()
    {
        // B·T + 1 = 10 tokens are the minimum: 10 works, 9 does not.
        Assert.Equal(1, new StreamBatcher(new int[10], batchSize: 3, steps: 3).ChunksPerEpoch);
        var e = Assert.Throws<ArgumentException>(() => new StreamBatcher(new int[9], batchSize: 3, steps: 3));
        Assert.Equal("tokens", e.ParamName);
        Assert.Contains("got 9", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void Trainer_SameSeed_GivesIdenticalLosses(CellKind cell)
    {
        Assert.Equal(Run(seed: 5), Run(seed: 5));
        Assert.NotEqual(Run(seed: 5), Run(seed: 6));

        List<float> Run(int seed)
        {
            (SequenceTrainer trainer, _) = Create(seed, cell: cell);
            var losses = new List<float>();
            for (int i = 0; i < 15; i++)
                losses.Add(trainer.Step());
            losses.Add(trainer.Evaluate());
            return losses;
        }
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void Trainer_Step_AllocatesNothingAfterWarmUp(CellKind cell)
    {
        (SequenceTrainer trainer, _) = Create(seed: 1, cell: cell);
        for (int i = 0; i < 5; i++)
            trainer.Step();
        // 40 steps per window: more than one epoch, so the wrap-around (state reset) is covered too.
        Assert.True(trainer.ChunksPerEpoch < 40, $"{trainer.ChunksPerEpoch} chunks per epoch");
        Allocations.AssertNone(() => trainer.Step(), count: 40);
    }

    [Fact]
    public void Trainer_NonFiniteGradient_SkipsTheUpdateAndCounts()
    {
        (SequenceTrainer trainer, SequenceModel model) = Create(seed: 2, policy: NonFiniteNormPolicy.SkipStep);
        model.Parameters["fc.bias"].Span[0] = float.NaN; // poisons the loss and every gradient
        float[] before = model.Parameters.Span.ToArray();
        trainer.Step();
        Assert.Equal(1, trainer.SkippedSteps);
        Assert.False(float.IsFinite(trainer.LastGradientNorm));
        Assert.Equal(before, model.Parameters.Span.ToArray()); // NaN compares equal to NaN in Assert.Equal of floats
    }

    [Fact]
    public void Trainer_NonFiniteGradient_UnderThrowPolicy_Throws()
    {
        (SequenceTrainer trainer, SequenceModel model) = Create(seed: 2, policy: NonFiniteNormPolicy.Throw);
        model.Parameters["fc.bias"].Span[0] = float.NaN;
        float[] before = model.Parameters.Span.ToArray();
        Assert.Throws<NonFiniteGradientException>(() => trainer.Step());
        Assert.Equal(before, model.Parameters.Span.ToArray());
    }

    [Fact]
    public void Trainer_TokenOutsideModel_ThrowsNamingTheArgument()
    {
        var model = new SequenceModel(RecurrentOptions.Lstm(5, 4), 5, seed: 0);
        int[] tokens = new int[200];
        tokens[77] = 5;
        var e = Assert.Throws<ArgumentException>(() => new SequenceTrainer(model, new Sgd(model.Parameters.Length, 0.1f), tokens, ReadOnlyMemory<int>.Empty));
        Assert.Equal("trainingTokens", e.ParamName);
        Assert.Contains("index 77", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_ReportsProgressAndCurves()
    {
        (SequenceTrainer trainer, _) = Create(seed: 3);
        var reports = new List<TrainingProgress>();
        TrainingSummary summary = trainer.Train(20, new Collect(reports), TestContext.Current.CancellationToken);
        Assert.Equal(20, summary.Steps);
        Assert.Equal([10, 20], summary.TrainingCurve.Select(p => p.Step));
        // Evaluated before the first step and at the end (EvaluateEvery 100 > 20).
        Assert.Equal([0, 20], summary.ValidationCurve.Select(p => p.Step));
        Assert.All(reports, r => Assert.True(r.Step <= 20));
        Assert.Contains(reports, r => r.Step == 20 && r.IsEvaluation && float.IsFinite(r.ValidationLoss));
        Assert.True(summary.TokensPerSecond > 0);
    }

    private static (SequenceTrainer, SequenceModel) Create(int seed, NonFiniteNormPolicy policy = NonFiniteNormPolicy.SkipStep, CellKind cell = CellKind.Lstm)
    {
        const int vocabulary = 7;
        var random = new Random(99);
        int[] tokens = new int[400];
        for (int i = 0; i < tokens.Length; i++)
            tokens[i] = (i % 5 == 0) ? random.Next(vocabulary) : (tokens[i - 1] + 1) % vocabulary; // mostly predictable
        var model = new SequenceModel(new RecurrentOptions(cell, vocabulary, 8, numLayers: 2), vocabulary, seed);
        var trainer = new SequenceTrainer(
            model, new Adam(model.Parameters.Length, 1e-2f), tokens.AsMemory(0, 320), tokens.AsMemory(320),
            new SequenceTrainerOptions { SequenceLength = 6, BatchSize = 4, NonFinitePolicy = policy });
        return (trainer, model);
    }

    private sealed class Collect(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }
}

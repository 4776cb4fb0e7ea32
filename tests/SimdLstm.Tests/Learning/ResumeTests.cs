using System;
using System.Linq;
using SimdLstm.Text;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Learning;

/// <summary>A trainer and optimiser restored from what a run saved continue bitwise as the run would have.</summary>
public sealed class ResumeTests
{
    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void RestoredTrainer_ReachesTheSameWeightsAsAnUninterruptedOne(CellKind cell)
    {
        int[] tokens = Enumerable.Range(0, 900).Select(i => (i * 7 + i / 13) % 6).ToArray();
        var options = new SequenceTrainerOptions { SequenceLength = 8, BatchSize = 3, EvaluateEvery = 5 };
        SequenceTrainer Create(SequenceModel model, Optimizer optimizer) => new(model, optimizer, tokens.AsMemory(0, 800), tokens.AsMemory(800), options);

        var whole = new SequenceModel(new RecurrentOptions(cell, 6, 5, numLayers: 2), 6, seed: 2);
        var wholeOptimizer = new Adam(whole.Parameters.Length, 1e-2f);
        Create(whole, wholeOptimizer).Train(40, cancellationToken: TestContext.Current.CancellationToken);

        var first = new SequenceModel(new RecurrentOptions(cell, 6, 5, numLayers: 2), 6, seed: 2);
        var firstOptimizer = new Adam(first.Parameters.Length, 1e-2f);
        SequenceTrainer interrupted = Create(first, firstOptimizer);
        interrupted.Train(17, cancellationToken: TestContext.Current.CancellationToken); // 17 steps: mid-epoch (33 chunks per epoch) and between evaluations

        // What a save keeps: parameters, optimiser buffers and step count, carried state, counters and data position.
        float[] parameters = first.Parameters.Span.ToArray();
        float[][] buffers = firstOptimizer.StateBuffers.Select(b => b.Value.ToArray()).ToArray();
        float[] hidden = interrupted.CarriedState.Hidden.ToArray(), cellState = interrupted.CarriedState.Cell.ToArray();

        var second = new SequenceModel(new RecurrentOptions(cell, 6, 5, numLayers: 2), 6, seed: 99);
        parameters.CopyTo(second.Parameters.Span);
        var secondOptimizer = new Adam(second.Parameters.Length, 1e-2f);
        for (int i = 0; i < buffers.Length; i++)
            buffers[i].CopyTo(secondOptimizer.StateBuffers[i].Value.Span);
        secondOptimizer.Restore(firstOptimizer.StepCount);
        SequenceTrainer resumed = Create(second, secondOptimizer);
        hidden.CopyTo(resumed.CarriedState.Hidden);
        cellState.CopyTo(resumed.CarriedState.Cell);
        resumed.Restore(interrupted.StepsDone, interrupted.SkippedSteps, interrupted.NextChunk);
        TrainingSummary rest = resumed.Train(23, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(40, resumed.StepsDone);
        Assert.Equal(whole.Parameters.Span.ToArray(), second.Parameters.Span.ToArray()); // bitwise
        // Evaluations follow the whole run's schedule (every 5 steps of the run), not the call's.
        Assert.Equal([17, 20, 25, 30, 35, 40], rest.ValidationCurve.Select(p => p.Step));
    }

    [Fact]
    public void OptimizerStateBuffers_HavePyTorchNames()
    {
        Assert.Equal(["exp_avg", "exp_avg_sq"], new Adam(3).StateBuffers.Select(b => b.Key));
        Assert.Equal(["exp_avg", "exp_avg_sq"], new AdamW(3).StateBuffers.Select(b => b.Key));
        Assert.Equal(["momentum_buffer"], new Sgd(3, 0.1f, momentum: 0.9f).StateBuffers.Select(b => b.Key));
        Assert.Empty(new Sgd(3, 0.1f).StateBuffers);
        Assert.Equal(["sum"], new Adagrad(3).StateBuffers.Select(b => b.Key));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(3).Restore(-1));
    }
}

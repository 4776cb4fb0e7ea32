using System;
using System.Linq;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// A whole model on padded batches: the loss is the mean over the real steps only, padded targets are never read, and the
/// packed inference copy steps as the model does. (That such a model learns is in the Learning tests.)
/// </summary>
public class SequenceModelShapeTests
{
    private static readonly RecurrentOptions[] Models =
    [
        RecurrentOptions.Lstm(6, 8, numLayers: 2, bidirectional: true, projSize: 5),
        RecurrentOptions.Gru(6, 7, numLayers: 2, bidirectional: true),
        RecurrentOptions.Rnn(6, 9, numLayers: 1, bidirectional: true),
        RecurrentOptions.Lstm(6, 8, numLayers: 2, projSize: 3),
    ];

    public static TheoryData<int> ModelIndices => new(Enumerable.Range(0, Models.Length));

    [Theory]
    [MemberData(nameof(ModelIndices))]
    public void LossWithLengths_IsTheMeanOverRealSteps_GradientsTheWeightedSumOfTheStreams(int index)
    {
        RecurrentOptions options = Models[index];
        const int classes = 5, steps = 6;
        int[] lengths = [6, 2, 4, 1];
        int batch = lengths.Length;
        var model = new SequenceModel(options, classes, seed: 3);
        var random = new Random(4);
        int[] tokens = Enumerable.Range(0, steps * batch).Select(_ => random.Next(options.InputSize)).ToArray();
        int[] targets = Enumerable.Range(0, steps * batch).Select(_ => random.Next(classes)).ToArray();

        SequenceModelGradients batched = model.CreateGradients();
        float loss = model.ForwardBackward(SequenceInput.FromTokens(tokens, steps, lengths: lengths), targets, model.CreateState(batch),
            model.CreateWorkspace(steps, batch), batched);

        // Each stream alone, T = its length: the batch's loss is their mean weighted by length, its gradients the same
        // weighted sum (the batch divides by Σ lengths, each stream by its own length).
        int total = lengths.Sum();
        double expectedLoss = 0;
        float[] expectedGradients = new float[batched.Buffer.Length];
        for (int b = 0; b < batch; b++)
        {
            int length = lengths[b];
            int[] streamTokens = Enumerable.Range(0, length).Select(t => tokens[t * batch + b]).ToArray();
            int[] streamTargets = Enumerable.Range(0, length).Select(t => targets[t * batch + b]).ToArray();
            SequenceModelGradients alone = model.CreateGradients();
            float streamLoss = model.ForwardBackward(SequenceInput.FromTokens(streamTokens, length), streamTargets, model.CreateState(1),
                model.CreateWorkspace(length, 1), alone);
            expectedLoss += streamLoss * length / (double)total;
            for (int i = 0; i < expectedGradients.Length; i++)
                expectedGradients[i] += alone.Buffer.Span[i] * length / total;
        }
        // Float rounding only (GEMV alone vs GEMM in the batch, and the weighting): 1e-5 relative to the largest element
        // holds 2·T·L·K²·u/√H (SequenceShapeTests' bound, ≤ 3e-6 for these sizes) with room for the loss's log-sum-exp.
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * Math.Max(1, expectedLoss), $"loss {loss}, expected {expectedLoss}");
        float scale = expectedGradients.Max(MathF.Abs);
        for (int i = 0; i < expectedGradients.Length; i++)
        {
            float difference = MathF.Abs(expectedGradients[i] - batched.Buffer.Span[i]);
            Assert.True(difference <= 1e-5f * scale, $"gradient {i}: {batched.Buffer.Span[i]}, expected {expectedGradients[i]} (scale {scale})");
        }
    }

    [Fact]
    public void PaddedTargets_AreNotRead()
    {
        var model = new SequenceModel(RecurrentOptions.Gru(4, 6, bidirectional: true), 3, seed: 1);
        int[] lengths = [3, 1];
        int[] tokens = [0, 1, 2, 3, 1, 0];
        int[] targets = [0, 1, 2, 0, 1, 2];
        int[] padded = [0, 1, 2, -100, 1, int.MaxValue]; // (t = 1, b = 1) and (t = 2, b = 1) are past stream 1's length
        SequenceModelGradients g1 = model.CreateGradients(), g2 = model.CreateGradients();
        float a = model.ForwardBackward(SequenceInput.FromTokens(tokens, 3, lengths: lengths), targets, model.CreateState(2), model.CreateWorkspace(3, 2), g1);
        float b = model.ForwardBackward(SequenceInput.FromTokens(tokens, 3, lengths: lengths), padded, model.CreateState(2), model.CreateWorkspace(3, 2), g2);
        Assert.Equal(a, b);
        Assert.Equal(g1.Buffer.Span.ToArray(), g2.Buffer.Span.ToArray());
        // A real step's target is still checked, naming the parameter, before anything is written.
        int[] bad = [0, 1, 2, 0, 7, 2];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            model.ForwardBackward(SequenceInput.FromTokens(tokens, 3, lengths: lengths), bad, model.CreateState(2), model.CreateWorkspace(3, 2), g2));
        Assert.Equal("targets", e.ParamName);
        Assert.Equal(g1.Buffer.Span.ToArray(), g2.Buffer.Span.ToArray());
    }

    [Theory]
    [InlineData(CellKind.Lstm, 0)]
    [InlineData(CellKind.Lstm, 5)]
    [InlineData(CellKind.Gru, 0)]
    [InlineData(CellKind.Rnn, 0)]
    public void PackedModel_StepsAsTheModel(CellKind cell, int projection)
    {
        var model = new SequenceModel(new RecurrentOptions(cell, 7, 9, numLayers: 2, projSize: projection), 7, seed: 2);
        PackedSequenceModel packed = model.Pack();
        RecurrentState s1 = model.CreateState(2), s2 = packed.CreateState(2);
        SequenceModelWorkspace w1 = model.CreateWorkspace(1, 2);
        PackedSequenceModelWorkspace w2 = packed.CreateWorkspace(2);
        float[] l1 = new float[14], l2 = new float[14];
        var random = new Random(3);
        for (int step = 0; step < 20; step++)
        {
            int[] tokens = [random.Next(7), random.Next(7)];
            model.Step(tokens, s1, w1, l1);
            packed.Step(tokens, s2, w2, l2);
            // Both sum each pre-activation of K = I + H' ≤ 16 terms in their own order: 2·20·2·K²·u/√H ≤ 4e-4 (see SequenceShapeTests).
            for (int i = 0; i < l1.Length; i++)
                Assert.True(MathF.Abs(l1[i] - l2[i]) <= 4e-4f, $"step {step} logit {i}: {l2[i]} vs {l1[i]}");
        }
        // A snapshot: a change to the model is seen only after Refresh.
        model.Parameters.Span[^1] += 1f;
        float[] before = new float[14];
        packed.Step([1, 2], packed.CreateState(2), w2, before);
        packed.Refresh();
        float[] after = new float[14];
        packed.Step([1, 2], packed.CreateState(2), w2, after);
        Assert.NotEqual(before, after);
    }
}

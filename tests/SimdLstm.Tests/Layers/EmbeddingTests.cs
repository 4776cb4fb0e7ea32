using System;
using System.Linq;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// The embedding (PyTorch's <c>nn.Embedding</c>) alone and as the first layer of a model: lookups, the gradient (each
/// token's row receives the sum of its positions' input gradients), and a model with an embedding against the float64
/// reference run on the looked-up vectors.
/// </summary>
public class EmbeddingTests
{
    [Fact]
    public void ForwardAndBackward_LookUpAndSumRowsPerToken()
    {
        var buffer = new ParameterBuffer(Embedding.Layout(5, 3));
        var embedding = new Embedding(5, 3, buffer);
        for (int i = 0; i < embedding.Weight.Length; i++)
            embedding.Weight[i] = i;
        int[] tokens = [4, 0, 4, 2];
        float[] output = new float[12];
        embedding.Forward(tokens, output);
        Assert.Equal([12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8], output);

        var gradients = new Embedding(5, 3, buffer.CreateZeroedLike());
        float[] dOutput = Enumerable.Range(1, 12).Select(v => (float)v).ToArray();
        embedding.Backward(tokens, dOutput, gradients);
        // Token 4 at positions 0 and 2: rows (1, 2, 3) + (7, 8, 9); token 0: (4, 5, 6); token 2: (10, 11, 12).
        Assert.Equal([4, 5, 6, 0, 0, 0, 10, 11, 12, 0, 0, 0, 8, 10, 12], gradients.Weight.ToArray());
    }

    [Fact]
    public void BadTokensAndOverlaps_AreRefusedBeforeWriting()
    {
        var buffer = new ParameterBuffer(Embedding.Layout(5, 3));
        var embedding = new Embedding(5, 3, buffer);
        float[] output = Enumerable.Repeat(42f, 6).ToArray();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Forward([1, 5], output));
        Assert.Equal("tokens", e.ParamName);
        Assert.All(output, v => Assert.Equal(42f, v));
        Assert.Throws<ArgumentException>(() => embedding.Forward([1, 2], new float[5]));
        var gradients = new Embedding(5, 3, buffer.CreateZeroedLike());
        Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Backward([1, -1], new float[6], gradients));
        Assert.Throws<ArgumentException>(() => embedding.Backward([1], gradients.Weight[..3].ToArray().AsSpan(), new Embedding(4, 3, new ParameterBuffer(Embedding.Layout(4, 3)))));
        gradients.Weight.Fill(1f);
        float[] before = gradients.Weight.ToArray();
        Assert.Throws<ArgumentException>(() => embedding.Backward([0], gradients.Weight[3..6], gradients));
        Assert.Equal(before, gradients.Weight.ToArray());
    }

    [Theory]
    [InlineData(CellKind.Lstm, true, 0)]
    [InlineData(CellKind.Gru, false, 0)]
    [InlineData(CellKind.Lstm, false, 3)]
    [InlineData(CellKind.Rnn, true, 0)]
    public void ModelWithEmbedding_LossAndGradientsMatchReferenceOnTheLookedUpVectors(CellKind cell, bool bidirectional, int projection)
    {
        const int vocabulary = 13, embeddingDim = 6, hiddenSize = 7, steps = 5, batch = 3, classes = 4;
        int[] lengths = [5, 2, 4];
        var options = new RecurrentOptions(cell, embeddingDim, hiddenSize, numLayers: 2, bidirectional: bidirectional, projSize: projection);
        var model = new SequenceModel(options, classes, seed: 7, vocabularySize: vocabulary);
        Assert.Equal("embedding.weight", model.Parameters.Tensors[0].Name);
        var random = new SeededRandom(3);
        int[] tokens = random.Tokens(steps * batch, vocabulary), targets = random.Tokens(steps * batch, classes);
        for (int b = 0; b < batch; b++)
            for (int t = lengths[b]; t < steps; t++)
                tokens[t * batch + b] = -100; // past a stream's length a token is not read

        SequenceModelGradients gradients = model.CreateGradients();
        float loss = model.ForwardBackward(SequenceInput.FromTokens(tokens, steps, lengths: lengths), targets, model.CreateState(batch),
            model.CreateWorkspace(steps, batch), gradients);

        // The reference runs the recurrent layers and head on the looked-up vectors; the embedding's gradient is then its
        // input gradient added into each real position's token row.
        var weights = new ReferenceWeights(cell, embeddingDim, hiddenSize, 2, true, RnnActivation.Tanh, bidirectional, projection);
        var reference = new ModelReference(weights, classes, linearHasBias: true);
        foreach ((string name, double[] values) in reference.NamedParameters())
        {
            Span<float> source = model.Parameters[name].Span;
            for (int i = 0; i < values.Length; i++)
                values[i] = source[i];
        }
        ReadOnlySpan<float> table = model.Embedding!.Weight;
        double[] embedded = new double[steps * batch * embeddingDim];
        for (int r = 0; r < tokens.Length; r++)
            if (tokens[r] >= 0)
                for (int j = 0; j < embeddingDim; j++)
                    embedded[r * embeddingDim + j] = table[tokens[r] * embeddingDim + j];
        ModelGradients expected = reference.Gradients(embedded, steps, batch, targets, lengths: lengths);
        double[] expectedEmbedding = new double[vocabulary * embeddingDim];
        for (int r = 0; r < tokens.Length; r++)
            if (tokens[r] >= 0)
                for (int j = 0; j < embeddingDim; j++)
                    expectedEmbedding[tokens[r] * embeddingDim + j] += expected.Input[r * embeddingDim + j];

        // Tolerances as in RecurrentLayerReferenceTests (float rounding of sums of ≤ I + D·H' + H' terms; see there).
        Assert.True(Math.Abs(loss - expected.Loss) <= 1e-5 * Math.Abs(expected.Loss), $"loss {loss} vs reference {expected.Loss}");
        foreach ((string name, double[] values) in expected.NamedParameters())
            ReferenceComparison.AssertClose(name, gradients.Buffer[name].Span, values, 1e-4, 2e-5);
        ReferenceComparison.AssertClose("embedding.weight", gradients.Embedding!.Weight, expectedEmbedding, 1e-4, 2e-5);
    }

    [Fact]
    public void ModelWithEmbedding_StepsPackedAsUnpacked_AndAllocatesNothing()
    {
        var model = new SequenceModel(RecurrentOptions.Gru(8, 12, numLayers: 2), outputSize: 20, seed: 1, vocabularySize: 20);
        PackedSequenceModel packed = model.Pack();
        RecurrentState s1 = model.CreateState(), s2 = packed.CreateState();
        SequenceModelWorkspace w1 = model.CreateWorkspace(1);
        PackedSequenceModelWorkspace w2 = packed.CreateWorkspace();
        float[] l1 = new float[20], l2 = new float[20];
        int token = 3;
        for (int step = 0; step < 10; step++)
        {
            model.Step([token], s1, w1, l1);
            packed.Step([token], s2, w2, l2);
            for (int i = 0; i < 20; i++)
                Assert.True(MathF.Abs(l1[i] - l2[i]) <= 1e-4f, $"step {step} logit {i}: {l2[i]} vs {l1[i]}");
            token = (token * 7 + 1) % 20;
        }
        Assert.Throws<ArgumentException>(() => model.Step(new float[8], s1, w1, l1));

        const int steps = 6, batch = 4;
        int[] tokens = Enumerable.Range(0, steps * batch).Select(i => i % 20).ToArray(), targets = tokens.Reverse().ToArray();
        int[] lengths = [6, 3, 1, 5];
        SequenceModelWorkspace workspace = model.CreateWorkspace(steps, batch);
        SequenceModelGradients gradients = model.CreateGradients();
        RecurrentState state = model.CreateState(batch);
        int[] pulled = [0];
        Allocations.AssertNone(() =>
        {
            model.ForwardBackward(SequenceInput.FromTokens(tokens, steps, lengths: lengths), targets, state, workspace, gradients);
            packed.Step(pulled, s2, w2, l2);
        }, count: 20);
    }
}

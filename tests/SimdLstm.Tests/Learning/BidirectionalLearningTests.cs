using System;
using System.Linq;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Learning;

/// <summary>A 2-layer bidirectional model trained on padded batches with lengths learns a task that needs both directions.</summary>
public class BidirectionalLearningTests
{
    [Theory]
    [InlineData(CellKind.Gru, 0, 600, 1e-2f)]
    [InlineData(CellKind.Lstm, 0, 600, 1e-2f)]
    // Measured here: with the projection (P = 12 of H = 24) and a learning rate of 1e-2 the loss stalls on a plateau near
    // 1.0; at 3e-3 it falls to about 0.3 by 2000 updates and to 0.01 by 3000 (the projection's gradients check against
    // finite differences, so this is the model's optimisation, not the arithmetic).
    [InlineData(CellKind.Lstm, 12, 3000, 3e-3f)]
    public void TwoLayerBidirectional_WithLengths_LearnsATaskThatNeedsBothNeighbours(CellKind cell, int projection, int updates, float learningRate)
    {
        // Target at step t of a stream of length n: (x[t−1] + x[t+1]) mod V (x[−1] = 0), and an "end" class at t = n − 1.
        // x[t+1] lies in the stream's future, which only the reverse direction sees, and the end is visible only if the
        // reverse direction starts at each stream's own last step. A unidirectional model cannot beat 1/V on most steps.
        const int vocabulary = 4, steps = 8, batch = 16, hidden = 24;
        var options = new RecurrentOptions(cell, vocabulary, hidden, numLayers: 2, bidirectional: true, projSize: projection, dropout: 0.1f);
        var model = new SequenceModel(options, vocabulary + 1, seed: 5);
        var adam = new Adam(model.Parameters.Length, learningRate);
        SequenceModelWorkspace workspace = model.CreateWorkspace(steps, batch);
        SequenceModelGradients gradients = model.CreateGradients();
        var random = new Random(6);
        int[] tokens = new int[steps * batch], targets = new int[steps * batch], lengths = new int[batch];

        void Draw()
        {
            for (int b = 0; b < batch; b++)
            {
                lengths[b] = random.Next(2, steps + 1);
                for (int t = 0; t < steps; t++)
                    tokens[t * batch + b] = random.Next(vocabulary);
                for (int t = 0; t < steps; t++)
                {
                    int before = t > 0 ? tokens[(t - 1) * batch + b] : 0;
                    targets[t * batch + b] = t >= lengths[b] ? -100 : t == lengths[b] - 1 ? vocabulary : (before + tokens[(t + 1) * batch + b]) % vocabulary;
                }
            }
        }

        for (int step = 0; step < updates; step++)
        {
            Draw();
            gradients.Clear();
            model.ForwardBackward(SequenceInput.FromTokens(tokens, steps, lengths: lengths), targets, model.CreateState(batch), workspace, gradients);
            adam.Step(model.Parameters.Span, gradients.Buffer.Span);
        }

        // Accuracy on fresh batches, evaluation mode (no dropout), through the layer's own outputs and the head.
        int correct = 0, total = 0;
        float[] hiddenOut = new float[steps * batch * options.OutputSize], logits = new float[vocabulary + 1];
        for (int trial = 0; trial < 10; trial++)
        {
            Draw();
            model.Recurrent.Forward(SequenceInput.FromTokens(tokens, steps, lengths: lengths), model.CreateState(batch),
                workspace.Recurrent, hiddenOut);
            for (int b = 0; b < batch; b++)
            {
                for (int t = 0; t < lengths[b]; t++)
                {
                    model.Head.Forward(hiddenOut.AsSpan((t * batch + b) * options.OutputSize, options.OutputSize), 1, logits);
                    int predicted = Array.IndexOf(logits, logits.Max());
                    correct += predicted == targets[t * batch + b] ? 1 : 0;
                    total++;
                }
            }
        }
        double accuracy = correct / (double)total;
        TestContext.Current.TestOutputHelper?.WriteLine($"{cell} P={projection}: accuracy {accuracy:P1} over {total} real steps");
        Assert.True(accuracy > 0.9, $"accuracy {accuracy:P1}");
    }
}

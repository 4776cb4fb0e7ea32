using System;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Readme;

/// <summary>
/// The code examples of README.md, compiled and run, so the README cannot drift from the API. Each test also checks the
/// example does what the README says it does.
/// </summary>
public class ReadmeExampleTests
{
    [Fact]
    public void StreamingExample_RunsAndAllocatesNothingPerStep()
    {
        var random = new Random(3);
        float[][] incoming = new float[50][];
        for (int i = 0; i < incoming.Length; i++)
        {
            incoming[i] = new float[32];
            for (int j = 0; j < 32; j++) incoming[i][j] = (float)random.NextDouble();
        }

        // --- README: streaming inference ---
        var lstm = new RecurrentLayer(RecurrentOptions.Lstm(inputSize: 32, hiddenSize: 128, numLayers: 2), seed: 42);
        PackedRecurrentLayer fast = lstm.Pack();                           // inference copy of the weights, packed once
        RecurrentState state = fast.CreateState(batchSize: 1);             // h = c = 0
        RecurrentWorkspace workspace = fast.CreateWorkspace(maxSteps: 1);  // scratch, allocated once
        float[] output = new float[128];
        foreach (float[] sample in incoming)                                // allocates nothing
            fast.Step(sample, state, workspace, output);
        // --- end ---

        // The packed copy steps like the layer itself (same inputs from a zero state), up to float rounding order:
        // pre-activations are dot products of 160 terms of size ≤ 1/√128, so 1e-5 is far above their rounding and far
        // below the effect of any wrong weight.
        RecurrentState layerState = lstm.CreateState();
        RecurrentWorkspace layerWorkspace = lstm.CreateWorkspace(maxSteps: 1);
        float[] layerOutput = new float[128];
        foreach (float[] sample in incoming)
            lstm.Step(sample, layerState, layerWorkspace, layerOutput);
        for (int i = 0; i < output.Length; i++)
            Assert.True(Math.Abs(output[i] - layerOutput[i]) <= 1e-5f, $"h[{i}]: packed {output[i]}, layer {layerOutput[i]}");

        Allocations.AssertNone(() =>
        {
            foreach (float[] sample in incoming)
                fast.Step(sample, state, workspace, output);
        }, count: 4);
        Assert.Contains(output, v => v != 0f);
    }

    [Fact]
    public void TrainingExample_LowersTheLoss()
    {
        const int vocabulary = 5, batch = 4, steps = 12;
        int[] tokens = new int[steps * batch], targets = new int[steps * batch];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = i % vocabulary;
            targets[i] = (tokens[i] + 1) % vocabulary; // predict the next symbol of a cycle
        }

        // --- README: one training step ---
        var model = new SequenceModel(RecurrentOptions.Lstm(inputSize: vocabulary, hiddenSize: 32), outputSize: vocabulary, seed: 1);
        var optimizer = new Adam(model.Parameters.Length, learningRate: 1e-2f);
        SequenceModelGradients gradients = model.CreateGradients();
        RecurrentState state = model.CreateState(batchSize: batch);
        SequenceModelWorkspace workspace = model.CreateWorkspace(maxSteps: steps, maxBatch: batch);

        gradients.Clear();                                                             // backward accumulates
        float loss = model.ForwardBackward(tokens, targets, steps, state, workspace, gradients); // tokens, targets: [T, B]
        GradientClipping.ClipByGlobalNorm(gradients.Buffer.Span, maxNorm: 5f);
        optimizer.Step(model.Parameters.Span, gradients.Buffer.Span);
        // --- end ---

        float first = loss;
        for (int i = 0; i < 60; i++)
        {
            state.Reset();
            gradients.Clear();
            loss = model.ForwardBackward(tokens, targets, steps, state, workspace, gradients);
            GradientClipping.ClipByGlobalNorm(gradients.Buffer.Span, maxNorm: 5f);
            optimizer.Step(model.Parameters.Span, gradients.Buffer.Span);
        }
        // The cycle is deterministic, so a working model drives the loss from ln 5 ≈ 1.61 far down.
        Assert.True(first > 1.3f, $"initial loss {first}");
        Assert.True(loss < 0.1f, $"loss after 60 steps {loss}");
    }
}

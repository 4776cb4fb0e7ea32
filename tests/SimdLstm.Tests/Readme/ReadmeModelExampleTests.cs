using System;
using System.IO;
using System.Linq;
using FsCheck.Xunit;
using SimdLstm.Interop;
using SimdLstm.Testing;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Readme;

/// <summary>Runs alone: its examples name files relative to the working directory, which it points at a fresh folder.</summary>
[CollectionDefinition(nameof(WorkingDirectoryCollection), DisableParallelization = true)]
public sealed class WorkingDirectoryCollection;

/// <summary>
/// The README's examples of sequence shapes, of PyTorch state_dicts and of property tests for a user's own model,
/// compiled and run (see <see cref="ReadmeExampleTests"/> for how they are matched against README.md).
/// </summary>
[Collection(nameof(WorkingDirectoryCollection))]
public class ReadmeModelExampleTests
{
    [Fact]
    public void SequenceShapesExample_TrainsOnAPaddedBatch()
    {
        const int vocabulary = 12, classes = 5, steps = 9, batch = 4;
        var random = new Random(2);
        int[] tokens = Enumerable.Range(0, steps * batch).Select(_ => random.Next(vocabulary)).ToArray();
        int[] targets = tokens.Select(t => t % classes).ToArray();
        int[] lengths = [9, 4, 1, 7];

        // --- README.md: sequence shapes ---
        var options = RecurrentOptions.Lstm(inputSize: vocabulary, hiddenSize: 64, numLayers: 2,
            bidirectional: true, projSize: 32, dropout: 0.2f);                      // or RecurrentOptions.Gru(…, bidirectional: true)
        var model = new SequenceModel(options, outputSize: classes, seed: 1);      // head over 2 · 32 features per step
        var optimizer = new Adam(model.Parameters.Length, learningRate: 3e-3f);
        SequenceModelGradients gradients = model.CreateGradients();
        SequenceModelWorkspace workspace = model.CreateWorkspace(maxSteps: steps, maxBatch: batch);

        gradients.Clear();
        var input = SequenceInput.FromTokens(tokens, steps, lengths: lengths);     // tokens [T, B]; lengths [B], each 1 … T
        float loss = model.ForwardBackward(input, targets, model.CreateState(batch), workspace, gradients);
        optimizer.Step(model.Parameters.Span, gradients.Buffer.Span);
        // --- end ---

        // Untrained, the loss is near ln 5 ≈ 1.61; the targets are a function of each step's token, so more of the same
        // steps on this batch must cut it.
        Assert.InRange(loss, 0.7f * MathF.Log(classes), 1.3f * MathF.Log(classes));
        for (int step = 0; step < 60; step++)
        {
            gradients.Clear();
            loss = model.ForwardBackward(input, targets, model.CreateState(batch), workspace, gradients);
            optimizer.Step(model.Parameters.Span, gradients.Buffer.Span);
        }
        Assert.True(loss < 0.5f * MathF.Log(classes), $"loss after 61 steps {loss}");
        Assert.Equal(64, model.Head.InFeatures);
    }

    [Fact]
    public void FromPyTorchExample_LoadsAModuleByPrefixAndSavesPyTorchsNames()
    {
        string folder = Directory.CreateTempSubdirectory("simdlstm-readme-").FullName;
        string previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = folder;
            // What save_file(model.state_dict(), "model.safetensors") writes for a module with attributes embedding,
            // encoder.rnn (an nn.LSTM) and fc.
            var trained = new SequenceModel(RecurrentOptions.Lstm(8, 16, numLayers: 2), outputSize: 10, seed: 3, vocabularySize: 30);
            TorchStateDict.Save(trained, "model.safetensors", recurrentPrefix: "encoder.rnn.");

            // --- README.md: from PyTorch ---
            SequenceModel model = TorchStateDict.LoadModel("model.safetensors");             // architecture read from the tensors
            RecurrentLayer lstm = TorchStateDict.LoadLayer("model.safetensors",
                new TorchLoadOptions { Prefix = "encoder.rnn." });                            // one module of a larger model
            TorchStateDict.Save(model, "back.safetensors", recurrentPrefix: "lstm.", headPrefix: "fc.", embeddingPrefix: "embedding.");
            // --- end ---

            Assert.Equal(trained.Options, model.Options);
            Assert.Equal(30, model.VocabularySize);
            Assert.Equal(trained.Parameters.Span.ToArray(), model.Parameters.Span.ToArray());
            foreach ((string name, int[] _) in RecurrentParameters.Layout(trained.Options))
                Assert.Equal(trained.Parameters[name].Span.ToArray(), lstm.Weights.Buffer[name].Span.ToArray());
            var back = SimdLstm.Serialization.SafeTensorsFile.Load("back.safetensors");
            Assert.Equal(["embedding.weight", "lstm.weight_ih_l0"], back.Tensors.Take(2).Select(t => t.Name));
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            Directory.Delete(folder, recursive: true);
        }
    }

    // A user's model: L(w) = Σ w²/2 with its gradient w, standing in for the model a user would check.
    private static class MyModel
    {
        public static double Loss(double[] weight) => weight.Sum(w => w * w) / 2;

        public static double[] Gradient(double[] weight) => weight.ToArray();
    }

    // --- README.md: property tests ---
    [Property(MaxTest = 40, Arbitrary = new[] { typeof(RecurrentArbitraries) })]
    public void MyCell_GradientsMatch(RecurrentCase testCase)
    {
        SeededRandom random = testCase.CreateRandom();
        double[] weight = random.Uniform(4 * testCase.Shape.HiddenSize * testCase.Shape.InputSize, -0.5, 0.5);
        double[] dWeight = MyModel.Gradient(weight);
        GradientChecker.Check(() => MyModel.Loss(weight), [new GradientTensor("weight_ih_l0", weight, dWeight)])
            .AssertWithin(1e-6);   // a failure names the tensor, its worst element and both values
    }
    // --- end ---
}

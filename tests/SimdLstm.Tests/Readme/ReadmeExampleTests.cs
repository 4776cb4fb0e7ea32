using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using SimdLstm.Text;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Readme;

/// <summary>
/// The code examples of README.md and of the package's README (src/SimdLstm/README.md), compiled and run. Each example
/// is written once in a test, between <c>// --- README: … ---</c> (in both READMEs) or <c>// --- README.md: … ---</c>
/// (in the repository's only) and <c>// --- end ---</c>, in any test file of the repository; a test reads the README
/// files and fails unless each holds exactly that code (its <c>using</c> directives aside) and every C# block of a README
/// is one of the examples, so no README can drift from the API. Each test also checks the example does what the README
/// says it does.
/// </summary>
public partial class ReadmeExampleTests
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
        InferenceWorkspace workspace = fast.CreateWorkspace(maxSteps: 1);  // scratch, allocated once
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

    [Fact]
    public void TrainerExample_LowersTheLoss_AndTheCheckpointLoadsBack()
    {
        string corpusText = string.Concat(Enumerable.Repeat("the cat sat on the mat. the dog sat on the log.\n", 40));
        string path = Path.Combine(Path.GetTempPath(), "simdlstm-readme-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
#pragma warning disable xUnit1051 // the README's code takes no cancellation token
            // --- README: training with SequenceTrainer ---
            Vocabulary vocabulary = Vocabulary.FromText(corpusText);      // one id per Unicode character
            int[] ids = vocabulary.Encode(corpusText);
            int split = ids.Length * 9 / 10;                              // the last 10 % for validation
            var model = new SequenceModel(RecurrentOptions.Lstm(vocabulary.Count, hiddenSize: 64), vocabulary.Count, seed: 1);
            var trainer = new SequenceTrainer(model, new Adam(model.Parameters.Length, 2e-3f), ids.AsMemory(0, split), ids.AsMemory(split),
                new SequenceTrainerOptions { SequenceLength = 32, BatchSize = 8, EvaluateEvery = 100 });
            TrainingSummary summary = trainer.Train(steps: 300);
            ModelCheckpoint.Save(path, model, vocabulary);                // safetensors, PyTorch's names
            LoadedModel loaded = ModelCheckpoint.Load(path);
            string text = new TextSampler(loaded.Model, loaded.Vocabulary!).Generate(200, temperature: 0.8f, seed: 1, prime: "the ").Text;
            // --- end ---
#pragma warning restore xUnit1051

            Assert.True(summary.ValidationCurve[^1].Loss < summary.ValidationCurve[0].Loss - 1, $"{summary.ValidationCurve[0].Loss} -> {summary.ValidationCurve[^1].Loss}");
            Assert.Equal(200, text.Length);
            Assert.Equal(model.Parameters.Span.ToArray(), loaded.Model.Parameters.Span.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static TheoryData<string> Readmes => new() { "README.md", "src/SimdLstm/README.md" };

    [Theory]
    [MemberData(nameof(Readmes))]
    public void EveryExampleHere_IsInTheReadme_Verbatim_AndEveryBlockThereIsAnExample(string readme)
    {
        string root = SimdLstm.Tests.Architecture.LayeringTests.RepositoryRoot();
        List<string[]> blocks = CodeBlocks(File.ReadAllLines(Path.Combine(root, readme)));
        var examples = new List<(string Name, string[] Code)>();
        foreach (string file in Directory.EnumerateFiles(Path.Combine(root, "tests"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                continue;
            string[] source = File.ReadAllLines(file);
            for (int i = 0; i < source.Length; i++)
            {
                string line = source[i].Trim();
                bool both = line.StartsWith("// --- README: ", StringComparison.Ordinal);
                bool repositoryOnly = line.StartsWith("// --- README.md: ", StringComparison.Ordinal);
                if (!both && !(repositoryOnly && readme == "README.md"))
                    continue;
                string name = line[(both ? "// --- README: ".Length : "// --- README.md: ".Length)..^" ---".Length];
                int end = Array.FindIndex(source, i + 1, l => l.Trim() == "// --- end ---");
                Assert.True(end > i, $"example '{name}' of {file} has no end marker");
                examples.Add((name, Dedent(source[(i + 1)..end])));
            }
        }
        Assert.Contains(examples, e => e.Name == "streaming inference"); // the scan sees the examples it is meant to check
        foreach ((string name, string[] example) in examples)
        {
            Assert.True(blocks.Any(b => b.SequenceEqual(example)),
                $"{readme} has no csharp block equal to the example '{name}' (its using directives aside):{Environment.NewLine}{string.Join(Environment.NewLine, example)}");
        }
        foreach (string[] block in blocks)
        {
            Assert.True(examples.Any(e => e.Code.SequenceEqual(block)),
                $"a csharp block of {readme} is no example compiled by a test:{Environment.NewLine}{string.Join(Environment.NewLine, block)}");
        }
    }

    [Fact]
    public void PackageReadme_IsItsOwn_WithNoLinksThatCannotResolveOnAPackagePage()
    {
        string root = SimdLstm.Tests.Architecture.LayeringTests.RepositoryRoot();
        string project = File.ReadAllText(Path.Combine(root, "src", "SimdLstm", "SimdLstm.csproj"));
        Assert.Contains("<None Include=\"README.md\" Pack=\"true\" PackagePath=\"/\" />", project, StringComparison.Ordinal); // src/SimdLstm/README.md, not the repository's
        Assert.DoesNotContain("../../README.md", project, StringComparison.Ordinal);
        string readme = File.ReadAllText(Path.Combine(root, "src", "SimdLstm", "README.md"));
        foreach (System.Text.RegularExpressions.Match link in System.Text.RegularExpressions.Regex.Matches(readme, @"\]\(([^)]*)\)"))
            Assert.StartsWith("https://", link.Groups[1].Value, StringComparison.Ordinal);
        Assert.Contains("dotnet add package SimdLstm", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("SimdLstm.Cli --", readme, StringComparison.Ordinal); // no command-line instructions
    }

    /// <summary>The csharp blocks of a Markdown file, without using lines and blank edges.</summary>
    private static List<string[]> CodeBlocks(string[] lines)
    {
        var blocks = new List<string[]>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```csharp")
                continue;
            int end = Array.FindIndex(lines, i + 1, l => l.Trim() == "```");
            string[] block = lines[(i + 1)..end].Where(l => !UsingDirective().IsMatch(l)).ToArray();
            blocks.Add(Dedent(block));
            i = end;
        }
        return blocks;
    }

    // `using SimdLstm;`, not `using var pool = …`.
    [System.Text.RegularExpressions.GeneratedRegex(@"^using [A-Za-z0-9_.]+;\s*$")]
    private static partial System.Text.RegularExpressions.Regex UsingDirective();

    /// <summary>Lines without their common indentation, trailing spaces and blank first and last lines.</summary>
    private static string[] Dedent(string[] lines)
    {
        var trimmed = lines.Select(l => l.TrimEnd()).SkipWhile(l => l.Length == 0).Reverse().SkipWhile(l => l.Length == 0).Reverse().ToArray();
        int indent = trimmed.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return trimmed.Select(l => l.Length == 0 ? l : l[indent..]).ToArray();
    }
}

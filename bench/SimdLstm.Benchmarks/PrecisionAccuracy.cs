using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.Intrinsics;
using System.Text;
using SimdLstm.Testing;
using SimdLstm.Text;
using SimdLstm.Training;

namespace SimdLstm.Benchmarks;

/// <summary>
/// <c>precision-accuracy [--steps N] [--out FILE.md]</c>: how far the packed copy's bf16 and int8 weights move a layer's
/// outputs and a trained model's validation loss from the fp32 packed copy. Prints a Markdown page and writes it to
/// <c>--out</c> when given.
/// </summary>
/// <remarks>
/// <para><b>Random weights.</b> LSTM, GRU and RNN (tanh), one layer, I = H ∈ {64, 256, 1024}, PyTorch's initialisation
/// U(−1/√H, 1/√H) as <see cref="RecurrentLayer(RecurrentOptions, int)"/> draws it, inputs x_t ~ N(0, 1) drawn once per size:
/// a 1000-step stream from a zero state through the fp32, bf16 and int8 packed copies (and, as the floor of float
/// rounding alone, through <see cref="RecurrentLayer.Step(ReadOnlySpan{float}, RecurrentState, RecurrentWorkspace, Span{float})"/>
/// itself, which sums in another order); |Δh| against the fp32 packed copy over every step and unit.</para>
/// <para><b>A trained char-LSTM.</b> The command-line program's <c>train</c> with its defaults (LSTM, H = 128, one layer,
/// B = 32, T = 64, Adam 2e-3, clip 5, seed 1, 3000 steps, the embedded Genesis text with its last 10 % held out), through
/// the library's <see cref="SequenceTrainer"/> as <c>train</c> drives it; then each packed copy of the model steps the
/// whole held-out text as one stream from a zero state, and the mean cross-entropy of its next-character predictions is
/// computed here in double. The corpus is the CLI's own file, embedded in this program too (the bench project links it)
/// and decoded as the CLI decodes it: a leading byte-order mark skipped, strict UTF-8, CRLF made LF.</para>
/// </remarks>
internal static class PrecisionAccuracy
{
    private const int StreamSteps = 1000;
    private const int WeightSeed = 7;
    private const int InputSeed = 11;
    private const int DefaultTrainingSteps = 3000; // the CLI's train default
    private const string CorpusResource = "SimdLstm.Benchmarks.genesis-kjv.txt";
    private static readonly int[] Sizes = [64, 256, 1024];

    // The promised accuracy: max |Δh| over a 1000-step stream on random weights, and a trained model's validation loss
    // change, against the fp32 packed copy. A value beyond its target is printed in bold.
    private const double BFloat16MaxTarget = 5e-3, Int8MaxTarget = 2e-2, BFloat16LossTarget = 0.002, Int8LossTarget = 0.01;
    private static readonly CellKind[] Cells = [CellKind.Lstm, CellKind.Gru, CellKind.Rnn];

    public static int Run(string[] args)
    {
        int steps = DefaultTrainingSteps;
        string? output = null;
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--steps" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) && parsed >= 1:
                    steps = parsed;
                    i++;
                    break;
                case "--out" when value.Length > 0:
                    output = value;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"precision-accuracy: unexpected argument '{args[i]}' (usage: precision-accuracy [--steps N ≥ 1] [--out FILE.md])");
                    return 2;
            }
        }

        var page = new StringBuilder();
        Line(page, "# Accuracy of the packed copy's bf16 and int8 weights");
        Line(page, "");
        Line(page, $"`SimdLstm.Benchmarks precision-accuracy --steps {steps}` on {CpuName()} ({Environment.ProcessorCount} logical cores), " +
            $"{(Vector256.IsHardwareAccelerated ? "Vector256" : Vector128.IsHardwareAccelerated ? "Vector128" : "scalar")} kernels, .NET {Environment.Version}, " +
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. |Δh| is |h − h_fp32| against the fp32 packed copy on the same inputs from the same start.");
        Line(page, "");
        RandomWeights(page);
        CharModel(page, steps);

        string text = page.ToString();
        Console.Write(text);
        if (output is not null)
        {
            try
            {
                File.WriteAllText(output, text);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"precision-accuracy: cannot write '{output}': {e.Message}");
                return 1;
            }
            Console.Error.WriteLine($"wrote {output}");
        }
        return 0;
    }

    // ---- random weights ----

    private static void RandomWeights(StringBuilder page)
    {
        Line(page, "## Random weights");
        Line(page, "");
        Line(page, $"One layer, I = H, PyTorch's initialisation U(−1/√H, 1/√H) (`new RecurrentLayer(options, seed: {WeightSeed})`), inputs x_t ~ N(0, 1) " +
            $"(`new SeededRandom({InputSeed}).NormalSingle`, Box–Muller, the same for every cell of a size): a {StreamSteps}-step stream of `Step` calls from a zero state. " +
            $"Max and mean of |Δh| over all {StreamSteps}·H values. The last column is the fp32 `RecurrentLayer` itself, which sums in another order: " +
            "the part of a difference that is float rounding alone. " +
            $"Targets: max |Δh| ≤ {E(BFloat16MaxTarget)} (bf16) and ≤ {E(Int8MaxTarget)} (int8); a value beyond its target is in bold.");
        Line(page, "");
        Line(page, "| cell | I = H | bf16 max \\|Δh\\| | bf16 mean \\|Δh\\| | int8 max \\|Δh\\| | int8 mean \\|Δh\\| | fp32 layer max \\|Δh\\| |");
        Line(page, "|---|---:|---:|---:|---:|---:|---:|");
        foreach (int size in Sizes)
        {
            float[] inputs = new SeededRandom(InputSeed).NormalSingle(StreamSteps * size);
            foreach (CellKind cell in Cells)
            {
                var layer = new RecurrentLayer(new RecurrentOptions(cell, size, size), WeightSeed);
                float[] reference = Stream(layer.Pack(PackedPrecision.Float32), inputs);
                (double bf16Max, double bf16Mean) = Difference(Stream(layer.Pack(PackedPrecision.BFloat16), inputs), reference);
                (double int8Max, double int8Mean) = Difference(Stream(layer.Pack(PackedPrecision.Int8), inputs), reference);
                (double layerMax, _) = Difference(StreamLayer(layer, inputs), reference);
                Line(page, $"| {Name(cell)} | {size} | {Marked(bf16Max, BFloat16MaxTarget, E)} | {E(bf16Mean)} | {Marked(int8Max, Int8MaxTarget, E)} | {E(int8Mean)} | {E(layerMax)} |");
            }
        }
        Line(page, "");
    }

    // h of every step, [steps, H], of one stream through a packed copy.
    private static float[] Stream(PackedRecurrentLayer packed, float[] inputs)
    {
        int inputSize = packed.Options.InputSize, h = packed.Options.HiddenSize;
        RecurrentState state = packed.CreateState();
        InferenceWorkspace workspace = packed.CreateWorkspace();
        float[] hidden = new float[StreamSteps * h];
        for (int t = 0; t < StreamSteps; t++)
            packed.Step(inputs.AsSpan(t * inputSize, inputSize), state, workspace, hidden.AsSpan(t * h, h));
        return hidden;
    }

    private static float[] StreamLayer(RecurrentLayer layer, float[] inputs)
    {
        int inputSize = layer.Options.InputSize, h = layer.Options.HiddenSize;
        RecurrentState state = layer.CreateState();
        RecurrentWorkspace workspace = layer.CreateWorkspace(1, 1);
        float[] hidden = new float[StreamSteps * h];
        for (int t = 0; t < StreamSteps; t++)
            layer.Step(inputs.AsSpan(t * inputSize, inputSize), state, workspace, hidden.AsSpan(t * h, h));
        return hidden;
    }

    // ---- the trained char-LSTM ----

    private static void CharModel(StringBuilder page, int steps)
    {
        const int hidden = 128, batch = 32, sequenceLength = 64, seed = 1;
        const float learningRate = 2e-3f, clip = 5f;
        string text = LoadCorpus();
        Vocabulary vocabulary = Vocabulary.FromText(text);
        int[] tokens = vocabulary.Encode(text);
        int split = tokens.Length - tokens.Length / 10; // the CLI's split: the last 10 % held out
        int[] validation = tokens[split..];

        var model = new SequenceModel(new RecurrentOptions(CellKind.Lstm, vocabulary.Count, hidden), vocabulary.Count, seed);
        var trainer = new SequenceTrainer(model, new Adam(model.Parameters.Length, learningRate), tokens.AsMemory(0, split), tokens.AsMemory(split),
            new SequenceTrainerOptions { SequenceLength = sequenceLength, BatchSize = batch, MaxGradientNorm = clip, ReportEvery = 10, EvaluateEvery = 0 });
        Console.Error.WriteLine($"training the char-LSTM for {steps} steps …");
        TrainingSummary summary = trainer.Train(steps, new StderrProgress());
        float trainerLoss = summary.ValidationCurve[^1].Loss;

        // fp32 packed first: the reference of every other row.
        (double fp32Loss, float[] fp32Hidden) = ValidationStream(model.Pack(PackedPrecision.Float32), validation);
        (double bf16Loss, float[] bf16Hidden) = ValidationStream(model.Pack(PackedPrecision.BFloat16), validation);
        (double int8Loss, float[] int8Hidden) = ValidationStream(model.Pack(PackedPrecision.Int8), validation);
        (double layerLoss, float[] layerHidden) = ValidationStreamUnpacked(model, validation);

        Line(page, "## A trained char-LSTM");
        Line(page, "");
        Line(page, $"The CLI's `train` defaults but `--steps {steps}`: LSTM, H = {hidden}, 1 layer, B = {batch}, T = {sequenceLength}, Adam {learningRate.ToString(CultureInfo.InvariantCulture)}, " +
            $"clip {clip.ToString(CultureInfo.InvariantCulture)}, seed {seed}, the embedded Genesis text ({tokens.Length:N0} characters, vocabulary {vocabulary.Count}), its last 10 % " +
            $"({validation.Length:N0} characters) held out; trained with `SequenceTrainer` in {summary.Elapsed.TotalSeconds:F1} s ({summary.TokensPerSecond:N0} tokens/s). " +
            $"The trainer's own validation loss (fp32 `SequenceModel`, {Math.Clamp((validation.Length - 1) / sequenceLength, 1, batch)} striped streams of {sequenceLength}-step chunks, as `train` reports it): " +
            $"{trainerLoss.ToString("F4", CultureInfo.InvariantCulture)} nats/char.");
        Line(page, "");
        Line(page, $"Below, each copy steps the whole held-out text as one stream from a zero state (`PackedSequenceModel.Step`, B = 1): the mean cross-entropy " +
            $"of its {validation.Length - 1:N0} next-character predictions (computed in double from the logits), and |Δh| over the first {StreamSteps} steps. " +
            $"Targets: a loss change within ±{BFloat16LossTarget:P1} (bf16) and ±{Int8LossTarget:P0} (int8) of fp32's; the |Δh| targets above are for random weights, not this model.");
        Line(page, "");
        Line(page, "| weights | validation loss (nats/char) | change vs fp32 | max \\|Δh\\| (first 1000 steps) | mean \\|Δh\\| (first 1000 steps) |");
        Line(page, "|---|---:|---:|---:|---:|");
        Line(page, $"| fp32 packed | {F(fp32Loss)} | — | — | — |");
        foreach ((string name, double loss, float[] h, double target) in new[]
        {
            ("bf16 packed", bf16Loss, bf16Hidden, BFloat16LossTarget),
            ("int8 packed", int8Loss, int8Hidden, Int8LossTarget),
            ("fp32 `SequenceModel.Step` (not packed)", layerLoss, layerHidden, double.PositiveInfinity),
        })
        {
            (double max, double mean) = Difference(h, fp32Hidden);
            double change = (loss - fp32Loss) / fp32Loss;
            Line(page, $"| {name} | {F(loss)} | {Marked(change, target, c => (c * 100).ToString("+0.0000;−0.0000;0", CultureInfo.InvariantCulture) + " %")} | {E(max)} | {E(mean)} |");
        }
        Line(page, "");
    }

    // The mean cross-entropy over a token stream stepped through a packed model, and h of its first StreamSteps steps.
    private static (double Loss, float[] Hidden) ValidationStream(PackedSequenceModel packed, int[] tokens)
    {
        RecurrentState state = packed.CreateState();
        PackedSequenceModelWorkspace workspace = packed.CreateWorkspace();
        float[] logits = new float[packed.Model.OutputSize];
        int h = packed.Model.Options.HiddenSize;
        float[] hidden = new float[StreamSteps * h];
        double total = 0;
        for (int k = 0; k + 1 < tokens.Length; k++)
        {
            packed.Step(tokens.AsSpan(k, 1), state, workspace, logits);
            total += CrossEntropy(logits, tokens[k + 1]);
            if (k < StreamSteps)
                state.Hidden.CopyTo(hidden.AsSpan(k * h, h));
        }
        return (total / (tokens.Length - 1), hidden);
    }

    private static (double Loss, float[] Hidden) ValidationStreamUnpacked(SequenceModel model, int[] tokens)
    {
        RecurrentState state = model.CreateState();
        SequenceModelWorkspace workspace = model.CreateWorkspace(1);
        float[] logits = new float[model.OutputSize];
        int h = model.Options.HiddenSize;
        float[] hidden = new float[StreamSteps * h];
        double total = 0;
        for (int k = 0; k + 1 < tokens.Length; k++)
        {
            model.Step(tokens.AsSpan(k, 1), state, workspace, logits);
            total += CrossEntropy(logits, tokens[k + 1]);
            if (k < StreamSteps)
                state.Hidden.CopyTo(hidden.AsSpan(k * h, h));
        }
        return (total / (tokens.Length - 1), hidden);
    }

    // −ln softmax(logits)[target], in double.
    private static double CrossEntropy(ReadOnlySpan<float> logits, int target)
    {
        double max = double.NegativeInfinity;
        foreach (float l in logits)
            max = Math.Max(max, l);
        double sum = 0;
        foreach (float l in logits)
            sum += Math.Exp(l - max);
        return Math.Log(sum) + max - logits[target];
    }

    // The CLI's training text, decoded as the CLI decodes it.
    private static string LoadCorpus()
    {
        using Stream stream = typeof(PrecisionAccuracy).Assembly.GetManifestResourceStream(CorpusResource)
            ?? throw new InvalidOperationException($"The embedded corpus '{CorpusResource}' is missing from the program.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        ReadOnlySpan<byte> bytes = copy.ToArray();
        if (bytes.StartsWith("\uFEFF"u8))
            bytes = bytes[3..];
        string text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        return text.Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private sealed class StderrProgress : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (!value.IsEvaluation && value.Step % 500 == 0)
                Console.Error.WriteLine($"  step {value.Step}/{value.TotalSteps}: training loss {value.TrainingLoss.ToString("F3", CultureInfo.InvariantCulture)}, {value.TokensPerSecond:N0} tokens/s");
        }
    }

    // ---- helpers ----

    // The largest and the mean |a − b|.
    private static (double Max, double Mean) Difference(float[] a, float[] b)
    {
        double max = 0, sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            if (!(d <= max)) // NaN is the largest difference
                max = d;
            sum += d;
        }
        return (max, sum / a.Length);
    }

    private static string CpuName()
    {
        try
        {
            string? line = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
            return line is null ? "an unknown processor" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "an unknown processor";
        }
    }

    // The value as text, in bold when its magnitude is beyond the target (or not a number).
    private static string Marked(double value, double target, Func<double, string> format) =>
        Math.Abs(value) <= target ? format(value) : $"**{format(value)}**";

    private static string Name(CellKind cell) => cell.ToString().ToUpperInvariant();

    private static string E(double value) => value.ToString("0.00E+0", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("F5", CultureInfo.InvariantCulture);

    private static void Line(StringBuilder page, string line) => page.Append(line).Append('\n');
}

using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using SimdLstm.Text;
using SimdLstm.Training;
using Spectre.Console;

namespace SimdLstm.Cli;

/// <summary><c>train</c>: a character-level language model on a text, with truncated BPTT, Adam and clipping.</summary>
internal static class TrainCommand
{
    public const string DefaultCheckpoint = "checkpoints/char-lstm.safetensors";

    public static Command Create(CliContext context)
    {
        var corpus = new Option<string?>("--corpus") { Description = "UTF-8 text file to train on (default: the embedded Book of Genesis, KJV)" };
        var cell = CommonOptions.Cell();
        var hidden = CommonOptions.Int("--hidden", "Hidden size H", 128);
        var layers = CommonOptions.Int("--layers", "Stacked recurrent layers", 1);
        var seqLen = CommonOptions.Int("--seq-len", "Truncated-BPTT length T (characters per chunk)", 64);
        var batch = CommonOptions.Int("--batch", "Parallel streams B", 32);
        var steps = CommonOptions.Int("--steps", "Optimiser steps (one chunk of T·B characters each)", 3000);
        var lr = new Option<float>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 2e-3f };
        var clip = new Option<float>("--clip") { Description = "Global gradient-norm clip", DefaultValueFactory = _ => 5f };
        var seed = CommonOptions.Int("--seed", "Seed of the initialisation and the samples", 1, minimum: 0);
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint file (the loss CSV and PNG go next to it)", DefaultValueFactory = _ => DefaultCheckpoint };
        var evalEvery = CommonOptions.Int("--eval-every", "Steps between validation evaluations, checkpoints and samples", 250);
        var sampleLength = CommonOptions.Int("--sample-length", "Characters of each generated sample", 300, minimum: 0);
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature of the samples", DefaultValueFactory = _ => 0.8f };
        var command = new Command("train", "Train a character-level LSTM, GRU or RNN language model (the default command)")
        {
            corpus, cell, hidden, layers, seqLen, batch, steps, lr, clip, seed, checkpoint, evalEvery, sampleLength, temperature,
        };
        command.SetAction(r => Program.Guarded(context, () => Run(context, new TrainSettings(
            r.GetValue(corpus), CommonOptions.ParseCell(r.GetValue(cell)), r.GetValue(hidden), r.GetValue(layers), r.GetValue(seqLen),
            r.GetValue(batch), r.GetValue(steps), r.GetValue(lr), r.GetValue(clip), r.GetValue(seed), r.GetValue(checkpoint)!,
            r.GetValue(evalEvery), r.GetValue(sampleLength), r.GetValue(temperature)))));
        return command;
    }

    public static int Run(CliContext context, TrainSettings s)
    {
        if (!(s.LearningRate > 0) || !float.IsFinite(s.LearningRate))
            throw new CliException($"--lr must be a finite number greater than 0 but is {s.LearningRate}.");
        if (!(s.Clip > 0))
            throw new CliException($"--clip must be greater than 0 but is {s.Clip}.");
        if (!(s.Temperature > 0) || !float.IsFinite(s.Temperature))
            throw new CliException($"--temperature must be a finite number greater than 0 but is {s.Temperature}.");

        string text = Corpus.Load(s.CorpusPath);
        Vocabulary vocabulary = Vocabulary.FromText(text);
        int[] tokens = vocabulary.Encode(text);
        // The last 10 % is held out: the validation loss measures generalisation to text the model never trained on.
        int split = tokens.Length - tokens.Length / 10;
        ReadOnlyMemory<int> training = tokens.AsMemory(0, split), validation = tokens.AsMemory(split);
        if (training.Length < s.SeqLen * s.Batch + 1)
            throw new CliException($"The corpus has {training.Length} training characters; --batch {s.Batch} × --seq-len {s.SeqLen} needs at least {s.SeqLen * s.Batch + 1}.");
        if (validation.Length < s.SeqLen + 1)
            throw new CliException($"The corpus's held-out 10 % has {validation.Length} characters; --seq-len {s.SeqLen} needs at least {s.SeqLen + 1}.");

        var options = new RecurrentOptions(s.Cell, vocabulary.Count, s.Hidden, s.Layers);
        var model = new SequenceModel(options, vocabulary.Count, s.Seed);
        var optimizer = new Adam(model.Parameters.Length, s.LearningRate);
        var trainer = new SequenceTrainer(model, optimizer, training, validation, new SequenceTrainerOptions
        {
            SequenceLength = s.SeqLen,
            BatchSize = s.Batch,
            MaxGradientNorm = s.Clip,
            ReportEvery = 10,
            EvaluateEvery = s.EvalEvery,
        });
        var sampler = new TextSampler(model, vocabulary);
        var hyperParameters = new Dictionary<string, string>
        {
            ["optimizer"] = "adam",
            ["lr"] = Invariant(s.LearningRate),
            ["clip"] = Invariant(s.Clip),
            ["seq_len"] = Invariant(s.SeqLen),
            ["batch"] = Invariant(s.Batch),
            ["seed"] = Invariant(s.Seed),
            ["corpus"] = s.CorpusPath is null ? "embedded:genesis-kjv.txt" : Path.GetFileName(s.CorpusPath),
        };

        TextWriter output = context.Output;
        output.WriteLine(
            $"corpus: {text.Length:N0} characters, vocabulary {vocabulary.Count}, train {training.Length:N0} / validation {validation.Length:N0}; " +
            $"{s.Cell.ToString().ToUpperInvariant()} H={s.Hidden} layers={s.Layers} ({model.Parameters.Length:N0} parameters), T={s.SeqLen} B={s.Batch}, {s.Steps} steps, Adam lr={Invariant(s.LearningRate)}");
        output.WriteLine($"unigram entropy of the training text: {Invariant(UnigramEntropy(training.Span, vocabulary.Count), "F3")} nats/char (a model that ignores context)");

        int sampleSeed = s.Seed;
        void OnEvaluation(TrainingProgress p, Action<string> write)
        {
            ModelCheckpoint.Save(s.Checkpoint, model, vocabulary, hyperParameters);
            if (p.Step > 0 && p.Step < p.TotalSteps && s.SampleLength > 0)
            {
                string sample = sampler.Generate(Math.Min(s.SampleLength, 200), s.Temperature, sampleSeed++).Text;
                write($"--- sample at step {p.Step} (validation loss {Invariant(p.ValidationLoss, "F3")}) ---{Environment.NewLine}{sample.TrimEnd()}");
            }
        }

        TrainingSummary summary = context.Interactive
            ? RunWithProgressBar(trainer, s.Steps, OnEvaluation)
            : trainer.Train(s.Steps, new PlainProgress(output, OnEvaluation));

        ModelCheckpoint.Save(s.Checkpoint, model, vocabulary, hyperParameters);
        string stem = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(s.Checkpoint))!, Path.GetFileNameWithoutExtension(s.Checkpoint));
        string csv = stem + ".loss.csv", png = stem + ".loss.png";
        LossCurves.WriteCsv(csv, summary);
        LossCurves.WritePng(png, summary, $"{s.Cell.ToString().ToUpperInvariant()} H={s.Hidden} L={s.Layers} T={s.SeqLen} B={s.Batch}");

        float first = summary.ValidationCurve.Count > 0 ? summary.ValidationCurve[0].Loss : float.NaN;
        float last = summary.ValidationCurve.Count > 0 ? summary.ValidationCurve[^1].Loss : float.NaN;
        output.WriteLine(
            $"done: {summary.Steps} steps in {summary.Elapsed.TotalSeconds:F1} s, {summary.TokensPerSecond:N0} tokens/s; validation loss {Invariant(first, "F3")} -> {Invariant(last, "F3")} nats/char; " +
            $"skipped updates: {summary.SkippedSteps}");
        output.WriteLine($"checkpoint: {s.Checkpoint}");
        output.WriteLine($"loss curves: {csv}, {png}");
        if (s.SampleLength > 0)
        {
            SampleResult sample = sampler.Generate(s.SampleLength, s.Temperature, s.Seed);
            output.WriteLine($"--- sample (temperature {Invariant(s.Temperature)}, {sample.MicrosecondsPerCharacter:F1} µs/char) ---");
            output.WriteLine(sample.Text);
        }
        return 0;
    }

    /// <summary>H = −Σ p(c) ln p(c) of the character frequencies, in nats: the loss of the best context-free predictor.</summary>
    public static double UnigramEntropy(ReadOnlySpan<int> tokens, int vocabularySize)
    {
        var counts = new long[vocabularySize];
        foreach (int t in tokens)
            counts[t]++;
        double entropy = 0;
        foreach (long c in counts)
        {
            if (c > 0)
            {
                double p = (double)c / tokens.Length;
                entropy -= p * Math.Log(p);
            }
        }
        return entropy;
    }

    private static TrainingSummary RunWithProgressBar(SequenceTrainer trainer, int steps, Action<TrainingProgress, Action<string>> onEvaluation)
    {
        TrainingSummary? summary = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("starting", maxValue: Math.Max(steps, 1));
                summary = trainer.Train(steps, new BarProgress(task, onEvaluation));
            });
        return summary!;
    }

    internal static string Invariant(double value, string format = "G") => value.ToString(format, CultureInfo.InvariantCulture);

    internal static string Invariant(float value, string format = "G") => value.ToString(format, CultureInfo.InvariantCulture);

    internal static string Describe(TrainingProgress p)
    {
        string line = string.Create(
            CultureInfo.InvariantCulture,
            $"step {p.Step}/{p.TotalSteps}  loss {p.TrainingLoss:F3}  val {p.ValidationLoss:F3}  {p.TokensPerSecond:N0} tok/s  left {p.Remaining:mm\\:ss}");
        return p.SkippedSteps > 0 ? line + $"  skipped {p.SkippedSteps}" : line;
    }

    /// <summary>Plain lines (for logs and CI): one every 50 steps and after each evaluation.</summary>
    private sealed class PlainProgress(TextWriter output, Action<TrainingProgress, Action<string>> onEvaluation) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.IsEvaluation)
            {
                output.WriteLine($"step {value.Step}: validation loss {Invariant(value.ValidationLoss, "F3")} nats/char");
                onEvaluation(value, output.WriteLine);
            }
            else if (value.Step % 50 == 0)
            {
                output.WriteLine(Describe(value));
            }
        }
    }

    /// <summary>Updates the live Spectre.Console bar (short text, so it fits 80 columns beside the bar and the time left); samples are written above it.</summary>
    private sealed class BarProgress(ProgressTask task, Action<TrainingProgress, Action<string>> onEvaluation) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            task.Value = value.Step;
            task.Description = Markup.Escape(string.Create(
                CultureInfo.InvariantCulture,
                $"{value.Step}/{value.TotalSteps} loss {value.TrainingLoss:F3} val {value.ValidationLoss:F3} {value.TokensPerSecond / 1000:F1}k tok/s"));
            if (value.IsEvaluation)
                onEvaluation(value, line => AnsiConsole.WriteLine(line));
        }
    }
}

/// <summary>The settings of one <c>train</c> run.</summary>
internal sealed record TrainSettings(
    string? CorpusPath, CellKind Cell, int Hidden, int Layers, int SeqLen, int Batch, int Steps, float LearningRate, float Clip, int Seed,
    string Checkpoint, int EvalEvery, int SampleLength, float Temperature);

/// <summary>Writes the loss curves of a run as CSV and as a PNG plot.</summary>
internal static class LossCurves
{
    /// <summary>Columns step, train_loss, validation_loss; a cell is empty where that curve has no point at that step.</summary>
    public static void WriteCsv(string path, TrainingSummary summary)
    {
        var train = summary.TrainingCurve.ToDictionary(p => p.Step, p => p.Loss);
        var validation = new Dictionary<int, float>();
        foreach (LossPoint p in summary.ValidationCurve)
            validation[p.Step] = p.Loss;
        var sb = new StringBuilder("step,train_loss,validation_loss\n");
        foreach (int step in train.Keys.Union(validation.Keys).Order())
        {
            sb.Append(step.ToString(CultureInfo.InvariantCulture)).Append(',');
            if (train.TryGetValue(step, out float t)) sb.Append(t.ToString("R", CultureInfo.InvariantCulture));
            sb.Append(',');
            if (validation.TryGetValue(step, out float v)) sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        File.WriteAllText(path, sb.ToString());
    }

    public static void WritePng(string path, TrainingSummary summary, string title)
    {
        var plot = new ScottPlot.Plot();
        if (summary.TrainingCurve.Count > 0)
        {
            var train = plot.Add.Scatter(summary.TrainingCurve.Select(p => (double)p.Step).ToArray(), summary.TrainingCurve.Select(p => (double)p.Loss).ToArray());
            train.LegendText = "training (mean over 10 steps)";
            train.MarkerSize = 0;
        }
        if (summary.ValidationCurve.Count > 0)
        {
            var validation = plot.Add.Scatter(summary.ValidationCurve.Select(p => (double)p.Step).ToArray(), summary.ValidationCurve.Select(p => (double)p.Loss).ToArray());
            validation.LegendText = "validation (held-out 10 %)";
            validation.MarkerSize = 6;
            validation.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("cross-entropy (nats per character)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(path, 900, 540);
    }
}

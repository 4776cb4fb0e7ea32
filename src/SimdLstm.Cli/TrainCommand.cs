using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using SimdLstm.Serialization;
using SimdLstm.Text;
using SimdLstm.Training;
using Spectre.Console;

namespace SimdLstm.Cli;

/// <summary><c>train</c>: a character-level language model on a text, with truncated BPTT, Adam and clipping.</summary>
internal static class TrainCommand
{
    public const string DefaultCheckpoint = "checkpoints/char-lstm.safetensors";

    /// <summary>A loss above this multiple of the run's first validation loss counts as diverging.</summary>
    public const float DivergenceFactor = 1.5f;

    public static Command Create(CliContext context)
    {
        var corpus = new Option<string?>("--corpus") { Description = "UTF-8 text file to train on; without it, the embedded Book of Genesis (KJV). Invalid UTF-8 is an error" };
        var cell = CommonOptions.Cell();
        var hidden = CommonOptions.Int("--hidden", "Hidden size H", 128);
        var layers = CommonOptions.Int("--layers", "Stacked recurrent layers", 1);
        var seqLen = CommonOptions.Int("--seq-len", "Truncated-BPTT length T (characters per chunk)", 64);
        var batch = CommonOptions.Int("--batch", "Parallel streams B", 32);
        var steps = CommonOptions.Int("--steps", "Optimiser steps of the whole run (one chunk of T·B characters each)", 3000);
        var lr = CommonOptions.Float("--lr", "Adam learning rate (a decimal point, never a comma)", 2e-3f);
        var clip = CommonOptions.Float("--clip", "Global gradient-norm clip", 5f);
        var seed = CommonOptions.Int("--seed", "Seed of the initialisation and the samples", 1, minimum: 0);
        var checkpoint = CommonOptions.Path("--checkpoint", "Checkpoint file (its training state, the loss CSV and PNG go next to it)", DefaultCheckpoint);
        var evalEvery = CommonOptions.Int("--eval-every", "Steps between validation evaluations, checkpoints and samples", 250);
        var sampleLength = CommonOptions.Int("--sample-length", "Characters of each generated sample", 300, minimum: 0);
        var temperature = CommonOptions.Float("--temperature", "Sampling temperature of the samples", 0.8f);
        var resume = new Option<string?>("--resume") { Description = "Continue the run saved in this checkpoint (and its .training.safetensors) up to --steps" };
        var threads = CommonOptions.Int("--threads", "Threads sharing each training pass: every core by default, 1 for a single-threaded run. The results are bitwise the same whatever the count, so a run may be resumed with another", Environment.ProcessorCount);
        var command = new Command("train", "Train a character-level LSTM, GRU or RNN language model (the default command). Ctrl-C stops after the current step and saves; " + Program.ExitCodesHelp)
        {
            corpus, cell, hidden, layers, seqLen, batch, steps, lr, clip, seed, checkpoint, evalEvery, sampleLength, temperature, resume, threads,
        };
        command.SetAction(r =>
        {
            // Which options were given, so a resumed run can tell a repeated setting from a default.
            var given = new HashSet<string>(StringComparer.Ordinal);
            foreach (Option option in new Option[] { cell, hidden, layers, seqLen, batch, lr, clip, seed, checkpoint })
            {
                if (r.GetResult(option) is { Implicit: false })
                    given.Add(option.Name);
            }
            return Program.Guarded(context, () => Run(context, new TrainSettings(
                r.GetValue(corpus), CommonOptions.ParseCell(r.GetValue(cell)), r.GetValue(hidden), r.GetValue(layers), r.GetValue(seqLen),
                r.GetValue(batch), r.GetValue(steps), r.GetValue(lr), r.GetValue(clip), r.GetValue(seed), r.GetValue(checkpoint)!,
                r.GetValue(evalEvery), r.GetValue(sampleLength), r.GetValue(temperature))
            { Resume = r.GetValue(resume), Threads = r.GetValue(threads), Given = given }));
        });
        return command;
    }

    public static int Run(CliContext context, TrainSettings s)
    {
        string text = Corpus.Load(s.CorpusPath);
        string fingerprint = TrainingState.Fingerprint(text);
        LoadedModel? resumed = null;
        SafeTensorsFile? resumedState = null;
        string? resumedStatePath = null;
        if (s.Resume is not null)
        {
            if (!File.Exists(s.Resume))
                throw new CliException($"--resume checkpoint '{s.Resume}' does not exist.");
            resumed = ModelCheckpoint.Load(s.Resume);
            resumedStatePath = TrainingState.PathFor(s.Resume);
            if (!File.Exists(resumedStatePath))
                throw new CliException($"--resume '{s.Resume}' has no training state '{resumedStatePath}' next to it (train writes one with every checkpoint), so the run cannot be continued exactly.");
            resumedState = SafeTensorsFile.Load(resumedStatePath);
            s = Merge(s, TrainingState.ReadSettings(resumedState), fingerprint);
            if (!s.Given.Contains("--checkpoint"))
                s = s with { Checkpoint = s.Resume! };
        }

        Vocabulary vocabulary = resumed?.Vocabulary ?? Vocabulary.FromText(text);
        int[] tokens;
        try
        {
            tokens = vocabulary.Encode(text);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"The corpus does not fit the resumed checkpoint's vocabulary: {e.Message}", e);
        }
        // The last 10 % is held out: the validation loss measures generalisation to text the model never trained on.
        int split = tokens.Length - tokens.Length / 10;
        ReadOnlyMemory<int> training = tokens.AsMemory(0, split), validation = tokens.AsMemory(split);
        long needed = (long)s.SeqLen * s.Batch + 1;
        if (training.Length < needed)
            throw CliException.Usage($"The corpus has {training.Length} training characters; --batch {s.Batch} × --seq-len {s.SeqLen} needs at least {needed}.");
        if (validation.Length < s.SeqLen + 1)
            throw CliException.Usage($"The corpus's held-out 10 % has {validation.Length} characters; --seq-len {s.SeqLen} needs at least {s.SeqLen + 1}.");

        // Every output path is checked now, not after minutes of training.
        OutputPaths paths = OutputPaths.Check(s.Checkpoint);

        SequenceModel model = resumed?.Model ?? new SequenceModel(new RecurrentOptions(s.Cell, vocabulary.Count, s.Hidden, s.Layers), vocabulary.Count, s.Seed);
        var optimizer = new Adam(model.Parameters.Length, s.LearningRate);
        // The passes' threads: the pool splits each pass so that every value is computed as on one thread, so the thread
        // count changes the speed only, never a loss, a weight or a saved state (and is not part of the saved settings).
        // One thread takes no pool at all. Disposed however the run ends: done, diverged, failed or stopped by Ctrl-C.
        using ComputePool? pool = s.Threads > 1 ? new ComputePool(s.Threads) : null;
        var trainer = new SequenceTrainer(model, optimizer, training, validation, new SequenceTrainerOptions
        {
            SequenceLength = s.SeqLen,
            BatchSize = s.Batch,
            MaxGradientNorm = s.Clip,
            ReportEvery = 10,
            EvaluateEvery = s.EvalEvery,
        }, pool);
        int sampleSeed = s.Seed;
        var trainingCurve = new List<LossPoint>();
        var validationCurve = new List<LossPoint>();
        if (resumedState is not null)
        {
            (sampleSeed, trainingCurve, validationCurve) = TrainingState.Restore(resumedState, resumedStatePath!, trainer, optimizer);
            if (s.Steps <= trainer.StepsDone)
                throw CliException.Usage($"--steps {s.Steps} is not beyond the {trainer.StepsDone} steps the resumed run has done.");
        }
        int offset = trainer.StepsDone;
        var sampler = new TextSampler(model, vocabulary);
        Dictionary<string, string> settings = Settings(s, fingerprint);
        var hyperParameters = new Dictionary<string, string>(settings)
        {
            ["optimizer"] = "adam",
            ["corpus"] = s.CorpusPath is null ? "embedded:genesis-kjv.txt" : Path.GetFileName(s.CorpusPath),
        };
        hyperParameters.Remove("corpus_sha256");

        TextWriter output = context.Output;
        output.WriteLine(
            $"corpus: {text.Length:N0} UTF-16 units, {tokens.Length:N0} characters, vocabulary {vocabulary.Count}, train {training.Length:N0} / validation {validation.Length:N0}; " +
            $"{s.Cell.ToString().ToUpperInvariant()} H={s.Hidden} layers={s.Layers} ({model.Parameters.Length:N0} parameters), T={s.SeqLen} B={s.Batch}, {s.Steps} steps, Adam lr={Invariant(s.LearningRate)}, {Threads(s.Threads)}");
        if (offset > 0)
            output.WriteLine($"resuming {s.Resume} at step {offset}");
        output.WriteLine($"unigram entropy of the training text: {Invariant(UnigramEntropy(training.Span, vocabulary.Count), "F3")} nats/char (a model that ignores context)");

        var watch = new DivergenceWatch(validationCurve.Count > 0 ? validationCurve[0].Loss : float.NaN);
        void SaveAll()
        {
            ModelCheckpoint.Save(paths.Checkpoint, model, vocabulary, hyperParameters);
            TrainingState.Save(paths.TrainingState, trainer, optimizer, settings, sampleSeed, trainingCurve, validationCurve);
        }
        void OnReport(TrainingProgress p, Action<string> write)
        {
            int step = offset + p.Step;
            if (p.IsEvaluation)
            {
                if (validationCurve.Count == 0 || validationCurve[^1].Step != step)
                    validationCurve.Add(new LossPoint(step, p.ValidationLoss));
            }
            else
            {
                trainingCurve.Add(new LossPoint(step, p.TrainingLoss));
            }
            string? warning = watch.Observe(p, step);
            if (warning is not null)
                write("warning: " + warning);
            if (!p.IsEvaluation)
                return;
            SaveAll();
            if (p.Step > 0 && step < s.Steps && s.SampleLength > 0)
            {
                string sample = sampler.Generate(Math.Min(s.SampleLength, 200), s.Temperature, sampleSeed++).Text;
                write($"--- sample at step {step} (validation loss {Loss(p.ValidationLoss)}) ---{Environment.NewLine}{sample.TrimEnd()}");
            }
        }

        int toRun = s.Steps - offset;
        TrainingSummary summary = context.Interactive
            ? RunWithProgressBar(trainer, toRun, offset, s.Threads, OnReport, context.Interrupt)
            : trainer.Train(toRun, new PlainProgress(output, offset, s.Threads, OnReport), context.Interrupt);
        bool interrupted = summary.Steps < toRun;

        SaveAll();
        string csv = paths.Stem + ".loss.csv", png = paths.Stem + ".loss.png";
        LossCurves.WriteCsv(csv, trainingCurve, validationCurve);
        LossCurves.WritePng(png, trainingCurve, validationCurve, $"{s.Cell.ToString().ToUpperInvariant()} H={s.Hidden} L={s.Layers} T={s.SeqLen} B={s.Batch}");

        float first = validationCurve.Count > 0 ? validationCurve[0].Loss : float.NaN;
        float last = validationCurve.Count > 0 ? validationCurve[^1].Loss : float.NaN;
        output.WriteLine(
            $"{(interrupted ? "interrupted" : "done")}: {summary.Steps} steps in {summary.Elapsed.TotalSeconds:F1} s, {summary.TokensPerSecond:N0} tokens/s on {Threads(s.Threads)}; validation loss {Loss(first)} -> {Loss(last)} nats/char; " +
            $"skipped updates: {trainer.SkippedSteps}");
        output.WriteLine($"checkpoint: {paths.Checkpoint}");
        output.WriteLine($"training state: {paths.TrainingState}");
        output.WriteLine($"loss curves: {csv}, {png}");
        if (interrupted)
        {
            output.WriteLine($"stopped at step {trainer.StepsDone} of {s.Steps}; continue with: train --resume {paths.Checkpoint} --steps {s.Steps}");
            return Program.InterruptedExitCode;
        }
        if (s.SampleLength > 0)
        {
            SampleResult sample = sampler.Generate(s.SampleLength, s.Temperature, s.Seed);
            output.WriteLine($"--- sample (temperature {Invariant(s.Temperature)}, {sample.MicrosecondsPerCharacter:F1} µs/char) ---");
            output.WriteLine(sample.Text);
        }
        // Worse than the start, or not a number at all: a loss that merely failed to improve (a tiny --lr) is not divergence.
        if (!float.IsFinite(last) || last > first)
        {
            throw new CliException(
                $"training diverged: the validation loss went from {Loss(first)} (step {validationCurve[0].Step}) to {Invariant(last, "G4")} (step {validationCurve[^1].Step}); " +
                $"the checkpoint was saved anyway; try a smaller --lr than {Invariant(s.LearningRate)} or a smaller --clip.",
                Program.DivergedExitCode);
        }
        return 0;
    }

    /// <summary>The settings a resumed run must share with the saved one, as strings.</summary>
    private static Dictionary<string, string> Settings(TrainSettings s, string fingerprint) => new(StringComparer.Ordinal)
    {
        ["cell"] = s.Cell.ToString().ToLowerInvariant(),
        ["hidden"] = Invariant(s.Hidden),
        ["layers"] = Invariant(s.Layers),
        ["seq_len"] = Invariant(s.SeqLen),
        ["batch"] = Invariant(s.Batch),
        ["lr"] = Invariant(s.LearningRate, "R"),
        ["clip"] = Invariant(s.Clip, "R"),
        ["seed"] = Invariant(s.Seed),
        ["corpus_sha256"] = fingerprint,
    };

    /// <summary>The settings of a resumed run: the saved ones, which the command line may repeat but not change.</summary>
    private static TrainSettings Merge(TrainSettings s, Dictionary<string, string> saved, string fingerprint)
    {
        Dictionary<string, string> current = Settings(s, fingerprint);
        foreach (string key in TrainingState.FixedSettings)
        {
            if (!saved.TryGetValue(key, out string? value))
                throw new CliException($"The training state lacks the setting '{key}'.");
            if (value == current[key])
                continue;
            if (key == "corpus_sha256")
                throw new CliException("The corpus differs from the one the resumed run was trained on (its SHA-256 differs); give the same --corpus.");
            string option = "--" + key.Replace('_', '-');
            if (s.Given.Contains(option))
                throw CliException.Usage($"{option} {current[key]} differs from the resumed run's {value}; leave it out to continue with {value}.");
        }
        try
        {
            return s with
            {
                Cell = CommonOptions.ParseCell(saved["cell"]),
                Hidden = int.Parse(saved["hidden"], CultureInfo.InvariantCulture),
                Layers = int.Parse(saved["layers"], CultureInfo.InvariantCulture),
                SeqLen = int.Parse(saved["seq_len"], CultureInfo.InvariantCulture),
                Batch = int.Parse(saved["batch"], CultureInfo.InvariantCulture),
                LearningRate = float.Parse(saved["lr"], CultureInfo.InvariantCulture),
                Clip = float.Parse(saved["clip"], CultureInfo.InvariantCulture),
                Seed = int.Parse(saved["seed"], CultureInfo.InvariantCulture),
            };
        }
        catch (FormatException e)
        {
            throw new CliException($"The training state has an invalid setting: {e.Message}", e);
        }
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

    private static TrainingSummary RunWithProgressBar(SequenceTrainer trainer, int steps, int offset, int threads, Action<TrainingProgress, Action<string>> onReport, CancellationToken interrupt)
    {
        TrainingSummary? summary = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("starting", maxValue: Math.Max(offset + steps, 1));
                task.Value = offset;
                summary = trainer.Train(steps, new BarProgress(task, ctx, offset, threads, onReport), interrupt);
            });
        return summary!;
    }

    /// <summary>A loss as text: three decimals, or four significant digits once it is huge (a diverged run).</summary>
    internal static string Loss(float value) => Invariant(value, Math.Abs(value) < 1e4f ? "F3" : "G4");

    internal static string Invariant(double value, string format = "G") => value.ToString(format, CultureInfo.InvariantCulture);

    internal static string Invariant(float value, string format = "G") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>The latest validation loss and the step it was measured at ("1.380@250"), or "-" before the first.</summary>
    internal static string Validation(TrainingProgress p) =>
        p.ValidationStep < 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{Loss(p.ValidationLoss)}@{p.ValidationStep}");

    /// <summary>"1 thread", "2 threads".</summary>
    internal static string Threads(int count) => count == 1 ? "1 thread" : string.Create(CultureInfo.InvariantCulture, $"{count} threads");

    /// <summary>A plain progress line: step, training loss, validation loss with its step, throughput and the threads it was measured on, time left.</summary>
    internal static string Describe(TrainingProgress p, int threads, int offset = 0)
    {
        string line = string.Create(
            CultureInfo.InvariantCulture,
            $"step {offset + p.Step}/{offset + p.TotalSteps}  loss {Loss(p.TrainingLoss)}  val {Validation(p)}  {p.TokensPerSecond:N0} tok/s on {Threads(threads)}  left {p.Remaining:mm\\:ss}");
        return p.SkippedSteps > 0 ? line + $"  skipped {p.SkippedSteps}" : line;
    }

    /// <summary>Plain lines (for logs and CI): one every 50 steps and after each evaluation.</summary>
    private sealed class PlainProgress(TextWriter output, int offset, int threads, Action<TrainingProgress, Action<string>> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.IsEvaluation)
                output.WriteLine($"step {offset + value.Step}: validation loss {Loss(value.ValidationLoss)} nats/char");
            else if ((offset + value.Step) % 50 == 0)
                output.WriteLine(Describe(value, threads, offset));
            onReport(value, output.WriteLine);
        }
    }

    /// <summary>Updates the live Spectre.Console bar (short text, so it fits 80 columns beside the bar and the time left); samples and warnings are written above it.</summary>
    private sealed class BarProgress(ProgressTask task, ProgressContext context, int offset, int threads, Action<TrainingProgress, Action<string>> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            task.Value = offset + value.Step;
            task.Description = Markup.Escape(BarText(value, threads, offset));
            onReport(value, WriteAbove);
        }

        private void WriteAbove(string text)
        {
            // One line at a time, each cut to the terminal's width, so the live display knows exactly how many rows
            // were written above it and redraws the bar below them rather than over their last line.
            int width = Math.Max(AnsiConsole.Profile.Width - 1, 20);
            foreach (string line in text.ReplaceLineEndings("\n").Split('\n'))
                AnsiConsole.Write(new Spectre.Console.Text((line.Length > width ? line[..width] : line) + "\n"));
            context.Refresh();
        }
    }

    /// <summary>The bar's description: step, training loss, validation loss with its step, throughput and its thread count ("2 thr").</summary>
    internal static string BarText(TrainingProgress value, int threads, int offset = 0) => string.Create(
        CultureInfo.InvariantCulture,
        $"{offset + value.Step}/{offset + value.TotalSteps} loss {Loss(value.TrainingLoss)} val {Validation(value)} {value.TokensPerSecond / 1000:F1}k tok/s {threads} thr");
}

/// <summary>
/// Watches a run's losses as they are reported: a non-finite loss, or one above <see cref="TrainCommand.DivergenceFactor"/>
/// times the first validation loss, gives one warning line the first time it happens.
/// </summary>
internal sealed class DivergenceWatch(float reference)
{
    private float _reference = reference;
    private bool _warnedNonFinite, _warnedHigh;

    /// <summary>A warning for this report, or null.</summary>
    public string? Observe(TrainingProgress p, int step)
    {
        if (p.IsEvaluation && float.IsNaN(_reference) && float.IsFinite(p.ValidationLoss))
            _reference = p.ValidationLoss;
        string what = p.IsEvaluation ? "validation loss" : "training loss";
        float loss = p.IsEvaluation ? p.ValidationLoss : p.TrainingLoss;
        if (p.IsEvaluation && p.ValidationStep < 0)
            return null;
        if (!float.IsFinite(loss))
        {
            if (_warnedNonFinite)
                return null;
            _warnedNonFinite = true;
            return $"step {step}: the {what} is {TrainCommand.Invariant(loss)}: training has diverged (try a smaller --lr)";
        }
        if (float.IsFinite(_reference) && loss > TrainCommand.DivergenceFactor * _reference && !_warnedHigh)
        {
            _warnedHigh = true;
            return $"step {step}: the {what} {TrainCommand.Invariant(loss, "G4")} is far above the starting {TrainCommand.Invariant(_reference, "F3")}: training is diverging (try a smaller --lr)";
        }
        return null;
    }
}

/// <summary>The files a training run writes, checked before it starts.</summary>
internal sealed record OutputPaths(string Checkpoint, string TrainingState, string Stem)
{
    /// <summary>Creates the checkpoint's directory and checks that the checkpoint, its training state, CSV and PNG can be written, naming the path that cannot.</summary>
    public static OutputPaths Check(string checkpoint)
    {
        string full = Path.GetFullPath(checkpoint);
        if (Path.EndsInDirectorySeparator(checkpoint) || Directory.Exists(full))
            throw new CliException($"--checkpoint '{checkpoint}' is a directory; give a file name such as {Path.Combine(checkpoint, "model.safetensors")}.");
        string directory = Path.GetDirectoryName(full)!;
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--checkpoint '{checkpoint}': cannot create the directory '{directory}' ({e.Message.ReplaceLineEndings(" ")}).", e);
        }
        string stem = Path.Combine(directory, Path.GetFileNameWithoutExtension(full));
        string state = Cli.TrainingState.PathFor(full);
        SafeTensorsWriter.CheckDestination(full);
        SafeTensorsWriter.CheckDestination(state);
        foreach (string path in new[] { stem + ".loss.csv", stem + ".loss.png" })
        {
            if (Directory.Exists(path))
                throw new CliException($"Cannot write the loss curve '{path}': it is a directory.");
        }
        return new OutputPaths(full, state, stem);
    }
}

/// <summary>The settings of one <c>train</c> run.</summary>
internal sealed record TrainSettings(
    string? CorpusPath, CellKind Cell, int Hidden, int Layers, int SeqLen, int Batch, int Steps, float LearningRate, float Clip, int Seed,
    string Checkpoint, int EvalEvery, int SampleLength, float Temperature)
{
    /// <summary>The checkpoint to continue, or null for a new run.</summary>
    public string? Resume { get; init; }

    /// <summary>
    /// Threads sharing each training pass (at least 1). Not a setting of the run: the results do not depend on it, so it
    /// is not saved with the training state and a resumed run takes whatever the command line says.
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>The options given on the command line (not defaulted), e.g. <c>--hidden</c>.</summary>
    public IReadOnlySet<string> Given { get; init; } = new HashSet<string>();
}

/// <summary>Writes the loss curves of a run as CSV and as a PNG plot.</summary>
internal static class LossCurves
{
    /// <summary>Columns step, train_loss, validation_loss; a cell is empty where that curve has no point at that step.</summary>
    public static void WriteCsv(string path, IReadOnlyList<LossPoint> trainingCurve, IReadOnlyList<LossPoint> validationCurve)
    {
        var train = new Dictionary<int, float>();
        foreach (LossPoint p in trainingCurve)
            train[p.Step] = p.Loss;
        var validation = new Dictionary<int, float>();
        foreach (LossPoint p in validationCurve)
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

    public static void WritePng(string path, IReadOnlyList<LossPoint> trainingCurve, IReadOnlyList<LossPoint> validationCurve, string title)
    {
        var plot = new ScottPlot.Plot();
        if (trainingCurve.Count > 0)
        {
            var train = plot.Add.Scatter(trainingCurve.Select(p => (double)p.Step).ToArray(), trainingCurve.Select(p => (double)p.Loss).ToArray());
            train.LegendText = "training (mean over 10 steps)";
            train.MarkerSize = 0;
        }
        if (validationCurve.Count > 0)
        {
            var validation = plot.Add.Scatter(validationCurve.Select(p => (double)p.Step).ToArray(), validationCurve.Select(p => (double)p.Loss).ToArray());
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

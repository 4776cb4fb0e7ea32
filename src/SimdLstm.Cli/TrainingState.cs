using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using SimdLstm.Serialization;
using SimdLstm.Text;
using SimdLstm.Training;

namespace SimdLstm.Cli;

/// <summary>
/// What <c>train --resume</c> needs beyond the checkpoint's weights, saved next to it as <c>NAME.training.safetensors</c>:
/// the optimiser's buffers and step count, the state carried between chunks, the step count, the skipped updates, the
/// data position, the seed of the next sample, the loss curves so far and the settings the run was started with. With
/// them a resumed run takes bitwise the steps the uninterrupted run would have taken.
/// </summary>
internal static class TrainingState
{
    public const string FormatName = "simdlstm.training-state.v1";

    /// <summary>The settings a resumed run takes from the saved one (the command line may repeat them, not change them).</summary>
    public static readonly string[] FixedSettings = ["cell", "hidden", "layers", "seq_len", "batch", "lr", "clip", "seed", "corpus_sha256"];

    /// <summary>The training-state file of a checkpoint: <c>DIR/NAME.training.safetensors</c> for <c>DIR/NAME.safetensors</c>.</summary>
    public static string PathFor(string checkpoint) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpoint))!, Path.GetFileNameWithoutExtension(checkpoint) + ".training.safetensors");

    /// <summary>Hex SHA-256 of the corpus text's UTF-8 bytes, so a resume on a different text is refused.</summary>
    public static string Fingerprint(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public static void Save(string path, SequenceTrainer trainer, Optimizer optimizer, IReadOnlyDictionary<string, string> settings, int nextSampleSeed,
        IReadOnlyList<LossPoint> trainingCurve, IReadOnlyList<LossPoint> validationCurve)
    {
        var writer = new SafeTensorsWriter();
        writer.AddMetadata("format", FormatName)
            .AddMetadata("steps_done", Text(trainer.StepsDone))
            .AddMetadata("skipped_steps", Text(trainer.SkippedSteps))
            .AddMetadata("next_chunk", Text(trainer.NextChunk))
            .AddMetadata("optimizer_steps", optimizer.StepCount.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("next_sample_seed", Text(nextSampleSeed))
            .AddMetadata("training_curve", Curve(trainingCurve))
            .AddMetadata("validation_curve", Curve(validationCurve));
        foreach ((string key, string value) in settings)
            writer.AddMetadata("setting." + key, value);
        foreach ((string name, Memory<float> buffer) in optimizer.StateBuffers)
            writer.Add("optimizer." + name, [buffer.Length], buffer);
        RecurrentState state = trainer.CarriedState;
        writer.AddCopy("state.h", [state.Hidden.Length], state.Hidden);
        if (trainer.Model.Options.HasCellState)
            writer.AddCopy("state.c", [state.Cell.Length], state.Cell);
        writer.Save(path);
    }

    /// <summary>The settings recorded in a training-state file.</summary>
    public static Dictionary<string, string> ReadSettings(SafeTensorsFile file)
    {
        if (!file.Metadata.TryGetValue("format", out string? format) || format != FormatName)
            throw new CliException($"The training state is not a {FormatName} file.");
        return file.Metadata.Where(kv => kv.Key.StartsWith("setting.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["setting.".Length..], kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>Restores the trainer and the optimiser from <paramref name="file"/>; returns the next sample seed and the curves so far.</summary>
    public static (int NextSampleSeed, List<LossPoint> TrainingCurve, List<LossPoint> ValidationCurve) Restore(SafeTensorsFile file, string path, SequenceTrainer trainer, Optimizer optimizer)
    {
        try
        {
            foreach ((string name, Memory<float> buffer) in optimizer.StateBuffers)
                file.ReadInto("optimizer." + name, [buffer.Length], buffer.Span);
            RecurrentState state = trainer.CarriedState;
            file.ReadInto("state.h", [state.Hidden.Length], state.Hidden);
            if (trainer.Model.Options.HasCellState)
                file.ReadInto("state.c", [state.Cell.Length], state.Cell);
            optimizer.Restore(Long(file, "optimizer_steps"));
            trainer.Restore(Int(file, "steps_done"), Int(file, "skipped_steps"), Int(file, "next_chunk"));
            return (Int(file, "next_sample_seed"), ParseCurve(file, "training_curve"), ParseCurve(file, "validation_curve"));
        }
        catch (Exception e) when (e is SafeTensorsFormatException or ArgumentException or FormatException)
        {
            throw new CliException($"Training state '{path}' cannot be restored: {e.Message}", e);
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Curve(IReadOnlyList<LossPoint> curve) =>
        string.Join(";", curve.Select(p => p.Step.ToString(CultureInfo.InvariantCulture) + ":" + p.Loss.ToString("R", CultureInfo.InvariantCulture)));

    private static List<LossPoint> ParseCurve(SafeTensorsFile file, string key)
    {
        string text = Required(file, key);
        var points = new List<LossPoint>();
        foreach (string item in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = item.Split(':');
            if (parts.Length != 2)
                throw new FormatException($"'{key}' has an item '{item}' that is not step:loss.");
            points.Add(new LossPoint(int.Parse(parts[0], CultureInfo.InvariantCulture), float.Parse(parts[1], CultureInfo.InvariantCulture)));
        }
        return points;
    }

    private static string Required(SafeTensorsFile file, string key) =>
        file.Metadata.TryGetValue(key, out string? value) ? value : throw new FormatException($"The metadata lacks '{key}'.");

    private static int Int(SafeTensorsFile file, string key) => int.Parse(Required(file, key), NumberStyles.None, CultureInfo.InvariantCulture);

    private static long Long(SafeTensorsFile file, string key) => long.Parse(Required(file, key), NumberStyles.None, CultureInfo.InvariantCulture);
}

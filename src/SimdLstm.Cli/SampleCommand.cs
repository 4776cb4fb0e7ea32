using System;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Text;
using SimdLstm.Text;

namespace SimdLstm.Cli;

/// <summary><c>sample</c>: generates text from a checkpoint, one character per streaming model step.</summary>
internal static class SampleCommand
{
    public static Command Create(CliContext context)
    {
        var checkpoint = CommonOptions.Path("--checkpoint", "Checkpoint written by train", TrainCommand.DefaultCheckpoint);
        var length = CommonOptions.Int("--length", "Characters to generate", 500);
        var temperature = CommonOptions.Float("--temperature", "Softmax temperature: < 1 sharper, > 1 more random", 0.8f);
        var seed = CommonOptions.Int("--seed", "Seed of the draws", 1, minimum: 0);
        var prime = new Option<string?>("--prime") { Description = "Text fed to the model before generating (taken literally, even if it begins with '@')" };
        var precision = CommonOptions.Precision();
        var command = new Command("sample", "Generate text from a trained checkpoint") { checkpoint, length, temperature, seed, prime, precision };
        command.SetAction(r => Program.Guarded(context, () => Run(
            context, r.GetValue(checkpoint)!, r.GetValue(length), r.GetValue(temperature), r.GetValue(seed), r.GetValue(prime),
            CommonOptions.ParsePrecision(r.GetValue(precision)))));
        return command;
    }

    public static int Run(CliContext context, string checkpointPath, int length, float temperature, int seed, string? prime,
        PackedPrecision precision = PackedPrecision.Float32)
    {
        if (!File.Exists(checkpointPath) && !Directory.Exists(checkpointPath))
            throw new CliException($"Checkpoint '{checkpointPath}' does not exist (train one first: train --checkpoint {checkpointPath}).");
        LoadedModel loaded = ModelCheckpoint.Load(checkpointPath);
        Vocabulary vocabulary = loaded.Vocabulary
            ?? throw new CliException($"Checkpoint '{checkpointPath}' has no character vocabulary, so it is not a text model.");
        var sampler = new TextSampler(loaded.Model, vocabulary, precision);
        if (prime is not null)
        {
            int unknown = vocabulary.IndexOfUnknown(prime);
            if (unknown >= 0)
            {
                string what = Rune.DecodeFromUtf16(prime.AsSpan(unknown), out Rune rune, out _) == System.Buffers.OperationStatus.Done
                    ? Vocabulary.Describe(rune) : $"U+{(int)prime[unknown]:X4}";
                throw CliException.Usage($"--prime character {what} is not in the checkpoint's vocabulary of {vocabulary.Count} characters.");
            }
        }
        // Untimed generation for about half a second first: under the JIT, code runs unoptimised until tiered compilation
        // has recompiled it (30 calls, then a background compile that a busy machine delays), and the figure should
        // describe the optimised steady state. Native AOT code is optimised from the start; the warm-up costs it nothing.
        var warmUp = new Rune[256];
        long warmUpStart = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warmUpStart).TotalMilliseconds < 500)
            sampler.Generate(warmUp, temperature, seed, prime);
        SampleResult result = sampler.Generate(length, temperature, seed, prime);
        context.Output.Write(prime);
        context.Output.WriteLine(result.Text);
        context.Output.WriteLine(TrainCommand.Invariant(result.MicrosecondsPerCharacter, "F2") + $" µs per character ({length} characters, {loaded.Model.Options.Cell.ToString().ToUpperInvariant()} H={loaded.Model.Options.HiddenSize} layers={loaded.Model.Options.NumLayers}, {CommonOptions.PrecisionName(sampler.Precision)} weights)");
        return 0;
    }
}

using System.CommandLine;
using System.Diagnostics;
using System.IO;
using SimdLstm.Text;
using SimdLstm.Training;

namespace SimdLstm.Cli;

/// <summary><c>sample</c>: generates text from a checkpoint, one character per streaming model step.</summary>
internal static class SampleCommand
{
    public static Command Create(CliContext context)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint written by train", DefaultValueFactory = _ => TrainCommand.DefaultCheckpoint };
        var length = CommonOptions.Int("--length", "Characters to generate", 500);
        var temperature = new Option<float>("--temperature") { Description = "Softmax temperature: < 1 sharper, > 1 more random (default 0.8)", DefaultValueFactory = _ => 0.8f };
        var seed = CommonOptions.Int("--seed", "Seed of the draws", 1, minimum: 0);
        var prime = new Option<string?>("--prime") { Description = "Text fed to the model before generating" };
        var command = new Command("sample", "Generate text from a trained checkpoint") { checkpoint, length, temperature, seed, prime };
        command.SetAction(r => Program.Guarded(context, () => Run(
            context, r.GetValue(checkpoint)!, r.GetValue(length), r.GetValue(temperature), r.GetValue(seed), r.GetValue(prime))));
        return command;
    }

    public static int Run(CliContext context, string checkpointPath, int length, float temperature, int seed, string? prime)
    {
        if (!(temperature > 0) || !float.IsFinite(temperature))
            throw new CliException($"--temperature must be a finite number greater than 0 but is {temperature}.");
        if (!File.Exists(checkpointPath))
            throw new CliException($"Checkpoint '{checkpointPath}' does not exist (train one first: train --checkpoint {checkpointPath}).");
        LoadedModel loaded = ModelCheckpoint.Load(checkpointPath);
        Vocabulary vocabulary = loaded.Vocabulary
            ?? throw new CliException($"Checkpoint '{checkpointPath}' has no character vocabulary, so it is not a text model.");
        var sampler = new TextSampler(loaded.Model, vocabulary);
        if (prime is not null)
        {
            for (int i = 0; i < prime.Length; i++)
            {
                if (!vocabulary.TryGetId(prime[i], out _))
                    throw new CliException($"--prime character '{prime[i]}' (U+{(int)prime[i]:X4}) is not in the checkpoint's vocabulary of {vocabulary.Count} characters.");
            }
        }
        // Untimed generation for about half a second first: under the JIT, code runs unoptimised until tiered compilation
        // has recompiled it (30 calls, then a background compile that a busy machine delays), and the figure should
        // describe the optimised steady state. Native AOT code is optimised from the start; the warm-up costs it nothing.
        var warmUp = new char[256];
        long warmUpStart = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warmUpStart).TotalMilliseconds < 500)
            sampler.Generate(warmUp, temperature, seed, prime);
        SampleResult result = sampler.Generate(length, temperature, seed, prime);
        context.Output.Write(prime);
        context.Output.WriteLine(result.Text);
        context.Output.WriteLine(TrainCommand.Invariant(result.MicrosecondsPerCharacter, "F2") + $" µs per character ({length} characters, {loaded.Model.Options.Cell.ToString().ToUpperInvariant()} H={loaded.Model.Options.HiddenSize} layers={loaded.Model.Options.NumLayers})");
        return 0;
    }
}

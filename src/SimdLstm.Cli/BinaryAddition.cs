using System;
using System.CommandLine;
using System.Diagnostics;
using SimdLstm.Training;

namespace SimdLstm.Cli;

/// <summary>Settings of the binary-addition task.</summary>
/// <param name="Hidden">Hidden size of the RNN.</param>
/// <param name="Steps">Optimiser steps, each on a fresh batch of random pairs.</param>
/// <param name="Batch">Pairs per step.</param>
/// <param name="LearningRate">Adam learning rate.</param>
/// <param name="Seed">Seeds the initialisation and the pairs.</param>
internal sealed record BinaryAdditionSettings(int Hidden = 16, int Steps = 1500, int Batch = 32, float LearningRate = 0.01f, int Seed = 1);

/// <summary>The outcome of <see cref="BinaryAddition.Train"/>.</summary>
internal sealed record BinaryAdditionResult(int CorrectPairs, int TestPairs, float FinalLoss, TimeSpan Elapsed)
{
    public double Accuracy => (double)CorrectPairs / TestPairs;
}

/// <summary>
/// An RNN learns 8-bit binary addition: at step t (least significant bit first) it reads the two addends' bits
/// [a_t, b_t] and must output bit t of a + b (mod 256). The carry is never shown: the hidden state must learn it.
/// </summary>
internal static class BinaryAddition
{
    public const int Bits = 8;

    /// <summary>Pairs in the accuracy test; drawn after training from the same generator, so unseen in all likelihood (65,536 possible pairs).</summary>
    public const int TestPairs = 1000;

    public static BinaryAdditionResult Train(BinaryAdditionSettings s, Action<int, float>? progress = null)
    {
        long start = Stopwatch.GetTimestamp();
        var model = new SequenceModel(RecurrentOptions.Rnn(inputSize: 2, s.Hidden), outputSize: 2, s.Seed);
        var optimizer = new Adam(model.Parameters.Length, s.LearningRate);
        var random = new Random(s.Seed);
        RecurrentState state = model.CreateState(s.Batch);
        SequenceModelWorkspace workspace = model.CreateWorkspace(Bits, s.Batch);
        SequenceModelGradients gradients = model.CreateGradients();
        var input = new float[Bits * s.Batch * 2]; // [T, B, 2]
        var targets = new int[Bits * s.Batch];     // [T, B]
        var a = new int[s.Batch];
        var b = new int[s.Batch];
        float loss = float.NaN;
        for (int step = 1; step <= s.Steps; step++)
        {
            Draw(random, a, b);
            Encode(a, b, input, targets);
            state.Reset(); // every pair is a separate sequence
            gradients.Clear();
            loss = model.ForwardBackward(input, targets, Bits, state, workspace, gradients);
            float norm = GradientClipping.ClipByGlobalNorm(gradients.Buffer.Span, 5f);
            if (float.IsFinite(norm))
                optimizer.Step(model.Parameters.Span, gradients.Buffer.Span);
            if (step % 100 == 0)
                progress?.Invoke(step, loss);
        }
        int correct = Test(model, random, TestPairs);
        return new BinaryAdditionResult(correct, TestPairs, loss, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>How many of <paramref name="pairs"/> fresh random pairs the model adds with all 8 sum bits right.</summary>
    public static int Test(SequenceModel model, Random random, int pairs)
    {
        var a = new int[pairs];
        var b = new int[pairs];
        Draw(random, a, b);
        var input = new float[Bits * pairs * 2];
        var targets = new int[Bits * pairs];
        Encode(a, b, input, targets);
        RecurrentState state = model.CreateState(pairs);
        SequenceModelWorkspace workspace = model.CreateWorkspace(1, pairs);
        var logits = new float[pairs * 2]; // [B, 2]
        var right = new bool[pairs];
        Array.Fill(right, true);
        for (int t = 0; t < Bits; t++)
        {
            model.Step(input.AsSpan(t * pairs * 2, pairs * 2), state, workspace, logits);
            for (int p = 0; p < pairs; p++)
            {
                int predicted = logits[2 * p + 1] > logits[2 * p] ? 1 : 0;
                if (predicted != targets[t * pairs + p])
                    right[p] = false;
            }
        }
        int correct = 0;
        foreach (bool r in right)
            correct += r ? 1 : 0;
        return correct;
    }

    private static void Draw(Random random, int[] a, int[] b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = random.Next(1 << Bits);
            b[i] = random.Next(1 << Bits);
        }
    }

    /// <summary>input [T, B, 2] = bits t of a and b; targets [T, B] = bit t of a + b.</summary>
    private static void Encode(int[] a, int[] b, float[] input, int[] targets)
    {
        int batch = a.Length;
        for (int t = 0; t < Bits; t++)
        {
            for (int p = 0; p < batch; p++)
            {
                input[(t * batch + p) * 2] = (a[p] >> t) & 1;
                input[(t * batch + p) * 2 + 1] = (b[p] >> t) & 1;
                targets[t * batch + p] = ((a[p] + b[p]) >> t) & 1;
            }
        }
    }
}

/// <summary><c>binary-add</c>.</summary>
internal static class BinaryAddCommand
{
    public static Command Create(CliContext context)
    {
        var defaults = new BinaryAdditionSettings();
        var hidden = CommonOptions.Int("--hidden", "Hidden size of the RNN", defaults.Hidden);
        var steps = CommonOptions.Int("--steps", "Optimiser steps", defaults.Steps);
        var batch = CommonOptions.Int("--batch", "Random pairs per step", defaults.Batch);
        var lr = CommonOptions.Float("--lr", "Adam learning rate", defaults.LearningRate);
        var seed = CommonOptions.Int("--seed", "Seed of the initialisation and the pairs", defaults.Seed, minimum: 0);
        var command = new Command("binary-add", "Train an RNN to add 8-bit binary numbers (the carry must be learned); report accuracy on 1000 fresh pairs")
        {
            hidden, steps, batch, lr, seed,
        };
        command.SetAction(r => Program.Guarded(context, () =>
        {
            float learningRate = r.GetValue(lr);
            var settings = new BinaryAdditionSettings(r.GetValue(hidden), r.GetValue(steps), r.GetValue(batch), learningRate, r.GetValue(seed));
            context.Output.WriteLine($"RNN H={settings.Hidden}, {settings.Steps} steps of {settings.Batch} random 8-bit pairs, Adam lr={TrainCommand.Invariant(learningRate)}, seed {settings.Seed}");
            BinaryAdditionResult result = BinaryAddition.Train(settings, (step, loss) => context.Output.WriteLine($"step {step}: loss {TrainCommand.Invariant(loss, "F4")}"));
            context.Output.WriteLine(
                $"accuracy on {result.TestPairs} fresh pairs (all 8 sum bits right): {result.CorrectPairs}/{result.TestPairs} = {TrainCommand.Invariant(100 * result.Accuracy, "F1")} %, " +
                $"in {TrainCommand.Invariant(result.Elapsed.TotalSeconds, "F2")} s");
            return result.CorrectPairs == result.TestPairs ? 0 : Program.ErrorExitCode;
        }));
        return command;
    }
}

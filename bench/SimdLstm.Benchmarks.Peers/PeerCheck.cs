using System;
using TorchSharp;
using static TorchSharp.torch;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// Cross-checks a peer against SimdLstm on the same weights and inputs before it is timed. A peer that disagrees is
/// not timed at all.
/// </summary>
/// <remarks>
/// Tolerances. Outputs h, c of an LSTM lie in (−1, 1); each gate pre-activation sums I + H ≤ 2048 float32 products of
/// weights ≤ 1/√H with values ≤ 1, so different summation orders and the peers' own sigmoid/tanh approximations differ
/// by ~1e-6, and the contractive recurrence keeps that from growing over 100 steps: <see cref="OutputTolerance"/> =
/// 1e-4 absolute leaves a wide margin while still catching any mapping error (a swapped gate or a missing bias changes
/// outputs by ~1e-1). Gradients are sums over every token and grow with them, so they are compared relative to the largest
/// magnitude of the tensor: <see cref="GradientTolerance"/> = 1e-4 of it.
/// </remarks>
internal static class PeerCheck
{
    public const double OutputTolerance = 1e-4;
    public const double GradientTolerance = 1e-4;

    // The training check uses a small B and T: the mapping of weights and the semantics of the pass do not depend on
    // them, and SimdLstm's reference path is slow while its kernels are naive.
    private const int CheckBatch = 4, CheckSteps = 5;

    /// <summary>The layer every peer benchmark copies: the same seed as the main suite's <c>LstmBench</c>.</summary>
    public static RecurrentLayer Layer(int size) => new(RecurrentOptions.Lstm(size, size), seed: 1);

    /// <summary>Deterministic inputs in U(−1, 1).</summary>
    public static float[] Uniform(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>Null when ONNX Runtime agrees on a 3-step stream and a 100-step sequence; otherwise what differed.</summary>
    public static string? OnnxRuntime(int size)
    {
        RecurrentLayer layer = Layer(size);
        float[] x = Uniform(BenchCases.SequenceSteps * size, seed: 2);

        // Streaming: three steps, the state carried through ONNX Runtime's outputs.
        using (var step = new OnnxRuntimePeer(layer.Weights, steps: 1))
        {
            RecurrentState state = layer.CreateState();
            RecurrentWorkspace workspace = layer.CreateWorkspace(1);
            float[] h = new float[size];
            for (int t = 0; t < 3; t++)
            {
                x.AsSpan(t * size, size).CopyTo(step.Input);
                step.Run();
                layer.Step(x.AsSpan(t * size, size), state, workspace, h);
                if (Differs("ONNX Runtime step h", step.CurrentHidden, state.Hidden, OutputTolerance) is string a)
                    return a;
                if (Differs("ONNX Runtime step c", step.CurrentCell, state.Cell, OutputTolerance) is string b)
                    return b;
            }
        }

        using (var sequence = new OnnxRuntimePeer(layer.Weights, BenchCases.SequenceSteps))
        {
            RecurrentState state = layer.CreateState();
            float[] y = new float[BenchCases.SequenceSteps * size];
            layer.Forward(x, BenchCases.SequenceSteps, state, layer.CreateWorkspace(BenchCases.SequenceSteps), y);
            x.CopyTo(sequence.Input, 0);
            sequence.Run();
            return Differs("ONNX Runtime sequence Y", sequence.Output, y, OutputTolerance)
                ?? Differs("ONNX Runtime sequence Y_c", sequence.CurrentCell, state.Cell, OutputTolerance);
        }
    }

    /// <summary>Null when libtorch agrees on a step, a 100-step sequence, and a training pass's gradients.</summary>
    public static string? Torch(int size)
    {
        RecurrentLayer layer = Layer(size);
        using var peer = new TorchPeer(layer.Weights);
        using IDisposable scope = NewDisposeScope();
        float[] x = Uniform(BenchCases.SequenceSteps * size, seed: 2);

        // Step from a nonzero state (the state after 5 of our steps), so h and c inputs are exercised.
        RecurrentState state = layer.CreateState();
        RecurrentWorkspace workspace = layer.CreateWorkspace(1);
        float[] h = new float[size];
        for (int t = 0; t < 5; t++)
            layer.Step(x.AsSpan(t * size, size), state, workspace, h);
        Tensor h0 = tensor(state.Hidden.ToArray(), [1, size]), c0 = tensor(state.Cell.ToArray(), [1, size]);
        layer.Step(x.AsSpan(5 * size, size), state, workspace, h);
        (Tensor h1, Tensor c1) = peer.Step(tensor(x.AsSpan(5 * size, size).ToArray(), [1, size]), h0, c0);
        if (Differs("libtorch LSTMCell h", h1.data<float>().ToArray(), state.Hidden, OutputTolerance) is string a)
            return a;
        if (Differs("libtorch LSTMCell c", c1.data<float>().ToArray(), state.Cell, OutputTolerance) is string b)
            return b;

        // Sequence from a zero state.
        state = layer.CreateState();
        float[] y = new float[BenchCases.SequenceSteps * size];
        layer.Forward(x, BenchCases.SequenceSteps, state, layer.CreateWorkspace(BenchCases.SequenceSteps), y);
        (Tensor ty, _, Tensor tc) = peer.Sequence(tensor(x, [BenchCases.SequenceSteps, 1, size]),
            zeros(1, 1, size), zeros(1, 1, size));
        if (Differs("libtorch nn.LSTM y", ty.data<float>().ToArray(), y, OutputTolerance) is string s)
            return s;
        if (Differs("libtorch nn.LSTM c_T", tc.data<float>().ToArray(), state.Cell, OutputTolerance) is string sc)
            return sc;

        // Training: the same dL/dy into both, compare every parameter gradient and dL/dx.
        int rows = CheckSteps * CheckBatch;
        float[] input = Uniform(rows * size, seed: 3), dOutput = Uniform(rows * size, seed: 4);
        float[] output = new float[rows * size], dInput = new float[rows * size];
        RecurrentParameters gradients = layer.CreateGradients();
        RecurrentWorkspace trainWorkspace = layer.CreateWorkspace(CheckSteps, CheckBatch);
        layer.Forward(input, CheckSteps, layer.CreateState(CheckBatch), trainWorkspace, output);
        layer.Backward(dOutput, trainWorkspace, gradients, dInput);
        Tensor tx = tensor(input, [CheckSteps, CheckBatch, size]).requires_grad_(true);
        peer.Train(tx, tensor(dOutput, [CheckSteps, CheckBatch, size]));
        return GradientDiffers("weight_ih_l0", peer, gradients.WeightIh(0))
            ?? GradientDiffers("weight_hh_l0", peer, gradients.WeightHh(0))
            ?? GradientDiffers("bias_ih_l0", peer, gradients.BiasIh(0))
            ?? GradientDiffers("bias_hh_l0", peer, gradients.BiasHh(0))
            ?? Differs("libtorch dL/dx", tx.grad!.data<float>().ToArray(), dInput, GradientTolerance * Math.Max(1, MaxAbs(dInput)));
    }

    private static string? GradientDiffers(string name, TorchPeer peer, ReadOnlySpan<float> ours)
    {
        Tensor? grad = peer.Gradient(name);
        if (grad is null)
            return $"libtorch has no gradient for {name}";
        return Differs("libtorch d" + name, grad.data<float>().ToArray(), ours, GradientTolerance * Math.Max(1, MaxAbs(ours)));
    }

    private static double MaxAbs(ReadOnlySpan<float> values)
    {
        double max = 0;
        foreach (float v in values)
            max = Math.Max(max, Math.Abs(v));
        return max;
    }

    /// <summary>Null when every element agrees within <paramref name="tolerance"/>; otherwise the worst element.</summary>
    public static string? Differs(string what, ReadOnlySpan<float> peer, ReadOnlySpan<float> ours, double tolerance)
    {
        if (peer.Length != ours.Length)
            return $"{what}: {peer.Length} values, expected {ours.Length}";
        double worst = 0;
        int at = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double d = Math.Abs((double)peer[i] - ours[i]);
            if (!(d <= worst))
            {
                worst = d;
                at = i;
            }
        }
        return worst <= tolerance ? null : $"{what} differs by {worst:G3} at {at} (peer {peer[at]}, SimdLstm {ours[at]}; tolerance {tolerance:G3})";
    }
}

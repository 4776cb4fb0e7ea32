using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SimdLstm.Onnx.Tests;

/// <summary>One pass's inputs: x in the given layout, optional lengths and initial state.</summary>
internal sealed record PassInput(float[] X, int Steps, int Batch, int Features, bool BatchFirst, int[]? Lengths, float[]? H0, float[]? C0);

/// <summary>What a pass gives: the sequence output (the head's logits for a model), h_n and c_n.</summary>
internal sealed record PassOutput(float[] Output, float[] Hidden, float[] Cell);

internal static class Harness
{
    /// <summary>float32's unit roundoff, 2^-24.</summary>
    public const double UnitRoundoff = 1.0 / (1 << 24);

    /// <summary>
    /// Allowance per step for the two implementations' sigmoid and tanh, values of magnitude at most 1 computed to a few
    /// ulps each (ONNX Runtime's are rational approximations): 8 ulps of 1, 2^-20.
    /// </summary>
    public const double ActivationAllowance = 1.0 / (1 << 20);

    public static PassInput RandomInput(Random random, int inputs, int steps, int batch, bool batchFirst, bool lengths, RecurrentOptions? state)
    {
        float[] x = Uniform(random, steps * batch * inputs, 1f);
        int[]? lens = lengths ? Enumerable.Range(0, batch).Select(_ => random.Next(1, steps + 1)).ToArray() : null;
        float[]? h0 = null, c0 = null;
        if (state != null)
        {
            h0 = Uniform(random, state.StateLayers * batch * state.HiddenSize, 0.5f);
            if (state.HasCellState)
                c0 = Uniform(random, state.StateLayers * batch * state.HiddenSize, 0.5f);
        }
        return new PassInput(x, steps, batch, inputs, batchFirst, lens, h0, c0);
    }

    public static float[] Uniform(Random random, int count, float bound) =>
        Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * bound).ToArray();

    /// <summary>Runs SimdLstm's layer (and head) over the pass.</summary>
    public static PassOutput RunSimdLstm(RecurrentLayer layer, Linear? head, PassInput input)
    {
        RecurrentOptions o = layer.Options;
        RecurrentState state = layer.CreateState(input.Batch);
        if (input.H0 != null)
            state.SetHidden(input.H0);
        if (input.C0 != null)
            state.SetCell(input.C0);
        RecurrentWorkspace workspace = layer.CreateWorkspace(input.Steps, input.Batch);
        float[] output = new float[input.Steps * input.Batch * o.OutputSize];
        layer.Forward(SequenceInput.Dense(input.X, input.Steps, input.BatchFirst, input.Lengths), state, workspace, output);
        if (head != null)
        {
            float[] logits = new float[input.Steps * input.Batch * head.OutFeatures];
            head.Forward(output, input.Steps * input.Batch, logits);
            output = logits;
        }
        return new PassOutput(output, state.Hidden.ToArray(), state.Cell.ToArray());
    }

    /// <summary>Runs a model in ONNX Runtime (CPU, one thread) and returns its outputs by name.</summary>
    public static Dictionary<string, float[]> RunOnnxRuntime(byte[] model, PassInput input, string inputName = "input", string? lengthsName = "sequence_lens",
        string? h0Name = "h0", string? c0Name = "c0", int stateRows = 0, int hidden = 0)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
        options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL; // a refused layout = 1 is expected, not logged
        using var session = new InferenceSession(model, options);
        int[] xDims = input.BatchFirst ? [input.Batch, input.Steps, input.Features] : [input.Steps, input.Batch, input.Features];
        var feeds = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(inputName, new DenseTensor<float>(input.X, xDims)) };
        if (input.Lengths != null && lengthsName != null)
            feeds.Add(NamedOnnxValue.CreateFromTensor(lengthsName, new DenseTensor<int>(input.Lengths, [input.Batch])));
        if (input.H0 != null && h0Name != null)
            feeds.Add(NamedOnnxValue.CreateFromTensor(h0Name, new DenseTensor<float>(input.H0, [stateRows, input.Batch, hidden])));
        if (input.C0 != null && c0Name != null)
            feeds.Add(NamedOnnxValue.CreateFromTensor(c0Name, new DenseTensor<float>(input.C0, [stateRows, input.Batch, hidden])));
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(feeds);
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }

    public static double MaxDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
            throw new InvalidOperationException($"Lengths differ: {a.Length} and {b.Length}.");
        double max = 0;
        for (int i = 0; i < a.Length; i++)
            max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    /// <summary>
    /// The allowance for the difference of two float32 evaluations of the layers: each pre-activation is a sum of
    /// n = I_l + H + 2 terms whose rounding error is at most n·u·S in each implementation (S the largest row sum of
    /// |terms|), plus <see cref="ActivationAllowance"/> per step; activations are 1-Lipschitz and the recurrence's
    /// Jacobian is at most about 1 at these weights, so errors add over the T steps of each of the L layers (and the
    /// reverse direction's). A head multiplies that by its largest row sum of |W| and adds its own F·u·S.
    /// </summary>
    public static double Tolerance(RecurrentLayer layer, Linear? head, PassInput input)
    {
        RecurrentOptions o = layer.Options;
        RecurrentParameters p = layer.Weights;
        double total = 0;
        double xMax = input.X.Length == 0 ? 1 : input.X.Max(Math.Abs);
        for (int l = 0; l < o.NumLayers; l++)
        {
            int inputs = o.LayerInputSize(l);
            double worst = 0;
            for (int d = 0; d < o.NumDirections; d++)
            {
                Span<float> w = p.WeightIh(l, d), r = p.WeightHh(l, d), bi = p.BiasIh(l, d), bh = p.BiasHh(l, d);
                for (int row = 0; row < o.GateSize; row++)
                {
                    double s = 0;
                    for (int k = 0; k < inputs; k++)
                        s += Math.Abs(w[row * inputs + k]) * (l == 0 ? xMax : 1);
                    for (int k = 0; k < o.HiddenSize; k++)
                        s += Math.Abs(r[row * o.HiddenSize + k]);
                    if (o.Bias)
                        s += Math.Abs(bi[row]) + Math.Abs(bh[row]);
                    worst = Math.Max(worst, s);
                }
            }
            int n = inputs + o.HiddenSize + 2;
            total += input.Steps * o.NumDirections * (2 * n * UnitRoundoff * Math.Max(worst, 1) + ActivationAllowance);
        }
        if (head == null)
            return total;
        double rowSum = 0;
        for (int v = 0; v < head.OutFeatures; v++)
            rowSum = Math.Max(rowSum, Enumerable.Range(0, head.InFeatures).Sum(k => Math.Abs(head.Weight[v * head.InFeatures + k])) + Math.Abs(head.Bias.IsEmpty ? 0 : head.Bias[v]));
        return total * Math.Max(rowSum, 1) + 2 * (head.InFeatures + 1) * UnitRoundoff * Math.Max(rowSum, 1);
    }
}

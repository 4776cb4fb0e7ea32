using System;
using System.Collections.Generic;
using SimdLstm.Testing;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// A whole language-model-style network in double precision: a stacked LSTM, GRU or RNN (from a zero initial state),
/// then a Linear head on every step's top-layer output (D·H' features), then softmax cross-entropy averaged over the
/// real positions. Inputs are dense [T, B, I] or tokens [T, B] in [0, I) (one-hot, so I is the vocabulary size); targets
/// are [T, B] in [0, V).
/// </summary>
/// <remarks>
/// With per-stream <c>lengths</c>, position (t, b) is real when t &lt; len_b: padded positions contribute nothing to the
/// loss (their targets are not read) and the mean is over the Σ len_b real ones. Without lengths all T·B positions are
/// real. <c>dropoutMasks</c> are passed to <see cref="RecurrentReference.Forward"/> unchanged (a fixed mask per layer but
/// the last; null for none).
/// </remarks>
public sealed class ModelReference
{
    /// <summary>Creates a zero-filled model over <paramref name="recurrent"/> (whose arrays it uses, not copies) with a head of <paramref name="outputSize"/> classes.</summary>
    /// <param name="recurrent">The recurrent weights, used by reference.</param>
    /// <param name="outputSize">V, the number of classes; 1 or more.</param>
    /// <param name="linearHasBias">Whether the head has <c>fc.bias</c>.</param>
    public ModelReference(ReferenceWeights recurrent, int outputSize, bool linearHasBias)
    {
        ArgumentNullException.ThrowIfNull(recurrent);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        Recurrent = recurrent;
        OutputSize = outputSize;
        LinearWeight = new double[outputSize * recurrent.OutputSize]; // [V, D·H']
        LinearBias = linearHasBias ? new double[outputSize] : null;  // [V]
    }

    /// <summary>The recurrent layers' weights.</summary>
    public ReferenceWeights Recurrent { get; }

    /// <summary>V, the number of classes.</summary>
    public int OutputSize { get; }

    /// <summary><c>fc.weight</c> [V, D·H'].</summary>
    public double[] LinearWeight { get; }

    /// <summary><c>fc.bias</c> [V], or null.</summary>
    public double[]? LinearBias { get; }

    /// <summary>Every parameter tensor: the recurrent ones (PyTorch names), then fc.weight and fc.bias.</summary>
    public IEnumerable<(string Name, double[] Values)> NamedParameters() => Named(Recurrent, LinearWeight, LinearBias);

    /// <summary>Fills every parameter uniform in [−scale, scale).</summary>
    public ModelReference Randomize(SeededRandom random, double scale)
    {
        foreach ((_, double[] values) in NamedParameters())
            random.Uniform(values.Length, -scale, scale).CopyTo(values, 0);
        return this;
    }

    /// <summary>The mean cross-entropy over the real positions for dense input [T, B, I] and targets [T, B].</summary>
    public double Loss(double[] input, int steps, int batchSize, int[] targets, int[]? lengths = null, double[][]? dropoutMasks = null) =>
        Run(input, steps, batchSize, targets, ReferenceFault.None, lengths, dropoutMasks).Loss;

    /// <summary>The mean cross-entropy over the real positions for tokens [T, B] and targets [T, B].</summary>
    public double LossFromTokens(int[] tokens, int steps, int batchSize, int[] targets, int[]? lengths = null, double[][]? dropoutMasks = null) =>
        Loss(TokenReference.OneHot(tokens, Recurrent.InputSize), steps, batchSize, targets, lengths, dropoutMasks);

    /// <summary>The loss and the gradient of every parameter and of the dense input, with optional faults injected.</summary>
    public ModelGradients Gradients(
        double[] input, int steps, int batchSize, int[] targets, ReferenceFault faults = ReferenceFault.None, int[]? lengths = null, double[][]? dropoutMasks = null)
    {
        (double loss, RecurrentForward forward, double[] probabilities, int[] realRows) = Run(input, steps, batchSize, targets, faults, lengths, dropoutMasks);
        int n = realRows.Length, width = Recurrent.OutputSize, units = Recurrent.Units;
        var gradients = new ModelGradients(
            loss, Recurrent.ZerosLike(), new double[LinearWeight.Length], LinearBias is null ? null : new double[OutputSize], new double[input.Length]);

        double[] dLogits = SoftmaxCrossEntropyReference.Backward(probabilities, Gather(targets, realRows), n, OutputSize, faults); // [N, V]
        double[] dRows = LinearReference.Backward(
            LinearWeight, Gather(forward.Output, realRows, width), dLogits, n, width, OutputSize, gradients.LinearWeight, gradients.LinearBias); // [N, D·H']
        var dOutput = new double[steps * batchSize * width]; // [T, B, D·H'], zero at padded positions
        for (int k = 0; k < n; k++)
            Array.Copy(dRows, k * width, dOutput, realRows[k] * width, width);
        RecurrentReference.Backward(
            forward, dOutput, dHN: null, dCN: null, gradients.Recurrent, gradients.Input,
            new double[units * batchSize * Recurrent.HiddenStateSize], new double[units * batchSize * Recurrent.HiddenSize], faults);
        return gradients;
    }

    /// <summary>The loss and gradients for tokens [T, B]; <see cref="ModelGradients.Input"/> is then the gradient of the one-hot input.</summary>
    public ModelGradients GradientsFromTokens(
        int[] tokens, int steps, int batchSize, int[] targets, ReferenceFault faults = ReferenceFault.None, int[]? lengths = null, double[][]? dropoutMasks = null) =>
        Gradients(TokenReference.OneHot(tokens, Recurrent.InputSize), steps, batchSize, targets, faults, lengths, dropoutMasks);

    internal static IEnumerable<(string Name, double[] Values)> Named(ReferenceWeights recurrent, double[] linearWeight, double[]? linearBias)
    {
        foreach ((string name, double[] values) in recurrent.Named())
            yield return (name, values);
        yield return ("fc.weight", linearWeight);
        if (linearBias is not null)
            yield return ("fc.bias", linearBias);
    }

    private (double Loss, RecurrentForward Forward, double[] Probabilities, int[] RealRows) Run(
        double[] input, int steps, int batchSize, int[] targets, ReferenceFault faults, int[]? lengths, double[][]? dropoutMasks)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Length != steps * batchSize)
            throw new ArgumentException($"Expected [T, B] = {steps * batchSize} targets but got {targets.Length}.", nameof(targets));
        RecurrentForward forward = RecurrentReference.Forward(Recurrent, input, steps, batchSize, faults: faults, lengths: lengths, dropoutMasks: dropoutMasks);
        int[] realRows = RealRows(forward);
        int n = realRows.Length, width = Recurrent.OutputSize;
        double[] logits = LinearReference.Forward(LinearWeight, LinearBias, Gather(forward.Output, realRows, width), n, width, OutputSize); // [N, V]
        double loss = SoftmaxCrossEntropyReference.Forward(logits, Gather(targets, realRows), n, OutputSize, out double[] probabilities);
        return (loss, forward, probabilities, realRows);
    }

    // The rows t·B + b with t < len_b, in time-major order: the positions the loss averages over.
    private static int[] RealRows(RecurrentForward forward)
    {
        var rows = new List<int>();
        for (int t = 0; t < forward.Steps; t++)
            for (int b = 0; b < forward.BatchSize; b++)
                if (t < forward.Lengths[b])
                    rows.Add(t * forward.BatchSize + b);
        return rows.ToArray();
    }

    private static double[] Gather(double[] values, int[] rows, int width)
    {
        var gathered = new double[rows.Length * width];
        for (int k = 0; k < rows.Length; k++)
            Array.Copy(values, rows[k] * width, gathered, k * width, width);
        return gathered;
    }

    private static int[] Gather(int[] values, int[] rows) => Array.ConvertAll(rows, r => values[r]);
}

/// <summary>The loss and the gradients of a <see cref="ModelReference"/>, in the same layout as its parameters.</summary>
public sealed class ModelGradients(double loss, ReferenceWeights recurrent, double[] linearWeight, double[]? linearBias, double[] input)
{
    /// <summary>The mean cross-entropy over the real positions (all T·B without lengths).</summary>
    public double Loss { get; } = loss;

    /// <summary>dLoss/d of every recurrent tensor, in the layout of <see cref="ModelReference.Recurrent"/>.</summary>
    public ReferenceWeights Recurrent { get; } = recurrent;

    /// <summary>dLoss/d fc.weight [V, D·H'].</summary>
    public double[] LinearWeight { get; } = linearWeight;

    /// <summary>dLoss/d fc.bias [V], or null.</summary>
    public double[]? LinearBias { get; } = linearBias;

    /// <summary>dLoss/d input [T, B, I]; zero at padded positions.</summary>
    public double[] Input { get; } = input;

    /// <summary>Every parameter gradient under the name of its parameter.</summary>
    public IEnumerable<(string Name, double[] Values)> NamedParameters() => ModelReference.Named(Recurrent, LinearWeight, LinearBias);
}

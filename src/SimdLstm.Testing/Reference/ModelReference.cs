using System;
using System.Collections.Generic;
using SimdLstm.Testing;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// A whole language-model-style network in double precision: a stacked LSTM, GRU or RNN (from a zero initial state),
/// then a Linear head on every step's top hidden state, then softmax cross-entropy averaged over all T·B positions.
/// Inputs are dense [T, B, I] or tokens [T, B] in [0, I) (one-hot, so I is the vocabulary size); targets are [T, B] in [0, V).
/// </summary>
public sealed class ModelReference
{
    /// <summary>Creates a zero-filled model over <paramref name="recurrent"/> (whose arrays it uses, not copies) with a head of <paramref name="outputSize"/> classes.</summary>
    /// <param name="recurrent">The recurrent weights, used by reference.</param>
    /// <param name="outputSize">V, the number of classes; 1 or more.</param>
    /// <param name="linearHasBias">Whether the head has <c>fc.bias</c>.</param>
    public ModelReference(ReferenceWeights recurrent, int outputSize, bool linearHasBias)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        Recurrent = recurrent;
        OutputSize = outputSize;
        LinearWeight = new double[outputSize * recurrent.HiddenSize]; // [V, H]
        LinearBias = linearHasBias ? new double[outputSize] : null;  // [V]
    }

    /// <summary>The recurrent layers' weights.</summary>
    public ReferenceWeights Recurrent { get; }

    /// <summary>V, the number of classes.</summary>
    public int OutputSize { get; }

    /// <summary><c>fc.weight</c> [V, H].</summary>
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

    /// <summary>The mean cross-entropy for dense input [T, B, I] and targets [T, B].</summary>
    public double Loss(double[] input, int steps, int batchSize, int[] targets) =>
        Run(input, steps, batchSize, targets, ReferenceFault.None).Loss;

    /// <summary>The mean cross-entropy for tokens [T, B] and targets [T, B].</summary>
    public double LossFromTokens(int[] tokens, int steps, int batchSize, int[] targets) =>
        Loss(TokenReference.OneHot(tokens, Recurrent.InputSize), steps, batchSize, targets);

    /// <summary>The loss and the gradient of every parameter and of the dense input, with optional faults injected.</summary>
    public ModelGradients Gradients(double[] input, int steps, int batchSize, int[] targets, ReferenceFault faults = ReferenceFault.None)
    {
        (double loss, RecurrentForward forward, double[] probabilities) = Run(input, steps, batchSize, targets, faults);
        int n = steps * batchSize, h = Recurrent.HiddenSize, l = Recurrent.Layers;
        var gradients = new ModelGradients(
            loss, Recurrent.ZerosLike(), new double[LinearWeight.Length], LinearBias is null ? null : new double[OutputSize], new double[input.Length]);

        double[] dLogits = SoftmaxCrossEntropyReference.Backward(probabilities, targets, n, OutputSize, faults); // [N, V]
        double[] dOutput = LinearReference.Backward(LinearWeight, forward.Output, dLogits, n, h, OutputSize, gradients.LinearWeight, gradients.LinearBias); // [T, B, H]
        RecurrentReference.Backward(
            forward, dOutput, dHN: null, dCN: null, gradients.Recurrent, gradients.Input, new double[l * batchSize * h], new double[l * batchSize * h], faults);
        return gradients;
    }

    /// <summary>The loss and gradients for tokens [T, B]; <see cref="ModelGradients.Input"/> is then the gradient of the one-hot input.</summary>
    public ModelGradients GradientsFromTokens(int[] tokens, int steps, int batchSize, int[] targets, ReferenceFault faults = ReferenceFault.None) =>
        Gradients(TokenReference.OneHot(tokens, Recurrent.InputSize), steps, batchSize, targets, faults);

    internal static IEnumerable<(string Name, double[] Values)> Named(ReferenceWeights recurrent, double[] linearWeight, double[]? linearBias)
    {
        foreach ((string name, double[] values) in recurrent.Named())
            yield return (name, values);
        yield return ("fc.weight", linearWeight);
        if (linearBias is not null)
            yield return ("fc.bias", linearBias);
    }

    private (double Loss, RecurrentForward Forward, double[] Probabilities) Run(double[] input, int steps, int batchSize, int[] targets, ReferenceFault faults)
    {
        RecurrentForward forward = RecurrentReference.Forward(Recurrent, input, steps, batchSize, faults: faults);
        int n = steps * batchSize;
        double[] logits = LinearReference.Forward(LinearWeight, LinearBias, forward.Output, n, Recurrent.HiddenSize, OutputSize); // [N, V]
        double loss = SoftmaxCrossEntropyReference.Forward(logits, targets, n, OutputSize, out double[] probabilities);
        return (loss, forward, probabilities);
    }
}

/// <summary>The loss and the gradients of a <see cref="ModelReference"/>, in the same layout as its parameters.</summary>
public sealed class ModelGradients(double loss, ReferenceWeights recurrent, double[] linearWeight, double[]? linearBias, double[] input)
{
    /// <summary>The mean cross-entropy over the T·B positions.</summary>
    public double Loss { get; } = loss;

    /// <summary>dLoss/d of every recurrent tensor, in the layout of <see cref="ModelReference.Recurrent"/>.</summary>
    public ReferenceWeights Recurrent { get; } = recurrent;

    /// <summary>dLoss/d fc.weight [V, H].</summary>
    public double[] LinearWeight { get; } = linearWeight;

    /// <summary>dLoss/d fc.bias [V], or null.</summary>
    public double[]? LinearBias { get; } = linearBias;

    /// <summary>dLoss/d input [T, B, I].</summary>
    public double[] Input { get; } = input;

    /// <summary>Every parameter gradient under the name of its parameter.</summary>
    public IEnumerable<(string Name, double[] Values)> NamedParameters() => ModelReference.Named(Recurrent, LinearWeight, LinearBias);
}

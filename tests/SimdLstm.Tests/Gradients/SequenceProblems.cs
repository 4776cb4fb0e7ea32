using System;
using System.Collections.Generic;
using System.Linq;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;

namespace SimdLstm.Tests.Gradients;

/// <summary>
/// A stacked network of the full shape of <see cref="RecurrentGenerators.SequenceShapes()"/> — directions, per-stream
/// lengths, the LSTM's projection, fixed dropout masks — with random weights, input and initial state and a random
/// linear loss over what a run produces: L = Σ_{real (t, b)} wOutput ⊙ output + Σ wHN ⊙ h_n + Σ wCN ⊙ c_n.
/// </summary>
/// <remarks>
/// wOutput is NaN at every padded position (t ≥ len_b), so a backward that read dOutput there would turn gradients into
/// NaN; the loss skips those positions, where the output is zero anyway. The padded input is ordinary random data: the
/// gradient check then also proves it has no influence (its analytic and numeric derivatives are both zero).
/// </remarks>
internal sealed class SequenceProblem
{
    private readonly int _steps, _batchSize;

    public SequenceProblem(CellKind cell, RecurrentCase testCase)
    {
        RecurrentShape s = testCase.Shape;
        SeededRandom random = testCase.CreateRandom();
        Shape = s;
        _steps = s.Steps;
        _batchSize = s.BatchSize;
        Parameters = s.CreateWeights(cell).Randomize(random, RecurrentProblem.WeightScale);
        ReferenceWeights p = Parameters;
        int hLength = p.Units * s.BatchSize * p.HiddenStateSize, cLength = p.Units * s.BatchSize * p.HiddenSize;
        Input = random.Uniform(s.Steps * s.BatchSize * s.InputSize, -1, 1);                 // [T, B, I]
        H0 = random.Uniform(hLength, -0.8, 0.8);                                             // [L·D, B, H']
        C0 = cell == CellKind.Lstm ? random.Uniform(cLength, -1, 1) : null;                  // [L·D, B, H]
        WeightOutput = random.Uniform(s.Steps * s.BatchSize * p.OutputSize, -1, 1);          // [T, B, D·H']
        WeightHN = random.Uniform(hLength, -1, 1);                                           // [L·D, B, H']
        WeightCN = cell == CellKind.Lstm ? random.Uniform(cLength, -1, 1) : null;            // [L·D, B, H]
        for (int t = 0; t < s.Steps; t++)
            for (int b = 0; b < s.BatchSize; b++)
                if (!s.IsReal(t, b))
                    Array.Fill(WeightOutput, double.NaN, (t * s.BatchSize + b) * p.OutputSize, p.OutputSize);
        Lengths = s.Lengths;
        Masks = s.DropoutMasks(cell);
    }

    public RecurrentShape Shape { get; }

    public ReferenceWeights Parameters { get; }

    public double[] Input { get; }

    public double[] H0 { get; }

    public double[]? C0 { get; }

    public double[] WeightOutput { get; }

    public double[] WeightHN { get; }

    public double[]? WeightCN { get; }

    public int[]? Lengths { get; }

    public double[][]? Masks { get; }

    public RecurrentForward Forward() =>
        RecurrentReference.Forward(Parameters, Input, _steps, _batchSize, H0, C0, lengths: Lengths, dropoutMasks: Masks);

    /// <summary>The loss, read from the current contents of every array (the checker perturbs them in place).</summary>
    public double Loss()
    {
        RecurrentForward f = Forward();
        int width = Parameters.OutputSize;
        double loss = 0;
        for (int t = 0; t < _steps; t++)
        {
            for (int b = 0; b < _batchSize; b++)
            {
                if (!Shape.IsReal(t, b))
                    continue;
                for (int k = (t * _batchSize + b) * width, end = k + width; k < end; k++)
                    loss += WeightOutput[k] * f.Output[k];
            }
        }
        loss += Dot(WeightHN, f.HN);
        if (WeightCN is not null)
            loss += Dot(WeightCN, f.CN);
        return loss;
    }

    /// <summary>Checks the analytic gradients of every parameter tensor, the input, h0 and c0 against central differences of <see cref="Loss"/>.</summary>
    public GradientCheckReport Check(GradientCheckOptions options)
    {
        ReferenceWeights p = Parameters;
        RecurrentForward f = Forward();
        ReferenceWeights gradients = p.ZerosLike();
        var dInput = new double[Input.Length];
        var dH0 = new double[H0.Length];
        var dC0 = new double[C0?.Length ?? 0];
        RecurrentReference.Backward(f, WeightOutput, WeightHN, WeightCN, gradients, dInput, dH0, dC0);

        var tensors = p.Named().Zip(gradients.Named(), (v, g) => new GradientTensor(v.Name, v.Values, g.Values)).ToList();
        tensors.Add(new GradientTensor("input", Input, dInput));
        tensors.Add(new GradientTensor("h0", H0, dH0));
        if (C0 is not null) tensors.Add(new GradientTensor("c0", C0, dC0));
        return GradientChecker.Check(Loss, tensors, options);
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
            s += a[i] * b[i];
        return s;
    }
}

/// <summary>
/// The whole model (recurrent → Linear → softmax cross-entropy over the real tokens) on token inputs of a
/// <see cref="RecurrentGenerators.SequenceShapes()"/> shape. Targets at padded positions are −1, out of every class's
/// range, so reading one would throw.
/// </summary>
internal sealed class SequenceModelProblem
{
    private readonly int _steps, _batchSize;

    public SequenceModelProblem(CellKind cell, RecurrentCase testCase)
    {
        RecurrentShape s = testCase.Shape;
        SeededRandom random = testCase.CreateRandom();
        _steps = s.Steps;
        _batchSize = s.BatchSize;
        Model = new ModelReference(s.CreateWeights(cell), outputSize: s.InputSize, linearHasBias: s.HasBias).Randomize(random, RecurrentProblem.WeightScale);
        Tokens = random.Tokens(s.Steps * s.BatchSize, s.InputSize);  // [T, B]
        Targets = random.Tokens(s.Steps * s.BatchSize, s.InputSize); // [T, B]
        for (int t = 0; t < s.Steps; t++)
            for (int b = 0; b < s.BatchSize; b++)
                if (!s.IsReal(t, b))
                    Targets[t * s.BatchSize + b] = -1;
        Lengths = s.Lengths;
        Masks = s.DropoutMasks(cell);
    }

    public ModelReference Model { get; }

    public int[] Tokens { get; }

    public int[] Targets { get; }

    public int[]? Lengths { get; }

    public double[][]? Masks { get; }

    public double Loss() => Model.LossFromTokens(Tokens, _steps, _batchSize, Targets, Lengths, Masks);

    public double MinAbsPreActivation() =>
        RecurrentReference.Forward(Model.Recurrent, TokenReference.OneHot(Tokens, Model.Recurrent.InputSize), _steps, _batchSize, lengths: Lengths, dropoutMasks: Masks)
            .MinAbsPreActivation();

    public GradientCheckReport Check(GradientCheckOptions options)
    {
        ModelGradients gradients = Model.GradientsFromTokens(Tokens, _steps, _batchSize, Targets, ReferenceFault.None, Lengths, Masks);
        IEnumerable<GradientTensor> tensors = Model.NamedParameters().Zip(
            gradients.NamedParameters(), (v, g) => new GradientTensor(v.Name, v.Values, g.Values));
        return GradientChecker.Check(Loss, tensors, options);
    }
}

using System;

namespace SimdLstm.Tests.Training;

/// <summary>
/// Double-precision, one-element-at-a-time transcriptions of the algorithm boxes in the PyTorch
/// documentation (torch.optim.SGD, Adam, AdamW, Adagrad), written in the documented form
/// (m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), θ ← θ − γ·m̂/(√v̂ + ε)), not in the rearranged form the
/// float implementation uses: the oracle for the optimiser tests.
/// </summary>
internal abstract class ReferenceOptimizer
{
    protected ReferenceOptimizer(int length) => Length = length;

    public int Length { get; }

    public double LearningRate { get; set; }

    public long StepCount { get; private set; }

    public void Step(double[] parameters, ReadOnlySpan<float> gradients)
    {
        StepCount++;
        for (int i = 0; i < Length; i++)
            parameters[i] = Update(i, parameters[i], gradients[i], StepCount);
    }

    protected abstract double Update(int i, double theta, double g, long t);
}

internal sealed class ReferenceSgd(int length, double momentum, double dampening, double weightDecay, bool nesterov) : ReferenceOptimizer(length)
{
    private readonly double[] _b = new double[length];

    protected override double Update(int i, double theta, double g, long t)
    {
        if (weightDecay != 0) g += weightDecay * theta;
        if (momentum != 0)
        {
            _b[i] = t == 1 ? g : momentum * _b[i] + (1 - dampening) * g;
            g = nesterov ? g + momentum * _b[i] : _b[i];
        }
        return theta - LearningRate * g;
    }
}

internal sealed class ReferenceAdam(int length, double beta1, double beta2, double epsilon, double weightDecay, bool decoupled) : ReferenceOptimizer(length)
{
    private readonly double[] _m = new double[length];
    private readonly double[] _v = new double[length];

    protected override double Update(int i, double theta, double g, long t)
    {
        if (decoupled)
            theta -= LearningRate * weightDecay * theta;
        else if (weightDecay != 0)
            g += weightDecay * theta;
        _m[i] = beta1 * _m[i] + (1 - beta1) * g;
        _v[i] = beta2 * _v[i] + (1 - beta2) * g * g;
        double mHat = _m[i] / (1 - Math.Pow(beta1, t));
        double vHat = _v[i] / (1 - Math.Pow(beta2, t));
        return theta - LearningRate * mHat / (Math.Sqrt(vHat) + epsilon);
    }
}

internal sealed class ReferenceAdagrad : ReferenceOptimizer
{
    private readonly double[] _sum;
    private readonly double _learningRateDecay;
    private readonly double _weightDecay;
    private readonly double _epsilon;

    public ReferenceAdagrad(int length, double learningRateDecay, double weightDecay, double initialAccumulatorValue, double epsilon)
        : base(length)
    {
        _sum = new double[length];
        Array.Fill(_sum, initialAccumulatorValue);
        _learningRateDecay = learningRateDecay;
        _weightDecay = weightDecay;
        _epsilon = epsilon;
    }

    protected override double Update(int i, double theta, double g, long t)
    {
        double clr = LearningRate / (1 + (t - 1) * _learningRateDecay);
        if (_weightDecay != 0) g += _weightDecay * theta;
        _sum[i] += g * g;
        return theta - clr * g / (Math.Sqrt(_sum[i]) + _epsilon);
    }
}

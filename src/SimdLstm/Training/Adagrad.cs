using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm.Training;

/// <summary>
/// Adagrad, as PyTorch's <c>torch.optim.Adagrad</c> (https://pytorch.org/docs/stable/generated/torch.optim.Adagrad.html).
/// </summary>
/// <remarks>
/// For step t = 1, 2, … and every element, with learning rate γ, learning-rate decay η, weight decay λ and ε:
/// <code>
/// γ̃ ← γ / (1 + (t − 1)·η)       (in double, rounded once)
/// g ← ∇θ;  if λ ≠ 0: g ← g + λ·θ
/// s ← s + g²                    (s starts at the initial accumulator value)
/// θ ← θ − γ̃·g / (√s + ε)
/// </code>
/// The accumulator s holds one float per parameter.
/// </remarks>
public sealed class Adagrad : Optimizer
{
    private readonly float[] _sum;

    /// <summary>Creates an Adagrad optimiser for <paramref name="parameterCount"/> parameters (PyTorch defaults).</summary>
    /// <param name="parameterCount">The length of the parameter vector.</param>
    /// <param name="learningRate">γ, finite, ≥ 0.</param>
    /// <param name="learningRateDecay">η, finite, ≥ 0.</param>
    /// <param name="weightDecay">λ, finite, ≥ 0: L2 penalty added to the gradient.</param>
    /// <param name="initialAccumulatorValue">The starting value of s, finite, ≥ 0.</param>
    /// <param name="epsilon">ε, finite, ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    public Adagrad(int parameterCount, float learningRate = 1e-2f, float learningRateDecay = 0f, float weightDecay = 0f, float initialAccumulatorValue = 0f, float epsilon = 1e-10f)
        : base(parameterCount, learningRate)
    {
        RequireNonNegativeFinite(learningRateDecay, nameof(learningRateDecay));
        RequireNonNegativeFinite(weightDecay, nameof(weightDecay));
        RequireNonNegativeFinite(initialAccumulatorValue, nameof(initialAccumulatorValue));
        RequireNonNegativeFinite(epsilon, nameof(epsilon));
        LearningRateDecay = learningRateDecay;
        WeightDecay = weightDecay;
        InitialAccumulatorValue = initialAccumulatorValue;
        Epsilon = epsilon;
        _sum = new float[parameterCount];
        ResetState();
    }

    /// <summary>The learning-rate decay η.</summary>
    public float LearningRateDecay { get; }

    /// <summary>The L2 weight decay λ.</summary>
    public float WeightDecay { get; }

    /// <summary>The initial value of the squared-gradient accumulator.</summary>
    public float InitialAccumulatorValue { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <inheritdoc/>
    protected override void StepCore(Span<float> parameters, ReadOnlySpan<float> gradients, long step)
    {
        double clr = LearningRate / (1.0 + (step - 1) * (double)LearningRateDecay);
        Update(parameters, gradients, _sum, (float)-clr, WeightDecay, Epsilon);
    }

    /// <inheritdoc/>
    protected override void ResetState() => Array.Fill(_sum, InitialAccumulatorValue);

    /// <inheritdoc/>
    protected override IReadOnlyList<KeyValuePair<string, Memory<float>>> GetStateBuffers() => [new("sum", _sum)];

    private static void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> sum, float negLr, float weightDecay, float epsilon)
    {
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        ref float s = ref MemoryMarshal.GetReference(sum);
        nuint n = (nuint)parameters.Length;
        nuint i = 0;
        bool decay = weightDecay != 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vLr = Vector256.Create(negLr), vWd = Vector256.Create(weightDecay), vEps = Vector256.Create(epsilon);
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> pv = Vector256.LoadUnsafe(ref p, i);
                Vector256<float> gv = Vector256.LoadUnsafe(ref g, i);
                if (decay) gv += vWd * pv;
                Vector256<float> sv = Vector256.LoadUnsafe(ref s, i) + gv * gv;
                sv.StoreUnsafe(ref s, i);
                (pv + vLr * gv / (Vector256.Sqrt(sv) + vEps)).StoreUnsafe(ref p, i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> vLr = Vector128.Create(negLr), vWd = Vector128.Create(weightDecay), vEps = Vector128.Create(epsilon);
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> pv = Vector128.LoadUnsafe(ref p, i);
                Vector128<float> gv = Vector128.LoadUnsafe(ref g, i);
                if (decay) gv += vWd * pv;
                Vector128<float> sv = Vector128.LoadUnsafe(ref s, i) + gv * gv;
                sv.StoreUnsafe(ref s, i);
                (pv + vLr * gv / (Vector128.Sqrt(sv) + vEps)).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref p, i);
            float gv = Unsafe.Add(ref g, i);
            if (decay) gv += weightDecay * pv;
            float sv = Unsafe.Add(ref s, i) + gv * gv;
            Unsafe.Add(ref s, i) = sv;
            Unsafe.Add(ref p, i) = pv + negLr * gv / (MathF.Sqrt(sv) + epsilon);
        }
    }
}

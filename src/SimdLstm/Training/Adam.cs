using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm.Training;

/// <summary>
/// Adam with bias correction and optional L2 weight decay added to the gradient, as PyTorch's
/// <c>torch.optim.Adam</c> (https://pytorch.org/docs/stable/generated/torch.optim.Adam.html) without AMSGrad.
/// </summary>
/// <remarks>
/// For step t = 1, 2, … and every element, with learning rate γ, decay rates β₁, β₂, ε and weight decay λ:
/// <code>
/// g ← ∇θ;  if λ ≠ 0: g ← g + λ·θ
/// m ← β₁·m + (1 − β₁)·g          (evaluated as the lerp m + (1 − β₁)·(g − m), as PyTorch)
/// v ← β₂·v + (1 − β₂)·g²
/// θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </code>
/// which is the documented θ − γ·m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), arranged as
/// PyTorch's implementation arranges it. m and v (two floats per parameter) start at zero.
/// </remarks>
public sealed class Adam : Optimizer
{
    private readonly AdamState _state;

    /// <summary>Creates an Adam optimiser for <paramref name="parameterCount"/> parameters (PyTorch defaults).</summary>
    /// <param name="parameterCount">The length of the parameter vector.</param>
    /// <param name="learningRate">γ, finite, ≥ 0.</param>
    /// <param name="beta1">β₁ in [0, 1): decay of the first-moment estimate.</param>
    /// <param name="beta2">β₂ in [0, 1): decay of the second-moment estimate.</param>
    /// <param name="epsilon">ε, finite, ≥ 0, added to the denominator.</param>
    /// <param name="weightDecay">λ, finite, ≥ 0: L2 penalty added to the gradient (use <see cref="AdamW"/> for decoupled decay).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    public Adam(int parameterCount, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
        : base(parameterCount, learningRate)
    {
        _state = new AdamState(parameterCount, beta1, beta2, epsilon, weightDecay);
    }

    /// <summary>β₁.</summary>
    public float Beta1 => _state.Beta1;

    /// <summary>β₂.</summary>
    public float Beta2 => _state.Beta2;

    /// <summary>ε.</summary>
    public float Epsilon => _state.Epsilon;

    /// <summary>The L2 weight decay λ (added to the gradient).</summary>
    public float WeightDecay => _state.WeightDecay;

    /// <inheritdoc/>
    protected override void StepCore(Span<float> parameters, ReadOnlySpan<float> gradients, long step) =>
        _state.Step(parameters, gradients, LearningRate, step, decoupled: false);

    /// <inheritdoc/>
    protected override void ResetState() => _state.Clear();

    /// <inheritdoc/>
    protected override IReadOnlyList<KeyValuePair<string, Memory<float>>> GetStateBuffers() => _state.Buffers;
}

/// <summary>
/// AdamW: Adam with decoupled weight decay, as PyTorch's <c>torch.optim.AdamW</c>
/// (https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html) without AMSGrad.
/// </summary>
/// <remarks>
/// For step t = 1, 2, … and every element:
/// <code>
/// θ ← θ·(1 − γλ)                 (decoupled decay, applied before the Adam update)
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </code>
/// The decay does not enter the moment estimates, unlike <see cref="Adam"/>'s L2 term. The factor
/// 1 − γλ is computed in double from the current <see cref="Optimizer.LearningRate"/> and rounded once.
/// </remarks>
public sealed class AdamW : Optimizer
{
    private readonly AdamState _state;

    /// <summary>Creates an AdamW optimiser for <paramref name="parameterCount"/> parameters (PyTorch defaults, λ = 0.01).</summary>
    /// <param name="parameterCount">The length of the parameter vector.</param>
    /// <param name="learningRate">γ, finite, ≥ 0.</param>
    /// <param name="beta1">β₁ in [0, 1).</param>
    /// <param name="beta2">β₂ in [0, 1).</param>
    /// <param name="epsilon">ε, finite, ≥ 0.</param>
    /// <param name="weightDecay">λ, finite, ≥ 0: the decoupled decay coefficient.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    public AdamW(int parameterCount, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 1e-2f)
        : base(parameterCount, learningRate)
    {
        _state = new AdamState(parameterCount, beta1, beta2, epsilon, weightDecay);
    }

    /// <summary>β₁.</summary>
    public float Beta1 => _state.Beta1;

    /// <summary>β₂.</summary>
    public float Beta2 => _state.Beta2;

    /// <summary>ε.</summary>
    public float Epsilon => _state.Epsilon;

    /// <summary>The decoupled weight decay λ.</summary>
    public float WeightDecay => _state.WeightDecay;

    /// <inheritdoc/>
    protected override void StepCore(Span<float> parameters, ReadOnlySpan<float> gradients, long step) =>
        _state.Step(parameters, gradients, LearningRate, step, decoupled: true);

    /// <inheritdoc/>
    protected override void ResetState() => _state.Clear();

    /// <inheritdoc/>
    protected override IReadOnlyList<KeyValuePair<string, Memory<float>>> GetStateBuffers() => _state.Buffers;
}

/// <summary>The moment buffers and the update loop shared by <see cref="Adam"/> and <see cref="AdamW"/>.</summary>
internal sealed class AdamState
{
    private readonly float[] _m;
    private readonly float[] _v;

    public AdamState(int parameterCount, float beta1, float beta2, float epsilon, float weightDecay)
    {
        if (!(beta1 >= 0f && beta1 < 1f))
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, $"Expected a value in [0, 1) but got {beta1}.");
        if (!(beta2 >= 0f && beta2 < 1f))
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, $"Expected a value in [0, 1) but got {beta2}.");
        if (!(epsilon >= 0f) || float.IsPositiveInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"Expected a finite value of zero or more but got {epsilon}.");
        if (!(weightDecay >= 0f) || float.IsPositiveInfinity(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"Expected a finite value of zero or more but got {weightDecay}.");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        _m = new float[parameterCount];
        _v = new float[parameterCount];
    }

    public float Beta1 { get; }

    public float Beta2 { get; }

    public float Epsilon { get; }

    public float WeightDecay { get; }

    public KeyValuePair<string, Memory<float>>[] Buffers => [new("exp_avg", _m), new("exp_avg_sq", _v)];

    public void Clear()
    {
        Array.Clear(_m);
        Array.Clear(_v);
    }

    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients, float learningRate, long step, bool decoupled)
    {
        // Step-dependent scalars in double, rounded once (PyTorch computes them as Python floats).
        double bias1 = 1.0 - Math.Pow(Beta1, step);
        double bias2 = 1.0 - Math.Pow(Beta2, step);
        var c = new AdamCoefficients
        {
            NegStepSize = (float)(-(learningRate / bias1)),
            Bias2Sqrt = (float)Math.Sqrt(bias2),
            Epsilon = Epsilon,
            Beta2 = Beta2,
            OneMinusBeta2 = (float)(1.0 - Beta2),
            LerpWeight = (float)(1.0 - Beta1),
            CoupledDecay = decoupled ? 0f : WeightDecay,
            DecoupledFactor = decoupled && WeightDecay != 0f ? (float)(1.0 - (double)learningRate * WeightDecay) : 1f,
        };
        c.OneMinusLerpWeight = 1f - c.LerpWeight;
        Update(parameters, gradients, _m, _v, c);
    }

    private struct AdamCoefficients
    {
        public float NegStepSize;
        public float Bias2Sqrt;
        public float Epsilon;
        public float Beta2;
        public float OneMinusBeta2;
        public float LerpWeight;
        public float OneMinusLerpWeight;
        public float CoupledDecay;
        public float DecoupledFactor;
    }

    private static void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> mBuffer, Span<float> vBuffer, in AdamCoefficients c)
    {
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        ref float m = ref MemoryMarshal.GetReference(mBuffer);
        ref float v = ref MemoryMarshal.GetReference(vBuffer);
        nuint n = (nuint)parameters.Length;
        nuint i = 0;
        bool coupled = c.CoupledDecay != 0f;
        bool decoupled = c.DecoupledFactor != 1f;
        // PyTorch's lerp(start, end, w) evaluates start + w·(end − start) for |w| < 0.5 and
        // end − (end − start)·(1 − w) otherwise; both are kept so the rounding matches.
        bool smallWeight = c.LerpWeight < 0.5f;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vStep = Vector256.Create(c.NegStepSize), vBias2 = Vector256.Create(c.Bias2Sqrt), vEps = Vector256.Create(c.Epsilon);
            Vector256<float> vBeta2 = Vector256.Create(c.Beta2), vOmb2 = Vector256.Create(c.OneMinusBeta2);
            Vector256<float> vW = Vector256.Create(c.LerpWeight), vOmw = Vector256.Create(c.OneMinusLerpWeight);
            Vector256<float> vWd = Vector256.Create(c.CoupledDecay), vFactor = Vector256.Create(c.DecoupledFactor);
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> pv = Vector256.LoadUnsafe(ref p, i);
                Vector256<float> gv = Vector256.LoadUnsafe(ref g, i);
                Vector256<float> mv = Vector256.LoadUnsafe(ref m, i);
                Vector256<float> vv = Vector256.LoadUnsafe(ref v, i);
                if (coupled) gv += vWd * pv;
                if (decoupled) pv *= vFactor;
                mv = smallWeight ? mv + vW * (gv - mv) : gv - (gv - mv) * vOmw;
                vv = vv * vBeta2 + vOmb2 * gv * gv;
                Vector256<float> denom = Vector256.Sqrt(vv) / vBias2 + vEps;
                mv.StoreUnsafe(ref m, i);
                vv.StoreUnsafe(ref v, i);
                (pv + vStep * mv / denom).StoreUnsafe(ref p, i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> vStep = Vector128.Create(c.NegStepSize), vBias2 = Vector128.Create(c.Bias2Sqrt), vEps = Vector128.Create(c.Epsilon);
            Vector128<float> vBeta2 = Vector128.Create(c.Beta2), vOmb2 = Vector128.Create(c.OneMinusBeta2);
            Vector128<float> vW = Vector128.Create(c.LerpWeight), vOmw = Vector128.Create(c.OneMinusLerpWeight);
            Vector128<float> vWd = Vector128.Create(c.CoupledDecay), vFactor = Vector128.Create(c.DecoupledFactor);
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> pv = Vector128.LoadUnsafe(ref p, i);
                Vector128<float> gv = Vector128.LoadUnsafe(ref g, i);
                Vector128<float> mv = Vector128.LoadUnsafe(ref m, i);
                Vector128<float> vv = Vector128.LoadUnsafe(ref v, i);
                if (coupled) gv += vWd * pv;
                if (decoupled) pv *= vFactor;
                mv = smallWeight ? mv + vW * (gv - mv) : gv - (gv - mv) * vOmw;
                vv = vv * vBeta2 + vOmb2 * gv * gv;
                Vector128<float> denom = Vector128.Sqrt(vv) / vBias2 + vEps;
                mv.StoreUnsafe(ref m, i);
                vv.StoreUnsafe(ref v, i);
                (pv + vStep * mv / denom).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref p, i);
            float gv = Unsafe.Add(ref g, i);
            float mv = Unsafe.Add(ref m, i);
            float vv = Unsafe.Add(ref v, i);
            if (coupled) gv += c.CoupledDecay * pv;
            if (decoupled) pv *= c.DecoupledFactor;
            mv = smallWeight ? mv + c.LerpWeight * (gv - mv) : gv - (gv - mv) * c.OneMinusLerpWeight;
            vv = vv * c.Beta2 + c.OneMinusBeta2 * gv * gv;
            float denom = MathF.Sqrt(vv) / c.Bias2Sqrt + c.Epsilon;
            Unsafe.Add(ref m, i) = mv;
            Unsafe.Add(ref v, i) = vv;
            Unsafe.Add(ref p, i) = pv + c.NegStepSize * mv / denom;
        }
    }
}

using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm.Training;

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum, dampening and L2 weight
/// decay, exactly as PyTorch's <c>torch.optim.SGD</c> (https://pytorch.org/docs/stable/generated/torch.optim.SGD.html).
/// </summary>
/// <remarks>
/// For step t = 1, 2, … and every element, with learning rate γ, momentum μ, dampening τ and weight decay λ:
/// <code>
/// g ← ∇θ                       (the gradient)
/// if λ ≠ 0:  g ← g + λ·θ
/// if μ ≠ 0:  b ← (t = 1) ? g : μ·b + (1 − τ)·g
///            g ← nesterov ? g + μ·b : b
/// θ ← θ − γ·g
/// </code>
/// The momentum buffer b (one float per parameter) exists only when μ ≠ 0. The float operations
/// follow the order of the formula above; every path (Vector256, Vector128, scalar) gives the same bits.
/// </remarks>
public sealed class Sgd : Optimizer
{
    private readonly float[] _momentumBuffer;

    /// <summary>Creates an SGD optimiser for <paramref name="parameterCount"/> parameters.</summary>
    /// <param name="parameterCount">The length of the parameter vector.</param>
    /// <param name="learningRate">γ, finite, ≥ 0.</param>
    /// <param name="momentum">μ, finite, ≥ 0; 0 disables momentum (and its buffer).</param>
    /// <param name="dampening">τ, finite, ≥ 0; scales the new gradient into the momentum buffer by 1 − τ after the first step.</param>
    /// <param name="weightDecay">λ, finite, ≥ 0: the L2 penalty coefficient added to the gradient.</param>
    /// <param name="nesterov">Use Nesterov momentum; requires μ &gt; 0 and τ = 0 (as PyTorch).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="nesterov"/> with μ = 0 or τ ≠ 0.</exception>
    public Sgd(int parameterCount, float learningRate, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameterCount, learningRate)
    {
        RequireNonNegativeFinite(momentum, nameof(momentum));
        RequireNonNegativeFinite(dampening, nameof(dampening));
        RequireNonNegativeFinite(weightDecay, nameof(weightDecay));
        if (nesterov && (momentum <= 0f || dampening != 0f))
            throw new ArgumentException($"Nesterov momentum requires momentum > 0 and dampening = 0 but got momentum {momentum} and dampening {dampening}.", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _momentumBuffer = momentum != 0f ? new float[parameterCount] : [];
    }

    /// <summary>The momentum coefficient μ.</summary>
    public float Momentum { get; }

    /// <summary>The dampening τ.</summary>
    public float Dampening { get; }

    /// <summary>The L2 weight decay λ.</summary>
    public float WeightDecay { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override void StepCore(Span<float> parameters, ReadOnlySpan<float> gradients, long step)
    {
        if (Momentum == 0f)
            StepPlain(parameters, gradients, -LearningRate, WeightDecay);
        else
            StepMomentum(parameters, gradients, _momentumBuffer, -LearningRate, WeightDecay, Momentum, 1f - Dampening, step == 1, Nesterov);
    }

    /// <inheritdoc/>
    protected override void ResetState() => Array.Clear(_momentumBuffer);

    /// <inheritdoc/>
    protected override IReadOnlyList<KeyValuePair<string, Memory<float>>> GetStateBuffers() =>
        Momentum == 0f ? [] : [new("momentum_buffer", _momentumBuffer)];

    // θ ← θ + (−γ)·(g + λθ). The λ term is skipped when λ = 0, as PyTorch does, so an infinite
    // parameter does not turn 0·∞ into NaN.
    private static void StepPlain(Span<float> parameters, ReadOnlySpan<float> gradients, float negLr, float weightDecay)
    {
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        nuint n = (nuint)parameters.Length;
        nuint i = 0;
        bool decay = weightDecay != 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vLr = Vector256.Create(negLr), vWd = Vector256.Create(weightDecay);
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> pv = Vector256.LoadUnsafe(ref p, i);
                Vector256<float> gv = Vector256.LoadUnsafe(ref g, i);
                if (decay) gv += vWd * pv;
                (pv + vLr * gv).StoreUnsafe(ref p, i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> vLr = Vector128.Create(negLr), vWd = Vector128.Create(weightDecay);
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> pv = Vector128.LoadUnsafe(ref p, i);
                Vector128<float> gv = Vector128.LoadUnsafe(ref g, i);
                if (decay) gv += vWd * pv;
                (pv + vLr * gv).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref p, i);
            float gv = Unsafe.Add(ref g, i);
            if (decay) gv += weightDecay * pv;
            Unsafe.Add(ref p, i) = pv + negLr * gv;
        }
    }

    private static void StepMomentum(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> buffer,
        float negLr, float weightDecay, float momentum, float oneMinusDampening, bool first, bool nesterov)
    {
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        ref float b = ref MemoryMarshal.GetReference(buffer);
        nuint n = (nuint)parameters.Length;
        nuint i = 0;
        bool decay = weightDecay != 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vLr = Vector256.Create(negLr), vWd = Vector256.Create(weightDecay);
            Vector256<float> vMu = Vector256.Create(momentum), vDamp = Vector256.Create(oneMinusDampening);
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> pv = Vector256.LoadUnsafe(ref p, i);
                Vector256<float> gv = Vector256.LoadUnsafe(ref g, i);
                if (decay) gv += vWd * pv;
                // First step: the buffer is a copy of the gradient (no dampening), as PyTorch.
                Vector256<float> bv = first ? gv : Vector256.LoadUnsafe(ref b, i) * vMu + vDamp * gv;
                bv.StoreUnsafe(ref b, i);
                gv = nesterov ? gv + vMu * bv : bv;
                (pv + vLr * gv).StoreUnsafe(ref p, i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> vLr = Vector128.Create(negLr), vWd = Vector128.Create(weightDecay);
            Vector128<float> vMu = Vector128.Create(momentum), vDamp = Vector128.Create(oneMinusDampening);
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> pv = Vector128.LoadUnsafe(ref p, i);
                Vector128<float> gv = Vector128.LoadUnsafe(ref g, i);
                if (decay) gv += vWd * pv;
                Vector128<float> bv = first ? gv : Vector128.LoadUnsafe(ref b, i) * vMu + vDamp * gv;
                bv.StoreUnsafe(ref b, i);
                gv = nesterov ? gv + vMu * bv : bv;
                (pv + vLr * gv).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref p, i);
            float gv = Unsafe.Add(ref g, i);
            if (decay) gv += weightDecay * pv;
            float bv = first ? gv : Unsafe.Add(ref b, i) * momentum + oneMinusDampening * gv;
            Unsafe.Add(ref b, i) = bv;
            gv = nesterov ? gv + momentum * bv : bv;
            Unsafe.Add(ref p, i) = pv + negLr * gv;
        }
    }
}

using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;

namespace SimdLstm.Training;

/// <summary>
/// A first-order optimiser that updates one flat parameter vector in place from a gradient vector
/// of the same layout, so a whole model (one <see cref="float"/> array with named views) is stepped
/// by a single pass.
/// </summary>
/// <remarks>
/// <para>
/// Every optimiser state buffer (momentum, moment estimates, accumulators) is allocated once in the
/// constructor for <see cref="ParameterCount"/> elements; <see cref="Step"/> allocates nothing.
/// </para>
/// <para>
/// The update formulas follow the algorithm boxes of the PyTorch documentation
/// (https://pytorch.org/docs/stable/optim.html, classes <c>SGD</c>, <c>Adam</c>, <c>AdamW</c>,
/// <c>Adagrad</c>), arranged as PyTorch's single-tensor implementation arranges them (e.g. Adam's
/// first moment as a lerp, its denominator as √v/√(1 − β₂ᵗ) + ε). Agreement is verified against a
/// double-precision transcription of the documented formulas, not bit for bit against PyTorch. Hyperparameters are
/// single precision like the parameters; scalar factors derived from the step count (bias
/// corrections, decayed learning rates) are computed in double and rounded once, as PyTorch does
/// with Python floats.
/// </para>
/// <para>
/// The vector paths (Vector256, Vector128) use the same operations in the same order as the scalar
/// path and no fused multiply-add, so a step gives bitwise the same result on every instruction set.
/// </para>
/// <para>An instance is not thread-safe: one optimiser steps one parameter vector from one thread at a time.</para>
/// </remarks>
public abstract class Optimizer
{
    private float _learningRate;

    /// <summary>Creates the optimiser for <paramref name="parameterCount"/> parameters.</summary>
    /// <param name="parameterCount">The length of the parameter and gradient vectors; zero or more.</param>
    /// <param name="learningRate">The initial learning rate γ; finite and zero or more.</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative count, or a negative or non-finite learning rate.</exception>
    protected Optimizer(int parameterCount, float learningRate)
    {
        Guard.NonNegative(parameterCount, nameof(parameterCount));
        ValidateLearningRate(learningRate, nameof(learningRate));
        ParameterCount = parameterCount;
        _learningRate = learningRate;
    }

    /// <summary>The number of parameters this optimiser updates: the required length of both spans given to <see cref="Step"/>.</summary>
    public int ParameterCount { get; }

    /// <summary>
    /// The learning rate γ used by the next <see cref="Step"/>. Settable between steps so a schedule
    /// (warm-up, decay) can drive it; it is not part of the state cleared by <see cref="Reset"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative, NaN or infinite.</exception>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            ValidateLearningRate(value, nameof(value));
            _learningRate = value;
        }
    }

    /// <summary>The number of completed calls to <see cref="Step"/> since construction or the last <see cref="Reset"/> (PyTorch's <c>t</c>).</summary>
    public long StepCount { get; private set; }

    /// <summary>
    /// The optimiser's state buffers by PyTorch's names (Adam's <c>exp_avg</c> and <c>exp_avg_sq</c>, SGD's
    /// <c>momentum_buffer</c>, Adagrad's <c>sum</c>), each <see cref="ParameterCount"/> long, as live views: saving them
    /// with <see cref="StepCount"/> and writing them back before <see cref="Restore"/> resumes training exactly.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, Memory<float>>> StateBuffers => GetStateBuffers();

    /// <summary>Sets <see cref="StepCount"/>, after the caller has written saved values into <see cref="StateBuffers"/>, to continue a saved run.</summary>
    /// <param name="stepCount">The step count saved with the buffers; zero or more.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stepCount"/> is negative.</exception>
    public void Restore(long stepCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        StepCount = stepCount;
    }

    /// <summary>The state buffers for <see cref="StateBuffers"/>; none unless overridden.</summary>
    /// <returns>Name and live memory of each buffer.</returns>
    protected virtual IReadOnlyList<KeyValuePair<string, Memory<float>>> GetStateBuffers() => [];

    /// <summary>
    /// Applies one update: <paramref name="parameters"/> ← update(<paramref name="parameters"/>,
    /// <paramref name="gradients"/>, state), and advances <see cref="StepCount"/>.
    /// </summary>
    /// <param name="parameters">The parameters θ, updated in place; length <see cref="ParameterCount"/>.</param>
    /// <param name="gradients">The gradients ∂loss/∂θ, same length and layout; read only. Must not overlap <paramref name="parameters"/>.</param>
    /// <exception cref="ArgumentException">A length differs from <see cref="ParameterCount"/>, or the spans overlap. Nothing is written.</exception>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        Guard.Length(parameters.Length, ParameterCount, nameof(parameters));
        Guard.Length(gradients.Length, ParameterCount, nameof(gradients));
        // Any overlap would let an update of one element change a gradient still to be read.
        Guard.NoPartialOverlap(gradients, parameters, nameof(gradients), nameof(parameters), allowInPlace: false);
        StepCount++;
        StepCore(parameters, gradients, StepCount);
    }

    /// <summary>Clears the optimiser state (momentum, moments, accumulators) and <see cref="StepCount"/>, as if newly constructed. The learning rate is kept.</summary>
    public void Reset()
    {
        StepCount = 0;
        ResetState();
    }

    /// <summary>Performs the update for step <paramref name="step"/> (1 for the first step). Lengths are already validated.</summary>
    /// <param name="parameters">The parameters, length <see cref="ParameterCount"/>.</param>
    /// <param name="gradients">The gradients, length <see cref="ParameterCount"/>, not overlapping <paramref name="parameters"/>.</param>
    /// <param name="step">The 1-based index of this step.</param>
    protected abstract void StepCore(Span<float> parameters, ReadOnlySpan<float> gradients, long step);

    /// <summary>Restores the state buffers to their initial values.</summary>
    protected abstract void ResetState();

    /// <summary>Throws unless <paramref name="value"/> is finite and zero or more.</summary>
    /// <param name="value">The hyperparameter.</param>
    /// <param name="paramName">The parameter name reported.</param>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative, NaN or infinite.</exception>
    protected static void RequireNonNegativeFinite(float value, string paramName)
    {
        if (!(value >= 0f) || float.IsPositiveInfinity(value))
            ThrowHyperparameter(value, paramName, "a finite value of zero or more");
    }

    /// <summary>Throws unless 0 ≤ <paramref name="value"/> &lt; 1 (a decay rate such as β or momentum coefficients bounded by 1).</summary>
    /// <param name="value">The hyperparameter.</param>
    /// <param name="paramName">The parameter name reported.</param>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1) or NaN.</exception>
    protected static void RequireUnitInterval(float value, string paramName)
    {
        if (!(value >= 0f && value < 1f))
            ThrowHyperparameter(value, paramName, "a value in [0, 1)");
    }

    private static void ValidateLearningRate(float value, string paramName) => RequireNonNegativeFinite(value, paramName);

    [DoesNotReturn]
    private static void ThrowHyperparameter(float value, string paramName, string expected) =>
        throw new ArgumentOutOfRangeException(paramName, value, $"Expected {expected} but got {value}.");
}

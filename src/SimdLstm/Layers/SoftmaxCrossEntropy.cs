using System;

namespace SimdLstm;

/// <summary>
/// The softmax cross-entropy loss over a batch of logits with integer targets, fused with its gradient.
/// </summary>
/// <remarks>
/// With p = softmax(z), the gradient of −log p[y] with respect to z is simply p − onehot(y): no separate softmax
/// derivative is applied on top of it (doing so is a classic hand-written-backprop bug that stalls learning).
/// </remarks>
public static class SoftmaxCrossEntropy
{
    /// <summary>
    /// Returns the mean over the <paramref name="rows"/> rows of −log softmax(logits[r])[targets[r]], and writes
    /// dLogits = (p − onehot(target)) / N, the gradient of that mean.
    /// </summary>
    /// <param name="logits">[N, V] logits; finite values of any size are handled (the max is subtracted).</param>
    /// <param name="rows">N.</param>
    /// <param name="classes">V.</param>
    /// <param name="targets">[N] class indices in [0, V).</param>
    /// <param name="dLogits">Receives the gradient, [N, V]; may be exactly <paramref name="logits"/>.</param>
    /// <exception cref="ArgumentException">A length does not match; nothing has been written.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is outside [0, V); nothing has been written.</exception>
    public static float Forward(ReadOnlySpan<float> logits, int rows, int classes, ReadOnlySpan<int> targets, Span<float> dLogits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        long product = (long)rows * classes;
        if (product > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, $"{rows} rows of {classes} classes would not fit in one span.");
        int length = (int)product;
        Guard.Length(logits.Length, length, nameof(logits));
        Guard.Length(targets.Length, rows, nameof(targets));
        Guard.Length(dLogits.Length, length, nameof(dLogits));
        Guard.NoPartialOverlap(logits, dLogits, nameof(logits), nameof(dLogits));
        for (int r = 0; r < rows; r++)
        {
            if ((uint)targets[r] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(targets), targets[r], $"Target at index {r} is {targets[r]}; expected a value in [0, {classes}).");
        }
        float scale = 1f / rows;
        double total = 0;
        for (int r = 0; r < rows; r++)
            total += Kernels.SoftmaxCrossEntropy(logits.Slice(r * classes, classes), targets[r], dLogits.Slice(r * classes, classes), scale);
        return (float)(total / rows);
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace SimdLstm.Testing;

/// <summary>The outcome of checking one tensor: its worst element by relative error.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="Length">Its number of elements.</param>
/// <param name="CheckedElements">How many of them were checked (all, or a sample).</param>
/// <param name="MaxRelativeError">The largest |a − n| / max(|a| + |n|, floor) over the checked elements (+∞ for NaN).</param>
/// <param name="MaxAbsoluteDifference">The largest |a − n| over the checked elements.</param>
/// <param name="WorstIndex">The flat index of the element with the largest relative error (−1 for an empty tensor).</param>
/// <param name="Analytic">The analytic derivative at <paramref name="WorstIndex"/>.</param>
/// <param name="Numeric">The central-difference derivative at <paramref name="WorstIndex"/>.</param>
public sealed record TensorGradientResult(
    string Name, int Length, int CheckedElements, double MaxRelativeError, double MaxAbsoluteDifference, int WorstIndex, double Analytic, double Numeric)
{
    /// <summary>One line: name, worst relative error, worst index with both values, largest absolute difference.</summary>
    /// <returns>The line, with round-trippable numbers.</returns>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Name}: max relative error {MaxRelativeError:G3} at [{WorstIndex}] (analytic {Analytic:R}, numeric {Numeric:R}), max |a - n| {MaxAbsoluteDifference:G3}, {CheckedElements} of {Length} elements checked");
}

/// <summary>Per-tensor results of <see cref="GradientChecker.Check"/>, with a threshold assertion.</summary>
public sealed class GradientCheckReport
{
    internal GradientCheckReport(IReadOnlyList<TensorGradientResult> tensors)
    {
        Tensors = tensors;
        foreach (TensorGradientResult result in tensors)
        {
            if (Worst is null || result.MaxRelativeError > Worst.MaxRelativeError)
                Worst = result;
        }
    }

    /// <summary>One result per checked tensor, in the order they were given.</summary>
    public IReadOnlyList<TensorGradientResult> Tensors { get; }

    /// <summary>The tensor with the largest relative error, or null when no tensor was given.</summary>
    public TensorGradientResult? Worst { get; }

    /// <summary>The tensors whose largest relative error exceeds <paramref name="maxRelativeError"/> (NaN always exceeds).</summary>
    /// <param name="maxRelativeError">The largest acceptable relative error.</param>
    /// <returns>The failing tensors, in order; empty when all pass.</returns>
    public IReadOnlyList<TensorGradientResult> Failures(double maxRelativeError)
    {
        var failures = new List<TensorGradientResult>();
        foreach (TensorGradientResult result in Tensors)
        {
            if (!(result.MaxRelativeError <= maxRelativeError))
                failures.Add(result);
        }
        return failures;
    }

    /// <summary>
    /// Throws a <see cref="ToleranceExceededException"/> naming every tensor whose largest relative error exceeds
    /// <paramref name="maxRelativeError"/>, with its worst element; returns normally when all pass.
    /// </summary>
    /// <param name="maxRelativeError">The largest acceptable relative error, e.g. 1e-6 for a float64 model.</param>
    /// <exception cref="ToleranceExceededException">At least one tensor failed.</exception>
    public void AssertWithin(double maxRelativeError)
    {
        IReadOnlyList<TensorGradientResult> failures = Failures(maxRelativeError);
        if (failures.Count == 0)
            return;
        var message = new StringBuilder();
        message.Append(CultureInfo.InvariantCulture, $"Gradient check failed for {failures.Count} of {Tensors.Count} tensors (allowed relative error {maxRelativeError:G3}):");
        foreach (TensorGradientResult failure in failures)
            message.AppendLine().Append("  ").Append(failure);
        throw new ToleranceExceededException(message.ToString());
    }

    /// <summary>One line per tensor (see <see cref="TensorGradientResult.ToString"/>).</summary>
    /// <returns>The table.</returns>
    public override string ToString() => string.Join(Environment.NewLine, Tensors);
}

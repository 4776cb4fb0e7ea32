using System;

namespace SimdLstm.Testing;

/// <summary>
/// One named tensor for <see cref="GradientChecker"/>: its current values (which the checker perturbs in
/// place and restores) and the analytic gradient of the loss with respect to them, in the same layout.
/// </summary>
public sealed class GradientTensor
{
    /// <summary>Names a tensor and pairs its values with their analytic gradient.</summary>
    /// <param name="name">The name failures are reported under, e.g. <c>weight_hh_l1</c>.</param>
    /// <param name="values">The live values the loss function reads; perturbed in place during the check and restored bit for bit.</param>
    /// <param name="analyticGradient">∂loss/∂values, same length as <paramref name="values"/>.</param>
    /// <exception cref="ArgumentException">The name is empty or the lengths differ.</exception>
    public GradientTensor(string name, double[] values, double[] analyticGradient)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(analyticGradient);
        SimdLstm.Guard.Length(analyticGradient.Length, values.Length, nameof(analyticGradient));
        Name = name;
        Values = values;
        AnalyticGradient = analyticGradient;
    }

    /// <summary>The name failures are reported under.</summary>
    public string Name { get; }

    /// <summary>The live values the loss function reads.</summary>
    public double[] Values { get; }

    /// <summary>The analytic gradient ∂loss/∂<see cref="Values"/>.</summary>
    public double[] AnalyticGradient { get; }
}

using System;
using System.Collections.Generic;

namespace SimdLstm.Testing;

/// <summary>
/// Checks analytic gradients against central finite differences in double precision and reports, per
/// tensor, the worst element — so a failure says which gradient is wrong.
/// </summary>
/// <remarks>
/// For each checked element x of each tensor the checker computes the numeric derivative
/// n = (L(x + h) − L(x − h)) / ((x + h) − (x − h)) by calling <c>loss</c> twice, restores x exactly, and
/// compares n with the analytic value a by the relative error |a − n| / max(|a| + |n|, floor).
/// The loss function must read the tensors' <see cref="GradientTensor.Values"/> arrays on every call and be
/// deterministic. Nothing is evaluated in parallel, so the arrays may be shared with the model.
/// <code>
/// // L(w, b) = Σ (w·x + b)²; dL/dw and dL/db computed by hand.
/// var report = GradientChecker.Check(
///     () => Model.Loss(weight, bias),
///     [new GradientTensor("weight", weight, dWeight), new GradientTensor("bias", bias, dBias)]);
/// report.AssertWithin(1e-6); // throws naming every tensor whose worst element exceeds 1e-6
/// </code>
/// </remarks>
public static class GradientChecker
{
    /// <summary>
    /// Default perturbation, 1e-5. Central differences have a truncation error of about h²·|L‴|/6 and a rounding
    /// error of about δ/h, where δ is the rounding error of one loss evaluation (many ulps of its largest partial sums,
    /// not one ulp of the result). The sum is smallest near h = (3δ/|L‴|)^(1/3) ≈ 1e-5 for unit-scale losses
    /// (δ ≈ 1e-15). Measured on this project's float64 recurrent networks (losses up to 6.5, 25 random LSTM cases):
    /// the largest |analytic − numeric| was 6.8e-8 at h = 1e-4 (truncation), 4.8e-10 at h = 1e-5 and 5.6e-9 at
    /// h = 1e-6 (rounding) — so 1e-5, not the often-quoted 1e-6, is the default.
    /// </summary>
    public const double DefaultStep = 1e-5;

    /// <summary>
    /// Default floor of the relative-error denominator, 1e-3. A numeric derivative carries absolute noise of about
    /// δ/h (≈ 5e-10 measured for losses of order 1–10 at the default step); judged relatively, that noise alone fails
    /// a 1e-6 bar on any derivative below ≈ 5e-4, and scores 1 on a derivative that is exactly zero (a dead ReLU, an
    /// unused token column). Below the floor the measure becomes absolute: at a 1e-6 bar, |a − n| ≤ 1e-9 is
    /// required there, twice the measured noise, while any wrong derivative that matters at that loss scale
    /// (|a − n| ≥ 1e-9) still fails. Above the floor elements are judged relatively as usual.
    /// Scale the floor with the loss when it is far from order 1 (the noise grows with it).
    /// </summary>
    public const double DefaultRelativeErrorFloor = 1e-3;

    /// <summary>
    /// Compares every (or a sample of every) tensor's analytic gradient with central finite differences of
    /// <paramref name="loss"/>.
    /// </summary>
    /// <param name="loss">Evaluates the loss from the current contents of the tensors' value arrays.</param>
    /// <param name="tensors">The tensors to check; names must be unique.</param>
    /// <param name="options">Step, floor and sampling; <see cref="GradientCheckOptions.Default"/> when null.</param>
    /// <returns>One <see cref="TensorGradientResult"/> per tensor, in the order given.</returns>
    /// <exception cref="ArgumentException">Duplicate names, a non-positive step or floor, or a sample size below 1.</exception>
    public static GradientCheckReport Check(Func<double> loss, IEnumerable<GradientTensor> tensors, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(tensors);
        options ??= GradientCheckOptions.Default;
        if (!(options.Step > 0) || !double.IsFinite(options.Step))
            throw new ArgumentOutOfRangeException(nameof(options), options.Step, "Expected a finite positive Step.");
        if (!(options.RelativeErrorFloor > 0))
            throw new ArgumentOutOfRangeException(nameof(options), options.RelativeErrorFloor, "Expected a positive RelativeErrorFloor.");
        if (options.MaxElementsPerTensor < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxElementsPerTensor, "Expected MaxElementsPerTensor of at least 1.");

        var list = new List<GradientTensor>(tensors);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (GradientTensor tensor in list)
        {
            ArgumentNullException.ThrowIfNull(tensor, nameof(tensors));
            if (!names.Add(tensor.Name))
                throw new ArgumentException($"Expected unique tensor names but '{tensor.Name}' appears twice.", nameof(tensors));
        }

        var sampler = new SeededRandom(options.SampleSeed);
        var results = new List<TensorGradientResult>(list.Count);
        foreach (GradientTensor tensor in list)
            results.Add(CheckTensor(loss, tensor, options, sampler));
        return new GradientCheckReport(results);
    }

    /// <summary>The relative error |a − n| / max(|a| + |n|, floor); +∞ when either value is NaN or infinite.</summary>
    /// <param name="analytic">The analytic derivative a.</param>
    /// <param name="numeric">The numeric derivative n.</param>
    /// <param name="floor">The floor of the denominator.</param>
    /// <returns>0 for equal values, at most 1 when both exceed the floor, larger only below it.</returns>
    public static double RelativeError(double analytic, double numeric, double floor)
    {
        if (!double.IsFinite(analytic) || !double.IsFinite(numeric))
            return double.PositiveInfinity;
        return Math.Abs(analytic - numeric) / Math.Max(Math.Abs(analytic) + Math.Abs(numeric), floor);
    }

    private static TensorGradientResult CheckTensor(Func<double> loss, GradientTensor tensor, GradientCheckOptions options, SeededRandom sampler)
    {
        double[] values = tensor.Values;
        int[] indices = SampleIndices(values.Length, options.MaxElementsPerTensor, sampler);

        double worstRelative = -1, worstAbsolute = 0, worstAnalytic = 0, worstNumeric = 0;
        int worstIndex = -1;
        foreach (int i in indices)
        {
            double numeric = options.Stencil == DifferenceStencil.FivePoint
                ? FivePointDifference(loss, values, i, options.Step)
                : CentralDifference(loss, values, i, options.Step);
            double analytic = tensor.AnalyticGradient[i];
            double relative = RelativeError(analytic, numeric, options.RelativeErrorFloor);
            worstAbsolute = Math.Max(worstAbsolute, double.IsFinite(analytic - numeric) ? Math.Abs(analytic - numeric) : double.PositiveInfinity);
            if (relative > worstRelative)
            {
                worstRelative = relative;
                worstIndex = i;
                worstAnalytic = analytic;
                worstNumeric = numeric;
            }
        }

        return new TensorGradientResult(tensor.Name, values.Length, indices.Length, Math.Max(worstRelative, 0), worstAbsolute, worstIndex, worstAnalytic, worstNumeric);
    }

    private static double CentralDifference(Func<double> loss, double[] values, int i, double step)
    {
        double original = values[i];
        double plus = original + step, minus = original - step;
        try
        {
            values[i] = plus;
            double lossPlus = loss();
            values[i] = minus;
            double lossMinus = loss();
            // Dividing by the representable distance (plus − minus), not 2h, removes the error of rounding x ± h.
            return (lossPlus - lossMinus) / (plus - minus);
        }
        finally
        {
            values[i] = original;
        }
    }

    // (−L(x+2h) + 8L(x+h) − 8L(x−h) + L(x−2h)) / 12h: the truncation error falls to O(h⁴), so a step 100× larger than
    // the three-point one keeps it negligible while the rounding error δ/h falls 100×.
    private static double FivePointDifference(Func<double> loss, double[] values, int i, double step)
    {
        double original = values[i];
        try
        {
            values[i] = original + 2 * step;
            double plus2 = loss();
            values[i] = original + step;
            double plus1 = loss();
            values[i] = original - step;
            double minus1 = loss();
            values[i] = original - 2 * step;
            double minus2 = loss();
            return (-plus2 + 8 * plus1 - 8 * minus1 + minus2) / (12 * step);
        }
        finally
        {
            values[i] = original;
        }
    }

    // All indices in order when the tensor is small enough, else a partial Fisher–Yates shuffle's first
    // `count` entries (uniform, without repetition), sorted so the check visits memory in order.
    private static int[] SampleIndices(int length, int count, SeededRandom sampler)
    {
        var indices = new int[length];
        for (int i = 0; i < length; i++)
            indices[i] = i;
        if (length <= count)
            return indices;
        for (int i = 0; i < count; i++)
        {
            int j = i + sampler.NextInt32(length - i);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }
        int[] sample = indices[..count];
        Array.Sort(sample);
        return sample;
    }
}

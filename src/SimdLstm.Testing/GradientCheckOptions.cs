namespace SimdLstm.Testing;

/// <summary>Settings of a <see cref="GradientChecker"/> run. The defaults suit a float64 loss of order 1.</summary>
public sealed record GradientCheckOptions
{
    /// <summary>The default options: step 1e-5, floor 1e-3, every element checked.</summary>
    public static GradientCheckOptions Default { get; } = new();

    /// <summary>
    /// The perturbation h of the central difference (L(x + h) − L(x − h)) / 2h. Default <see cref="GradientChecker.DefaultStep"/>.
    /// </summary>
    public double Step { get; init; } = GradientChecker.DefaultStep;

    /// <summary>
    /// The floor of the relative-error denominator, |a − n| / max(|a| + |n|, floor). Default
    /// <see cref="GradientChecker.DefaultRelativeErrorFloor"/>.
    /// </summary>
    public double RelativeErrorFloor { get; init; } = GradientChecker.DefaultRelativeErrorFloor;

    /// <summary>
    /// At most this many elements of each tensor are checked; a larger tensor has a random sample of
    /// this size checked (without repetition, drawn from <see cref="SampleSeed"/>), which bounds the cost at
    /// 2 loss evaluations per checked element. Default: all elements.
    /// </summary>
    public int MaxElementsPerTensor { get; init; } = int.MaxValue;

    /// <summary>
    /// The finite-difference formula. Default <see cref="DifferenceStencil.ThreePoint"/>, the classic central difference;
    /// <see cref="DifferenceStencil.FivePoint"/> costs twice the loss evaluations and, with a step near 1e-3, is about a
    /// hundred times more accurate.
    /// </summary>
    public DifferenceStencil Stencil { get; init; } = DifferenceStencil.ThreePoint;

    /// <summary>Seed of the element sample taken when a tensor is larger than <see cref="MaxElementsPerTensor"/>.</summary>
    public ulong SampleSeed { get; init; } = 0x5EED;
}

/// <summary>The finite-difference formula of a <see cref="GradientChecker"/>.</summary>
public enum DifferenceStencil
{
    /// <summary>(L(x + h) − L(x − h)) / 2h: truncation error O(h²), rounding error O(δ/h).</summary>
    ThreePoint = 0,

    /// <summary>(−L(x + 2h) + 8·L(x + h) − 8·L(x − h) + L(x − 2h)) / 12h: truncation error O(h⁴), rounding error O(δ/h).</summary>
    FivePoint = 1,
}

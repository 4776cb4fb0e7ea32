namespace SimdLstm;

/// <summary>
/// Span kernels over <see cref="float"/>: elementwise activations, reductions, BLAS-like
/// operations and the fused LSTM/RNN pointwise steps.
/// </summary>
/// <remarks>
/// Every kernel validates its arguments before it writes anything, then runs a Vector256
/// (AVX2 + FMA) path, a Vector128 path or a scalar path, whichever the machine accelerates.
/// No kernel allocates. Results never depend on where a span starts in memory: loops do not
/// peel for alignment, so the accumulation order is a function of the length alone.
/// </remarks>
public static partial class Kernels
{
}

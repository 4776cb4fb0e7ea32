namespace SimdLstm;

/// <summary>Whether a matrix operand of <c>Kernels.Gemm</c> is used as stored or transposed.</summary>
public enum Transpose
{
    /// <summary>op(X) = X.</summary>
    None = 0,

    /// <summary>op(X) = Xᵀ.</summary>
    Transposed = 1,
}

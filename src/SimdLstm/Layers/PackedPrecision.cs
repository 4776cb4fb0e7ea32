namespace SimdLstm;

/// <summary>The number format a <see cref="PackedRecurrentLayer"/> keeps its gate matrices in.</summary>
/// <remarks>
/// Biases, projections (weight_hr), the cell state and every sum outside the gate products stay float32 in all formats.
/// A batch-1 step reads every weight once, so its time follows the bytes per weight: 4, 2, and 1 (+ 4 bytes per row).
/// </remarks>
public enum PackedPrecision
{
    /// <summary>float32 weights (the layer's own values), float32 products.</summary>
    Float32 = 0,

    /// <summary>
    /// bfloat16 weights (each rounded to the nearest, relative error at most 2⁻⁸), float32 products: half the bytes.
    /// </summary>
    BFloat16 = 1,

    /// <summary>
    /// int8 weights with one float32 scale per output row (symmetric, zero point 0; error at most 1/254 of the row's
    /// largest |weight|): a quarter of the bytes. Each product quantises its input vector to int16 (dynamic, per step:
    /// scale max|x| / Q, Q up to 32767) and sums exactly in int32 before one float32 scaling per row.
    /// </summary>
    Int8 = 2,
}

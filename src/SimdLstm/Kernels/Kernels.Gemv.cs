using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

public static partial class Kernels
{
    /// <summary>
    /// Matrix-vector product accumulated into <paramref name="y"/>: y[r] += Σ_c W[r, c] · x[c].
    /// </summary>
    /// <param name="w">The row-major matrix W [<paramref name="rows"/>, <paramref name="cols"/>]; row r starts at r · <paramref name="ldw"/>.</param>
    /// <param name="rows">Rows of W (the length of <paramref name="y"/>).</param>
    /// <param name="cols">Columns of W (the length of <paramref name="x"/>).</param>
    /// <param name="ldw">Row stride of W in elements, at least <paramref name="cols"/> (and at least 1). Elements between rows are never read.</param>
    /// <param name="x">The vector x [<paramref name="cols"/>].</param>
    /// <param name="y">The accumulator y [<paramref name="rows"/>]; it must not overlap <paramref name="w"/> or <paramref name="x"/>.</param>
    /// <remarks>
    /// Each weight is read once, row by row as sequential streams. On Vector256 hardware eight rows are
    /// reduced together, one vector accumulator each (eight independent FMA chains), with one
    /// transpose-and-add tree per block of eight rows; on Vector128 four rows with two accumulators each.
    /// Either keeps the loop bound by memory bandwidth rather than by FMA latency.
    /// The reduction order for a row depends only on <paramref name="cols"/> (never on the row's
    /// position or on memory alignment), so results are deterministic. Accuracy: each y[r] is within
    /// (cols + 1) · 2⁻²⁴ · (|y[r]| + Σ_c |W[r, c] · x[c]|) of the exact value.
    /// </remarks>
    /// <exception cref="ArgumentException">A size is negative, the stride is smaller than the column count, a span is too short, a vector length differs from the matrix shape, or <paramref name="y"/> overlaps an input.</exception>
    public static void Gemv(ReadOnlySpan<float> w, int rows, int cols, int ldw, ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.Matrix(w.Length, rows, cols, ldw, nameof(w), nameof(ldw));
        Guard.Length(x.Length, cols, nameof(x));
        Guard.Length(y.Length, rows, nameof(y));
        Guard.NoPartialOverlap(MatrixExtent(w, rows, cols, ldw), y, nameof(w), nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(x, y, nameof(x), nameof(y), allowInPlace: false);
        if (rows == 0 || cols == 0)
            return;

        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector256.IsHardwareAccelerated)
            GemvRows8Vector256(ref wr, rows, cols, ldw, ref xr, ref yr);
        else if (Vector128.IsHardwareAccelerated)
            GemvVector128(ref wr, rows, cols, ldw, ref xr, ref yr);
        else
            GemvScalar(ref wr, rows, cols, ldw, ref xr, ref yr);
    }

    /// <summary>
    /// Transposed matrix-vector product accumulated into <paramref name="y"/>: y[c] += Σ_r W[r, c] · x[r], that is y += Wᵀ·x.
    /// </summary>
    /// <param name="w">The row-major matrix W [<paramref name="rows"/>, <paramref name="cols"/>]; row r starts at r · <paramref name="ldw"/>.</param>
    /// <param name="rows">Rows of W (the length of <paramref name="x"/>).</param>
    /// <param name="cols">Columns of W (the length of <paramref name="y"/>).</param>
    /// <param name="ldw">Row stride of W in elements, at least <paramref name="cols"/> (and at least 1). Elements between rows are never read.</param>
    /// <param name="x">The vector x [<paramref name="rows"/>].</param>
    /// <param name="y">The accumulator y [<paramref name="cols"/>]; it must not overlap <paramref name="w"/> or <paramref name="x"/>.</param>
    /// <remarks>
    /// W is streamed row by row (four rows per pass over y), so it is read once, contiguously. Every
    /// y[c] is accumulated in row order 0, 1, …, rows − 1, whatever the alignment, so results are
    /// deterministic. Accuracy: each y[c] is within (rows + 1) · 2⁻²⁴ · (|y[c]| + Σ_r |W[r, c] · x[r]|)
    /// of the exact value.
    /// </remarks>
    /// <exception cref="ArgumentException">A size is negative, the stride is smaller than the column count, a span is too short, a vector length differs from the matrix shape, or <paramref name="y"/> overlaps an input.</exception>
    public static void GemvTransposed(ReadOnlySpan<float> w, int rows, int cols, int ldw, ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.Matrix(w.Length, rows, cols, ldw, nameof(w), nameof(ldw));
        Guard.Length(x.Length, rows, nameof(x));
        Guard.Length(y.Length, cols, nameof(y));
        Guard.NoPartialOverlap(MatrixExtent(w, rows, cols, ldw), y, nameof(w), nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(x, y, nameof(x), nameof(y), allowInPlace: false);
        if (rows == 0 || cols == 0)
            return;

        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector256.IsHardwareAccelerated)
            GemvTransposedVector256(ref wr, rows, cols, ldw, ref xr, ref yr);
        else if (Vector128.IsHardwareAccelerated)
            GemvTransposedVector128(ref wr, rows, cols, ldw, ref xr, ref yr);
        else
            GemvTransposedScalar(ref wr, rows, cols, ldw, ref xr, ref yr);
    }

    /// <summary>
    /// Rank-1 update of a matrix: W[r, c] += (α · u[r]) · v[c], that is W += α·u·vᵀ.
    /// </summary>
    /// <param name="alpha">The scale α. When α = 0 the call returns without reading the vectors or W (as BLAS SGER).</param>
    /// <param name="u">The column vector u [<paramref name="rows"/>].</param>
    /// <param name="v">The row vector v [<paramref name="cols"/>].</param>
    /// <param name="w">The row-major matrix W [<paramref name="rows"/>, <paramref name="cols"/>], updated in place; it must not overlap <paramref name="u"/> or <paramref name="v"/>.</param>
    /// <param name="rows">Rows of W.</param>
    /// <param name="cols">Columns of W.</param>
    /// <param name="ldw">Row stride of W in elements, at least <paramref name="cols"/> (and at least 1). Elements between rows are neither read nor written.</param>
    /// <remarks>
    /// Each element is updated with one rounding of α · u[r] and one (fused, where the hardware has FMA)
    /// multiply-add, so it is within 3 · 2⁻²⁴ · (|W[r, c]| + |α · u[r] · v[c]|) of the exact value.
    /// </remarks>
    /// <exception cref="ArgumentException">A size is negative, the stride is smaller than the column count, a span is too short, a vector length differs from the matrix shape, or <paramref name="w"/> overlaps a vector.</exception>
    public static void Ger(float alpha, ReadOnlySpan<float> u, ReadOnlySpan<float> v, Span<float> w, int rows, int cols, int ldw)
    {
        Guard.Matrix(w.Length, rows, cols, ldw, nameof(w), nameof(ldw));
        Guard.Length(u.Length, rows, nameof(u));
        Guard.Length(v.Length, cols, nameof(v));
        ReadOnlySpan<float> extent = MatrixExtent(w, rows, cols, ldw);
        Guard.NoPartialOverlap(u, extent, nameof(u), nameof(w), allowInPlace: false);
        Guard.NoPartialOverlap(v, extent, nameof(v), nameof(w), allowInPlace: false);
        if (rows == 0 || cols == 0 || alpha == 0f)
            return;

        ref float ur = ref MemoryMarshal.GetReference(u);
        ref float vr = ref MemoryMarshal.GetReference(v);
        ref float wr = ref MemoryMarshal.GetReference(w);
        if (Vector256.IsHardwareAccelerated)
            GerVector256(alpha, ref ur, ref vr, ref wr, rows, cols, ldw);
        else if (Vector128.IsHardwareAccelerated)
            GerVector128(alpha, ref ur, ref vr, ref wr, rows, cols, ldw);
        else
            GerScalar(alpha, ref ur, ref vr, ref wr, rows, cols, ldw);
    }

    /// <summary>The elements a row-major [rows, cols] matrix with row stride <paramref name="stride"/> actually spans (validated beforehand).</summary>
    private static ReadOnlySpan<float> MatrixExtent(ReadOnlySpan<float> matrix, int rows, int cols, int stride) =>
        rows == 0 || cols == 0 ? default : matrix[..((rows - 1) * stride + cols)];

    // ---------------------------------------------------------------- GEMV, y += W·x

    private static void GemvVector128(ref float w, nint rows, nint cols, nint ldw, ref float x, ref float y)
    {
        nint r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ref float w0 = ref Unsafe.Add(ref w, r * ldw);
            ref float w1 = ref Unsafe.Add(ref w0, ldw);
            ref float w2 = ref Unsafe.Add(ref w1, ldw);
            ref float w3 = ref Unsafe.Add(ref w2, ldw);
            Vector128<float> a0 = default, b0 = default, a1 = default, b1 = default;
            Vector128<float> a2 = default, b2 = default, a3 = default, b3 = default;
            nint c = 0;
            for (; c + 8 <= cols; c += 8)
            {
                Vector128<float> x0 = Vector128.LoadUnsafe(ref x, (nuint)c);
                Vector128<float> x1 = Vector128.LoadUnsafe(ref x, (nuint)c + 4);
                a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, (nuint)c), x0, a0);
                b0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, (nuint)c + 4), x1, b0);
                a1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w1, (nuint)c), x0, a1);
                b1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w1, (nuint)c + 4), x1, b1);
                a2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w2, (nuint)c), x0, a2);
                b2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w2, (nuint)c + 4), x1, b2);
                a3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w3, (nuint)c), x0, a3);
                b3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w3, (nuint)c + 4), x1, b3);
            }

            if (c + 4 <= cols)
            {
                Vector128<float> x0 = Vector128.LoadUnsafe(ref x, (nuint)c);
                a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, (nuint)c), x0, a0);
                a1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w1, (nuint)c), x0, a1);
                a2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w2, (nuint)c), x0, a2);
                a3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w3, (nuint)c), x0, a3);
                c += 4;
            }

            float s0 = Vector128.Sum(a0 + b0), s1 = Vector128.Sum(a1 + b1), s2 = Vector128.Sum(a2 + b2), s3 = Vector128.Sum(a3 + b3);
            for (; c < cols; c++)
            {
                float xc = Unsafe.Add(ref x, c);
                s0 += Unsafe.Add(ref w0, c) * xc;
                s1 += Unsafe.Add(ref w1, c) * xc;
                s2 += Unsafe.Add(ref w2, c) * xc;
                s3 += Unsafe.Add(ref w3, c) * xc;
            }

            Unsafe.Add(ref y, r) += s0;
            Unsafe.Add(ref y, r + 1) += s1;
            Unsafe.Add(ref y, r + 2) += s2;
            Unsafe.Add(ref y, r + 3) += s3;
        }

        for (; r < rows; r++)
        {
            ref float w0 = ref Unsafe.Add(ref w, r * ldw);
            Vector128<float> a0 = default, b0 = default;
            nint c = 0;
            for (; c + 8 <= cols; c += 8)
            {
                a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, (nuint)c), Vector128.LoadUnsafe(ref x, (nuint)c), a0);
                b0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, (nuint)c + 4), Vector128.LoadUnsafe(ref x, (nuint)c + 4), b0);
            }

            if (c + 4 <= cols)
            {
                a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, (nuint)c), Vector128.LoadUnsafe(ref x, (nuint)c), a0);
                c += 4;
            }

            float s0 = Vector128.Sum(a0 + b0);
            for (; c < cols; c++)
                s0 += Unsafe.Add(ref w0, c) * Unsafe.Add(ref x, c);
            Unsafe.Add(ref y, r) += s0;
        }
    }

    private static void GemvScalar(ref float w, nint rows, nint cols, nint ldw, ref float x, ref float y)
    {
        for (nint r = 0; r < rows; r++)
        {
            ref float wRow = ref Unsafe.Add(ref w, r * ldw);
            float s = 0f;
            for (nint c = 0; c < cols; c++)
                s += Unsafe.Add(ref wRow, c) * Unsafe.Add(ref x, c);
            Unsafe.Add(ref y, r) += s;
        }
    }

    // ---------------------------------------------------------------- GEMVᵀ, y += Wᵀ·x

    private static void GemvTransposedVector256(ref float w, nint rows, nint cols, nint ldw, ref float x, ref float y)
    {
        nint r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ref float w0 = ref Unsafe.Add(ref w, r * ldw);
            ref float w1 = ref Unsafe.Add(ref w0, ldw);
            ref float w2 = ref Unsafe.Add(ref w1, ldw);
            ref float w3 = ref Unsafe.Add(ref w2, ldw);
            float xs0 = Unsafe.Add(ref x, r), xs1 = Unsafe.Add(ref x, r + 1), xs2 = Unsafe.Add(ref x, r + 2), xs3 = Unsafe.Add(ref x, r + 3);
            Vector256<float> x0 = Vector256.Create(xs0), x1 = Vector256.Create(xs1), x2 = Vector256.Create(xs2), x3 = Vector256.Create(xs3);
            nint c = 0;
            for (; c + 8 <= cols; c += 8)
            {
                // One chain per element keeps the row order 0, 1, 2, 3 for every y[c].
                Vector256<float> acc = Vector256.LoadUnsafe(ref y, (nuint)c);
                acc = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, (nuint)c), x0, acc);
                acc = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, (nuint)c), x1, acc);
                acc = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, (nuint)c), x2, acc);
                acc = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, (nuint)c), x3, acc);
                acc.StoreUnsafe(ref y, (nuint)c);
            }

            for (; c < cols; c++)
            {
                float s = Unsafe.Add(ref y, c);
                s += Unsafe.Add(ref w0, c) * xs0;
                s += Unsafe.Add(ref w1, c) * xs1;
                s += Unsafe.Add(ref w2, c) * xs2;
                s += Unsafe.Add(ref w3, c) * xs3;
                Unsafe.Add(ref y, c) = s;
            }
        }

        for (; r < rows; r++)
        {
            ref float w0 = ref Unsafe.Add(ref w, r * ldw);
            float xs0 = Unsafe.Add(ref x, r);
            Vector256<float> x0 = Vector256.Create(xs0);
            nint c = 0;
            for (; c + 8 <= cols; c += 8)
                Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, (nuint)c), x0, Vector256.LoadUnsafe(ref y, (nuint)c)).StoreUnsafe(ref y, (nuint)c);
            for (; c < cols; c++)
                Unsafe.Add(ref y, c) += Unsafe.Add(ref w0, c) * xs0;
        }
    }

    private static void GemvTransposedVector128(ref float w, nint rows, nint cols, nint ldw, ref float x, ref float y)
    {
        nint r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ref float w0 = ref Unsafe.Add(ref w, r * ldw);
            ref float w1 = ref Unsafe.Add(ref w0, ldw);
            ref float w2 = ref Unsafe.Add(ref w1, ldw);
            ref float w3 = ref Unsafe.Add(ref w2, ldw);
            float xs0 = Unsafe.Add(ref x, r), xs1 = Unsafe.Add(ref x, r + 1), xs2 = Unsafe.Add(ref x, r + 2), xs3 = Unsafe.Add(ref x, r + 3);
            Vector128<float> x0 = Vector128.Create(xs0), x1 = Vector128.Create(xs1), x2 = Vector128.Create(xs2), x3 = Vector128.Create(xs3);
            nint c = 0;
            for (; c + 4 <= cols; c += 4)
            {
                Vector128<float> acc = Vector128.LoadUnsafe(ref y, (nuint)c);
                acc = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, (nuint)c), x0, acc);
                acc = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w1, (nuint)c), x1, acc);
                acc = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w2, (nuint)c), x2, acc);
                acc = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w3, (nuint)c), x3, acc);
                acc.StoreUnsafe(ref y, (nuint)c);
            }

            for (; c < cols; c++)
            {
                float s = Unsafe.Add(ref y, c);
                s += Unsafe.Add(ref w0, c) * xs0;
                s += Unsafe.Add(ref w1, c) * xs1;
                s += Unsafe.Add(ref w2, c) * xs2;
                s += Unsafe.Add(ref w3, c) * xs3;
                Unsafe.Add(ref y, c) = s;
            }
        }

        for (; r < rows; r++)
        {
            ref float w0 = ref Unsafe.Add(ref w, r * ldw);
            float xs0 = Unsafe.Add(ref x, r);
            Vector128<float> x0 = Vector128.Create(xs0);
            nint c = 0;
            for (; c + 4 <= cols; c += 4)
                Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref w0, (nuint)c), x0, Vector128.LoadUnsafe(ref y, (nuint)c)).StoreUnsafe(ref y, (nuint)c);
            for (; c < cols; c++)
                Unsafe.Add(ref y, c) += Unsafe.Add(ref w0, c) * xs0;
        }
    }

    private static void GemvTransposedScalar(ref float w, nint rows, nint cols, nint ldw, ref float x, ref float y)
    {
        for (nint r = 0; r < rows; r++)
        {
            ref float wRow = ref Unsafe.Add(ref w, r * ldw);
            float xr = Unsafe.Add(ref x, r);
            for (nint c = 0; c < cols; c++)
                Unsafe.Add(ref y, c) += Unsafe.Add(ref wRow, c) * xr;
        }
    }

    // ---------------------------------------------------------------- GER, W += α·u·vᵀ

    private static void GerVector256(float alpha, ref float u, ref float v, ref float w, nint rows, nint cols, nint ldw)
    {
        for (nint r = 0; r < rows; r++)
        {
            ref float wRow = ref Unsafe.Add(ref w, r * ldw);
            float s = alpha * Unsafe.Add(ref u, r);
            Vector256<float> vs = Vector256.Create(s);
            nint c = 0;
            for (; c + 16 <= cols; c += 16)
            {
                Vector256.MultiplyAddEstimate(vs, Vector256.LoadUnsafe(ref v, (nuint)c), Vector256.LoadUnsafe(ref wRow, (nuint)c)).StoreUnsafe(ref wRow, (nuint)c);
                Vector256.MultiplyAddEstimate(vs, Vector256.LoadUnsafe(ref v, (nuint)c + 8), Vector256.LoadUnsafe(ref wRow, (nuint)c + 8)).StoreUnsafe(ref wRow, (nuint)c + 8);
            }

            if (c + 8 <= cols)
            {
                Vector256.MultiplyAddEstimate(vs, Vector256.LoadUnsafe(ref v, (nuint)c), Vector256.LoadUnsafe(ref wRow, (nuint)c)).StoreUnsafe(ref wRow, (nuint)c);
                c += 8;
            }

            for (; c < cols; c++)
                Unsafe.Add(ref wRow, c) += s * Unsafe.Add(ref v, c);
        }
    }

    private static void GerVector128(float alpha, ref float u, ref float v, ref float w, nint rows, nint cols, nint ldw)
    {
        for (nint r = 0; r < rows; r++)
        {
            ref float wRow = ref Unsafe.Add(ref w, r * ldw);
            float s = alpha * Unsafe.Add(ref u, r);
            Vector128<float> vs = Vector128.Create(s);
            nint c = 0;
            for (; c + 8 <= cols; c += 8)
            {
                Vector128.MultiplyAddEstimate(vs, Vector128.LoadUnsafe(ref v, (nuint)c), Vector128.LoadUnsafe(ref wRow, (nuint)c)).StoreUnsafe(ref wRow, (nuint)c);
                Vector128.MultiplyAddEstimate(vs, Vector128.LoadUnsafe(ref v, (nuint)c + 4), Vector128.LoadUnsafe(ref wRow, (nuint)c + 4)).StoreUnsafe(ref wRow, (nuint)c + 4);
            }

            if (c + 4 <= cols)
            {
                Vector128.MultiplyAddEstimate(vs, Vector128.LoadUnsafe(ref v, (nuint)c), Vector128.LoadUnsafe(ref wRow, (nuint)c)).StoreUnsafe(ref wRow, (nuint)c);
                c += 4;
            }

            for (; c < cols; c++)
                Unsafe.Add(ref wRow, c) += s * Unsafe.Add(ref v, c);
        }
    }

    private static void GerScalar(float alpha, ref float u, ref float v, ref float w, nint rows, nint cols, nint ldw)
    {
        for (nint r = 0; r < rows; r++)
        {
            ref float wRow = ref Unsafe.Add(ref w, r * ldw);
            float s = alpha * Unsafe.Add(ref u, r);
            for (nint c = 0; c < cols; c++)
                Unsafe.Add(ref wRow, c) += s * Unsafe.Add(ref v, c);
        }
    }
}

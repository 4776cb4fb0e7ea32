using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SimdLstm.Benchmarks;

/// <summary>
/// The Vector256 GEMV that <see cref="Kernels.Gemv"/> used before its eight-row blocks (four rows at a time, two vector
/// accumulators per row, one horizontal sum per row), kept here unchanged as the baseline of <see cref="GemvBench"/>.
/// </summary>
internal static class GemvFourRowBaseline
{
    /// <summary>y += W·x; W row-major [rows, cols] with row stride ldw. Requires Vector256 hardware; no validation.</summary>
    public static void Gemv(ref float w, nint rows, nint cols, nint ldw, ref float x, ref float y)
    {
        nint r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ref float w0 = ref Unsafe.Add(ref w, r * ldw);
            ref float w1 = ref Unsafe.Add(ref w0, ldw);
            ref float w2 = ref Unsafe.Add(ref w1, ldw);
            ref float w3 = ref Unsafe.Add(ref w2, ldw);
            Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default;
            Vector256<float> a2 = default, b2 = default, a3 = default, b3 = default;
            nint c = 0;
            for (; c + 16 <= cols; c += 16)
            {
                Vector256<float> x0 = Vector256.LoadUnsafe(ref x, (nuint)c);
                Vector256<float> x1 = Vector256.LoadUnsafe(ref x, (nuint)c + 8);
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, (nuint)c), x0, a0);
                b0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, (nuint)c + 8), x1, b0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, (nuint)c), x0, a1);
                b1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, (nuint)c + 8), x1, b1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, (nuint)c), x0, a2);
                b2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, (nuint)c + 8), x1, b2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, (nuint)c), x0, a3);
                b3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, (nuint)c + 8), x1, b3);
            }

            if (c + 8 <= cols)
            {
                Vector256<float> x0 = Vector256.LoadUnsafe(ref x, (nuint)c);
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, (nuint)c), x0, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, (nuint)c), x0, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, (nuint)c), x0, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, (nuint)c), x0, a3);
                c += 8;
            }

            float s0 = Vector256.Sum(a0 + b0), s1 = Vector256.Sum(a1 + b1), s2 = Vector256.Sum(a2 + b2), s3 = Vector256.Sum(a3 + b3);
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

        // Leftover rows, one at a time, in exactly the same order as a row of a four-row block.
        for (; r < rows; r++)
        {
            ref float w0 = ref Unsafe.Add(ref w, r * ldw);
            Vector256<float> a0 = default, b0 = default;
            nint c = 0;
            for (; c + 16 <= cols; c += 16)
            {
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, (nuint)c), Vector256.LoadUnsafe(ref x, (nuint)c), a0);
                b0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, (nuint)c + 8), Vector256.LoadUnsafe(ref x, (nuint)c + 8), b0);
            }

            if (c + 8 <= cols)
            {
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, (nuint)c), Vector256.LoadUnsafe(ref x, (nuint)c), a0);
                c += 8;
            }

            float s0 = Vector256.Sum(a0 + b0);
            for (; c < cols; c++)
                s0 += Unsafe.Add(ref w0, c) * Unsafe.Add(ref x, c);
            Unsafe.Add(ref y, r) += s0;
        }
    }
}

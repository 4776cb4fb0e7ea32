using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SimdLstm;

public static partial class Kernels
{
    /// <summary>
    /// Two matrix-vector products over the same rows, accumulated into <paramref name="y"/> in one pass:
    /// y[r] += Σ_c A[r, c] · xa[c] + Σ_c B[r, c] · xb[c]. This is the whole projection of a batch-1 recurrent step,
    /// W_ih·x + W_hh·h, with both matrices streamed once.
    /// </summary>
    /// <param name="a">Dense row-major A [<paramref name="rows"/>, <paramref name="colsA"/>].</param>
    /// <param name="colsA">Columns of A (the length of <paramref name="xa"/>).</param>
    /// <param name="xa">The vector xa [<paramref name="colsA"/>].</param>
    /// <param name="b">Dense row-major B [<paramref name="rows"/>, <paramref name="colsB"/>].</param>
    /// <param name="colsB">Columns of B (the length of <paramref name="xb"/>).</param>
    /// <param name="xb">The vector xb [<paramref name="colsB"/>].</param>
    /// <param name="rows">Rows of A and B (the length of <paramref name="y"/>).</param>
    /// <param name="y">The accumulator y [<paramref name="rows"/>]; it must not overlap any input.</param>
    /// <remarks>
    /// On Vector256 hardware both products accumulate into the same eight-row blocks (the kernel of
    /// <see cref="Gemv"/>), so y is read and written once; elsewhere it is <see cref="Gemv"/> over A, then over B. Either way the reduction order
    /// of a row depends only on the column counts, so results are deterministic. Accuracy: each y[r] is within
    /// (colsA + colsB + 2) · 2⁻²⁴ · (|y[r]| + Σ_c |A[r, c] · xa[c]| + Σ_c |B[r, c] · xb[c]|) of the exact value.
    /// </remarks>
    /// <exception cref="ArgumentException">A size is negative, a span length differs from its shape, or <paramref name="y"/> overlaps an input.</exception>
    internal static void GemvPair(ReadOnlySpan<float> a, int colsA, ReadOnlySpan<float> xa, ReadOnlySpan<float> b, int colsB, ReadOnlySpan<float> xb,
        int rows, Span<float> y)
    {
        Guard.NonNegative(rows, nameof(rows));
        Guard.NonNegative(colsA, nameof(colsA));
        Guard.NonNegative(colsB, nameof(colsB));
        Guard.Length(a.Length, rows * colsA, nameof(a));
        Guard.Length(b.Length, rows * colsB, nameof(b));
        Guard.Length(xa.Length, colsA, nameof(xa));
        Guard.Length(xb.Length, colsB, nameof(xb));
        Guard.Length(y.Length, rows, nameof(y));
        Guard.NoPartialOverlap(a, y, nameof(a), nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(b, y, nameof(b), nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(xa, y, nameof(xa), nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(xb, y, nameof(xb), nameof(y), allowInPlace: false);
        if (rows == 0)
            return;

        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float xar = ref MemoryMarshal.GetReference(xa);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float xbr = ref MemoryMarshal.GetReference(xb);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector256.IsHardwareAccelerated)
        {
            GemvPairVector256(ref ar, colsA, colsA, ref xar, ref br, colsB, colsB, ref xbr, rows, ref yr);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            if (colsA > 0)
                GemvVector128(ref ar, rows, colsA, colsA, ref xar, ref yr);
            if (colsB > 0)
                GemvVector128(ref br, rows, colsB, colsB, ref xbr, ref yr);
        }
        else
        {
            if (colsA > 0)
                GemvScalar(ref ar, rows, colsA, colsA, ref xar, ref yr);
            if (colsB > 0)
                GemvScalar(ref br, rows, colsB, colsB, ref xbr, ref yr);
        }
    }

    // y += W·x, eight rows at a time; the Vector256 path of Gemv (the pair kernel with an empty second matrix).
    private static void GemvRows8Vector256(ref float w, nint rows, nint cols, nint ldw, ref float x, ref float y) =>
        GemvPairVector256(ref w, ldw, cols, ref x, ref w, 0, 0, ref x, rows, ref y);

    /// <summary>
    /// y += A·xa + B·xb, eight rows at a time: lane k of each block holds row k. Rows at or beyond the end repeat the last
    /// row (their lanes are not stored), so every lane runs the same instruction sequence and a row's result never
    /// depends on where its block starts.
    /// </summary>
    /// <remarks>
    /// Each row has one vector accumulator, shared by A and B: eight independent FMA chains are what Zen 4 needs to hide
    /// the 4-cycle FMA latency at two FMAs per cycle; with four x vectors (32 columns per trip, unrolled by hand because the
    /// JIT does not) they use 12 of the 16 AVX2 registers, the weights being FMA memory operands. The
    /// eight rows are read as eight sequential streams. The horizontal reduction is amortised over the block: a
    /// transpose-and-add tree turns the eight accumulators into one vector of row sums, which is added to y with one
    /// vector add. Leftover columns (fewer than eight per matrix) go into a separate row-per-lane vector, A's then B's,
    /// added after the tree. The block is inlined into the row loop (accumulators passed between methods would live in
    /// memory), once with a constant last row for full blocks, so their row addresses need no clamping.
    /// </remarks>
    private static void GemvPairVector256(ref float a, nint lda, nint colsA, ref float xa, ref float b, nint ldb, nint colsB, ref float xb,
        nint rows, ref float y)
    {
        // Full blocks pass a constant last row, so the JIT folds the clamping away; only the final block clamps.
        nint r = 0;
        for (; r + 8 <= rows; r += 8)
            Block8Vector256(ref a, lda, colsA, ref xa, ref b, ldb, colsB, ref xb, r, 7, ref y);
        if (r < rows)
            Block8Vector256(ref a, lda, colsA, ref xa, ref b, ldb, colsB, ref xb, r, rows - r - 1, ref y);
    }

    // One block of GemvPairVector256: rows r .. r + last (last ≤ 7), rows beyond repeating row r + last.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block8Vector256(ref float a, nint lda, nint colsA, ref float xa, ref float b, nint ldb, nint colsB, ref float xb,
        nint r, nint last, ref float y)
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector256<float> tail = Vector256<float>.Zero;
        for (int pass = 0; pass < 2; pass++)
        {
            nint ld = pass == 0 ? lda : ldb;
            nuint n = (nuint)(pass == 0 ? colsA : colsB);
            if (n == 0)
                continue;
            ref float w0 = ref Unsafe.Add(ref pass == 0 ? ref a : ref b, r * ld);
            ref float x = ref pass == 0 ? ref xa : ref xb;
            ref float w1 = ref Unsafe.Add(ref w0, Math.Min(1, last) * ld);
            ref float w2 = ref Unsafe.Add(ref w0, Math.Min(2, last) * ld);
            ref float w3 = ref Unsafe.Add(ref w0, Math.Min(3, last) * ld);
            ref float w4 = ref Unsafe.Add(ref w0, Math.Min(4, last) * ld);
            ref float w5 = ref Unsafe.Add(ref w0, Math.Min(5, last) * ld);
            ref float w6 = ref Unsafe.Add(ref w0, Math.Min(6, last) * ld);
            ref float w7 = ref Unsafe.Add(ref w0, Math.Min(7, last) * ld);

            nuint c = 0;
            for (; c + 32 <= n; c += 32)
            {
                Vector256<float> x0 = Vector256.LoadUnsafe(ref x, c);
                Vector256<float> x1 = Vector256.LoadUnsafe(ref x, c + 8);
                Vector256<float> x2 = Vector256.LoadUnsafe(ref x, c + 16);
                Vector256<float> x3 = Vector256.LoadUnsafe(ref x, c + 24);
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, c), x0, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, c), x0, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, c), x0, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, c), x0, a3);
                a4 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w4, c), x0, a4);
                a5 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w5, c), x0, a5);
                a6 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w6, c), x0, a6);
                a7 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w7, c), x0, a7);
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, c + 8), x1, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, c + 8), x1, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, c + 8), x1, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, c + 8), x1, a3);
                a4 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w4, c + 8), x1, a4);
                a5 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w5, c + 8), x1, a5);
                a6 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w6, c + 8), x1, a6);
                a7 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w7, c + 8), x1, a7);
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, c + 16), x2, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, c + 16), x2, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, c + 16), x2, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, c + 16), x2, a3);
                a4 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w4, c + 16), x2, a4);
                a5 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w5, c + 16), x2, a5);
                a6 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w6, c + 16), x2, a6);
                a7 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w7, c + 16), x2, a7);
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, c + 24), x3, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, c + 24), x3, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, c + 24), x3, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, c + 24), x3, a3);
                a4 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w4, c + 24), x3, a4);
                a5 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w5, c + 24), x3, a5);
                a6 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w6, c + 24), x3, a6);
                a7 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w7, c + 24), x3, a7);
            }

            if (c + 16 <= n)
            {
                Vector256<float> x0 = Vector256.LoadUnsafe(ref x, c);
                Vector256<float> x1 = Vector256.LoadUnsafe(ref x, c + 8);
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, c), x0, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, c), x0, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, c), x0, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, c), x0, a3);
                a4 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w4, c), x0, a4);
                a5 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w5, c), x0, a5);
                a6 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w6, c), x0, a6);
                a7 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w7, c), x0, a7);
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, c + 8), x1, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, c + 8), x1, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, c + 8), x1, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, c + 8), x1, a3);
                a4 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w4, c + 8), x1, a4);
                a5 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w5, c + 8), x1, a5);
                a6 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w6, c + 8), x1, a6);
                a7 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w7, c + 8), x1, a7);
                c += 16;
            }

            if (c + 8 <= n)
            {
                Vector256<float> x0 = Vector256.LoadUnsafe(ref x, c);
                a0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w0, c), x0, a0);
                a1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w1, c), x0, a1);
                a2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w2, c), x0, a2);
                a3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w3, c), x0, a3);
                a4 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w4, c), x0, a4);
                a5 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w5, c), x0, a5);
                a6 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w6, c), x0, a6);
                a7 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref w7, c), x0, a7);
                c += 8;
            }

            for (; c < n; c++)
            {
                Vector256<float> column = Vector256.Create(
                    Unsafe.Add(ref w0, c), Unsafe.Add(ref w1, c), Unsafe.Add(ref w2, c), Unsafe.Add(ref w3, c),
                    Unsafe.Add(ref w4, c), Unsafe.Add(ref w5, c), Unsafe.Add(ref w6, c), Unsafe.Add(ref w7, c));
                tail = Vector256.MultiplyAddEstimate(column, Vector256.Create(Unsafe.Add(ref x, c)), tail);
            }
        }

        Vector256<float> sums = ReduceRows8(a0, a1, a2, a3, a4, a5, a6, a7) + tail;
        ref float yr = ref Unsafe.Add(ref y, r);
        if (last == 7)
        {
            (Vector256.LoadUnsafe(ref yr) + sums).StoreUnsafe(ref yr);
        }
        else
        {
            for (nint k = 0; k <= last; k++)
                Unsafe.Add(ref yr, k) += sums.GetElement((int)k);
        }
    }

    // Lane k of the result is the sum of the eight lanes of ak. Each lane is summed as ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ReduceRows8(
        Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3,
        Vector256<float> a4, Vector256<float> a5, Vector256<float> a6, Vector256<float> a7)
    {
        if (Avx.IsSupported)
        {
            // hadd(p, q) = [p0+p1, p2+p3, q0+q1, q2+q3 | p4+p5, p6+p7, q4+q5, q6+q7]; two rounds leave, per 128-bit half,
            // the half-sums of four rows; exchanging halves and adding finishes every row at once.
            Vector256<float> h0123 = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));
            Vector256<float> h4567 = Avx.HorizontalAdd(Avx.HorizontalAdd(a4, a5), Avx.HorizontalAdd(a6, a7));
            return Avx.Permute2x128(h0123, h4567, 0x20) + Avx.Permute2x128(h0123, h4567, 0x31);
        }

        return Vector256.Create(Lanes(a0), Lanes(a1), Lanes(a2), Lanes(a3), Lanes(a4), Lanes(a5), Lanes(a6), Lanes(a7));

        static float Lanes(Vector256<float> v) =>
            ((v.GetElement(0) + v.GetElement(1)) + (v.GetElement(2) + v.GetElement(3)))
            + ((v.GetElement(4) + v.GetElement(5)) + (v.GetElement(6) + v.GetElement(7)));
    }
}

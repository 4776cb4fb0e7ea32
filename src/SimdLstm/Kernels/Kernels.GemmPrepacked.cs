using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

public static partial class Kernels
{
    // A "prepacked B": op(B) [k, n] laid out once in the panel format the micro-kernel reads, so that a product
    // repeated with the same B (the recurrent weights, used by every step of a pass) does not repack it each time.
    // Packing W_hh once per pass instead of per step was worth about 20 points of FMA peak on the recurrent step
    // shape on this class of machine (PERF-NOTES).
    //
    // Layout, with nr the micro-kernel's column width (16 on Vector256, 8 on Vector128) and nPad = n rounded up to
    // nr: depth block pc (KC = 256 rows of op(B)) starts at pc · nPad; inside it, panel q of nr columns starts at
    // q · nr · kc and holds element (pc + p, q · nr + j) at p · nr + j, columns past n zero. That is exactly what
    // the ordinary path packs per (column, depth) block, so both paths run the same kernel over the same data
    // and give bitwise the same C. Without SIMD the "packed" form is plain op(B), row-major [k, n].

    /// <summary>The number of floats <see cref="PackGemmB"/> writes for op(B) [<paramref name="k"/>, <paramref name="n"/>] on this machine.</summary>
    internal static int PackedBLength(int k, int n)
    {
        int nr = PackedNr();
        return (nr == 0 ? n : RoundUp(n, nr)) * k;
    }

    // The micro-kernel's column width on this machine, 0 without SIMD.
    private static int PackedNr() =>
        Vector256.IsHardwareAccelerated ? GemmNr256 : Vector128.IsHardwareAccelerated ? GemmNr128 : 0;

    /// <summary>
    /// Packs op(B) [<paramref name="k"/>, <paramref name="n"/>] (B stored as [k, n], or as [n, k] when
    /// <paramref name="transB"/> is <see cref="Transpose.Transposed"/>, row stride <paramref name="ldb"/>) into
    /// <paramref name="packed"/> for <see cref="GemmPackedB"/>. The packed form depends on the machine's vector width:
    /// use it only in this process, with the same (k, n).
    /// </summary>
    /// <exception cref="ArgumentException">A size is negative, the transpose is undefined, the stride is too small, or a span is too short.</exception>
    internal static void PackGemmB(Transpose transB, int k, int n, ReadOnlySpan<float> b, int ldb, Span<float> packed)
    {
        Guard.NonNegative(k, nameof(k));
        Guard.NonNegative(n, nameof(n));
        ValidateTranspose(transB, nameof(transB));
        bool bT = transB == Transpose.Transposed;
        Guard.Matrix(b.Length, bT ? n : k, bT ? k : n, ldb, nameof(b), nameof(ldb));
        Guard.AtLeast(packed.Length, PackedBLength(k, n), nameof(packed));
        if (k == 0 || n == 0)
            return;

        var opB = new StridedMatrix(ref MemoryMarshal.GetReference(b), bT ? 1 : ldb, bT ? ldb : 1);
        ref float dst = ref MemoryMarshal.GetReference(packed);
        int nr = PackedNr();
        if (nr == 0)
        {
            for (int p = 0; p < k; p++)
                for (int j = 0; j < n; j++)
                    Unsafe.Add(ref dst, p * n + j) = opB.At(p, j);
            return;
        }

        nint nPad = RoundUp(n, nr);
        for (int pc = 0; pc < k; pc += GemmKc)
            PackB(opB, pc, Math.Min(GemmKc, k - pc), 0, n, ref Unsafe.Add(ref dst, pc * nPad), nr);
    }

    /// <summary>
    /// C = A · op(B) + β · C with op(B) [<paramref name="k"/>, <paramref name="n"/>] given in the form
    /// <see cref="PackGemmB"/> wrote, A [<paramref name="m"/>, <paramref name="k"/>] row-major with stride
    /// <paramref name="lda"/>, C [m, n] with stride <paramref name="ldc"/>. On the same data the result is bitwise
    /// that of <see cref="Gemm"/> with α = 1 and op(B) unpacked (same blocking along k, same kernel), and its error
    /// bound is the same. β = 0 overwrites C without reading it.
    /// </summary>
    /// <exception cref="ArgumentException">A size is negative, a stride is too small, a span is too short, or C overlaps A or the packed B.</exception>
    internal static void GemmPackedB(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> packedB, float beta, Span<float> c, int ldc)
    {
        Guard.NonNegative(m, nameof(m));
        Guard.NonNegative(n, nameof(n));
        Guard.NonNegative(k, nameof(k));
        Guard.Matrix(a.Length, m, k, lda, nameof(a), nameof(lda));
        Guard.AtLeast(packedB.Length, PackedBLength(k, n), nameof(packedB));
        Guard.Matrix(c.Length, m, n, ldc, nameof(c), nameof(ldc));
        ReadOnlySpan<float> cExtent = MatrixExtent(c, m, n, ldc);
        Guard.NoPartialOverlap(MatrixExtent(a, m, k, lda), cExtent, nameof(a), nameof(c), allowInPlace: false);
        Guard.NoPartialOverlap(packedB[..PackedBLength(k, n)], cExtent, nameof(packedB), nameof(c), allowInPlace: false);
        if (m == 0 || n == 0)
            return;

        ScaleMatrix(beta, c, m, n, ldc);
        if (k == 0)
            return;

        var opA = new StridedMatrix(ref MemoryMarshal.GetReference(a), lda, 1);
        ref float bPack = ref MemoryMarshal.GetReference(packedB);
        ref float cr = ref MemoryMarshal.GetReference(c);
        int nr = PackedNr();
        if (nr == 0)
        {
            GemmScalar(opA, new StridedMatrix(ref bPack, n, 1), m, n, k, 1f, ref cr, ldc);
            return;
        }

        int kcMax = Math.Min(GemmKc, k);
        int aSize = RoundUp(Math.Min(GemmMc, m), GemmMr) * kcMax;
        ref float aPack = ref GemmScratch(aSize, out _, aSize);
        nint nPad = RoundUp(n, nr);
        for (int pc = 0; pc < k; pc += GemmKc)
        {
            int kc = Math.Min(GemmKc, k - pc);
            ref float bBlock = ref Unsafe.Add(ref bPack, pc * nPad);
            for (int ic = 0; ic < m; ic += GemmMc)
            {
                int mc = Math.Min(GemmMc, m - ic);
                PackA(opA, ic, mc, pc, kc, ref aPack, GemmMr);
                ref float cBlock = ref Unsafe.Add(ref cr, ic * ldc);
                if (nr == GemmNr256)
                    MacroKernel256(mc, n, kc, ref aPack, ref bBlock, ref cBlock, ldc, 1f);
                else
                    MacroKernel128(mc, n, kc, ref aPack, ref bBlock, ref cBlock, ldc, 1f);
            }
        }
    }
}

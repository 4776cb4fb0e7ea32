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
    // Tiles: the per-step products have M = the batch (32, or 16 when two threads split the streams), which a 6-row
    // tile covers badly (6+6+6+6+6+2), so this product has its own micro-kernels with 4-row tiles: 4 × 24 on
    // Vector256 and 4 × 12 on Vector128, each 12 accumulators + 3 B vectors + 1 broadcast = 16 registers. Per
    // element they do what the general kernels do with α = 1 (FMAs in k order from zero within each KC block, then
    // one FMA into C), so the result is still bitwise that of Gemm; only which elements share a tile differs.
    //
    // Layout, with nr the prepacked kernel's column width (24 on Vector256, 12 on Vector128) and nPad = n rounded up
    // to nr: depth block pc (KC = 256 rows of op(B)) starts at pc · nPad; inside it, panel q of nr columns starts at
    // q · nr · kc and holds element (pc + p, q · nr + j) at p · nr + j, columns past n zero (PackB's panel format).
    // Without SIMD the "packed" form is plain op(B), row-major [k, n].

    private const int PackedMr = 4;
    private const int PackedNr256 = 24;
    private const int PackedNr128 = 12;

    /// <summary>The number of floats <see cref="PackGemmB"/> writes for op(B) [<paramref name="k"/>, <paramref name="n"/>] on this machine.</summary>
    internal static int PackedBLength(int k, int n)
    {
        int nr = PackedNr();
        return (nr == 0 ? n : RoundUp(n, nr)) * k;
    }

    // The prepacked micro-kernel's column width on this machine, 0 without SIMD.
    private static int PackedNr() =>
        Vector256.IsHardwareAccelerated ? PackedNr256 : Vector128.IsHardwareAccelerated ? PackedNr128 : 0;

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
    /// that of <see cref="Gemm"/> with α = 1 and op(B) unpacked (same blocking along k, and per element the same
    /// operations in the same order: the 4-row tiles only group the elements differently), and its error bound is
    /// the same. β = 0 overwrites C without reading it.
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
        int aSize = RoundUp(Math.Min(GemmMc, m), PackedMr) * kcMax;
        ref float aPack = ref GemmScratch(aSize, out _, aSize);
        nint nPad = RoundUp(n, nr);
        for (int pc = 0; pc < k; pc += GemmKc)
        {
            int kc = Math.Min(GemmKc, k - pc);
            ref float bBlock = ref Unsafe.Add(ref bPack, pc * nPad);
            for (int ic = 0; ic < m; ic += GemmMc)
            {
                int mc = Math.Min(GemmMc, m - ic);
                PackA(opA, ic, mc, pc, kc, ref aPack, PackedMr);
                ref float cBlock = ref Unsafe.Add(ref cr, ic * ldc);
                if (nr == PackedNr256)
                    PackedMacroKernel256(mc, n, kc, ref aPack, ref bBlock, ref cBlock, ldc);
                else
                    PackedMacroKernel128(mc, n, kc, ref aPack, ref bBlock, ref cBlock, ldc);
            }
        }
    }

    /// <summary>
    /// Runs <see cref="Kernel4x24Vector256"/> over every [4 × 24] tile of a packed [mc × kc] A block and [kc × nc] B block.
    /// Partial tiles at the edges go through a stack tile, so only C's own elements are ever read or written
    /// and an edge element is computed with exactly the operations of an interior one.
    /// </summary>
    private static void PackedMacroKernel256(int mc, int nc, int kc, ref float aPack, ref float bPack, ref float c, nint ldc)
    {
        Span<float> tile = stackalloc float[PackedMr * PackedNr256];
        ref float t = ref MemoryMarshal.GetReference(tile);
        for (int jr = 0; jr < nc; jr += PackedNr256)
        {
            int nr = Math.Min(PackedNr256, nc - jr);
            bool narrow = nr <= 16; // a last panel of 16 columns or fewer: skip the FMAs of its zero third
            ref float bPanel = ref Unsafe.Add(ref bPack, jr * kc);
            for (int ir = 0; ir < mc; ir += PackedMr)
            {
                int mr = Math.Min(PackedMr, mc - ir);
                ref float aPanel = ref Unsafe.Add(ref aPack, ir * kc);
                ref float cTile = ref Unsafe.Add(ref c, ir * ldc + jr);
                if (mr == PackedMr && nr == (narrow ? 16 : PackedNr256))
                {
                    if (narrow)
                        Kernel4x16Of24Vector256(kc, ref aPanel, ref bPanel, ref cTile, ldc);
                    else
                        Kernel4x24Vector256(kc, ref aPanel, ref bPanel, ref cTile, ldc);
                    continue;
                }

                tile.Clear();
                for (int r = 0; r < mr; r++)
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref cTile, r * ldc), nr).CopyTo(tile.Slice(r * PackedNr256, nr));
                if (narrow)
                    Kernel4x16Of24Vector256(kc, ref aPanel, ref bPanel, ref t, PackedNr256);
                else
                    Kernel4x24Vector256(kc, ref aPanel, ref bPanel, ref t, PackedNr256);
                for (int r = 0; r < mr; r++)
                    tile.Slice(r * PackedNr256, nr).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref cTile, r * ldc), nr));
            }
        }
    }

    /// <summary>
    /// Runs <see cref="Kernel4x12Vector128"/> over every [4 × 12] tile of a packed [mc × kc] A block and [kc × nc] B block,
    /// edges through a stack tile as in <see cref="PackedMacroKernel256"/>.
    /// </summary>
    private static void PackedMacroKernel128(int mc, int nc, int kc, ref float aPack, ref float bPack, ref float c, nint ldc)
    {
        Span<float> tile = stackalloc float[PackedMr * PackedNr128];
        ref float t = ref MemoryMarshal.GetReference(tile);
        for (int jr = 0; jr < nc; jr += PackedNr128)
        {
            int nr = Math.Min(PackedNr128, nc - jr);
            ref float bPanel = ref Unsafe.Add(ref bPack, jr * kc);
            for (int ir = 0; ir < mc; ir += PackedMr)
            {
                int mr = Math.Min(PackedMr, mc - ir);
                ref float aPanel = ref Unsafe.Add(ref aPack, ir * kc);
                ref float cTile = ref Unsafe.Add(ref c, ir * ldc + jr);
                if (mr == PackedMr && nr == PackedNr128)
                {
                    Kernel4x12Vector128(kc, ref aPanel, ref bPanel, ref cTile, ldc);
                    continue;
                }

                tile.Clear();
                for (int r = 0; r < mr; r++)
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref cTile, r * ldc), nr).CopyTo(tile.Slice(r * PackedNr128, nr));
                Kernel4x12Vector128(kc, ref aPanel, ref bPanel, ref t, PackedNr128);
                for (int r = 0; r < mr; r++)
                    tile.Slice(r * PackedNr128, nr).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref cTile, r * ldc), nr));
            }
        }
    }

    /// <summary>
    /// The Vector256 micro-kernel of the prepacked product: C[4, 24] += (A panel [4, kc]) · (B panel [kc, 24]), with the
    /// 12 accumulators, 3 B vectors and 1 broadcast in 16 registers (within the 16 of AVX2). Per element it does what
    /// <see cref="Kernel6x16Vector256"/> does with α = 1: FMAs in k order from zero, then one FMA into C.
    /// The k-loop is unrolled by hand ×4 because the JIT does not unroll loops.
    /// </summary>
    private static void Kernel4x24Vector256(nint kc, ref float a, ref float b, ref float c, nint ldc)
    {
        Vector256<float> c00 = default; Vector256<float> c01 = default; Vector256<float> c02 = default;
        Vector256<float> c10 = default; Vector256<float> c11 = default; Vector256<float> c12 = default;
        Vector256<float> c20 = default; Vector256<float> c21 = default; Vector256<float> c22 = default;
        Vector256<float> c30 = default; Vector256<float> c31 = default; Vector256<float> c32 = default;
        nint p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            Vector256<float> av, b0, b1, b2;
            b0 = Vector256.LoadUnsafe(ref b, 0);
            b1 = Vector256.LoadUnsafe(ref b, 8);
            b2 = Vector256.LoadUnsafe(ref b, 16);
            av = Vector256.Create(Unsafe.Add(ref a, 0));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector256.MultiplyAddEstimate(av, b2, c02);
            av = Vector256.Create(Unsafe.Add(ref a, 1));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector256.MultiplyAddEstimate(av, b2, c12);
            av = Vector256.Create(Unsafe.Add(ref a, 2));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector256.MultiplyAddEstimate(av, b2, c22);
            av = Vector256.Create(Unsafe.Add(ref a, 3));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector256.MultiplyAddEstimate(av, b2, c32);
            b0 = Vector256.LoadUnsafe(ref b, 24);
            b1 = Vector256.LoadUnsafe(ref b, 32);
            b2 = Vector256.LoadUnsafe(ref b, 40);
            av = Vector256.Create(Unsafe.Add(ref a, 4));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector256.MultiplyAddEstimate(av, b2, c02);
            av = Vector256.Create(Unsafe.Add(ref a, 5));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector256.MultiplyAddEstimate(av, b2, c12);
            av = Vector256.Create(Unsafe.Add(ref a, 6));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector256.MultiplyAddEstimate(av, b2, c22);
            av = Vector256.Create(Unsafe.Add(ref a, 7));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector256.MultiplyAddEstimate(av, b2, c32);
            b0 = Vector256.LoadUnsafe(ref b, 48);
            b1 = Vector256.LoadUnsafe(ref b, 56);
            b2 = Vector256.LoadUnsafe(ref b, 64);
            av = Vector256.Create(Unsafe.Add(ref a, 8));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector256.MultiplyAddEstimate(av, b2, c02);
            av = Vector256.Create(Unsafe.Add(ref a, 9));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector256.MultiplyAddEstimate(av, b2, c12);
            av = Vector256.Create(Unsafe.Add(ref a, 10));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector256.MultiplyAddEstimate(av, b2, c22);
            av = Vector256.Create(Unsafe.Add(ref a, 11));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector256.MultiplyAddEstimate(av, b2, c32);
            b0 = Vector256.LoadUnsafe(ref b, 72);
            b1 = Vector256.LoadUnsafe(ref b, 80);
            b2 = Vector256.LoadUnsafe(ref b, 88);
            av = Vector256.Create(Unsafe.Add(ref a, 12));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector256.MultiplyAddEstimate(av, b2, c02);
            av = Vector256.Create(Unsafe.Add(ref a, 13));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector256.MultiplyAddEstimate(av, b2, c12);
            av = Vector256.Create(Unsafe.Add(ref a, 14));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector256.MultiplyAddEstimate(av, b2, c22);
            av = Vector256.Create(Unsafe.Add(ref a, 15));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector256.MultiplyAddEstimate(av, b2, c32);
            a = ref Unsafe.Add(ref a, 16);
            b = ref Unsafe.Add(ref b, 96);
        }

        for (; p < kc; p++)
        {
            Vector256<float> av, b0, b1, b2;
            b0 = Vector256.LoadUnsafe(ref b, 0);
            b1 = Vector256.LoadUnsafe(ref b, 8);
            b2 = Vector256.LoadUnsafe(ref b, 16);
            av = Vector256.Create(Unsafe.Add(ref a, 0));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector256.MultiplyAddEstimate(av, b2, c02);
            av = Vector256.Create(Unsafe.Add(ref a, 1));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector256.MultiplyAddEstimate(av, b2, c12);
            av = Vector256.Create(Unsafe.Add(ref a, 2));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector256.MultiplyAddEstimate(av, b2, c22);
            av = Vector256.Create(Unsafe.Add(ref a, 3));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector256.MultiplyAddEstimate(av, b2, c32);
            a = ref Unsafe.Add(ref a, 4);
            b = ref Unsafe.Add(ref b, 24);
        }

        // C += 1 · accumulator, one fused multiply-add per vector (as the general kernel with α = 1).
        Vector256<float> one = Vector256.Create(1f);
        Vector256.MultiplyAddEstimate(c00, one, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c01, one, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        Vector256.MultiplyAddEstimate(c02, one, Vector256.LoadUnsafe(ref c, 16)).StoreUnsafe(ref c, 16);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c10, one, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c11, one, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        Vector256.MultiplyAddEstimate(c12, one, Vector256.LoadUnsafe(ref c, 16)).StoreUnsafe(ref c, 16);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c20, one, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c21, one, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        Vector256.MultiplyAddEstimate(c22, one, Vector256.LoadUnsafe(ref c, 16)).StoreUnsafe(ref c, 16);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c30, one, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c31, one, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        Vector256.MultiplyAddEstimate(c32, one, Vector256.LoadUnsafe(ref c, 16)).StoreUnsafe(ref c, 16);
    }

    /// <summary>
    /// <see cref="Kernel4x24Vector256"/> for a last panel of at most 16 columns: C[4, 16] += (A panel [4, kc]) · (the
    /// first 16 columns of a B panel [kc, 24]), so the zero columns past n cost no FMAs. Same per-element operations.
    /// </summary>
    private static void Kernel4x16Of24Vector256(nint kc, ref float a, ref float b, ref float c, nint ldc)
    {
        Vector256<float> c00 = default; Vector256<float> c01 = default;
        Vector256<float> c10 = default; Vector256<float> c11 = default;
        Vector256<float> c20 = default; Vector256<float> c21 = default;
        Vector256<float> c30 = default; Vector256<float> c31 = default;
        nint p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            Vector256<float> av, b0, b1;
            b0 = Vector256.LoadUnsafe(ref b, 0);
            b1 = Vector256.LoadUnsafe(ref b, 8);
            av = Vector256.Create(Unsafe.Add(ref a, 0));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref a, 1));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref a, 2));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref a, 3));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            b0 = Vector256.LoadUnsafe(ref b, 24);
            b1 = Vector256.LoadUnsafe(ref b, 32);
            av = Vector256.Create(Unsafe.Add(ref a, 4));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref a, 5));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref a, 6));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref a, 7));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            b0 = Vector256.LoadUnsafe(ref b, 48);
            b1 = Vector256.LoadUnsafe(ref b, 56);
            av = Vector256.Create(Unsafe.Add(ref a, 8));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref a, 9));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref a, 10));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref a, 11));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            b0 = Vector256.LoadUnsafe(ref b, 72);
            b1 = Vector256.LoadUnsafe(ref b, 80);
            av = Vector256.Create(Unsafe.Add(ref a, 12));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref a, 13));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref a, 14));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref a, 15));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            a = ref Unsafe.Add(ref a, 16);
            b = ref Unsafe.Add(ref b, 96);
        }

        for (; p < kc; p++)
        {
            Vector256<float> av, b0, b1;
            b0 = Vector256.LoadUnsafe(ref b, 0);
            b1 = Vector256.LoadUnsafe(ref b, 8);
            av = Vector256.Create(Unsafe.Add(ref a, 0));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref a, 1));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref a, 2));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref a, 3));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            a = ref Unsafe.Add(ref a, 4);
            b = ref Unsafe.Add(ref b, 24);
        }

        // C += 1 · accumulator, one fused multiply-add per vector (as the general kernel with α = 1).
        Vector256<float> one = Vector256.Create(1f);
        Vector256.MultiplyAddEstimate(c00, one, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c01, one, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c10, one, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c11, one, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c20, one, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c21, one, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c30, one, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c31, one, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
    }


    /// <summary>
    /// The Vector128 micro-kernel of the prepacked product: C[4, 12] += (A panel [4, kc]) · (B panel [kc, 12]), with the
    /// 12 accumulators, 3 B vectors and 1 broadcast in 16 registers (the 16 of SSE / AVX). Per element it does what
    /// <see cref="Kernel6x8Vector128"/> does with α = 1: multiply-adds in k order from zero, then one into C.
    /// The k-loop is unrolled by hand ×4 because the JIT does not unroll loops.
    /// </summary>
    private static void Kernel4x12Vector128(nint kc, ref float a, ref float b, ref float c, nint ldc)
    {
        Vector128<float> c00 = default; Vector128<float> c01 = default; Vector128<float> c02 = default;
        Vector128<float> c10 = default; Vector128<float> c11 = default; Vector128<float> c12 = default;
        Vector128<float> c20 = default; Vector128<float> c21 = default; Vector128<float> c22 = default;
        Vector128<float> c30 = default; Vector128<float> c31 = default; Vector128<float> c32 = default;
        nint p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            Vector128<float> av, b0, b1, b2;
            b0 = Vector128.LoadUnsafe(ref b, 0);
            b1 = Vector128.LoadUnsafe(ref b, 4);
            b2 = Vector128.LoadUnsafe(ref b, 8);
            av = Vector128.Create(Unsafe.Add(ref a, 0));
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector128.MultiplyAddEstimate(av, b2, c02);
            av = Vector128.Create(Unsafe.Add(ref a, 1));
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector128.MultiplyAddEstimate(av, b2, c12);
            av = Vector128.Create(Unsafe.Add(ref a, 2));
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector128.MultiplyAddEstimate(av, b2, c22);
            av = Vector128.Create(Unsafe.Add(ref a, 3));
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector128.MultiplyAddEstimate(av, b2, c32);
            b0 = Vector128.LoadUnsafe(ref b, 12);
            b1 = Vector128.LoadUnsafe(ref b, 16);
            b2 = Vector128.LoadUnsafe(ref b, 20);
            av = Vector128.Create(Unsafe.Add(ref a, 4));
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector128.MultiplyAddEstimate(av, b2, c02);
            av = Vector128.Create(Unsafe.Add(ref a, 5));
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector128.MultiplyAddEstimate(av, b2, c12);
            av = Vector128.Create(Unsafe.Add(ref a, 6));
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector128.MultiplyAddEstimate(av, b2, c22);
            av = Vector128.Create(Unsafe.Add(ref a, 7));
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector128.MultiplyAddEstimate(av, b2, c32);
            b0 = Vector128.LoadUnsafe(ref b, 24);
            b1 = Vector128.LoadUnsafe(ref b, 28);
            b2 = Vector128.LoadUnsafe(ref b, 32);
            av = Vector128.Create(Unsafe.Add(ref a, 8));
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector128.MultiplyAddEstimate(av, b2, c02);
            av = Vector128.Create(Unsafe.Add(ref a, 9));
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector128.MultiplyAddEstimate(av, b2, c12);
            av = Vector128.Create(Unsafe.Add(ref a, 10));
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector128.MultiplyAddEstimate(av, b2, c22);
            av = Vector128.Create(Unsafe.Add(ref a, 11));
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector128.MultiplyAddEstimate(av, b2, c32);
            b0 = Vector128.LoadUnsafe(ref b, 36);
            b1 = Vector128.LoadUnsafe(ref b, 40);
            b2 = Vector128.LoadUnsafe(ref b, 44);
            av = Vector128.Create(Unsafe.Add(ref a, 12));
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector128.MultiplyAddEstimate(av, b2, c02);
            av = Vector128.Create(Unsafe.Add(ref a, 13));
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector128.MultiplyAddEstimate(av, b2, c12);
            av = Vector128.Create(Unsafe.Add(ref a, 14));
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector128.MultiplyAddEstimate(av, b2, c22);
            av = Vector128.Create(Unsafe.Add(ref a, 15));
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector128.MultiplyAddEstimate(av, b2, c32);
            a = ref Unsafe.Add(ref a, 16);
            b = ref Unsafe.Add(ref b, 48);
        }

        for (; p < kc; p++)
        {
            Vector128<float> av, b0, b1, b2;
            b0 = Vector128.LoadUnsafe(ref b, 0);
            b1 = Vector128.LoadUnsafe(ref b, 4);
            b2 = Vector128.LoadUnsafe(ref b, 8);
            av = Vector128.Create(Unsafe.Add(ref a, 0));
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            c02 = Vector128.MultiplyAddEstimate(av, b2, c02);
            av = Vector128.Create(Unsafe.Add(ref a, 1));
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            c12 = Vector128.MultiplyAddEstimate(av, b2, c12);
            av = Vector128.Create(Unsafe.Add(ref a, 2));
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            c22 = Vector128.MultiplyAddEstimate(av, b2, c22);
            av = Vector128.Create(Unsafe.Add(ref a, 3));
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            c32 = Vector128.MultiplyAddEstimate(av, b2, c32);
            a = ref Unsafe.Add(ref a, 4);
            b = ref Unsafe.Add(ref b, 12);
        }

        // C += 1 · accumulator, one fused multiply-add per vector (as the general kernel with α = 1).
        Vector128<float> one = Vector128.Create(1f);
        Vector128.MultiplyAddEstimate(c00, one, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c01, one, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
        Vector128.MultiplyAddEstimate(c02, one, Vector128.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector128.MultiplyAddEstimate(c10, one, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c11, one, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
        Vector128.MultiplyAddEstimate(c12, one, Vector128.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector128.MultiplyAddEstimate(c20, one, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c21, one, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
        Vector128.MultiplyAddEstimate(c22, one, Vector128.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector128.MultiplyAddEstimate(c30, one, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c31, one, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
        Vector128.MultiplyAddEstimate(c32, one, Vector128.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
    }
}

using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

public static partial class Kernels
{
    /// <summary>
    /// General matrix product: C = α · op(A) · op(B) + β · C, with op(A) [<paramref name="m"/>, <paramref name="k"/>],
    /// op(B) [<paramref name="k"/>, <paramref name="n"/>] and C [<paramref name="m"/>, <paramref name="n"/>], all row-major.
    /// </summary>
    /// <param name="transA">Whether A is stored as op(A) [m, k] (<see cref="Transpose.None"/>) or as its transpose [k, m] (<see cref="Transpose.Transposed"/>).</param>
    /// <param name="transB">Whether B is stored as op(B) [k, n] (<see cref="Transpose.None"/>) or as its transpose [n, k] (<see cref="Transpose.Transposed"/>).</param>
    /// <param name="m">Rows of op(A) and of C.</param>
    /// <param name="n">Columns of op(B) and of C.</param>
    /// <param name="k">The inner dimension: columns of op(A), rows of op(B).</param>
    /// <param name="alpha">The scale α of the product. When α = 0 (or k = 0), A and B are not read and C = β · C.</param>
    /// <param name="a">A as stored: [m, k] or, transposed, [k, m], with row stride <paramref name="lda"/>.</param>
    /// <param name="lda">Row stride of A as stored, at least its stored column count (and at least 1).</param>
    /// <param name="b">B as stored: [k, n] or, transposed, [n, k], with row stride <paramref name="ldb"/>.</param>
    /// <param name="ldb">Row stride of B as stored, at least its stored column count (and at least 1).</param>
    /// <param name="beta">The scale β of C. When β = 0, C is overwritten without being read, so NaN or garbage in C does not propagate (as BLAS SGEMM).</param>
    /// <param name="c">C [m, n] with row stride <paramref name="ldc"/>; it must not overlap A or B. Elements between rows are neither read nor written.</param>
    /// <param name="ldc">Row stride of C, at least <paramref name="n"/> (and at least 1).</param>
    /// <remarks>
    /// <para>
    /// On Vector256 (AVX2 + FMA) hardware the product runs through a packed, register-blocked kernel:
    /// op(B) is packed into [<c>KC</c> × 16] panels and op(A) into [6 × <c>KC</c>] panels (KC = 256 along k,
    /// 144 rows of A per block, up to 2048 columns of B per block), and a 6 × 16 micro-kernel keeps its
    /// 12 accumulators in registers. Vector128 hardware uses the same structure with a 6 × 8 micro-kernel;
    /// without SIMD a plain triple loop runs.
    /// </para>
    /// <para>
    /// Packing buffers: each thread keeps one pinned scratch array, allocated on its first call and
    /// replaced only when a larger shape first appears (at most about 2.2 MB: 256 × 2048 floats of B and
    /// 144 × 256 of A). Steady-state calls therefore allocate nothing; a thread that stops calling keeps
    /// its buffer until it ends. The scratch is private to the thread, so concurrent calls on different
    /// threads are safe.
    /// </para>
    /// <para>
    /// Determinism and accuracy: blocking depends only on (m, n, k), never on the addresses of the spans,
    /// so the same arguments give bitwise the same C. Each element is the sum of its k products in
    /// k-blocks of 256, each block added into C with one fused multiply-add; the error is at most about
    /// (k + 3) · 2⁻²⁴ · (|α| · Σ_p |op(A)[i, p] · op(B)[p, j]| + |β · C[i, j]|).
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">A size is negative, a transpose value is undefined, a stride is smaller than the stored column count, a span is too short for its shape, or C overlaps A or B.</exception>
    public static void Gemm(
        Transpose transA, Transpose transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Guard.NonNegative(m, nameof(m));
        Guard.NonNegative(n, nameof(n));
        Guard.NonNegative(k, nameof(k));
        ValidateTranspose(transA, nameof(transA));
        ValidateTranspose(transB, nameof(transB));
        bool aT = transA == Transpose.Transposed, bT = transB == Transpose.Transposed;
        int aRows = aT ? k : m, aCols = aT ? m : k;
        int bRows = bT ? n : k, bCols = bT ? k : n;
        Guard.Matrix(a.Length, aRows, aCols, lda, nameof(a), nameof(lda));
        Guard.Matrix(b.Length, bRows, bCols, ldb, nameof(b), nameof(ldb));
        Guard.Matrix(c.Length, m, n, ldc, nameof(c), nameof(ldc));
        ReadOnlySpan<float> cExtent = MatrixExtent(c, m, n, ldc);
        Guard.NoPartialOverlap(MatrixExtent(a, aRows, aCols, lda), cExtent, nameof(a), nameof(c), allowInPlace: false);
        Guard.NoPartialOverlap(MatrixExtent(b, bRows, bCols, ldb), cExtent, nameof(b), nameof(c), allowInPlace: false);
        if (m == 0 || n == 0)
            return;

        ScaleMatrix(beta, c, m, n, ldc);
        if (k == 0 || alpha == 0f)
            return;

        // Element (i, p) of op(A) is at i · aRowStep + p · aColStep, whichever way A is stored; same for B.
        var opA = new StridedMatrix(ref MemoryMarshal.GetReference(a), aT ? 1 : lda, aT ? lda : 1);
        var opB = new StridedMatrix(ref MemoryMarshal.GetReference(b), bT ? 1 : ldb, bT ? ldb : 1);
        ref float cr = ref MemoryMarshal.GetReference(c);
        if (Vector256.IsHardwareAccelerated)
            GemmPacked(opA, opB, m, n, k, alpha, ref cr, ldc, GemmMr, GemmNr256);
        else if (Vector128.IsHardwareAccelerated)
            GemmPacked(opA, opB, m, n, k, alpha, ref cr, ldc, GemmMr, GemmNr128);
        else
            GemmScalar(opA, opB, m, n, k, alpha, ref cr, ldc);
    }

    // Blocking (see PERF-NOTES: KC ≈ 256 and MC ≈ 144 with a 6 × 16 kernel reached 89–96 % of peak on this
    // class of machine). A packed A block (144 × 256 floats = 144 KiB) stays in L2; one packed B panel
    // (256 × 16 floats = 16 KiB) stays in L1 while the kernel sweeps the A block. NC bounds the scratch size.
    private const int GemmKc = 256;
    private const int GemmMc = 144;
    private const int GemmNc = 2048;
    private const int GemmMr = 6;
    private const int GemmNr256 = 16;
    private const int GemmNr128 = 8;

    /// <summary>Per-thread packing scratch, pinned so the panels can start on a 64-byte boundary.</summary>
    [ThreadStatic]
    private static float[]? _gemmScratch;

    private static void ValidateTranspose(Transpose value, string paramName)
    {
        if (value is not (Transpose.None or Transpose.Transposed))
            throw new ArgumentOutOfRangeException(paramName, value, "Expected Transpose.None or Transpose.Transposed.");
    }

    /// <summary>C = β · C over the [m, n] block only; β = 0 writes zeros without reading C.</summary>
    private static void ScaleMatrix(float beta, Span<float> c, int m, int n, int ldc)
    {
        if (beta == 1f)
            return;
        for (int i = 0; i < m; i++)
        {
            Span<float> row = c.Slice(i * ldc, n);
            if (beta == 0f)
                row.Clear();
            else
                TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>A matrix addressed through a row step and a column step, so op(X) reads the same whether X is stored transposed or not.</summary>
    private readonly ref struct StridedMatrix(ref float origin, nint rowStep, nint colStep)
    {
        public readonly ref float Origin = ref origin;
        public readonly nint RowStep = rowStep;
        public readonly nint ColStep = colStep;

        public ref float At(nint row, nint col) => ref Unsafe.Add(ref Origin, row * RowStep + col * ColStep);
    }

    /// <summary>The reference-quality path for machines without SIMD: C[i, j] += α · Σ_p op(A)[i, p] · op(B)[p, j].</summary>
    private static void GemmScalar(StridedMatrix opA, StridedMatrix opB, int m, int n, int k, float alpha, ref float c, nint ldc)
    {
        for (nint i = 0; i < m; i++)
        {
            ref float cRow = ref Unsafe.Add(ref c, i * ldc);
            for (nint j = 0; j < n; j++)
            {
                float s = 0f;
                for (nint p = 0; p < k; p++)
                    s += opA.At(i, p) * opB.At(p, j);
                Unsafe.Add(ref cRow, j) += alpha * s;
            }
        }
    }

    /// <summary>
    /// The blocked product C += α · op(A) · op(B) (Goto's loop order): for each block of NC columns and KC
    /// depths, pack op(B) once; for each block of MC rows, pack op(A); then run the micro-kernel over every
    /// [mr × nr] tile. The loop order and the tile shapes depend on (m, n, k) only.
    /// </summary>
    private static void GemmPacked(StridedMatrix opA, StridedMatrix opB, int m, int n, int k, float alpha, ref float c, nint ldc, int mr, int nr)
    {
        int kcMax = Math.Min(GemmKc, k);
        int ncMax = RoundUp(Math.Min(GemmNc, n), nr);
        int aSize = RoundUp(Math.Min(GemmMc, m), mr) * kcMax;
        int bSize = ncMax * kcMax;
        ref float aPack = ref GemmScratch(aSize + bSize, out nint bOffset, aSize);
        ref float bPack = ref Unsafe.Add(ref aPack, bOffset);

        for (int jc = 0; jc < n; jc += GemmNc)
        {
            int nc = Math.Min(GemmNc, n - jc);
            for (int pc = 0; pc < k; pc += GemmKc)
            {
                int kc = Math.Min(GemmKc, k - pc);
                PackB(opB, pc, kc, jc, nc, ref bPack, nr);
                for (int ic = 0; ic < m; ic += GemmMc)
                {
                    int mc = Math.Min(GemmMc, m - ic);
                    PackA(opA, ic, mc, pc, kc, ref aPack, mr);
                    ref float cBlock = ref Unsafe.Add(ref c, ic * ldc + jc);
                    if (nr == GemmNr256)
                        MacroKernel256(mc, nc, kc, ref aPack, ref bPack, ref cBlock, ldc, alpha);
                    else
                        MacroKernel128(mc, nc, kc, ref aPack, ref bPack, ref cBlock, ldc, alpha);
                }
            }
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Returns the start of this thread's packing scratch, 64-byte aligned, with room for
    /// <paramref name="floats"/> elements plus alignment padding between the A and B regions.
    /// Allocates only when a larger size than any before on this thread is needed.
    /// </summary>
    private static unsafe ref float GemmScratch(int floats, out nint bOffset, int aSize)
    {
        // 16 floats of slack to align the start, 16 more to align the B region.
        int needed = floats + 32;
        float[]? scratch = _gemmScratch;
        if (scratch is null || scratch.Length < needed)
        {
            scratch = GC.AllocateUninitializedArray<float>(needed, pinned: true);
            _gemmScratch = scratch;
        }

        ref float start = ref MemoryMarshal.GetArrayDataReference(scratch);
        nint misalignment = (nint)Unsafe.AsPointer(ref start) & 63;
        nint skip = misalignment == 0 ? 0 : (64 - misalignment) / sizeof(float);
        bOffset = RoundUp(aSize, 16);
        return ref Unsafe.Add(ref start, skip);
    }

    /// <summary>
    /// Packs op(A)[i0 .. i0 + mc, p0 .. p0 + kc] into panels of <paramref name="mr"/> rows: panel q holds
    /// element (q·mr + r, p) at q·mr·kc + p·mr + r. Rows past mc are zero so the kernel needs no edge case.
    /// </summary>
    private static void PackA(StridedMatrix opA, int i0, int mc, int p0, int kc, ref float dst, int mr)
    {
        nint rs = opA.RowStep, cs = opA.ColStep;
        for (int ip = 0; ip < mc; ip += mr)
        {
            int rows = Math.Min(mr, mc - ip);
            ref float panel = ref Unsafe.Add(ref dst, ip * kc);
            ref float src = ref opA.At(i0 + ip, p0);
            if (rows == mr && mr == 6)
            {
                // Six source streams advance together along p; the panel is written sequentially.
                for (nint p = 0; p < kc; p++)
                {
                    ref float s = ref Unsafe.Add(ref src, p * cs);
                    ref float d = ref Unsafe.Add(ref panel, p * 6);
                    d = s;
                    Unsafe.Add(ref d, 1) = Unsafe.Add(ref s, rs);
                    Unsafe.Add(ref d, 2) = Unsafe.Add(ref s, 2 * rs);
                    Unsafe.Add(ref d, 3) = Unsafe.Add(ref s, 3 * rs);
                    Unsafe.Add(ref d, 4) = Unsafe.Add(ref s, 4 * rs);
                    Unsafe.Add(ref d, 5) = Unsafe.Add(ref s, 5 * rs);
                }
            }
            else if (rows == mr && mr == 4)
            {
                // The prepacked product's 4-row panels (GemmPackedB), the same way.
                for (nint p = 0; p < kc; p++)
                {
                    ref float s = ref Unsafe.Add(ref src, p * cs);
                    ref float d = ref Unsafe.Add(ref panel, p * 4);
                    d = s;
                    Unsafe.Add(ref d, 1) = Unsafe.Add(ref s, rs);
                    Unsafe.Add(ref d, 2) = Unsafe.Add(ref s, 2 * rs);
                    Unsafe.Add(ref d, 3) = Unsafe.Add(ref s, 3 * rs);
                }
            }
            else
            {
                for (nint p = 0; p < kc; p++)
                {
                    ref float d = ref Unsafe.Add(ref panel, p * mr);
                    nint r = 0;
                    for (; r < rows; r++)
                        Unsafe.Add(ref d, r) = Unsafe.Add(ref src, p * cs + r * rs);
                    for (; r < mr; r++)
                        Unsafe.Add(ref d, r) = 0f;
                }
            }
        }
    }

    /// <summary>
    /// Packs op(B)[p0 .. p0 + kc, j0 .. j0 + nc] into panels of <paramref name="nr"/> columns: panel q holds
    /// element (p, q·nr + j) at q·nr·kc + p·nr + j. Columns past nc are zero.
    /// </summary>
    private static void PackB(StridedMatrix opB, int p0, int kc, int j0, int nc, ref float dst, int nr)
    {
        nint rs = opB.RowStep, cs = opB.ColStep;
        for (int jp = 0; jp < nc; jp += nr)
        {
            int cols = Math.Min(nr, nc - jp);
            ref float panel = ref Unsafe.Add(ref dst, jp * kc);
            ref float src = ref opB.At(p0, j0 + jp);
            if (cs == 1 && cols == nr)
            {
                // B stored as [k, n]: each panel row is nr contiguous floats, copied as vectors (a memmove
                // call per 64 bytes cost more than the copy). Packing only runs on SIMD hardware.
                if (nr == GemmNr256 && Vector256.IsHardwareAccelerated)
                {
                    for (nint p = 0; p < kc; p++)
                    {
                        ref float s = ref Unsafe.Add(ref src, p * rs);
                        ref float d = ref Unsafe.Add(ref panel, p * GemmNr256);
                        Vector256.LoadUnsafe(ref s).StoreUnsafe(ref d);
                        Vector256.LoadUnsafe(ref s, 8).StoreUnsafe(ref d, 8);
                    }
                }
                else
                {
                    for (nint p = 0; p < kc; p++)
                    {
                        ref float s = ref Unsafe.Add(ref src, p * rs);
                        ref float d = ref Unsafe.Add(ref panel, p * nr);
                        for (nuint j = 0; j < (nuint)nr; j += 4)
                            Vector128.LoadUnsafe(ref s, j).StoreUnsafe(ref d, j);
                    }
                }
            }
            else
            {
                // B stored as [n, k] (or a partial panel): read each column contiguously along p.
                nint j = 0;
                for (; j < cols; j++)
                {
                    ref float s = ref Unsafe.Add(ref src, j * cs);
                    for (nint p = 0; p < kc; p++)
                        Unsafe.Add(ref panel, p * nr + j) = Unsafe.Add(ref s, p * rs);
                }

                for (; j < nr; j++)
                {
                    for (nint p = 0; p < kc; p++)
                        Unsafe.Add(ref panel, p * nr + j) = 0f;
                }
            }
        }
    }

    /// <summary>
    /// Runs the Vector256 micro-kernel over every [6 × 16] tile of a packed [mc × kc] A block and [kc × nc] B block.
    /// Partial tiles at the edges go through a stack tile, so only C's own elements are ever read or written
    /// and an edge element is computed with exactly the operations of an interior one.
    /// </summary>
    private static void MacroKernel256(int mc, int nc, int kc, ref float aPack, ref float bPack, ref float c, nint ldc, float alpha)
    {
        Span<float> tile = stackalloc float[GemmMr * 16];
        ref float t = ref MemoryMarshal.GetReference(tile);
        for (int jr = 0; jr < nc; jr += 16)
        {
            int nr = Math.Min(16, nc - jr);
            ref float bPanel = ref Unsafe.Add(ref bPack, jr * kc);
            for (int ir = 0; ir < mc; ir += GemmMr)
            {
                int mr = Math.Min(GemmMr, mc - ir);
                ref float aPanel = ref Unsafe.Add(ref aPack, ir * kc);
                ref float cTile = ref Unsafe.Add(ref c, ir * ldc + jr);
                if (mr == GemmMr && nr == 16)
                {
                    Kernel6x16Vector256(kc, ref aPanel, ref bPanel, ref cTile, ldc, alpha);
                    continue;
                }

                tile.Clear();
                for (int r = 0; r < mr; r++)
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref cTile, r * ldc), nr).CopyTo(tile.Slice(r * 16, nr));
                Kernel6x16Vector256(kc, ref aPanel, ref bPanel, ref t, 16, alpha);
                for (int r = 0; r < mr; r++)
                    tile.Slice(r * 16, nr).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref cTile, r * ldc), nr));
            }
        }
    }


    /// <summary>
    /// Runs the Vector128 micro-kernel over every [6 × 8] tile of a packed [mc × kc] A block and [kc × nc] B block.
    /// Partial tiles at the edges go through a stack tile, so only C's own elements are ever read or written
    /// and an edge element is computed with exactly the operations of an interior one.
    /// </summary>
    private static void MacroKernel128(int mc, int nc, int kc, ref float aPack, ref float bPack, ref float c, nint ldc, float alpha)
    {
        Span<float> tile = stackalloc float[GemmMr * 8];
        ref float t = ref MemoryMarshal.GetReference(tile);
        for (int jr = 0; jr < nc; jr += 8)
        {
            int nr = Math.Min(8, nc - jr);
            ref float bPanel = ref Unsafe.Add(ref bPack, jr * kc);
            for (int ir = 0; ir < mc; ir += GemmMr)
            {
                int mr = Math.Min(GemmMr, mc - ir);
                ref float aPanel = ref Unsafe.Add(ref aPack, ir * kc);
                ref float cTile = ref Unsafe.Add(ref c, ir * ldc + jr);
                if (mr == GemmMr && nr == 8)
                {
                    Kernel6x8Vector128(kc, ref aPanel, ref bPanel, ref cTile, ldc, alpha);
                    continue;
                }

                tile.Clear();
                for (int r = 0; r < mr; r++)
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref cTile, r * ldc), nr).CopyTo(tile.Slice(r * 8, nr));
                Kernel6x8Vector128(kc, ref aPanel, ref bPanel, ref t, 8, alpha);
                for (int r = 0; r < mr; r++)
                    tile.Slice(r * 8, nr).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref cTile, r * ldc), nr));
            }
        }
    }

    /// <summary>
    /// The Vector256 micro-kernel: C[6, 16] += alpha * (A panel [6, kc]) * (B panel [kc, 16]), with the
    /// 12 accumulators, 2 B vectors and 1 broadcast in 15 registers (within the 16 of AVX2 / SSE).
    /// The k-loop is unrolled by hand ×4 because the JIT does not unroll loops.
    /// </summary>
    private static void Kernel6x16Vector256(nint kc, ref float a, ref float b, ref float c, nint ldc, float alpha)
    {
        Vector256<float> c00 = default; Vector256<float> c01 = default;
        Vector256<float> c10 = default; Vector256<float> c11 = default;
        Vector256<float> c20 = default; Vector256<float> c21 = default;
        Vector256<float> c30 = default; Vector256<float> c31 = default;
        Vector256<float> c40 = default; Vector256<float> c41 = default;
        Vector256<float> c50 = default; Vector256<float> c51 = default;
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
            av = Vector256.Create(Unsafe.Add(ref a, 4));
            c40 = Vector256.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector256.MultiplyAddEstimate(av, b1, c41);
            av = Vector256.Create(Unsafe.Add(ref a, 5));
            c50 = Vector256.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector256.MultiplyAddEstimate(av, b1, c51);
            b0 = Vector256.LoadUnsafe(ref b, 16);
            b1 = Vector256.LoadUnsafe(ref b, 24);
            av = Vector256.Create(Unsafe.Add(ref a, 6));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref a, 7));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref a, 8));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref a, 9));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            av = Vector256.Create(Unsafe.Add(ref a, 10));
            c40 = Vector256.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector256.MultiplyAddEstimate(av, b1, c41);
            av = Vector256.Create(Unsafe.Add(ref a, 11));
            c50 = Vector256.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector256.MultiplyAddEstimate(av, b1, c51);
            b0 = Vector256.LoadUnsafe(ref b, 32);
            b1 = Vector256.LoadUnsafe(ref b, 40);
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
            av = Vector256.Create(Unsafe.Add(ref a, 16));
            c40 = Vector256.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector256.MultiplyAddEstimate(av, b1, c41);
            av = Vector256.Create(Unsafe.Add(ref a, 17));
            c50 = Vector256.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector256.MultiplyAddEstimate(av, b1, c51);
            b0 = Vector256.LoadUnsafe(ref b, 48);
            b1 = Vector256.LoadUnsafe(ref b, 56);
            av = Vector256.Create(Unsafe.Add(ref a, 18));
            c00 = Vector256.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref a, 19));
            c10 = Vector256.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref a, 20));
            c20 = Vector256.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref a, 21));
            c30 = Vector256.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(av, b1, c31);
            av = Vector256.Create(Unsafe.Add(ref a, 22));
            c40 = Vector256.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector256.MultiplyAddEstimate(av, b1, c41);
            av = Vector256.Create(Unsafe.Add(ref a, 23));
            c50 = Vector256.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector256.MultiplyAddEstimate(av, b1, c51);
            a = ref Unsafe.Add(ref a, 24);
            b = ref Unsafe.Add(ref b, 64);
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
            av = Vector256.Create(Unsafe.Add(ref a, 4));
            c40 = Vector256.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector256.MultiplyAddEstimate(av, b1, c41);
            av = Vector256.Create(Unsafe.Add(ref a, 5));
            c50 = Vector256.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector256.MultiplyAddEstimate(av, b1, c51);
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 16);
        }

        // C += alpha * accumulator, one fused multiply-add per vector.
        Vector256<float> va = Vector256.Create(alpha);
        Vector256.MultiplyAddEstimate(c00, va, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c01, va, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c10, va, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c11, va, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c20, va, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c21, va, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c30, va, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c31, va, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c40, va, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c41, va, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
        c = ref Unsafe.Add(ref c, ldc);
        Vector256.MultiplyAddEstimate(c50, va, Vector256.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector256.MultiplyAddEstimate(c51, va, Vector256.LoadUnsafe(ref c, 8)).StoreUnsafe(ref c, 8);
    }

    /// <summary>
    /// The Vector128 micro-kernel: C[6, 8] += alpha * (A panel [6, kc]) * (B panel [kc, 8]), with the
    /// 12 accumulators, 2 B vectors and 1 broadcast in 15 registers (within the 16 of AVX2 / SSE).
    /// The k-loop is unrolled by hand ×2 because the JIT does not unroll loops.
    /// </summary>
    private static void Kernel6x8Vector128(nint kc, ref float a, ref float b, ref float c, nint ldc, float alpha)
    {
        Vector128<float> c00 = default; Vector128<float> c01 = default;
        Vector128<float> c10 = default; Vector128<float> c11 = default;
        Vector128<float> c20 = default; Vector128<float> c21 = default;
        Vector128<float> c30 = default; Vector128<float> c31 = default;
        Vector128<float> c40 = default; Vector128<float> c41 = default;
        Vector128<float> c50 = default; Vector128<float> c51 = default;
        nint p = 0;
        for (; p + 2 <= kc; p += 2)
        {
            Vector128<float> av, b0, b1;
            b0 = Vector128.LoadUnsafe(ref b, 0);
            b1 = Vector128.LoadUnsafe(ref b, 4);
            av = Vector128.Create(Unsafe.Add(ref a, 0));
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            av = Vector128.Create(Unsafe.Add(ref a, 1));
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            av = Vector128.Create(Unsafe.Add(ref a, 2));
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            av = Vector128.Create(Unsafe.Add(ref a, 3));
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            av = Vector128.Create(Unsafe.Add(ref a, 4));
            c40 = Vector128.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector128.MultiplyAddEstimate(av, b1, c41);
            av = Vector128.Create(Unsafe.Add(ref a, 5));
            c50 = Vector128.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector128.MultiplyAddEstimate(av, b1, c51);
            b0 = Vector128.LoadUnsafe(ref b, 8);
            b1 = Vector128.LoadUnsafe(ref b, 12);
            av = Vector128.Create(Unsafe.Add(ref a, 6));
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            av = Vector128.Create(Unsafe.Add(ref a, 7));
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            av = Vector128.Create(Unsafe.Add(ref a, 8));
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            av = Vector128.Create(Unsafe.Add(ref a, 9));
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            av = Vector128.Create(Unsafe.Add(ref a, 10));
            c40 = Vector128.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector128.MultiplyAddEstimate(av, b1, c41);
            av = Vector128.Create(Unsafe.Add(ref a, 11));
            c50 = Vector128.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector128.MultiplyAddEstimate(av, b1, c51);
            a = ref Unsafe.Add(ref a, 12);
            b = ref Unsafe.Add(ref b, 16);
        }

        for (; p < kc; p++)
        {
            Vector128<float> av, b0, b1;
            b0 = Vector128.LoadUnsafe(ref b, 0);
            b1 = Vector128.LoadUnsafe(ref b, 4);
            av = Vector128.Create(Unsafe.Add(ref a, 0));
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            av = Vector128.Create(Unsafe.Add(ref a, 1));
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            av = Vector128.Create(Unsafe.Add(ref a, 2));
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            av = Vector128.Create(Unsafe.Add(ref a, 3));
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            av = Vector128.Create(Unsafe.Add(ref a, 4));
            c40 = Vector128.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector128.MultiplyAddEstimate(av, b1, c41);
            av = Vector128.Create(Unsafe.Add(ref a, 5));
            c50 = Vector128.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector128.MultiplyAddEstimate(av, b1, c51);
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 8);
        }

        // C += alpha * accumulator, one fused multiply-add per vector.
        Vector128<float> va = Vector128.Create(alpha);
        Vector128.MultiplyAddEstimate(c00, va, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c01, va, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
        c = ref Unsafe.Add(ref c, ldc);
        Vector128.MultiplyAddEstimate(c10, va, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c11, va, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
        c = ref Unsafe.Add(ref c, ldc);
        Vector128.MultiplyAddEstimate(c20, va, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c21, va, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
        c = ref Unsafe.Add(ref c, ldc);
        Vector128.MultiplyAddEstimate(c30, va, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c31, va, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
        c = ref Unsafe.Add(ref c, ldc);
        Vector128.MultiplyAddEstimate(c40, va, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c41, va, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
        c = ref Unsafe.Add(ref c, ldc);
        Vector128.MultiplyAddEstimate(c50, va, Vector128.LoadUnsafe(ref c, 0)).StoreUnsafe(ref c, 0);
        Vector128.MultiplyAddEstimate(c51, va, Vector128.LoadUnsafe(ref c, 4)).StoreUnsafe(ref c, 4);
    }
}

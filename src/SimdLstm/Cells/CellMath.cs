using System;

namespace SimdLstm;

/// <summary>
/// The matrix parts of a recurrent cell, shared by every cell (G gate blocks): the input projection, the recurrent
/// projection and their gradients. Loops over time belong to the layers, not here.
/// </summary>
/// <remarks>
/// Where a cell fuses its projections, one gate buffer receives b_ih + b_hh + W_ih·x + W_hh·h₋₁ (pass both biases to the
/// input projection). Where it keeps them apart (<see cref="RecurrentCell.SeparateRecurrent"/>), the input projection
/// takes b_ih alone (pass an empty b_hh) and <see cref="ProjectRecurrent"/> forms b_hh + W_hh·h₋₁ in its own buffer.
/// </remarks>
internal static class CellMath
{
    /// <summary>gates[r] = b_ih + b_hh + W_ih·x[r] for each of <paramref name="rows"/> rows. // gates [rows, G·H], x [rows, I]</summary>
    public static void ProjectInput(ReadOnlySpan<float> weightIh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        int inputSize, int gateSize, int rows, ReadOnlySpan<float> x, Span<float> gates) =>
        ProjectInputRows(weightIh, biasIh, biasHh, inputSize, gateSize, rows, singleRow: rows == 1, x, gates);

    /// <summary>
    /// As <see cref="ProjectInput"/> for a block of <paramref name="rows"/> rows of a projection. The product's kind is
    /// chosen by the whole projection (<paramref name="singleRow"/>: it has one row, so the GEMV runs), never by the
    /// block, so a block of one row of a larger projection gets exactly the GEMM's values.
    /// </summary>
    public static void ProjectInputRows(ReadOnlySpan<float> weightIh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        int inputSize, int gateSize, int rows, bool singleRow, ReadOnlySpan<float> x, Span<float> gates)
    {
        FillBias(biasIh, biasHh, gateSize, rows, gates);
        if (singleRow)
            Kernels.Gemv(weightIh, gateSize, inputSize, inputSize, x[..inputSize], gates[..gateSize]);
        else if (rows > 0)
            Kernels.Gemm(Transpose.None, Transpose.Transposed, rows, gateSize, inputSize, 1f, x, inputSize, weightIh, inputSize, 1f, gates, gateSize);
    }

    /// <summary>
    /// The whole projection of one batch-1 step: gates = b_ih + b_hh + W_ih·x + W_hh·h, with both weight matrices streamed
    /// in one pass. // gates [G·H], x [I], hidden [H]
    /// </summary>
    public static void ProjectStep(ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        int inputSize, int hiddenSize, int gateSize, ReadOnlySpan<float> x, ReadOnlySpan<float> hidden, Span<float> gates)
    {
        FillBias(biasIh, biasHh, gateSize, 1, gates);
        Kernels.GemvPair(weightIh, inputSize, x[..inputSize], weightHh, hiddenSize, hidden[..hiddenSize], gateSize, gates[..gateSize]);
    }

    /// <summary>
    /// gates[r] = b_ih + b_hh + W_ih[:, token[r]]: the input projection of a one-hot input, as a column gather instead of a
    /// product with a one-hot vector. // gates [rows, G·H], weightIh [G·H, V]
    /// </summary>
    public static void ProjectTokens(ReadOnlySpan<float> weightIh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        int vocabulary, int gateSize, ReadOnlySpan<int> tokens, Span<float> gates)
    {
        int rows = tokens.Length;
        FillBias(biasIh, biasHh, gateSize, rows, gates);
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = gates.Slice(r * gateSize, gateSize);
            int token = tokens[r];
            for (int j = 0; j < gateSize; j++)
                row[j] += weightIh[j * vocabulary + token];
        }
    }

    /// <summary>recurrent[b] = b_hh + W_hh·h[b] for each of <paramref name="batch"/> rows (b_hh empty: zeros). // recurrent [B, G·H], hidden [B, H]</summary>
    public static void ProjectRecurrent(ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasHh, int hiddenSize, int gateSize, int batch,
        ReadOnlySpan<float> hidden, Span<float> recurrent)
    {
        FillBias(biasHh, ReadOnlySpan<float>.Empty, gateSize, batch, recurrent);
        AddRecurrent(weightHh, hiddenSize, gateSize, batch, hidden, recurrent);
    }

    /// <summary>recurrent[b] = b_hh for each of <paramref name="batch"/> rows (b_hh empty: zeros), before a packed recurrent product adds W_hh·h.</summary>
    public static void FillRecurrentBias(ReadOnlySpan<float> biasHh, int gateSize, int batch, Span<float> recurrent) =>
        FillBias(biasHh, ReadOnlySpan<float>.Empty, gateSize, batch, recurrent);

    /// <summary>gates[b] += W_hh·h[b] for each of <paramref name="batch"/> rows. // gates [B, G·H], hidden [B, H]</summary>
    public static void AddRecurrent(ReadOnlySpan<float> weightHh, int hiddenSize, int gateSize, int batch, ReadOnlySpan<float> hidden, Span<float> gates)
    {
        if (batch == 1)
            Kernels.Gemv(weightHh, gateSize, hiddenSize, hiddenSize, hidden[..hiddenSize], gates[..gateSize]);
        else
            Kernels.Gemm(Transpose.None, Transpose.Transposed, batch, gateSize, hiddenSize, 1f, hidden, hiddenSize, weightHh, hiddenSize, 1f, gates, gateSize);
    }

    /// <summary>
    /// Packs W_hh [G·H, H] once for <see cref="AddRecurrentPacked"/> (as op(B) = W_hhᵀ [H, G·H]), so the T per-step
    /// products of a pass share one packing. // packed: <see cref="RecurrentPackedLength"/> floats
    /// </summary>
    public static void PackRecurrentForward(ReadOnlySpan<float> weightHh, int hiddenSize, int gateSize, Span<float> packed) =>
        Kernels.PackGemmB(Transpose.Transposed, hiddenSize, gateSize, weightHh, hiddenSize, packed);

    /// <summary>Packs W_hh [G·H, H] once for <see cref="BackpropRecurrentPacked"/> (as op(B) = W_hh [G·H, H]).</summary>
    public static void PackRecurrentBackward(ReadOnlySpan<float> weightHh, int hiddenSize, int gateSize, Span<float> packed) =>
        Kernels.PackGemmB(Transpose.None, gateSize, hiddenSize, weightHh, hiddenSize, packed);

    /// <summary>Floats needed by either packed form of W_hh.</summary>
    public static int RecurrentPackedLength(int hiddenSize, int gateSize) =>
        Math.Max(Kernels.PackedBLength(hiddenSize, gateSize), Kernels.PackedBLength(gateSize, hiddenSize));

    /// <summary>As <see cref="AddRecurrent"/> through W_hh packed by <see cref="PackRecurrentForward"/>; bitwise the same result for batch &gt; 1.</summary>
    public static void AddRecurrentPacked(ReadOnlySpan<float> packedHh, int hiddenSize, int gateSize, int batch, ReadOnlySpan<float> hidden, Span<float> gates) =>
        Kernels.GemmPackedB(batch, gateSize, hiddenSize, hidden, hiddenSize, packedHh, 1f, gates, gateSize);

    /// <summary>
    /// As <see cref="BackpropRecurrent"/> through W_hh packed by <see cref="PackRecurrentBackward"/>; bitwise the same result.
    /// With <paramref name="accumulate"/>, dHidden += W_hhᵀ·dGates instead (onto a direct part the cell wrote).
    /// </summary>
    public static void BackpropRecurrentPacked(ReadOnlySpan<float> packedHh, int hiddenSize, int gateSize, int batch, ReadOnlySpan<float> dGates, Span<float> dHidden,
        bool accumulate = false) =>
        Kernels.GemmPackedB(batch, hiddenSize, gateSize, dGates, gateSize, packedHh, accumulate ? 1f : 0f, dHidden, hiddenSize);

    /// <summary>dHidden[b] = W_hhᵀ·dGates[b] (overwritten). // dGates [B, G·H], dHidden [B, H]</summary>
    public static void BackpropRecurrent(ReadOnlySpan<float> weightHh, int hiddenSize, int gateSize, int batch, ReadOnlySpan<float> dGates, Span<float> dHidden)
    {
        Kernels.Gemm(Transpose.None, Transpose.None, batch, hiddenSize, gateSize, 1f, dGates, gateSize, weightHh, hiddenSize, 0f, dHidden, hiddenSize);
    }

    /// <summary>
    /// Accumulates the weight and bias gradients of one layer over all <paramref name="rows"/> = T·B rows at once, after the
    /// time loop, for the gate rows [<paramref name="gateStart"/>, <paramref name="gateEnd"/>): dW_ih += dGatesᵀ·X,
    /// dW_hh += dRecurrentᵀ·H₋₁, db_ih += Σ dGates, db_hh += Σ dRecurrent. A fused cell passes <paramref name="dRecurrent"/>
    /// = <paramref name="dGates"/> (the same memory: the column sums are then formed once). Each element is the same sum,
    /// in the same order, as in the whole product (a row block of C is a product with the same k), so blocks that cover
    /// [0, G·H) give bitwise the whole result.
    /// </summary>
    public static void AccumulateWeightGradients(int inputSize, int hiddenSize, int gateSize, int rows,
        ReadOnlySpan<float> dGates, ReadOnlySpan<float> dRecurrent, ReadOnlySpan<float> x, ReadOnlySpan<float> hiddenPrev,
        Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh, Span<float> biasScratch, int gateStart, int gateEnd)
    {
        int m = gateEnd - gateStart;
        if (m <= 0)
            return;
        // op(A) = dGatesᵀ: its rows [gateStart, gateEnd) are columns of dGates, so the block starts gateStart floats in.
        Kernels.Gemm(Transpose.Transposed, Transpose.None, m, inputSize, rows, 1f, dGates[gateStart..], gateSize, x, inputSize, 1f,
            dWeightIh[(gateStart * inputSize)..], inputSize);
        AccumulateRecurrentAndBias(hiddenSize, gateSize, rows, dGates, dRecurrent, hiddenPrev, dWeightHh, dBiasIh, dBiasHh, biasScratch, gateStart, gateEnd);
    }

    /// <summary>As <see cref="AccumulateWeightGradients"/> for token inputs: dW_ih[:, token[r]] += dGates[r], for the gate rows [<paramref name="gateStart"/>, <paramref name="gateEnd"/>); rows in the same order.</summary>
    public static void AccumulateTokenWeightGradients(int vocabulary, int hiddenSize, int gateSize, ReadOnlySpan<int> tokens,
        ReadOnlySpan<float> dGates, ReadOnlySpan<float> dRecurrent, ReadOnlySpan<float> hiddenPrev,
        Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh, Span<float> biasScratch, int gateStart, int gateEnd)
    {
        if (gateEnd <= gateStart)
            return;
        int rows = tokens.Length;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = dGates.Slice(r * gateSize, gateSize);
            int token = tokens[r];
            for (int j = gateStart; j < gateEnd; j++)
                dWeightIh[j * vocabulary + token] += row[j];
        }
        AccumulateRecurrentAndBias(hiddenSize, gateSize, rows, dGates, dRecurrent, hiddenPrev, dWeightHh, dBiasIh, dBiasHh, biasScratch, gateStart, gateEnd);
    }

    /// <summary>dX = dGates·W_ih (overwritten; with <paramref name="accumulate"/>, added to dX). // dGates [rows, G·H], dX [rows, I]</summary>
    public static void BackpropInput(ReadOnlySpan<float> weightIh, int inputSize, int gateSize, int rows, ReadOnlySpan<float> dGates, Span<float> dX,
        bool accumulate = false)
    {
        Kernels.Gemm(Transpose.None, Transpose.None, rows, inputSize, gateSize, 1f, dGates, gateSize, weightIh, inputSize, accumulate ? 1f : 0f, dX, inputSize);
    }

    /// <summary>
    /// An LSTM's projection h = W_hr·raw for each of <paramref name="rows"/> rows (overwritten). The product's kind is chosen
    /// by the caller's whole batch (<paramref name="singleRow"/>), never by a block. // weightHr [P, H], raw [rows, H], h [rows, P]
    /// </summary>
    public static void Project(ReadOnlySpan<float> weightHr, int hiddenSize, int projectionSize, int rows, bool singleRow, ReadOnlySpan<float> raw, Span<float> h)
    {
        if (singleRow)
        {
            h[..projectionSize].Clear();
            Kernels.Gemv(weightHr, projectionSize, hiddenSize, hiddenSize, raw[..hiddenSize], h[..projectionSize]);
        }
        else if (rows > 0)
        {
            Kernels.Gemm(Transpose.None, Transpose.Transposed, rows, projectionSize, hiddenSize, 1f, raw, hiddenSize, weightHr, hiddenSize, 0f, h, projectionSize);
        }
    }

    /// <summary>dRaw = dH·W_hr, the projection's backward (overwritten). // dH [rows, P], dRaw [rows, H]</summary>
    public static void BackpropProjection(ReadOnlySpan<float> weightHr, int hiddenSize, int projectionSize, int rows, ReadOnlySpan<float> dH, Span<float> dRaw) =>
        Kernels.Gemm(Transpose.None, Transpose.None, rows, hiddenSize, projectionSize, 1f, dH, projectionSize, weightHr, hiddenSize, 0f, dRaw, hiddenSize);

    /// <summary>
    /// Rows [<paramref name="start"/>, <paramref name="end"/>) of dW_hr += dHᵀ·raw over all <paramref name="rows"/> rows;
    /// blocks covering [0, P) give bitwise the whole product. // dH [rows, P], raw [rows, H], dWeightHr [P, H]
    /// </summary>
    public static void AccumulateProjectionGradient(int hiddenSize, int projectionSize, int rows, ReadOnlySpan<float> dH, ReadOnlySpan<float> raw,
        Span<float> dWeightHr, int start, int end)
    {
        if (end <= start)
            return;
        Kernels.Gemm(Transpose.Transposed, Transpose.None, end - start, hiddenSize, rows, 1f, dH[start..], projectionSize, raw, hiddenSize, 1f,
            dWeightHr[(start * hiddenSize)..], hiddenSize);
    }

    private static void AccumulateRecurrentAndBias(int hiddenSize, int gateSize, int rows, ReadOnlySpan<float> dGates, ReadOnlySpan<float> dRecurrent,
        ReadOnlySpan<float> hiddenPrev, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh, Span<float> biasScratch, int gateStart, int gateEnd)
    {
        int m = gateEnd - gateStart;
        Kernels.Gemm(Transpose.Transposed, Transpose.None, m, hiddenSize, rows, 1f, dRecurrent[gateStart..], gateSize, hiddenPrev, hiddenSize, 1f,
            dWeightHh[(gateStart * hiddenSize)..], hiddenSize);
        if (dBiasIh.IsEmpty)
            return;
        // Each column is summed over the rows in order, whatever block of columns this call covers. A fused cell's two
        // biases receive the same column sum: sum once, add twice.
        Span<float> sum = biasScratch[gateStart..gateEnd];
        ColumnSums(dGates, gateSize, rows, gateStart, sum);
        Kernels.Axpy(1f, sum, dBiasIh[gateStart..gateEnd]);
        if (dRecurrent != dGates)
            ColumnSums(dRecurrent, gateSize, rows, gateStart, sum);
        Kernels.Axpy(1f, sum, dBiasHh[gateStart..gateEnd]);
    }

    // sum[j] = Σ_r d[r, gateStart + j], the rows in order.
    private static void ColumnSums(ReadOnlySpan<float> d, int gateSize, int rows, int gateStart, Span<float> sum)
    {
        sum.Clear();
        for (int r = 0; r < rows; r++)
            Kernels.Axpy(1f, d.Slice(r * gateSize + gateStart, sum.Length), sum);
    }

    private static void FillBias(ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, int gateSize, int rows, Span<float> gates)
    {
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = gates.Slice(r * gateSize, gateSize);
            if (biasIh.IsEmpty)
            {
                row.Clear();
            }
            else
            {
                biasIh.CopyTo(row);
                if (!biasHh.IsEmpty)
                    Kernels.Axpy(1f, biasHh, row);
            }
        }
    }
}

using System;
using System.Numerics.Tensors;

namespace SimdLstm;

// The passes of a RecurrentLayer. The unit of a sequence pass is one direction of one layer (RunShare's phases with
// work.LayerIndex and work.Direction set): its input projection, its recurrence forward in time or reversed, its reverse
// recurrence and its gradients. Stacking, the two directions, dropout between layers and the pool's split compose it.
public sealed partial class RecurrentLayer
{
    // Exactly one of input [B, I] and tokens [B] is non-empty.
    private void StepCore(ReadOnlySpan<float> input, ReadOnlySpan<int> tokens, RecurrentState state, RecurrentWorkspace workspace, Span<float> output)
    {
        workspace.HasSaved = false;
        int batch = state.BatchSize, h = Options.HiddenSize, hs = Options.HiddenStateSize, g = Options.GateSize;
        RecurrentCell recurrence = Options.Recurrence;
        bool projected = Options.ProjectionSize > 0;
        Span<float> gates = workspace.Gates.AsSpan(0, batch * g);
        Span<float> recurrent = recurrence.SeparateRecurrent ? workspace.Recurrent.AsSpan(0, batch * g) : Span<float>.Empty;
        Span<float> raw = projected ? workspace.Raw.AsSpan(0, batch * h) : Span<float>.Empty;
        for (int l = 0; l < Options.NumLayers; l++)
        {
            int inputSize = Options.LayerInputSize(l);
            Span<float> hidden = state.HiddenOf(l);
            Span<float> cell = state.CellOf(l);
            if (recurrence.SeparateRecurrent)
            {
                // gates = b_ih + W_ih·x and recurrent = b_hh + W_hh·h apart, as the cell needs them.
                if (l == 0 && !tokens.IsEmpty)
                    CellMath.ProjectTokens(Weights.WeightIh(0), Weights.BiasIh(0), ReadOnlySpan<float>.Empty, inputSize, g, tokens, gates);
                else
                    CellMath.ProjectInput(Weights.WeightIh(l), Weights.BiasIh(l), ReadOnlySpan<float>.Empty, inputSize, g, batch,
                        l == 0 ? input : state.HiddenOf(l - 1), gates);
                CellMath.ProjectRecurrent(Weights.WeightHh(l), Weights.BiasHh(l), hs, g, batch, hidden, recurrent);
            }
            else if (l == 0 && !tokens.IsEmpty)
            {
                CellMath.ProjectTokens(Weights.WeightIh(0), Weights.BiasIh(0), Weights.BiasHh(0), inputSize, g, tokens, gates);
                CellMath.AddRecurrent(Weights.WeightHh(l), hs, g, batch, hidden, gates);
            }
            else if (batch == 1)
            {
                // The streaming case: one pass over W_ih and W_hh together, the step's whole weight traffic.
                CellMath.ProjectStep(Weights.WeightIh(l), Weights.WeightHh(l), Weights.BiasIh(l), Weights.BiasHh(l), inputSize, hs, g,
                    l == 0 ? input : state.HiddenOf(l - 1), hidden, gates);
            }
            else
            {
                CellMath.ProjectInput(Weights.WeightIh(l), Weights.BiasIh(l), Weights.BiasHh(l), inputSize, g, batch,
                    l == 0 ? input : state.HiddenOf(l - 1), gates);
                CellMath.AddRecurrent(Weights.WeightHh(l), hs, g, batch, hidden, gates);
            }
            if (projected)
            {
                // h = W_hr·(o ⊙ tanh(c)): the cell writes the unprojected h, then the projection replaces the state's h.
                recurrence.Forward(h, batch, gates, recurrent, hidden, cell, cell, raw);
                CellMath.Project(Weights.WeightHr(l), h, hs, batch, singleRow: batch == 1, raw, hidden);
            }
            else
            {
                // h (and c) are updated in place: each element of the new state is computed from the same element of the old.
                recurrence.Forward(h, batch, gates, recurrent, hidden, cell, cell, hidden);
            }
        }
        state.HiddenOf(Options.NumLayers - 1).CopyTo(output);
    }

    // The input of a pass into the workspace in the compact rows of its layout (shared with PackedRecurrentLayer).
    internal static void SaveSequence(RecurrentOptions options, SequenceInput input, int batch, IPassWorkspace workspace)
    {
        SequenceLayout layout = workspace.Layout;
        int steps = input.Steps;
        layout.Set(steps, batch, input.Lengths);
        bool batchFirst = input.BatchFirst;
        if (input.IsTokens)
        {
            ReadOnlySpan<int> tokens = input.Tokens;
            Span<int> saved = workspace.Tokens.AsSpan(0, layout.Rows);
            for (int t = 0; t < steps; t++)
            {
                int at = layout.RowStart[t];
                for (int s = 0; s < layout.Active[t]; s++)
                {
                    int b = layout.Order[s];
                    saved[at + s] = tokens[batchFirst ? b * steps + t : t * batch + b];
                }
            }
            return;
        }
        int inputSize = options.InputSize;
        GatherRows(layout, input.Values, inputSize, batchFirst, workspace.Input.AsSpan(0, layout.Rows * inputSize));
    }

    // Compact rows [R, width] → the caller's padded [T, B, width] (or [B, T, width]), zero past each stream's length.
    internal static void ScatterRows(SequenceLayout layout, ReadOnlySpan<float> rows, int width, bool batchFirst, Span<float> padded)
    {
        int steps = layout.Steps, batch = layout.Batch;
        if (layout.Uniform && !batchFirst)
        {
            rows[..(steps * batch * width)].CopyTo(padded);
            return;
        }
        if (!layout.Uniform)
            padded.Clear();
        for (int t = 0; t < steps; t++)
        {
            int at = layout.RowStart[t];
            for (int s = 0; s < layout.Active[t]; s++)
            {
                int b = layout.Order[s];
                rows.Slice((at + s) * width, width).CopyTo(padded.Slice((batchFirst ? b * steps + t : t * batch + b) * width, width));
            }
        }
    }

    // The caller's padded [T, B, width] (or [B, T, width]) → compact rows [R, width]; padding is not read.
    internal static void GatherRows(SequenceLayout layout, ReadOnlySpan<float> padded, int width, bool batchFirst, Span<float> rows)
    {
        int steps = layout.Steps, batch = layout.Batch;
        if (layout.Uniform && !batchFirst)
        {
            padded.CopyTo(rows);
            return;
        }
        for (int t = 0; t < steps; t++)
        {
            int at = layout.RowStart[t];
            for (int s = 0; s < layout.Active[t]; s++)
            {
                int b = layout.Order[s];
                padded.Slice((batchFirst ? b * steps + t : t * batch + b) * width, width).CopyTo(rows.Slice((at + s) * width, width));
            }
        }
    }

    private void ForwardCore(bool tokens, bool batchFirst, bool training, RecurrentState state, RecurrentWorkspace workspace, Span<float> output)
    {
        SequenceLayout layout = workspace.Layout;
        int steps = layout.Steps, batch = layout.Batch, rows = layout.Rows;
        int directions = Options.NumDirections, width = Options.OutputSize;
        bool dropout = training && Options.Dropout > 0f && Options.NumLayers > 1;
        workspace.HasSaved = false;
        RecurrentPassWork work = workspace.PassWork;
        work.Begin(this, steps, batch, tokens, gradients: null, dropout);
        try
        {
            for (int l = 0; l < Options.NumLayers; l++)
            {
                work.LayerIndex = l;
                for (int d = 0; d < directions; d++)
                {
                    work.Direction = d;
                    // One matrix product projects the inputs of all rows: gates[r] = b_ih (+ b_hh) + W_ih·x[r]. A pool
                    // splits it by rows (row blocks of C are products with the same k, so every element is the same sum).
                    RunSplit(work, RecurrentPhase.Project, rows);

                    CopyState(work, state, initial: true);

                    // With a batch, W_hh is packed once here for all T step products (a batch of one uses the GEMV, which
                    // reads W_hh as stored). The packing is redone every pass, so it always reflects the current weights.
                    if (batch > 1)
                        CellMath.PackRecurrentForward(Weights.WeightHh(l, d), Options.HiddenStateSize, Options.GateSize, workspace.PackedWeightHh);

                    // The recurrence. Stream b's step t reads only stream b's previous h (and c), so a pool gives each
                    // thread a block of streams for all steps, with no synchronisation between steps.
                    RunSplit(work, RecurrentPhase.Recur, batch);

                    CopyState(work, state, initial: false);
                }
                if (directions == 2)
                    InterleaveDirections(work);
                if (dropout && l < Options.NumLayers - 1)
                    ApplyDropout(work, workspace.DropoutPasses);
            }
        }
        finally
        {
            work.End();
        }
        if (dropout)
            workspace.DropoutPasses++;

        (float[] top, int topAt) = LayerOutputRows(work, Options.NumLayers - 1);
        ScatterRows(layout, top.AsSpan(topAt, rows * width), width, batchFirst, output);

        workspace.SavedSteps = steps;
        workspace.SavedBatch = batch;
        workspace.SavedTokens = tokens;
        workspace.SavedBatchFirst = batchFirst;
        workspace.SavedTraining = dropout;
        workspace.HasSaved = true;
    }

    // The state's h (and c) of the current unit into the initial rows of its history (stream b into its slot's row), or,
    // after the recurrence, each stream's state at its own last step back into the state.
    private void CopyState(RecurrentPassWork work, RecurrentState state, bool initial)
    {
        SequenceLayout layout = work.Workspace.Layout;
        int d = work.Direction, unit = work.Unit, hs = Options.HiddenStateSize, h = Options.HiddenSize;
        Span<float> stateH = state.HiddenOf(work.LayerIndex, d), stateC = state.CellOf(work.LayerIndex, d);
        Span<float> hidden = work.HiddenHistory(unit), cell = work.CellHistory(unit);
        for (int s = 0; s < layout.Batch; s++)
        {
            int row = initial ? layout.InitialRow(d, s) : layout.FinalRow(d, s), b = layout.Order[s];
            Copy(stateH.Slice(b * hs, hs), hidden.Slice(row * hs, hs));
            if (!cell.IsEmpty)
                Copy(stateC.Slice(b * h, h), cell.Slice(row * h, h));
        }

        void Copy(Span<float> inState, Span<float> inHistory)
        {
            if (initial)
                inState.CopyTo(inHistory);
            else
                inHistory.CopyTo(inState);
        }
    }

    // A bidirectional layer's output rows [R, 2·H']: the forward direction's h, then the reverse direction's, per row.
    private void InterleaveDirections(RecurrentPassWork work)
    {
        SequenceLayout layout = work.Workspace.Layout;
        int l = work.LayerIndex, hs = Options.HiddenStateSize, width = Options.OutputSize;
        Span<float> output = work.Workspace.LayerOutput.AsSpan(l * work.UnitRows * width, layout.Rows * width);
        for (int d = 0; d < 2; d++)
        {
            ReadOnlySpan<float> hidden = work.HiddenHistory(l * 2 + d);
            for (int t = 0; t < layout.Steps; t++)
            {
                int at = layout.RowStart[t], from = layout.OutRow(d, t);
                for (int s = 0; s < layout.Active[t]; s++)
                    hidden.Slice((from + s) * hs, hs).CopyTo(output.Slice((at + s) * width + d * hs, hs));
            }
        }
    }

    // Inverted dropout on layer l's output: a mask of 0 and 1/(1 − p) drawn per element from a counter-based generator
    // (seed, pass, layer, time, stream, feature), so it depends on neither the thread count nor the streams' lengths order.
    private void ApplyDropout(RecurrentPassWork work, ulong pass)
    {
        RecurrentWorkspace workspace = work.Workspace;
        SequenceLayout layout = workspace.Layout;
        int l = work.LayerIndex, width = Options.OutputSize, rows = layout.Rows, batch = layout.Batch;
        int at = l * work.UnitRows * width;
        Span<float> mask = workspace.DropoutMask.AsSpan(at, rows * width);
        float p = Options.Dropout, scale = p >= 1f ? 0f : 1f / (1f - p);
        ulong threshold = (ulong)((double)p * (1 << 24));
        ulong key = Mix(Mix(Mix(workspace.DropoutSeed ^ 0x6A09E667F3BCC909UL) + pass) + (ulong)l);
        for (int t = 0; t < layout.Steps; t++)
        {
            int start = layout.RowStart[t];
            for (int s = 0; s < layout.Active[t]; s++)
            {
                ulong element = ((ulong)t * (ulong)batch + (ulong)layout.Order[s]) * (ulong)width;
                Span<float> row = mask.Slice((start + s) * width, width);
                for (int j = 0; j < width; j++)
                    row[j] = Mix(key + (element + (ulong)j) * 0x9E3779B97F4A7C15UL) >> 40 >= threshold ? scale : 0f;
            }
        }
        (float[] output, int outputAt) = LayerOutputRows(work, l);
        TensorPrimitives.Multiply(output.AsSpan(outputAt, rows * width), mask, workspace.Dropped.AsSpan(at, rows * width));
    }

    // SplitMix64's finaliser: a bijection of 64-bit words whose outputs pass as independent uniform draws.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // Layer l's output rows [R, D·H'] as an array and offset: the forward history's new rows for one direction (no copy),
    // or the interleaved rows of two.
    private (float[] Array, int Offset) LayerOutputRows(RecurrentPassWork work, int l)
    {
        if (Options.NumDirections == 2)
            return (work.Workspace.LayerOutput, l * work.UnitRows * Options.OutputSize);
        return (work.Workspace.Hidden, work.HiddenHistoryOffset(l) + work.Workspace.Layout.OutRow(0, 0) * Options.HiddenStateSize);
    }

    // Layer l's input rows [R, I_l]: the saved input for layer 0, else the layer below's output (after dropout in training).
    private (float[] Array, int Offset) LayerInputRows(RecurrentPassWork work, int l)
    {
        if (l == 0)
            return (work.Workspace.Input, 0);
        if (work.Dropout)
            return (work.Workspace.Dropped, (l - 1) * work.UnitRows * Options.OutputSize);
        return LayerOutputRows(work, l - 1);
    }

    private void BackwardCore(ReadOnlySpan<float> dOutput, RecurrentWorkspace workspace, RecurrentParameters gradients, Span<float> dInput,
        ReadOnlySpan<float> dFinalHidden, ReadOnlySpan<float> dFinalCell, Span<float> dInitialHidden, Span<float> dInitialCell)
    {
        SequenceLayout layout = workspace.Layout;
        int rows = layout.Rows, batch = layout.Batch, width = Options.OutputSize;
        int hs = Options.HiddenStateSize, h = Options.HiddenSize, directions = Options.NumDirections;
        bool hasCell = Options.HasCellState;

        // The upper buffer holds dL/d(output of the layer being processed), in the pass's compact rows.
        GatherRows(layout, dOutput, width, workspace.SavedBatchFirst, workspace.DUpper.AsSpan(0, rows * width));

        Span<float> carryH = workspace.CarryHidden.AsSpan(0, batch * hs);
        Span<float> carryC = workspace.CarryCell.AsSpan(0, batch * h);
        RecurrentPassWork work = workspace.PassWork;
        work.Begin(this, layout.Steps, batch, workspace.SavedTokens, gradients, workspace.SavedTraining);
        work.Upper = workspace.DUpper;
        work.Lower = workspace.DLower;
        try
        {
            for (int l = Options.NumLayers - 1; l >= 0; l--)
            {
                work.LayerIndex = l;
                int inputSize = Options.LayerInputSize(l);
                for (int d = 0; d < directions; d++)
                {
                    work.Direction = d;
                    int unit = work.Unit;
                    // The carries start as dL/dh_n, dL/dc_n of each stream, in its slot; a stream's enter its recurrence
                    // at its own last step.
                    for (int s = 0; s < batch; s++)
                    {
                        int b = layout.Order[s];
                        if (dFinalHidden.IsEmpty) carryH.Slice(s * hs, hs).Clear();
                        else dFinalHidden.Slice((unit * batch + b) * hs, hs).CopyTo(carryH.Slice(s * hs, hs));
                        if (!hasCell)
                            continue;
                        if (dFinalCell.IsEmpty) carryC.Slice(s * h, h).Clear();
                        else dFinalCell.Slice((unit * batch + b) * h, h).CopyTo(carryC.Slice(s * h, h));
                    }

                    // W_hh packed once for the products dh₋₁ = dgates · W_hh of this unit, from the current weights.
                    CellMath.PackRecurrentBackward(Weights.WeightHh(l, d), hs, Options.GateSize, workspace.PackedWeightHh);

                    // The reverse recurrence: as forward, stream b's carries depend on stream b alone, so a pool splits the streams.
                    RunSplit(work, RecurrentPhase.BackRecur, batch);

                    for (int s = 0; s < batch; s++)
                    {
                        int b = layout.Order[s];
                        if (!dInitialHidden.IsEmpty)
                            carryH.Slice(s * hs, hs).CopyTo(dInitialHidden.Slice((unit * batch + b) * hs, hs));
                        if (hasCell && !dInitialCell.IsEmpty)
                            carryC.Slice(s * h, h).CopyTo(dInitialCell.Slice((unit * batch + b) * h, h));
                    }

                    // The weight gradient of W_hh reads h₋₁ of every row in row order: the reverse history holds it so, the
                    // forward history when every stream runs all steps; otherwise it is gathered step by step.
                    if (d == 0 && !layout.Uniform)
                        GatherPrevious(work);

                    // Weight gradients (one product each over all rows) and dL/d(input of layer l) = Σ_d dGates·W_ih when
                    // needed. A pool splits the gradients by gate rows and the input gradient by rows.
                    work.ComputeInputGradient = l > 0 || !dInput.IsEmpty;
                    RunSplit(work, RecurrentPhase.Gradients, rows);
                }

                if (l > 0)
                {
                    // dL/d(input of layer l) is dL/d(output of layer l−1), through the dropout mask in a training pass.
                    if (work.Dropout)
                    {
                        Span<float> lower = work.Lower.AsSpan(0, rows * width);
                        TensorPrimitives.Multiply(lower, workspace.DropoutMask.AsSpan((l - 1) * work.UnitRows * width, rows * width), lower);
                    }
                    (work.Upper, work.Lower) = (work.Lower, work.Upper);
                }
                else if (!dInput.IsEmpty)
                {
                    ScatterRows(layout, work.Lower.AsSpan(0, rows * inputSize), inputSize, workspace.SavedBatchFirst, dInput);
                }
            }
        }
        finally
        {
            work.End();
        }
    }

    // h₋₁ of every row of the current (forward) unit, in row order, into the workspace's PreviousRows.
    private void GatherPrevious(RecurrentPassWork work)
    {
        SequenceLayout layout = work.Workspace.Layout;
        int hs = Options.HiddenStateSize;
        ReadOnlySpan<float> hidden = work.HiddenHistory(work.Unit);
        Span<float> previous = work.Workspace.PreviousRows;
        for (int t = 0; t < layout.Steps; t++)
        {
            int n = layout.Active[t];
            hidden.Slice(layout.PrevRow(0, t) * hs, n * hs).CopyTo(previous.Slice(layout.RowStart[t] * hs, n * hs));
        }
    }

    // Runs `phase` of the pass in `work` on the workspace's pool (as many shares as threads, at most `items`, unless the
    // pool's measured fallback says one), or on this thread alone as one share. Either way every element gets the same
    // operations: see RunShare.
    private static void RunSplit(RecurrentPassWork work, RecurrentPhase phase, int items)
    {
        work.Phase = phase;
        ComputePool? pool = work.Workspace.Pool;
        int parts = pool is null ? 1 : pool.SharesFor(items);
        if (parts <= 1)
            work.Layer!.RunShare(work, 0, 1);
        else
            pool!.Run(work, parts);
    }

    /// <summary>
    /// Share <paramref name="part"/> of <paramref name="parts"/> of the phase set in <paramref name="work"/>. Shares write
    /// disjoint memory, and each output element is computed by the same operations in the same order whatever the split:
    /// row blocks of a GEMM's C (or of dWᵀ's rows) are products with the same k, whose per-element k-order does not depend
    /// on the block; the pointwise kernels compute each element alone (lane-identical vector and scalar forms); bias
    /// sums add the rows of each column in order.
    /// </summary>
    internal void RunShare(RecurrentPassWork work, int part, int parts)
    {
        switch (work.Phase)
        {
            case RecurrentPhase.Project:
            {
                (int start, int end) = Share(work.Workspace.Layout.Rows, part, parts, ProductRowGranule);
                ProjectRows(work, start, end);
                break;
            }
            case RecurrentPhase.Recur:
            {
                (int start, int end) = Share(work.Batch, part, parts, 1);
                ForwardStreams(work, start, end);
                break;
            }
            case RecurrentPhase.BackRecur:
            {
                (int start, int end) = Share(work.Batch, part, parts, 1);
                BackwardStreams(work, start, end);
                break;
            }
            case RecurrentPhase.Gradients:
                GradientShare(work, part, parts);
                break;
            default:
                throw new InvalidOperationException($"Unknown phase {work.Phase}.");
        }
    }

    // Blocks of product rows are cut at multiples of the GEMM's 6-row micro-tile, so no share adds a partial tile.
    private const int ProductRowGranule = 6;

    // Share `part` of `count` items cut into `parts` near-equal shares at multiples of `granule` (the last takes the rest).
    private static (int Start, int End) Share(int count, int part, int parts, int granule)
    {
        return (Boundary(part), Boundary(part + 1));

        int Boundary(int p) => p >= parts ? count : Math.Min(count, (int)((long)count * p / parts) / granule * granule);
    }

    // gates[r] = b_ih (+ b_hh) + W_ih·x[r] for the rows [start, end) of the current unit's projection.
    private void ProjectRows(RecurrentPassWork work, int start, int end)
    {
        int l = work.LayerIndex, d = work.Direction, n = end - start;
        if (n <= 0)
            return;
        int inputSize = Options.LayerInputSize(l), g = Options.GateSize, rows = work.Workspace.Layout.Rows;
        RecurrentWorkspace workspace = work.Workspace;
        Span<float> gates = work.Gates(work.Unit).Slice(start * g, n * g);
        ReadOnlySpan<float> biasHh = Options.Recurrence.SeparateRecurrent ? ReadOnlySpan<float>.Empty : Weights.BiasHh(l, d);
        if (l == 0 && work.Tokens)
        {
            CellMath.ProjectTokens(Weights.WeightIh(0, d), Weights.BiasIh(0, d), biasHh, inputSize, g, workspace.Tokens.AsSpan(start, n), gates);
            return;
        }
        (float[] x, int xAt) = LayerInputRows(work, l);
        CellMath.ProjectInputRows(Weights.WeightIh(l, d), Weights.BiasIh(l, d), biasHh, inputSize, g, n, singleRow: rows == 1,
            x.AsSpan(xAt + start * inputSize, n * inputSize), gates);
    }

    // The recurrence of the current unit for slots [b0, b1), over all its steps in its direction's order.
    private void ForwardStreams(RecurrentPassWork work, int b0, int b1)
    {
        if (b1 <= b0)
            return;
        int l = work.LayerIndex, d = work.Direction, unit = work.Unit;
        int h = Options.HiddenSize, hs = Options.HiddenStateSize, g = Options.GateSize;
        RecurrentWorkspace workspace = work.Workspace;
        SequenceLayout layout = workspace.Layout;
        RecurrentCell recurrence = Options.Recurrence;
        bool separate = recurrence.SeparateRecurrent, projected = Options.ProjectionSize > 0;
        Span<float> gates = work.Gates(unit);
        Span<float> recurrentAll = separate ? work.Recurrent(unit) : Span<float>.Empty;
        Span<float> hidden = work.HiddenHistory(unit);
        Span<float> cell = work.CellHistory(unit);
        Span<float> raw = projected ? work.Raw(unit) : Span<float>.Empty;
        ReadOnlySpan<float> biasHh = separate ? Weights.BiasHh(l, d) : ReadOnlySpan<float>.Empty;
        ReadOnlySpan<float> weightHh = Weights.WeightHh(l, d), weightHr = Weights.WeightHr(l, d);
        // Packed W_hh is chosen by the whole batch (not the block or the streams still running), so a block of one
        // stream gets the GEMM's values.
        bool packed = layout.Batch > 1;
        ReadOnlySpan<float> packedHh = workspace.PackedWeightHh;
        int steps = layout.Steps;
        for (int k = 0; k < steps; k++)
        {
            int t = d == 0 ? k : steps - 1 - k;
            int n = Math.Min(b1, layout.Active[t]) - b0;
            if (n <= 0)
            {
                // Forward in time the running streams only shrink; reversed they only grow.
                if (d == 0) break;
                continue;
            }
            int at = layout.RowStart[t] + b0, previous = layout.PrevRow(d, t) + b0, current = layout.OutRow(d, t) + b0;
            Span<float> gatesT = gates.Slice(at * g, n * g);
            Span<float> recurrentT = separate ? recurrentAll.Slice(at * g, n * g) : Span<float>.Empty;
            ReadOnlySpan<float> hPrev = hidden.Slice(previous * hs, n * hs);
            Span<float> hNew = hidden.Slice(current * hs, n * hs);
            // The recurrent product goes into the gates (fused recurrence) or into its own buffer after b_hh (GRU).
            Span<float> target = separate ? recurrentT : gatesT;
            if (separate)
                CellMath.FillRecurrentBias(biasHh, g, n, recurrentT);
            if (packed)
                CellMath.AddRecurrentPacked(packedHh, hs, g, n, hPrev, target);
            else
                CellMath.AddRecurrent(weightHh, hs, g, n, hPrev, target);
            ReadOnlySpan<float> cPrev = cell.IsEmpty ? cell : cell.Slice(previous * h, n * h);
            Span<float> cNew = cell.IsEmpty ? cell : cell.Slice(current * h, n * h);
            if (projected)
            {
                Span<float> rawT = raw.Slice(at * h, n * h);
                recurrence.Forward(h, n, gatesT, recurrentT, hPrev, cPrev, cNew, rawT);
                CellMath.Project(weightHr, h, hs, n, singleRow: false, rawT, hNew);
            }
            else
            {
                recurrence.Forward(h, n, gatesT, recurrentT, hPrev, cPrev, cNew, hNew);
            }
        }
    }

    // The reverse recurrence of the current unit for slots [b0, b1): dgates of every step and the carries dh (and dc)
    // back to each stream's first step.
    private void BackwardStreams(RecurrentPassWork work, int b0, int b1)
    {
        if (b1 <= b0)
            return;
        int l = work.LayerIndex, d = work.Direction, unit = work.Unit;
        int h = Options.HiddenSize, hs = Options.HiddenStateSize, g = Options.GateSize, width = Options.OutputSize;
        RecurrentWorkspace workspace = work.Workspace;
        SequenceLayout layout = workspace.Layout;
        RecurrentCell recurrence = Options.Recurrence;
        bool separate = recurrence.SeparateRecurrent, projected = Options.ProjectionSize > 0;
        ReadOnlySpan<float> gates = work.Gates(unit);
        ReadOnlySpan<float> recurrentAll = separate ? work.Recurrent(unit) : ReadOnlySpan<float>.Empty;
        ReadOnlySpan<float> hidden = work.HiddenHistory(unit);
        ReadOnlySpan<float> cell = work.CellHistory(unit);
        ReadOnlySpan<float> raw = projected ? work.Raw(unit) : ReadOnlySpan<float>.Empty;
        ReadOnlySpan<float> dUpper = work.Upper;
        ReadOnlySpan<float> weightHr = Weights.WeightHr(l, d);
        Span<float> carryH = workspace.CarryHidden.AsSpan(b0 * hs);
        Span<float> carryC = workspace.CarryCell.AsSpan(b0 * h);
        Span<float> dHiddenTotal = workspace.DHiddenTotal.AsSpan(b0 * hs);
        Span<float> dRaw = projected ? workspace.DRaw.AsSpan(b0 * h) : Span<float>.Empty;
        Span<float> dProjected = workspace.DProjected;
        Span<float> dGates = workspace.DGates;
        Span<float> dRecurrent = separate ? workspace.DRecurrent : Span<float>.Empty;
        ReadOnlySpan<float> packedHh = workspace.PackedWeightHh;
        bool direct = recurrence.PassesHiddenDirectly;
        int steps = layout.Steps;
        for (int k = 0; k < steps; k++)
        {
            // The direction's steps in reverse: time reversed for the forward direction, forward for the reverse one.
            int t = d == 0 ? steps - 1 - k : k;
            int n = Math.Min(b1, layout.Active[t]) - b0;
            if (n <= 0)
            {
                if (d == 1) break;
                continue;
            }
            int at = layout.RowStart[t] + b0, previous = layout.PrevRow(d, t) + b0, current = layout.OutRow(d, t) + b0;
            int nh = n * h, nhs = n * hs;
            // All of dL/dh_t: from this step's output (this direction's columns of the layer's output) and from the
            // direction's next step.
            Span<float> dTotal = dHiddenTotal[..nhs];
            if (width == hs)
                dUpper.Slice(at * hs, nhs).CopyTo(dTotal);
            else
                for (int i = 0; i < n; i++)
                    dUpper.Slice((at + i) * width + d * hs, hs).CopyTo(dTotal.Slice(i * hs, hs));
            Kernels.Axpy(1f, carryH[..nhs], dTotal);
            ReadOnlySpan<float> dH = dTotal;
            ReadOnlySpan<float> hNew = hidden.Slice(current * hs, nhs);
            if (projected)
            {
                // h = W_hr·raw: dL/dW_hr needs dh of every row (kept), the cell gets dL/draw = W_hrᵀ·dh.
                dTotal.CopyTo(dProjected.Slice(at * hs, nhs));
                CellMath.BackpropProjection(weightHr, h, hs, n, dTotal, dRaw[..nh]);
                dH = dRaw[..nh];
                hNew = raw.Slice(at * h, nh);
            }
            Span<float> dGatesT = dGates.Slice(at * g, n * g);
            Span<float> dRecurrentT = separate ? dRecurrent.Slice(at * g, n * g) : dGatesT;
            // The cell writes dgates (and, for a GRU, the recurrent projection's gradient and the direct dh₋₁ into the
            // carry, which dTotal has already consumed); then dh₋₁ (+)= W_hhᵀ·d(recurrent projection).
            recurrence.Backward(h, n, gates.Slice(at * g, n * g), separate ? recurrentAll.Slice(at * g, n * g) : ReadOnlySpan<float>.Empty,
                hidden.Slice(previous * hs, nhs), cell.IsEmpty ? cell : cell.Slice(previous * h, nh), cell.IsEmpty ? cell : cell.Slice(current * h, nh),
                hNew, dH, cell.IsEmpty ? Span<float>.Empty : carryC[..nh], dGatesT, dRecurrentT, carryH[..nhs]);
            CellMath.BackpropRecurrentPacked(packedHh, hs, g, n, dRecurrentT, carryH[..nhs], accumulate: direct);
        }
    }

    // Gate rows [j0, j1) of the current unit's weight gradients, rows [p0, p1) of its projection's, and rows [r0, r1) of
    // dL/d(input of the layer) into the lower buffer (the second direction adds to the first's).
    private void GradientShare(RecurrentPassWork work, int part, int parts)
    {
        int l = work.LayerIndex, d = work.Direction, unit = work.Unit;
        int inputSize = Options.LayerInputSize(l), h = Options.HiddenSize, hs = Options.HiddenStateSize, g = Options.GateSize;
        RecurrentWorkspace workspace = work.Workspace;
        SequenceLayout layout = workspace.Layout;
        int rows = layout.Rows;
        RecurrentParameters gradients = work.Gradients!;
        ReadOnlySpan<float> dGates = workspace.DGates.AsSpan(0, rows * g);
        ReadOnlySpan<float> dRecurrent = Options.Recurrence.SeparateRecurrent ? workspace.DRecurrent.AsSpan(0, rows * g) : dGates;
        ReadOnlySpan<float> hiddenPrev = d == 1 || layout.Uniform
            ? work.HiddenHistory(unit).Slice(layout.PrevRow(d, 0) * hs, rows * hs)
            : workspace.PreviousRows.AsSpan(0, rows * hs);
        (int j0, int j1) = Share(g, part, parts, ProductRowGranule);
        if (l == 0 && work.Tokens)
        {
            CellMath.AccumulateTokenWeightGradients(inputSize, hs, g, workspace.Tokens.AsSpan(0, rows), dGates, dRecurrent, hiddenPrev,
                gradients.WeightIh(0, d), gradients.WeightHh(0, d), gradients.BiasIh(0, d), gradients.BiasHh(0, d), workspace.DBias, j0, j1);
        }
        else
        {
            (float[] x, int xAt) = LayerInputRows(work, l);
            CellMath.AccumulateWeightGradients(inputSize, hs, g, rows, dGates, dRecurrent, x.AsSpan(xAt, rows * inputSize), hiddenPrev,
                gradients.WeightIh(l, d), gradients.WeightHh(l, d), gradients.BiasIh(l, d), gradients.BiasHh(l, d), workspace.DBias, j0, j1);
        }
        if (Options.ProjectionSize > 0)
        {
            (int p0, int p1) = Share(hs, part, parts, ProductRowGranule);
            CellMath.AccumulateProjectionGradient(h, hs, rows, workspace.DProjected.AsSpan(0, rows * hs), work.Raw(unit)[..(rows * h)],
                gradients.WeightHr(l, d), p0, p1);
        }

        if (!work.ComputeInputGradient)
            return;
        (int r0, int r1) = Share(rows, part, parts, ProductRowGranule);
        if (r1 > r0)
        {
            CellMath.BackpropInput(Weights.WeightIh(l, d), inputSize, g, r1 - r0, dGates.Slice(r0 * g, (r1 - r0) * g),
                work.Lower.AsSpan(r0 * inputSize, (r1 - r0) * inputSize), accumulate: d > 0);
        }
    }
}

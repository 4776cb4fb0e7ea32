using System;

namespace SimdLstm;

/// <summary>
/// A stacked LSTM, GRU or vanilla RNN (PyTorch's <c>nn.LSTM</c> / <c>nn.GRU</c> / <c>nn.RNN</c>): streaming steps for
/// inference, sequence forward passes, and backpropagation through time.
/// </summary>
/// <remarks>
/// <para>Three kinds of object are kept apart. This object holds the <b>weights</b> (<see cref="Weights"/>); it never
/// changes them, so many threads may share it while serving. A <see cref="RecurrentState"/> holds h (and c) of the
/// streams one caller runs. A <see cref="RecurrentWorkspace"/> holds scratch and the activations a forward pass saves for
/// backward. A thread needs its own state and workspace; with them, <see cref="Step(ReadOnlySpan{float}, RecurrentState, RecurrentWorkspace, Span{float})"/>,
/// <see cref="Forward(ReadOnlySpan{float}, int, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/> and
/// <see cref="Backward"/> allocate nothing. A workspace made with a <see cref="ComputePool"/> (opt-in) shares its sequence
/// passes among the pool's threads, with bitwise the same results as on one thread.</para>
/// <para>Layouts are time-major: inputs [T, B, I], outputs [T, B, H] (batch-first [B, T, ·] on request), states [L, B, H].
/// A sequence forward projects the inputs of all steps with one matrix product, then runs the recurrence step by step.
/// Backward runs the pointwise backward and dh_{t−1} = W_hhᵀ·dgates per step in reverse, then forms the weight gradients
/// with one matrix product each over all steps.</para>
/// </remarks>
public sealed class RecurrentLayer
{
    /// <summary>Wraps existing weights (for example views into a whole model's <see cref="ParameterBuffer"/>).</summary>
    public RecurrentLayer(RecurrentParameters weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Weights = weights;
        Options = weights.Options;
    }

    /// <summary>Creates a network with its own weights, initialised as PyTorch does (U(−1/√H, 1/√H)) from <paramref name="seed"/>.</summary>
    public RecurrentLayer(RecurrentOptions options, int seed = 0)
        : this(CreateWeights(options, seed))
    {
    }

    /// <summary>The network's shape.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>The weights, in PyTorch's layout and names.</summary>
    public RecurrentParameters Weights { get; }

    /// <summary>A zero state for <paramref name="batchSize"/> streams.</summary>
    public RecurrentState CreateState(int batchSize = 1) => new(Options, batchSize);

    /// <summary>A workspace for passes of at most <paramref name="maxSteps"/> steps over at most <paramref name="maxBatch"/> streams.</summary>
    public RecurrentWorkspace CreateWorkspace(int maxSteps, int maxBatch = 1) => new(Options, maxSteps, maxBatch);

    /// <summary>
    /// A workspace for passes of at most <paramref name="maxSteps"/> steps over at most <paramref name="maxBatch"/> streams,
    /// whose sequence passes share their work among the threads of <paramref name="pool"/> (null: the calling thread alone).
    /// Results are bitwise the same whatever the pool's thread count.
    /// </summary>
    public RecurrentWorkspace CreateWorkspace(int maxSteps, int maxBatch, ComputePool? pool) => new(Options, maxSteps, maxBatch, pool);

    /// <summary>
    /// A frozen copy of the current weights packed for fast inference steps and sequence passes (see
    /// <see cref="PackedRecurrentLayer"/>); call <see cref="PackedRecurrentLayer.Refresh"/> after the weights change.
    /// </summary>
    public PackedRecurrentLayer Pack() => new(Weights);

    /// <summary>A zeroed gradient buffer with the layout of <see cref="Weights"/>' buffer, viewed like the weights.</summary>
    public RecurrentParameters CreateGradients() => new(Options, Weights.Buffer.CreateZeroedLike(), Weights.Prefix);

    /// <summary>
    /// Runs one time step of every stream in <paramref name="state"/> (the latency-sensitive streaming path) and updates the
    /// state in place.
    /// </summary>
    /// <param name="input">x_t of each stream, [B, I], B = <see cref="RecurrentState.BatchSize"/>.</param>
    /// <param name="state">h and c of the streams, read and updated.</param>
    /// <param name="workspace">Scratch (at least B streams); its saved forward pass, if any, is discarded.</param>
    /// <param name="output">Receives h_t of the top layer, [B, H].</param>
    /// <exception cref="ArgumentException">A length or shape does not match; nothing has been written.</exception>
    public void Step(ReadOnlySpan<float> input, RecurrentState state, RecurrentWorkspace workspace, Span<float> output)
    {
        ValidateStep(state, workspace, output);
        Guard.Length(input.Length, state.BatchSize * Options.InputSize, nameof(input));
        StepCore(input, ReadOnlySpan<int>.Empty, state, workspace, output);
    }

    /// <summary>
    /// Runs one time step with token inputs: stream b's input is the one-hot vector of <paramref name="tokens"/>[b]
    /// (I = vocabulary size), applied as a column of <c>weight_ih_l0</c> rather than a product with a one-hot vector.
    /// </summary>
    /// <param name="tokens">One token per stream, [B], each in [0, I).</param>
    /// <param name="state">h and c of the streams, read and updated.</param>
    /// <param name="workspace">Scratch (at least B streams).</param>
    /// <param name="output">Receives h_t of the top layer, [B, H].</param>
    /// <exception cref="ArgumentException">A length does not match; nothing has been written.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside [0, I); nothing has been written.</exception>
    public void Step(ReadOnlySpan<int> tokens, RecurrentState state, RecurrentWorkspace workspace, Span<float> output)
    {
        ValidateStep(state, workspace, output);
        Guard.Length(tokens.Length, state.BatchSize, nameof(tokens));
        ValidateTokens(tokens);
        StepCore(ReadOnlySpan<float>.Empty, tokens, state, workspace, output);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> steps of every stream in <paramref name="state"/>, saving in <paramref name="workspace"/>
    /// what <see cref="Backward"/> needs, and leaves the final h and c in <paramref name="state"/> (so the next chunk of the
    /// streams continues from them, as truncated BPTT does).
    /// </summary>
    /// <param name="input">The inputs, [T, B, I] (or [B, T, I] when <paramref name="batchFirst"/>).</param>
    /// <param name="steps">T, 1 ≤ T ≤ <see cref="RecurrentWorkspace.MaxSteps"/>.</param>
    /// <param name="state">The initial state h0, c0 on entry; the final state on return.</param>
    /// <param name="workspace">Receives the saved activations.</param>
    /// <param name="output">Receives h_t of the top layer for every step, [T, B, H] (or [B, T, H]).</param>
    /// <param name="batchFirst">Whether <paramref name="input"/> and <paramref name="output"/> are batch-first.</param>
    /// <remarks>
    /// With a workspace made with a <see cref="ComputePool"/>, the pass is shared among the pool's threads: the input
    /// projection by rows (t, b), the recurrence by streams (each stream depends only on itself, so no thread waits for
    /// another between steps). Every element is computed by the same operations in the same order as on one thread, so
    /// the results are bitwise those of a pass without a pool, whatever the thread count.
    /// </remarks>
    /// <exception cref="ArgumentException">A length or shape does not match; nothing has been written.</exception>
    /// <exception cref="ObjectDisposedException">The workspace's pool has been disposed; nothing has been written.</exception>
    public void Forward(ReadOnlySpan<float> input, int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output, bool batchFirst = false)
    {
        ValidateForward(steps, state, workspace, output);
        int batch = state.BatchSize, inputSize = Options.InputSize;
        Guard.Length(input.Length, steps * batch * inputSize, nameof(input));
        SaveInput(input, steps, batch, inputSize, batchFirst, workspace);
        ForwardCore(steps, state, workspace, output, tokens: false, batchFirst);
    }

    /// <summary>
    /// As <see cref="Forward(ReadOnlySpan{float}, int, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/> with token
    /// inputs: <paramref name="tokens"/> is [T, B] (or [B, T]), each token in [0, I).
    /// </summary>
    /// <exception cref="ArgumentException">A length does not match; nothing has been written.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside [0, I); nothing has been written.</exception>
    /// <exception cref="ObjectDisposedException">The workspace's pool has been disposed; nothing has been written.</exception>
    public void Forward(ReadOnlySpan<int> tokens, int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output, bool batchFirst = false)
    {
        ValidateForward(steps, state, workspace, output);
        int batch = state.BatchSize;
        Guard.Length(tokens.Length, steps * batch, nameof(tokens));
        ValidateTokens(tokens);
        SaveTokens(tokens, steps, batch, batchFirst, workspace);
        ForwardCore(steps, state, workspace, output, tokens: true, batchFirst);
    }

    /// <summary>
    /// Backpropagation through time over the pass last run by <see cref="Forward(ReadOnlySpan{float}, int, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/>
    /// with <paramref name="workspace"/>. dh and dc flow from step t+1 back to step t; the gradient stops at the start of
    /// the pass (truncated BPTT stops here between chunks).
    /// </summary>
    /// <param name="dOutput">dL/d(output), in the forward pass's layout: [T, B, H] (or [B, T, H]).</param>
    /// <param name="workspace">The workspace of the forward pass.</param>
    /// <param name="gradients">Parameter gradients, <b>accumulated</b> into (the caller zeroes them).</param>
    /// <param name="dInput">Receives dL/d(input), [T, B, I] (or [B, T, I]); empty to skip. Must be empty for token inputs.</param>
    /// <param name="dFinalHidden">dL/dh_T of every layer, [L, B, H]; empty for zero.</param>
    /// <param name="dFinalCell">dL/dc_T of every layer, [L, B, H] (LSTM); empty for zero.</param>
    /// <param name="dInitialHidden">Receives dL/dh_0, [L, B, H]; empty to skip.</param>
    /// <param name="dInitialCell">Receives dL/dc_0, [L, B, H] (LSTM); empty to skip.</param>
    /// <exception cref="InvalidOperationException">The workspace holds no forward pass (or a step ran since).</exception>
    /// <exception cref="ArgumentException">A length or the gradients' shape does not match; nothing has been written.</exception>
    /// <exception cref="ObjectDisposedException">The workspace's pool has been disposed; nothing has been written.</exception>
    /// <remarks>
    /// With a workspace made with a <see cref="ComputePool"/>, the reverse recurrence is shared by streams, the weight
    /// gradients by gate rows (row blocks of dW are products with the same k, each bias element sums the rows in the same
    /// order) and dInput by rows; the results are bitwise those of a pass without a pool, whatever the thread count.
    /// </remarks>
    public void Backward(ReadOnlySpan<float> dOutput, RecurrentWorkspace workspace, RecurrentParameters gradients, Span<float> dInput = default,
        ReadOnlySpan<float> dFinalHidden = default, ReadOnlySpan<float> dFinalCell = default,
        Span<float> dInitialHidden = default, Span<float> dInitialCell = default)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(gradients);
        ValidateWorkspace(workspace);
        workspace.Pool?.ThrowIfDisposed();
        if (!workspace.HasSaved)
            throw new InvalidOperationException("The workspace holds no forward pass to backpropagate: run Forward with it first (Step discards a saved pass).");
        if (gradients.Options != Options)
            throw new ArgumentException($"Expected gradients for {Describe(Options)} but got gradients for {Describe(gradients.Options)}.", nameof(gradients));
        int steps = workspace.SavedSteps, batch = workspace.SavedBatch;
        int h = Options.HiddenSize, layers = Options.NumLayers;
        int stateLength = layers * batch * h;
        bool hasCell = Options.HasCellState;
        Guard.Length(dOutput.Length, steps * batch * h, nameof(dOutput));
        if (!dInput.IsEmpty)
        {
            if (workspace.SavedTokens)
                throw new ArgumentException("The forward pass took token inputs, which have no gradient; pass an empty dInput.", nameof(dInput));
            Guard.Length(dInput.Length, steps * batch * Options.InputSize, nameof(dInput));
        }
        if (!dFinalHidden.IsEmpty)
            Guard.Length(dFinalHidden.Length, stateLength, nameof(dFinalHidden));
        if (!dInitialHidden.IsEmpty)
            Guard.Length(dInitialHidden.Length, stateLength, nameof(dInitialHidden));
        if (!hasCell && !dFinalCell.IsEmpty)
            throw new ArgumentException($"A {Options.Cell} has no cell state; pass an empty dFinalCell.", nameof(dFinalCell));
        if (!hasCell && !dInitialCell.IsEmpty)
            throw new ArgumentException($"A {Options.Cell} has no cell state; pass an empty dInitialCell.", nameof(dInitialCell));
        if (!dFinalCell.IsEmpty)
            Guard.Length(dFinalCell.Length, stateLength, nameof(dFinalCell));
        if (!dInitialCell.IsEmpty)
            Guard.Length(dInitialCell.Length, stateLength, nameof(dInitialCell));

        BackwardCore(dOutput, workspace, gradients, dInput, dFinalHidden, dFinalCell, dInitialHidden, dInitialCell, steps, batch);
    }

    // Exactly one of input [B, I] and tokens [B] is non-empty.
    private void StepCore(ReadOnlySpan<float> input, ReadOnlySpan<int> tokens, RecurrentState state, RecurrentWorkspace workspace, Span<float> output)
    {
        workspace.HasSaved = false;
        int batch = state.BatchSize, h = Options.HiddenSize, g = Options.GateSize;
        RecurrentCell recurrence = Options.Recurrence;
        Span<float> gates = workspace.Gates.AsSpan(0, batch * g);
        Span<float> recurrent = recurrence.SeparateRecurrent ? workspace.Recurrent.AsSpan(0, batch * g) : Span<float>.Empty;
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
                CellMath.ProjectRecurrent(Weights.WeightHh(l), Weights.BiasHh(l), h, g, batch, hidden, recurrent);
            }
            else if (l == 0 && !tokens.IsEmpty)
            {
                CellMath.ProjectTokens(Weights.WeightIh(0), Weights.BiasIh(0), Weights.BiasHh(0), inputSize, g, tokens, gates);
                CellMath.AddRecurrent(Weights.WeightHh(l), h, g, batch, hidden, gates);
            }
            else if (batch == 1)
            {
                // The streaming case: one pass over W_ih and W_hh together, the step's whole weight traffic.
                CellMath.ProjectStep(Weights.WeightIh(l), Weights.WeightHh(l), Weights.BiasIh(l), Weights.BiasHh(l), inputSize, h, g,
                    l == 0 ? input : state.HiddenOf(l - 1), hidden, gates);
            }
            else
            {
                CellMath.ProjectInput(Weights.WeightIh(l), Weights.BiasIh(l), Weights.BiasHh(l), inputSize, g, batch,
                    l == 0 ? input : state.HiddenOf(l - 1), gates);
                CellMath.AddRecurrent(Weights.WeightHh(l), h, g, batch, hidden, gates);
            }
            // h (and c) are updated in place: each element of the new state is computed from the same element of the old.
            recurrence.Forward(h, batch, gates, recurrent, hidden, cell, cell, hidden);
        }
        state.HiddenOf(Options.NumLayers - 1).CopyTo(output);
    }

    private void ForwardCore(int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output, bool tokens, bool batchFirst)
    {
        int batch = state.BatchSize, h = Options.HiddenSize;
        int rows = steps * batch, bh = batch * h;
        bool hasCell = Options.HasCellState;
        RecurrentPassWork work = workspace.PassWork;
        work.Begin(this, steps, batch, tokens, gradients: null);
        try
        {
            for (int l = 0; l < Options.NumLayers; l++)
            {
                work.LayerIndex = l;
                // One matrix product projects the inputs of all steps: gates[t, b] = b_ih + b_hh + W_ih·x[t, b]. A pool
                // splits it by rows (row blocks of C are products with the same k, so every element is the same sum).
                RunSplit(work, RecurrentPhase.Project, rows);

                Span<float> hidden = LayerStates(workspace.Hidden, l, steps, batch);
                Span<float> cell = hasCell ? LayerStates(workspace.Cell, l, steps, batch) : Span<float>.Empty;
                state.HiddenOf(l).CopyTo(hidden[..bh]);
                if (hasCell)
                    state.CellOf(l).CopyTo(cell[..bh]);

                // With a batch, W_hh is packed once here for all T step products (a batch of one uses the GEMV, which
                // reads W_hh as stored). The packing is redone every pass, so it always reflects the current weights.
                if (batch > 1)
                    CellMath.PackRecurrentForward(Weights.WeightHh(l), h, Options.GateSize, workspace.PackedWeightHh);

                // The recurrence. Stream b's step t reads only stream b's h_{t−1} (and c_{t−1}), so a pool gives each
                // thread a block of streams for all T steps, with no synchronisation between steps.
                RunSplit(work, RecurrentPhase.Recur, batch);

                hidden.Slice(steps * bh, bh).CopyTo(state.HiddenOf(l));
                if (hasCell)
                    cell.Slice(steps * bh, bh).CopyTo(state.CellOf(l));
            }
        }
        finally
        {
            work.End();
        }

        ReadOnlySpan<float> top = LayerStates(workspace.Hidden, Options.NumLayers - 1, steps, batch)[bh..];
        if (batchFirst)
            SwapTimeAndBatch(top, steps, batch, h, output);
        else
            top.CopyTo(output);

        workspace.SavedSteps = steps;
        workspace.SavedBatch = batch;
        workspace.SavedTokens = tokens;
        workspace.SavedBatchFirst = batchFirst;
        workspace.HasSaved = true;
    }

    private void BackwardCore(ReadOnlySpan<float> dOutput, RecurrentWorkspace workspace, RecurrentParameters gradients, Span<float> dInput,
        ReadOnlySpan<float> dFinalHidden, ReadOnlySpan<float> dFinalCell, Span<float> dInitialHidden, Span<float> dInitialCell, int steps, int batch)
    {
        int h = Options.HiddenSize, rows = steps * batch, bh = batch * h;
        bool hasCell = Options.HasCellState;
        bool batchFirst = workspace.SavedBatchFirst;

        // The upper buffer holds dL/d(output of the layer being processed), time-major.
        if (batchFirst)
            SwapTimeAndBatch(dOutput, batch, steps, h, workspace.DUpper.AsSpan(0, rows * h));
        else
            dOutput.CopyTo(workspace.DUpper);

        Span<float> carryH = workspace.CarryHidden.AsSpan(0, bh);
        Span<float> carryC = workspace.CarryCell.AsSpan(0, bh);
        RecurrentPassWork work = workspace.PassWork;
        work.Begin(this, steps, batch, workspace.SavedTokens, gradients);
        work.Upper = workspace.DUpper;
        work.Lower = workspace.DLower;
        try
        {
            for (int l = Options.NumLayers - 1; l >= 0; l--)
            {
                work.LayerIndex = l;
                int inputSize = Options.LayerInputSize(l);
                if (dFinalHidden.IsEmpty) carryH.Clear(); else dFinalHidden.Slice(l * bh, bh).CopyTo(carryH);
                if (hasCell)
                {
                    if (dFinalCell.IsEmpty) carryC.Clear(); else dFinalCell.Slice(l * bh, bh).CopyTo(carryC);
                }

                // W_hh packed once for the T products dh_{t−1} = dgates_t · W_hh of this layer, from the current weights.
                CellMath.PackRecurrentBackward(Weights.WeightHh(l), h, Options.GateSize, workspace.PackedWeightHh);

                // The reverse recurrence: as forward, stream b's carries depend on stream b alone, so a pool splits the streams.
                RunSplit(work, RecurrentPhase.BackRecur, batch);

                if (!dInitialHidden.IsEmpty)
                    carryH.CopyTo(dInitialHidden.Slice(l * bh, bh));
                if (hasCell && !dInitialCell.IsEmpty)
                    carryC.CopyTo(dInitialCell.Slice(l * bh, bh));

                // Weight gradients (one product each over all steps) and dL/d(input of layer l) = dGates·W_ih when needed.
                // A pool splits the gradients by gate rows and the input gradient by rows.
                work.ComputeInputGradient = l > 0 || !dInput.IsEmpty;
                RunSplit(work, RecurrentPhase.Gradients, rows);

                if (l > 0)
                {
                    // dL/d(input of layer l) is dL/d(output of layer l−1).
                    (work.Upper, work.Lower) = (work.Lower, work.Upper);
                }
                else if (!dInput.IsEmpty)
                {
                    Span<float> dX = work.Lower.AsSpan(0, rows * inputSize);
                    if (batchFirst)
                        SwapTimeAndBatch(dX, steps, batch, inputSize, dInput);
                    else
                        dX.CopyTo(dInput);
                }
            }
        }
        finally
        {
            work.End();
        }
    }

    // Runs `phase` of the pass in `work` on the workspace's pool (as many shares as threads, at most `items`), or on this
    // thread alone as one share. Either way every element gets the same operations: see RunShare.
    private static void RunSplit(RecurrentPassWork work, RecurrentPhase phase, int items)
    {
        work.Phase = phase;
        ComputePool? pool = work.Workspace.Pool;
        int parts = pool is null ? 1 : Math.Min(pool.ThreadCount, items);
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
                (int start, int end) = Share(work.Steps * work.Batch, part, parts, ProductRowGranule);
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

    // gates[r] = b_ih + b_hh + W_ih·x[r] for the rows [start, end) of the layer's projection (r = t·B + b).
    private void ProjectRows(RecurrentPassWork work, int start, int end)
    {
        int l = work.LayerIndex, steps = work.Steps, batch = work.Batch;
        int inputSize = Options.LayerInputSize(l), g = Options.GateSize, rows = steps * batch, n = end - start;
        if (n <= 0)
            return;
        RecurrentWorkspace workspace = work.Workspace;
        Span<float> gates = LayerGates(workspace.Gates, l, steps, batch).Slice(start * g, n * g);
        if (l == 0 && work.Tokens)
        {
            CellMath.ProjectTokens(Weights.WeightIh(0), Weights.BiasIh(0), InputProjectionBiasHh(0), inputSize, g, workspace.Tokens.AsSpan(start, n), gates);
            return;
        }
        ReadOnlySpan<float> x = l == 0
            ? workspace.Input.AsSpan(0, rows * inputSize)
            : LayerStates(workspace.Hidden, l - 1, steps, batch)[(batch * Options.HiddenSize)..];
        CellMath.ProjectInputRows(Weights.WeightIh(l), Weights.BiasIh(l), InputProjectionBiasHh(l), inputSize, g, n, singleRow: rows == 1,
            x.Slice(start * inputSize, n * inputSize), gates);
    }

    // The b_hh the input projection adds: all of it where the cell fuses its projections, none where it keeps them apart.
    private ReadOnlySpan<float> InputProjectionBiasHh(int layer) =>
        Options.Recurrence.SeparateRecurrent ? ReadOnlySpan<float>.Empty : Weights.BiasHh(layer);

    // The forward recurrence of streams [b0, b1) over all steps of the layer.
    private void ForwardStreams(RecurrentPassWork work, int b0, int b1)
    {
        int l = work.LayerIndex, steps = work.Steps, batch = work.Batch, n = b1 - b0;
        if (n <= 0)
            return;
        int h = Options.HiddenSize, g = Options.GateSize, bh = batch * h;
        RecurrentWorkspace workspace = work.Workspace;
        RecurrentCell recurrence = Options.Recurrence;
        bool separate = recurrence.SeparateRecurrent;
        Span<float> gates = LayerGates(workspace.Gates, l, steps, batch);
        Span<float> recurrentAll = separate ? LayerGates(workspace.Recurrent, l, steps, batch) : Span<float>.Empty;
        Span<float> hidden = LayerStates(workspace.Hidden, l, steps, batch);
        Span<float> cell = recurrence.HasCellState ? LayerStates(workspace.Cell, l, steps, batch) : Span<float>.Empty;
        ReadOnlySpan<float> biasHh = separate ? Weights.BiasHh(l) : ReadOnlySpan<float>.Empty;
        // Packed W_hh is chosen by the whole batch (not the block), so a block of one stream gets the GEMM's values.
        bool packed = batch > 1;
        ReadOnlySpan<float> packedHh = workspace.PackedWeightHh;
        int nh = n * h;
        for (int t = 0; t < steps; t++)
        {
            Span<float> gatesT = gates.Slice((t * batch + b0) * g, n * g);
            Span<float> recurrentT = separate ? recurrentAll.Slice((t * batch + b0) * g, n * g) : Span<float>.Empty;
            int previous = t * bh + b0 * h, current = (t + 1) * bh + b0 * h;
            // The recurrent product goes into the gates (fused recurrence) or into its own buffer after b_hh (GRU).
            Span<float> target = separate ? recurrentT : gatesT;
            if (separate)
                CellMath.FillRecurrentBias(biasHh, g, n, recurrentT);
            if (packed)
                CellMath.AddRecurrentPacked(packedHh, h, g, n, hidden.Slice(previous, nh), target);
            else
                CellMath.AddRecurrent(Weights.WeightHh(l), h, g, n, hidden.Slice(previous, nh), target);
            recurrence.Forward(h, n, gatesT, recurrentT, hidden.Slice(previous, nh),
                cell.IsEmpty ? cell : cell.Slice(previous, nh), cell.IsEmpty ? cell : cell.Slice(current, nh), hidden.Slice(current, nh));
        }
    }

    // The reverse recurrence of streams [b0, b1): dgates of every step and the carries dh (and dc) back to the start.
    private void BackwardStreams(RecurrentPassWork work, int b0, int b1)
    {
        int l = work.LayerIndex, steps = work.Steps, batch = work.Batch, n = b1 - b0;
        if (n <= 0)
            return;
        int h = Options.HiddenSize, g = Options.GateSize, bh = batch * h, nh = n * h;
        RecurrentWorkspace workspace = work.Workspace;
        RecurrentCell recurrence = Options.Recurrence;
        bool separate = recurrence.SeparateRecurrent;
        ReadOnlySpan<float> gates = LayerGates(workspace.Gates, l, steps, batch);
        ReadOnlySpan<float> recurrentAll = separate ? LayerGates(workspace.Recurrent, l, steps, batch) : ReadOnlySpan<float>.Empty;
        ReadOnlySpan<float> hidden = LayerStates(workspace.Hidden, l, steps, batch);
        ReadOnlySpan<float> cell = recurrence.HasCellState ? LayerStates(workspace.Cell, l, steps, batch) : ReadOnlySpan<float>.Empty;
        ReadOnlySpan<float> dUpper = work.Upper.AsSpan(0, steps * bh);
        Span<float> carryH = workspace.CarryHidden.AsSpan(b0 * h, nh);
        Span<float> carryC = workspace.CarryCell.AsSpan(b0 * h, nh);
        Span<float> dHiddenTotal = workspace.DHiddenTotal.AsSpan(b0 * h, nh);
        Span<float> dGates = workspace.DGates.AsSpan(0, steps * batch * g);
        Span<float> dRecurrent = separate ? workspace.DRecurrent.AsSpan(0, steps * batch * g) : Span<float>.Empty;
        ReadOnlySpan<float> packedHh = workspace.PackedWeightHh;
        bool direct = recurrence.PassesHiddenDirectly;
        for (int t = steps - 1; t >= 0; t--)
        {
            // All of dL/dh_t: from this step's output and from step t+1.
            int previous = t * bh + b0 * h, current = (t + 1) * bh + b0 * h, at = (t * batch + b0) * g;
            dUpper.Slice(t * bh + b0 * h, nh).CopyTo(dHiddenTotal);
            Kernels.Axpy(1f, carryH, dHiddenTotal);
            Span<float> dGatesT = dGates.Slice(at, n * g);
            Span<float> dRecurrentT = separate ? dRecurrent.Slice(at, n * g) : dGatesT;
            // The cell writes dgates (and, for a GRU, the recurrent projection's gradient and the direct dh_{t−1} into the
            // carry, which dHiddenTotal has already consumed); then dh_{t−1} (+)= W_hhᵀ·d(recurrent projection).
            recurrence.Backward(h, n, gates.Slice(at, n * g), separate ? recurrentAll.Slice(at, n * g) : ReadOnlySpan<float>.Empty,
                hidden.Slice(previous, nh), cell.IsEmpty ? cell : cell.Slice(previous, nh), cell.IsEmpty ? cell : cell.Slice(current, nh),
                hidden.Slice(current, nh), dHiddenTotal, carryC, dGatesT, dRecurrentT, carryH);
            CellMath.BackpropRecurrentPacked(packedHh, h, g, n, dRecurrentT, carryH, accumulate: direct);
        }
    }

    // Gate rows [j0, j1) of the weight gradients, and rows [r0, r1) of dL/d(input of the layer) into the lower buffer.
    private void GradientShare(RecurrentPassWork work, int part, int parts)
    {
        int l = work.LayerIndex, steps = work.Steps, batch = work.Batch;
        int inputSize = Options.LayerInputSize(l), h = Options.HiddenSize, g = Options.GateSize, rows = steps * batch, bh = batch * h;
        RecurrentWorkspace workspace = work.Workspace;
        RecurrentParameters gradients = work.Gradients!;
        ReadOnlySpan<float> dGates = workspace.DGates.AsSpan(0, rows * g);
        ReadOnlySpan<float> dRecurrent = Options.Recurrence.SeparateRecurrent ? workspace.DRecurrent.AsSpan(0, rows * g) : dGates;
        ReadOnlySpan<float> hiddenPrev = LayerStates(workspace.Hidden, l, steps, batch)[..(rows * h)];
        (int j0, int j1) = Share(g, part, parts, ProductRowGranule);
        if (l == 0 && work.Tokens)
        {
            CellMath.AccumulateTokenWeightGradients(inputSize, h, g, workspace.Tokens.AsSpan(0, rows), dGates, dRecurrent, hiddenPrev,
                gradients.WeightIh(0), gradients.WeightHh(0), gradients.BiasIh(0), gradients.BiasHh(0), workspace.DBias, j0, j1);
        }
        else
        {
            ReadOnlySpan<float> x = l == 0 ? workspace.Input.AsSpan(0, rows * inputSize) : LayerStates(workspace.Hidden, l - 1, steps, batch)[bh..];
            CellMath.AccumulateWeightGradients(inputSize, h, g, rows, dGates, dRecurrent, x, hiddenPrev,
                gradients.WeightIh(l), gradients.WeightHh(l), gradients.BiasIh(l), gradients.BiasHh(l), workspace.DBias, j0, j1);
        }

        if (!work.ComputeInputGradient)
            return;
        (int r0, int r1) = Share(rows, part, parts, ProductRowGranule);
        if (r1 > r0)
        {
            CellMath.BackpropInput(Weights.WeightIh(l), inputSize, g, r1 - r0, dGates.Slice(r0 * g, (r1 - r0) * g),
                work.Lower.AsSpan(r0 * inputSize, (r1 - r0) * inputSize));
        }
    }

    // [L, T, B, G·H] with the pass's own T and B, so each layer's gates are contiguous rows.
    private Span<float> LayerGates(float[] gates, int layer, int steps, int batch)
    {
        int length = steps * batch * Options.GateSize;
        return gates.AsSpan(layer * length, length);
    }

    // [L, T+1, B, H]: index 0 of each layer holds the initial state.
    private Span<float> LayerStates(float[] states, int layer, int steps, int batch)
    {
        int length = (steps + 1) * batch * Options.HiddenSize;
        return states.AsSpan(layer * length, length);
    }

    // The input of a pass into the workspace, time-major [T, B, I]; shared with PackedRecurrentLayer.
    internal static void SaveInput(ReadOnlySpan<float> input, int steps, int batch, int inputSize, bool batchFirst, RecurrentWorkspace workspace)
    {
        Span<float> saved = workspace.Input.AsSpan(0, steps * batch * inputSize);
        if (batchFirst)
            SwapTimeAndBatch(input, batch, steps, inputSize, saved);
        else
            input.CopyTo(saved);
    }

    // The tokens of a pass into the workspace, time-major [T, B]; shared with PackedRecurrentLayer.
    internal static void SaveTokens(ReadOnlySpan<int> tokens, int steps, int batch, bool batchFirst, RecurrentWorkspace workspace)
    {
        Span<int> saved = workspace.Tokens.AsSpan(0, steps * batch);
        if (!batchFirst)
        {
            tokens.CopyTo(saved);
            return;
        }
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++)
                saved[t * batch + b] = tokens[b * steps + t];
    }

    // [outer, inner, width] → [inner, outer, width].
    internal static void SwapTimeAndBatch(ReadOnlySpan<float> source, int outer, int inner, int width, Span<float> destination)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
                source.Slice((o * inner + i) * width, width).CopyTo(destination.Slice((i * outer + o) * width, width));
    }

    private void ValidateStep(RecurrentState state, RecurrentWorkspace workspace, Span<float> output) =>
        ValidateStep(Options, state, workspace, output.Length);

    private void ValidateForward(int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output) =>
        ValidateForward(Options, steps, state, workspace, output.Length);

    private void ValidateWorkspace(RecurrentWorkspace workspace) => ValidateWorkspace(Options, workspace);

    private void ValidateTokens(ReadOnlySpan<int> tokens) => ValidateTokens(tokens, Options.InputSize);

    // The argument checks of a step, shared with PackedRecurrentLayer.
    internal static void ValidateStep(RecurrentOptions options, RecurrentState state, RecurrentWorkspace workspace, int outputLength)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(workspace);
        ValidateState(options, state);
        ValidateWorkspace(options, workspace);
        if (state.BatchSize > workspace.MaxBatch)
            throw new ArgumentException($"The state has batch size {state.BatchSize} but the workspace holds at most {workspace.MaxBatch}.", nameof(workspace));
        Guard.Length(outputLength, state.BatchSize * options.HiddenSize, "output");
    }

    // The argument checks of a sequence pass, shared with PackedRecurrentLayer.
    internal static void ValidateForward(RecurrentOptions options, int steps, RecurrentState state, RecurrentWorkspace workspace, int outputLength)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(workspace);
        ValidateState(options, state);
        ValidateWorkspace(options, workspace);
        workspace.Pool?.ThrowIfDisposed();
        if (steps < 1 || steps > workspace.MaxSteps)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"Expected 1 to {workspace.MaxSteps} steps (the workspace's maximum).");
        if (state.BatchSize > workspace.MaxBatch)
            throw new ArgumentException($"The state has batch size {state.BatchSize} but the workspace holds at most {workspace.MaxBatch}.", nameof(workspace));
        Guard.Length(outputLength, steps * state.BatchSize * options.HiddenSize, "output");
    }

    private static void ValidateState(RecurrentOptions options, RecurrentState state)
    {
        if (state.Options != options)
            throw new ArgumentException($"Expected a state for {Describe(options)} but got one for {Describe(state.Options)}.", nameof(state));
    }

    private static void ValidateWorkspace(RecurrentOptions options, RecurrentWorkspace workspace)
    {
        if (workspace.Options != options)
            throw new ArgumentException($"Expected a workspace for {Describe(options)} but got one for {Describe(workspace.Options)}.", nameof(workspace));
    }

    internal static void ValidateTokens(ReadOnlySpan<int> tokens, int vocabulary)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)vocabulary)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"Token at index {i} is {tokens[i]}; expected a value in [0, {vocabulary}).");
        }
    }

    internal static string Describe(RecurrentOptions o) =>
        $"{o.Cell}(inputSize: {o.InputSize}, hiddenSize: {o.HiddenSize}, numLayers: {o.NumLayers}, bias: {o.Bias}{(o.Cell == CellKind.Rnn ? ", " + o.Activation : "")})";

    private static RecurrentParameters CreateWeights(RecurrentOptions options, int seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        var weights = new RecurrentParameters(options, new ParameterBuffer(RecurrentParameters.Layout(options)));
        weights.InitializeUniform(seed);
        return weights;
    }
}

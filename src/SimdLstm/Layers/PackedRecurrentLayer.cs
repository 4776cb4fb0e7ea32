using System;

namespace SimdLstm;

/// <summary>
/// A frozen copy of a <see cref="RecurrentLayer"/>'s weights, repacked for inference: streaming steps and sequence forward
/// passes with the same results as the layer's (up to float rounding order), at the speed of streaming the weights once.
/// </summary>
/// <remarks>
/// <para><b>Why a separate object.</b> A batch-1 step is bound by reading the weights: 2·G·H·(I + H) FLOPs over
/// 4·G·H·(I + H) bytes. The layer keeps PyTorch's layout, which a step reads row by row; this copy holds each weight
/// matrix in panels of 64 gate rows whose columns are contiguous, so a step streams them once, sequentially, through a
/// register-blocked kernel with no horizontal reductions, and runs the cell's pointwise step on each block's units as
/// soon as their gates are complete. A sequence pass also keeps <c>weight_ih</c> in the packed form of the matrix product,
/// so the input projection of all steps is one product (the copy therefore holds W_ih twice). A sequence pass over a batch
/// of streams runs its recurrence as one matrix product per step over the streams still running (W_hh is held a third
/// way for it), so the weights are read once per step for all of them; a single stream steps through the panels.</para>
/// <para><b>Two or more cores.</b> With a workspace made with a <see cref="ComputePool"/>
/// (<see cref="CreateWorkspace(int, int, ComputePool)"/>), each step's blocks are shared among the pool's threads, so each
/// core streams its share of the weights (from its own L2 cache when the share fits) and the results are bitwise those of
/// one thread. Products under 64 K multiply-adds (an LSTM step below H = 128 with I = H, a sequence step below H = 128)
/// stay on the calling thread, where the hand-off and the halved pointwise work saved no time in measurements here.</para>
/// <para><b>Snapshot semantics.</b> The copy is taken when it is created. Later changes to the source weights (an
/// optimiser step, a loaded checkpoint) are not seen until <see cref="Refresh"/> is called, which repacks in place
/// without allocating. This is deliberate: a training loop keeps using <see cref="RecurrentLayer"/>, which always reads the
/// current weights, and publishes a refreshed inference copy when it chooses.</para>
/// <para><b>Threads.</b> Steps only read this object, so many threads may share it, each with its own
/// <see cref="RecurrentState"/> and <see cref="InferenceWorkspace"/>. <see cref="Refresh"/> must not run while any thread
/// steps.</para>
/// <para><b>Precision.</b> The gate matrices may be kept in float32 (the default), bfloat16 or int8
/// (<see cref="PackedPrecision"/>, <see cref="RecurrentLayer.Pack(PackedPrecision)"/>): a batch-1 step reads every weight
/// once, so fewer bytes per weight make it faster once the float32 weights no longer fit the caches. Each format is one
/// implementation of the gate-panel seam (its packing, its product for one block of 64 rows, and for int8 the
/// quantisation of the product's input), and everything else — the block loop, the split among a pool's threads, the
/// fused pointwise step, sequences, directions, lengths, projections — is shared. Biases, projections, the cell state and
/// every pointwise step stay float32. bfloat16 and int8 copies run a sequence pass's input projection through the panels
/// row by row and a batch's recurrence stream by stream (they have no matrix-product path), so their sequence passes are
/// bitwise repeated steps; for large batches a float32 copy, whose per-step product reads the weights once for all
/// streams, can be faster. <see cref="CopyEffectiveWeights"/> gives the weights a format multiplies by, and
/// <see cref="WeightBytes"/> the bytes a step reads.</para>
/// <para><b>Accuracy.</b> In a step, each gate pre-activation is accumulated in float in the order bias (bias_ih + bias_hh,
/// added once when packing), W_ih·x, W_hh·h, one multiply-add per term in the fixed column order of the gate-panel
/// kernel; a step's result is bitwise the same on every vector width and alignment. A cell that keeps its recurrent
/// product apart (GRU) gets two sums instead, bias_ih then W_ih·x, and bias_hh then W_hh·h, each block's weights still
/// streamed once. A sequence pass computes W_ih·x of
/// all steps with the matrix product instead, whose summation order is its own, so it agrees with repeated steps only up
/// to float rounding. Both differ from <see cref="RecurrentLayer"/>'s results (which sum in another order) only by float
/// rounding. A bfloat16 copy computes the same sums over its rounded weights (each within 2⁻⁸ relative of the layer's),
/// in its own documented order; an int8 copy sums each product exactly in integers over its quantised weights and its
/// int16-quantised input, then scales once per row (the error analysis is at <see cref="PackedPrecision.Int8"/> and in
/// the README's precision table, with measured differences from the float32 copy).</para>
/// </remarks>
public sealed class PackedRecurrentLayer
{
    // Per unit u = layer·D + direction:
    private readonly PanelWeights[] _ih;   // weight_ih in gate panels of the copy's format
    private readonly PanelWeights[] _hh;   // weight_hh in gate panels of the copy's format
    private readonly float[][] _gemmIh;    // weight_ih packed for Kernels.GemmPackedB (op(B) = W_ihᵀ); float32 copies only
    private readonly float[][] _bias;      // bias_ih + bias_hh [G·H] (bias_ih alone where the cell keeps its recurrent projection apart; zeros without bias)
    private readonly float[][] _biasHh;    // bias_hh [G·H] where the cell keeps its recurrent projection apart (zeros without bias), else empty
    private readonly float[][] _weightHr;  // weight_hr [P, H] as stored (projected LSTMs), else empty
    private readonly float[][] _gemmHh;    // weight_hh packed for Kernels.GemmPackedB (op(B) = W_hhᵀ): a batch's per-step product; float32 copies only

    /// <summary>Packs a float32 copy of <paramref name="weights"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A packed matrix would not fit in one array.</exception>
    public PackedRecurrentLayer(RecurrentParameters weights)
        : this(weights, PackedPrecision.Float32)
    {
    }

    /// <summary>Packs a copy of <paramref name="weights"/> whose gate matrices are kept in <paramref name="precision"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A packed matrix would not fit in one array, or the precision is unknown.</exception>
    public PackedRecurrentLayer(RecurrentParameters weights, PackedPrecision precision)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (precision is not (PackedPrecision.Float32 or PackedPrecision.BFloat16 or PackedPrecision.Int8))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Expected Float32, BFloat16 or Int8.");
        Options = weights.Options;
        Precision = precision;
        int units = Options.StateLayers, g = Options.GateSize, h = Options.HiddenSize, hs = Options.HiddenStateSize, gates = GateCount;
        bool float32 = precision == PackedPrecision.Float32;
        _ih = new PanelWeights[units];
        _hh = new PanelWeights[units];
        _gemmIh = new float[units][];
        _bias = new float[units][];
        _biasHh = new float[units][];
        _weightHr = new float[units][];
        _gemmHh = new float[units][];
        for (int u = 0; u < units; u++)
        {
            int inputSize = Options.LayerInputSize(u / Options.NumDirections);
            _ih[u] = CreatePanels(precision, gates, h, inputSize);
            _hh[u] = CreatePanels(precision, gates, h, hs);
            _gemmIh[u] = float32 ? new float[Kernels.PackedBLength(inputSize, g)] : [];
            _bias[u] = new float[g];
            _biasHh[u] = Options.Recurrence.SeparateRecurrent ? new float[g] : [];
            _weightHr[u] = Options.ProjectionSize > 0 ? new float[Options.ProjectionSize * h] : [];
            _gemmHh[u] = float32 ? new float[CellMath.RecurrentPackedLength(hs, g)] : [];
        }
        Refresh(weights);
    }

    private static PanelWeights CreatePanels(PackedPrecision precision, int gates, int hiddenSize, int cols) => precision switch
    {
        PackedPrecision.BFloat16 => new BFloat16PanelWeights(gates, hiddenSize, cols),
        PackedPrecision.Int8 => new Int8PanelWeights(gates, hiddenSize, cols),
        _ => new Float32PanelWeights(gates, hiddenSize, cols),
    };

    /// <summary>The number format the gate matrices are kept and multiplied in.</summary>
    public PackedPrecision Precision { get; }

    /// <summary>
    /// Bytes of weights one batch-1 step of every layer reads: the gate panels (with int8's per-row scales), the biases
    /// and the projections. A step cannot take less time than these bytes over the memory bandwidth they come from.
    /// </summary>
    public long WeightBytes
    {
        get
        {
            long bytes = 0;
            for (int u = 0; u < _ih.Length; u++)
                bytes += _ih[u].Bytes + _hh[u].Bytes + sizeof(float) * ((long)_bias[u].Length + _biasHh[u].Length + _weightHr[u].Length);
            return bytes;
        }
    }

    // Values of prepared (converted) input a workspace holds for this copy's products.
    internal int PreparedLength(int layer, bool recurrent) =>
        recurrent ? _hh[0].PreparedLength : _ih[layer * Options.NumDirections].PreparedLength;

    /// <summary>
    /// Writes the weight_ih (<paramref name="recurrent"/> false) or weight_hh of one direction of one layer as this copy
    /// multiplies by them, in PyTorch's layout [G·H, K]: for bfloat16 the rounded weights, for int8 s_r·q[r, k]. A
    /// reference computation on these weights shows the format's own rounding apart from the quantisation.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The layer or direction is out of range.</exception>
    /// <exception cref="ArgumentException">The length of <paramref name="destination"/> is not G·H·K.</exception>
    public void CopyEffectiveWeights(int layer, int direction, bool recurrent, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Options.NumLayers);
        ArgumentOutOfRangeException.ThrowIfNegative(direction);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(direction, Options.NumDirections);
        PanelWeights panels = (recurrent ? _hh : _ih)[layer * Options.NumDirections + direction];
        Guard.Length(destination.Length, panels.GateCount * panels.HiddenSize * panels.Cols, nameof(destination));
        panels.Dequantize(destination);
    }

    /// <summary>The network's shape.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>
    /// Repacks from <paramref name="weights"/> (typically the source layer's, after training changed them), in place and
    /// without allocating. Not thread-safe against concurrent steps.
    /// </summary>
    /// <exception cref="ArgumentException">The weights are for a different network shape.</exception>
    public void Refresh(RecurrentParameters weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Options != Options)
            throw new ArgumentException($"Expected weights for {RecurrentLayer.Describe(Options)} but got weights for {RecurrentLayer.Describe(weights.Options)}.", nameof(weights));
        int g = Options.GateSize, hs = Options.HiddenStateSize;
        for (int u = 0; u < Options.StateLayers; u++)
        {
            int l = u / Options.NumDirections, d = u % Options.NumDirections;
            int inputSize = Options.LayerInputSize(l);
            _ih[u].Pack(weights.WeightIh(l, d));
            _hh[u].Pack(weights.WeightHh(l, d));
            if (Precision == PackedPrecision.Float32)
            {
                Kernels.PackGemmB(Transpose.Transposed, inputSize, g, weights.WeightIh(l, d), inputSize, _gemmIh[u]);
                CellMath.PackRecurrentForward(weights.WeightHh(l, d), hs, g, _gemmHh[u]);
            }
            weights.WeightHr(l, d).CopyTo(_weightHr[u]);
            Span<float> bias = _bias[u];
            if (!Options.Bias)
            {
                bias.Clear();
                _biasHh[u].AsSpan().Clear();
            }
            else if (Options.Recurrence.SeparateRecurrent)
            {
                weights.BiasIh(l, d).CopyTo(bias);
                weights.BiasHh(l, d).CopyTo(_biasHh[u]);
            }
            else
            {
                weights.BiasIh(l, d).CopyTo(bias);
                Kernels.Axpy(1f, weights.BiasHh(l, d), bias);
            }
        }
    }

    private int GateCount => Options.GateCount;

    /// <summary>A zero state for <paramref name="batchSize"/> streams.</summary>
    public RecurrentState CreateState(int batchSize = 1) => new(Options, batchSize);

    /// <summary>A workspace for passes of at most <paramref name="maxSteps"/> steps over at most <paramref name="maxBatch"/> streams.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1, or the buffers would not fit in arrays.</exception>
    public InferenceWorkspace CreateWorkspace(int maxSteps = 1, int maxBatch = 1) => new(this, maxSteps, maxBatch, null);

    /// <summary>
    /// As <see cref="CreateWorkspace(int, int)"/>, with steps and sequence passes shared among the threads of
    /// <paramref name="pool"/> (null: the calling thread alone): each step's weight stream is cut into blocks of output
    /// rows, one range per thread, so with two cores each streams half the weights (from its own L2 cache when the half
    /// fits). Results are bitwise the same whatever the thread count.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1, or the buffers would not fit in arrays.</exception>
    public InferenceWorkspace CreateWorkspace(int maxSteps, int maxBatch, ComputePool? pool) => new(this, maxSteps, maxBatch, pool);

    /// <summary>
    /// Runs one time step of every stream in <paramref name="state"/> and updates the state in place, as
    /// <see cref="RecurrentLayer.Step(ReadOnlySpan{float}, RecurrentState, RecurrentWorkspace, Span{float})"/>. Streams are
    /// stepped one after another, each streaming the weights once: this is the batch-1 fast path; for large batches the
    /// layer's matrix-product path reads the weights once for all streams. A bidirectional network cannot step.
    /// </summary>
    /// <param name="input">x_t of each stream, [B, I].</param>
    /// <param name="state">h and c of the streams, read and updated.</param>
    /// <param name="workspace">Scratch for at least B streams; a saved forward pass in it is discarded.</param>
    /// <param name="output">Receives h_t of the top layer, [B, H'].</param>
    /// <exception cref="ArgumentException">A length or shape does not match; nothing has been written.</exception>
    /// <exception cref="InvalidOperationException">The network is bidirectional; nothing has been written.</exception>
    public void Step(ReadOnlySpan<float> input, RecurrentState state, InferenceWorkspace workspace, Span<float> output)
    {
        ValidateStep(state, workspace, output);
        Guard.Length(input.Length, state.BatchSize * Options.InputSize, nameof(input));
        StepCore(input, ReadOnlySpan<int>.Empty, state, workspace, output);
    }

    /// <summary>
    /// One time step with token inputs (stream b's input is the one-hot vector of <paramref name="tokens"/>[b]), as
    /// <see cref="RecurrentLayer.Step(ReadOnlySpan{int}, RecurrentState, RecurrentWorkspace, Span{float})"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A length does not match; nothing has been written.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside [0, I); nothing has been written.</exception>
    /// <exception cref="InvalidOperationException">The network is bidirectional; nothing has been written.</exception>
    public void Step(ReadOnlySpan<int> tokens, RecurrentState state, InferenceWorkspace workspace, Span<float> output)
    {
        ValidateStep(state, workspace, output);
        Guard.Length(tokens.Length, state.BatchSize, nameof(tokens));
        ValidateTokens(tokens);
        StepCore(ReadOnlySpan<float>.Empty, tokens, state, workspace, output);
    }

    /// <summary>
    /// Runs a sequence pass for inference and leaves each stream's final h and c in <paramref name="state"/>, as
    /// <see cref="RecurrentLayer.Forward(SequenceInput, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/> without
    /// dropout and without saving anything for a backward pass. Each direction of each layer projects the inputs of all
    /// rows with one matrix product, then streams only W_hh per step; with lengths, each stream runs its own steps only.
    /// </summary>
    /// <param name="input">The inputs: dense or tokens, time-major or batch-first, optional per-stream lengths.</param>
    /// <param name="state">The initial state on entry; the final state on return.</param>
    /// <param name="workspace">Scratch; a saved forward pass in it is discarded.</param>
    /// <param name="output">Receives every step's output of the top layer, [T, B, D·H'] (or [B, T, D·H']), zero past a stream's length.</param>
    /// <exception cref="ArgumentException">A length, shape, token or stream length is out of range; nothing has been written.</exception>
    public void Forward(SequenceInput input, RecurrentState state, InferenceWorkspace workspace, Span<float> output)
    {
        RecurrentLayer.ValidateSequence(Options, input, state, workspace, output.Length);
        ValidatePrecision(workspace);
        RecurrentLayer.SaveSequence(Options, input, state.BatchSize, workspace);
        ForwardCore(input.IsTokens, input.BatchFirst, state, workspace, output);
    }

    /// <summary>As <see cref="Forward(SequenceInput, RecurrentState, InferenceWorkspace, Span{float})"/> with dense inputs [T, B, I] (or [B, T, I]), every stream T long.</summary>
    /// <exception cref="ArgumentException">A length or shape does not match; nothing has been written.</exception>
    public void Forward(ReadOnlySpan<float> input, int steps, RecurrentState state, InferenceWorkspace workspace, Span<float> output, bool batchFirst = false) =>
        Forward(SequenceInput.Dense(input, steps, batchFirst), state, workspace, output);

    /// <summary>As <see cref="Forward(SequenceInput, RecurrentState, InferenceWorkspace, Span{float})"/> with token inputs, [T, B] (or [B, T]).</summary>
    /// <exception cref="ArgumentException">A length does not match; nothing has been written.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside [0, I); nothing has been written.</exception>
    public void Forward(ReadOnlySpan<int> tokens, int steps, RecurrentState state, InferenceWorkspace workspace, Span<float> output, bool batchFirst = false) =>
        Forward(SequenceInput.FromTokens(tokens, steps, batchFirst), state, workspace, output);

    private void StepCore(ReadOnlySpan<float> input, ReadOnlySpan<int> tokens, RecurrentState state, InferenceWorkspace workspace, Span<float> output)
    {
        workspace.Pool?.ThrowIfDisposed();
        int batch = state.BatchSize, hs = Options.HiddenStateSize, g = Options.GateSize;
        float[] gatesArray = workspace.Gates, hiddenArray = state.HiddenArray, inputArray = workspace.Input;
        input.CopyTo(inputArray); // a pool's work reads arrays, not the caller's span
        for (int l = 0; l < Options.NumLayers; l++)
        {
            int inputSize = Options.LayerInputSize(l);
            for (int b = 0; b < batch; b++)
            {
                int hiddenAt = state.HiddenOffset(l) + b * hs, cellAt = state.CellOffset(l) + b * Options.HiddenSize;
                _bias[l].CopyTo(gatesArray, 0);
                if (l == 0 && !tokens.IsEmpty)
                {
                    _ih[0].AddColumn(tokens[b], gatesArray.AsSpan(0, g));
                    StepStream(workspace, l, null, [], 0, hiddenArray, hiddenAt, state.CellArray, cellAt, 0);
                }
                else if (l == 0)
                {
                    StepStream(workspace, l, _ih[l], inputArray, b * inputSize, hiddenArray, hiddenAt, state.CellArray, cellAt, 0);
                }
                else
                {
                    StepStream(workspace, l, _ih[l], hiddenArray, state.HiddenOffset(l - 1) + b * hs, hiddenArray, hiddenAt, state.CellArray, cellAt, 0);
                }
            }
        }
        state.HiddenOf(Options.NumLayers - 1).CopyTo(output);
    }

    private void ForwardCore(bool tokens, bool batchFirst, RecurrentState state, InferenceWorkspace workspace, Span<float> output)
    {
        workspace.Pool?.ThrowIfDisposed();
        SequenceLayout layout = workspace.Layout;
        int batch = layout.Batch, rows = layout.Rows, g = Options.GateSize;
        int width = Options.OutputSize, directions = Options.NumDirections;
        bool float32 = Precision == PackedPrecision.Float32;
        float[] gatesArray = workspace.Gates;
        Span<float> allGates = gatesArray.AsSpan(0, rows * g);
        // Each layer's output rows [R, D·H'] are the next layer's input: two scratch buffers of the workspace alternate.
        float[] lower = workspace.Lower, upper = workspace.Upper;
        for (int l = 0; l < Options.NumLayers; l++)
        {
            int inputSize = Options.LayerInputSize(l);
            for (int d = 0; d < directions; d++)
            {
                int u = l * directions + d;
                for (int r = 0; r < rows; r++)
                    _bias[u].CopyTo(allGates.Slice(r * g, g));
                float[] x = l == 0 ? workspace.Input : lower;
                if (l == 0 && tokens)
                {
                    ReadOnlySpan<int> saved = workspace.Tokens.AsSpan(0, rows);
                    for (int r = 0; r < rows; r++)
                        _ih[u].AddColumn(saved[r], allGates.Slice(r * g, g));
                }
                else if (float32)
                {
                    // One matrix product projects the inputs of all rows.
                    PackedGemmRowsWork projection = workspace.ProjectionWork;
                    projection.Set(rows, g, inputSize, x, 0, _gemmIh[u], gatesArray, 0);
                    RunSplit(workspace, projection, (long)rows * g * inputSize, rows);
                    projection.Clear();
                }
                else
                {
                    ProjectRows(workspace, _ih[u], rows, x);
                }

                if (batch == 1)
                    StreamSteps(workspace, state, u, d, upper);
                else if (float32)
                    BatchSteps(workspace, state, u, d, upper);
                else
                    BatchStreamSteps(workspace, state, u, d, upper);
            }
            (lower, upper) = (upper, lower);
        }

        RecurrentLayer.ScatterRows(layout, lower.AsSpan(0, rows * width), width, batchFirst, output);
    }

    // The input projection of every row through the format's panels (no matrix-product path for it): each row's input
    // prepared once, then each thread takes a range of blocks for all rows. Each row's gates are bitwise a step's.
    private static void ProjectRows(InferenceWorkspace workspace, PanelWeights panels, int rows, float[] x)
    {
        int k = panels.Cols, prepared = panels.PreparedLength;
        if (prepared > 0)
        {
            for (int r = 0; r < rows; r++)
                workspace.RowScales[r] = panels.Prepare(x.AsSpan(r * k, k), workspace.PreparedRows.AsSpan(r * prepared, prepared));
        }
        PanelRowsWork work = workspace.RowsWork;
        work.Set(panels, rows, x, workspace.PreparedRows, workspace.RowScales, workspace.Gates);
        RunSplit(workspace, work, (long)rows * panels.GateCount * panels.HiddenSize * k, panels.Blocks);
        work.Clear();
    }

    // One stream over its own steps in the direction's order, the state holding its running h and c; each step streams
    // the unit's weights once through the gate panels (the batch-1 path).
    private void StreamSteps(InferenceWorkspace workspace, RecurrentState state, int unit, int direction, float[] output)
    {
        SequenceLayout layout = workspace.Layout;
        int hs = Options.HiddenStateSize, g = Options.GateSize, width = Options.OutputSize, length = layout.Length[0];
        int hiddenAt = state.HiddenOffset(unit), cellAt = state.CellOffset(unit);
        float[] hiddenArray = state.HiddenArray;
        for (int k = 0; k < length; k++)
        {
            int t = direction == 0 ? k : length - 1 - k;
            int row = layout.RowStart[t];
            StepStream(workspace, unit, null, [], 0, hiddenArray, hiddenAt, state.CellArray, cellAt, row * g);
            hiddenArray.AsSpan(hiddenAt, hs).CopyTo(output.AsSpan(row * width + direction * hs, hs));
        }
    }

    // All streams together, step by step in the direction's order: one matrix product per step reads W_hh once for the
    // streams still running (the first n_t slots), then the cell's pointwise step on them. The running h and c are kept
    // in slot order in the workspace; a slot not yet started (reverse direction) holds its initial state, a finished one
    // its final state.
    private void BatchSteps(InferenceWorkspace workspace, RecurrentState state, int unit, int direction, float[] output)
    {
        SequenceLayout layout = workspace.Layout;
        int steps = layout.Steps, h = Options.HiddenSize, hs = Options.HiddenStateSize, g = Options.GateSize;
        int width = Options.OutputSize;
        RecurrentCell recurrence = Options.Recurrence;
        bool separate = recurrence.SeparateRecurrent, projected = Options.ProjectionSize > 0;
        LoadCarry(workspace, state, unit, direction);
        Span<float> hidden = workspace.CarryHidden.AsSpan(0, layout.Batch * hs);
        Span<float> cell = recurrence.HasCellState ? workspace.CarryCell.AsSpan(0, layout.Batch * h) : Span<float>.Empty;
        Span<float> raw = projected ? workspace.Raw.AsSpan(0, layout.Batch * h) : Span<float>.Empty;
        ReadOnlySpan<float> packedHh = _gemmHh[unit];
        Span<float> allGates = workspace.Gates;
        for (int k = 0; k < steps; k++)
        {
            int t = direction == 0 ? k : steps - 1 - k;
            int n = layout.Active[t], at = layout.RowStart[t];
            Span<float> gatesT = allGates.Slice(at * g, n * g);
            Span<float> recurrentT = separate ? workspace.Recurrent.AsSpan(0, n * g) : Span<float>.Empty;
            Span<float> hT = hidden[..(n * hs)];
            if (separate)
                CellMath.FillRecurrentBias(_biasHh[unit], g, n, recurrentT);
            CellMath.AddRecurrentPacked(packedHh, hs, g, n, hT, separate ? recurrentT : gatesT);
            Span<float> cT = cell.IsEmpty ? cell : cell[..(n * h)];
            if (projected)
            {
                recurrence.Forward(h, n, gatesT, recurrentT, hT, cT, cT, raw[..(n * h)]);
                CellMath.Project(_weightHr[unit], h, hs, n, singleRow: false, raw[..(n * h)], hT);
            }
            else
            {
                recurrence.Forward(h, n, gatesT, recurrentT, hT, cT, cT, hT);
            }
            for (int s = 0; s < n; s++)
                hT.Slice(s * hs, hs).CopyTo(output.AsSpan((at + s) * width + direction * hs, hs));
        }
        StoreCarry(workspace, state, unit, direction);
    }

    // All streams step by step as BatchSteps, for a format without a matrix-product path: each running stream's step
    // streams the unit's W_hh panels (so a step's result is bitwise a streaming step's).
    private void BatchStreamSteps(InferenceWorkspace workspace, RecurrentState state, int unit, int direction, float[] output)
    {
        SequenceLayout layout = workspace.Layout;
        int steps = layout.Steps, h = Options.HiddenSize, hs = Options.HiddenStateSize, g = Options.GateSize, width = Options.OutputSize;
        LoadCarry(workspace, state, unit, direction);
        for (int k = 0; k < steps; k++)
        {
            int t = direction == 0 ? k : steps - 1 - k;
            int n = layout.Active[t], at = layout.RowStart[t];
            for (int s = 0; s < n; s++)
            {
                StepStream(workspace, unit, null, [], 0, workspace.CarryHidden, s * hs, workspace.CarryCell, s * h, (at + s) * g);
                workspace.CarryHidden.AsSpan(s * hs, hs).CopyTo(output.AsSpan((at + s) * width + direction * hs, hs));
            }
        }
        StoreCarry(workspace, state, unit, direction);
    }

    // The initial h and c of every stream of the unit into the workspace's carry, in slot order.
    private void LoadCarry(InferenceWorkspace workspace, RecurrentState state, int unit, int direction)
    {
        SequenceLayout layout = workspace.Layout;
        int batch = layout.Batch, h = Options.HiddenSize, hs = Options.HiddenStateSize, layer = unit / Options.NumDirections;
        Span<float> hidden = workspace.CarryHidden.AsSpan(0, batch * hs);
        Span<float> cell = Options.HasCellState ? workspace.CarryCell.AsSpan(0, batch * h) : Span<float>.Empty;
        Span<float> h0 = state.HiddenOf(layer, direction), c0 = state.CellOf(layer, direction);
        for (int s = 0; s < batch; s++)
        {
            int b = layout.Order[s];
            h0.Slice(b * hs, hs).CopyTo(hidden.Slice(s * hs, hs));
            if (!cell.IsEmpty)
                c0.Slice(b * h, h).CopyTo(cell.Slice(s * h, h));
        }
    }

    // The final h and c of every stream back from the carry into the state.
    private void StoreCarry(InferenceWorkspace workspace, RecurrentState state, int unit, int direction)
    {
        SequenceLayout layout = workspace.Layout;
        int batch = layout.Batch, h = Options.HiddenSize, hs = Options.HiddenStateSize, layer = unit / Options.NumDirections;
        Span<float> h0 = state.HiddenOf(layer, direction), c0 = state.CellOf(layer, direction);
        for (int s = 0; s < batch; s++)
        {
            int b = layout.Order[s];
            workspace.CarryHidden.AsSpan(s * hs, hs).CopyTo(h0.Slice(b * hs, hs));
            if (Options.HasCellState)
                workspace.CarryCell.AsSpan(s * h, h).CopyTo(c0.Slice(b * h, h));
        }
    }

    // One step of one stream in one unit: workspace.Gates[gatesAt ..] (bias and input projection so far) += A·xa +
    // W_hh·h, then the cell's pointwise step: c in place, the new h through the workspace's scratch into hidden[hiddenAt ..]
    // (via the projection, for a projected LSTM). A format that converts its inputs (int8) converts xa and h here, once,
    // before the blocks are shared. With a pool and a product large enough to repay the hand-off, each thread takes a
    // range of panel blocks and runs the pointwise step on its own units while their gates are hot.
    private void StepStream(InferenceWorkspace workspace, int unit, PanelWeights? a, float[] xa, int offsetXA,
        float[] hidden, int hiddenAt, float[] cell, int cellAt, int gatesAt)
    {
        int h = Options.HiddenSize, hs = Options.HiddenStateSize;
        RecurrentCell recurrence = Options.Recurrence;
        if (recurrence.SeparateRecurrent)
            _biasHh[unit].CopyTo(workspace.Recurrent, 0);
        PanelWeights b = _hh[unit];
        float scaleA = 1f, scaleB = 1f;
        if (a is not null && a.PreparedLength > 0)
            scaleA = a.Prepare(xa.AsSpan(offsetXA, a.Cols), workspace.PreparedA);
        if (b.PreparedLength > 0)
            scaleB = b.Prepare(hidden.AsSpan(hiddenAt, hs), workspace.PreparedB);
        GatePanelWork work = workspace.PanelWork;
        work.Set(a, xa, offsetXA, workspace.PreparedA, scaleA, b, hidden, hiddenAt, workspace.PreparedB, scaleB, workspace.Gates, gatesAt);
        work.SetPointwise(recurrence, cell, cellAt, workspace.NextHidden, 0, workspace.Recurrent, 0);
        RunSplit(workspace, work, (long)Options.GateSize * ((a?.Cols ?? 0) + hs), b.Blocks);
        work.Clear();
        if (Options.ProjectionSize > 0)
            CellMath.Project(_weightHr[unit], h, hs, 1, singleRow: true, workspace.NextHidden.AsSpan(0, h), hidden.AsSpan(hiddenAt, hs));
        else
            workspace.NextHidden.AsSpan(0, h).CopyTo(hidden.AsSpan(hiddenAt, h));
    }

    // Runs the work on the workspace's pool in up to `shares` shares, or on this thread alone when there is no pool or the
    // product is too small to repay the hand-off.
    private static void RunSplit(InferenceWorkspace workspace, IComputeWork work, long multiplyAdds, int shares)
    {
        ComputePool? pool = workspace.Pool;
        int parts = pool is null || multiplyAdds < MinimumSplitWork ? 1 : pool.SharesFor(shares);
        if (parts == 1)
            work.Run(0, 1);
        else
            pool!.Run(work, parts);
    }

    // Multiply-adds below which a product runs on the calling thread: handing work to a spinning worker and waiting for
    // it costs 0.5–1 µs with both cores free; at the LSTM H = 64 sizes (16–32 K multiply-adds, 2–4 µs a step) two threads
    // measured slower than one here, from 64 K up they were faster.
    private const long MinimumSplitWork = 64 * 1024;

    private void ValidateStep(RecurrentState state, InferenceWorkspace workspace, Span<float> output)
    {
        RecurrentLayer.ValidateStep(Options, state, workspace, output.Length);
        ValidatePrecision(workspace);
    }

    private void ValidatePrecision(InferenceWorkspace workspace)
    {
        if (workspace.Precision != Precision)
            throw new ArgumentException($"Expected a workspace made for a {Precision} copy but got one made for a {workspace.Precision} copy.", nameof(workspace));
    }

    private void ValidateTokens(ReadOnlySpan<int> tokens) => RecurrentLayer.ValidateTokens(tokens, Options.InputSize);
}

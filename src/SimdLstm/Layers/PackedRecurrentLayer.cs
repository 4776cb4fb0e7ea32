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
/// so the input projection of all steps is one product (the copy therefore holds W_ih twice).</para>
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
/// <see cref="RecurrentState"/> and <see cref="RecurrentWorkspace"/>. <see cref="Refresh"/> must not run while any thread
/// steps.</para>
/// <para><b>Accuracy.</b> In a step, each gate pre-activation is accumulated in float in the order bias (bias_ih + bias_hh,
/// added once when packing), W_ih·x, W_hh·h, one multiply-add per term in the fixed column order of the gate-panel
/// kernel; a step's result is bitwise the same on every vector width and alignment. A cell that keeps its recurrent
/// product apart (GRU) gets two sums instead, bias_ih then W_ih·x, and bias_hh then W_hh·h, each block's weights still
/// streamed once. A sequence pass computes W_ih·x of
/// all steps with the matrix product instead, whose summation order is its own, so it agrees with repeated steps only up
/// to float rounding. Both differ from <see cref="RecurrentLayer"/>'s results (which sum in another order) only by float
/// rounding.</para>
/// </remarks>
public sealed class PackedRecurrentLayer
{
    private readonly float[][] _panelIh;   // per layer: weight_ih in gate panels
    private readonly float[][] _panelHh;   // per layer: weight_hh in gate panels
    private readonly float[][] _gemmIh;    // per layer: weight_ih packed for Kernels.GemmPackedB (op(B) = W_ihᵀ)
    private readonly float[][] _bias;      // per layer: bias_ih + bias_hh [G·H] (bias_ih alone where the cell keeps its recurrent projection apart; zeros without bias)
    private readonly float[][] _biasHh;    // per layer: bias_hh [G·H] where the cell keeps its recurrent projection apart (zeros without bias), else empty

    /// <summary>Packs a copy of <paramref name="weights"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A packed matrix would not fit in one array.</exception>
    public PackedRecurrentLayer(RecurrentParameters weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Options = weights.Options;
        int layers = Options.NumLayers, g = Options.GateSize, h = Options.HiddenSize, gates = GateCount;
        _panelIh = new float[layers][];
        _panelHh = new float[layers][];
        _gemmIh = new float[layers][];
        _bias = new float[layers][];
        _biasHh = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            int inputSize = Options.LayerInputSize(l);
            _panelIh[l] = new float[Kernels.PackedGatePanelLength(gates, h, inputSize)];
            _panelHh[l] = new float[Kernels.PackedGatePanelLength(gates, h, h)];
            _gemmIh[l] = new float[Kernels.PackedBLength(inputSize, g)];
            _bias[l] = new float[g];
            _biasHh[l] = Options.Recurrence.SeparateRecurrent ? new float[g] : [];
        }
        Refresh(weights);
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
        int g = Options.GateSize, h = Options.HiddenSize, gates = GateCount;
        for (int l = 0; l < Options.NumLayers; l++)
        {
            int inputSize = Options.LayerInputSize(l);
            Kernels.PackGatePanels(weights.WeightIh(l), gates, h, inputSize, _panelIh[l]);
            Kernels.PackGatePanels(weights.WeightHh(l), gates, h, h, _panelHh[l]);
            Kernels.PackGemmB(Transpose.Transposed, inputSize, g, weights.WeightIh(l), inputSize, _gemmIh[l]);
            Span<float> bias = _bias[l];
            if (!Options.Bias)
            {
                bias.Clear();
                _biasHh[l].AsSpan().Clear();
            }
            else if (Options.Recurrence.SeparateRecurrent)
            {
                weights.BiasIh(l).CopyTo(bias);
                weights.BiasHh(l).CopyTo(_biasHh[l]);
            }
            else
            {
                weights.BiasIh(l).CopyTo(bias);
                Kernels.Axpy(1f, weights.BiasHh(l), bias);
            }
        }
    }

    private int GateCount => Options.GateCount;

    /// <summary>A zero state for <paramref name="batchSize"/> streams.</summary>
    public RecurrentState CreateState(int batchSize = 1) => new(Options, batchSize);

    /// <summary>A workspace for passes of at most <paramref name="maxSteps"/> steps over at most <paramref name="maxBatch"/> streams.</summary>
    public RecurrentWorkspace CreateWorkspace(int maxSteps = 1, int maxBatch = 1) => new(Options, maxSteps, maxBatch);

    /// <summary>
    /// As <see cref="CreateWorkspace(int, int)"/>, with steps and sequence passes shared among the threads of
    /// <paramref name="pool"/> (null: the calling thread alone): each step's weight stream is cut into blocks of output
    /// rows, one range per thread, so with two cores each streams half the weights (from its own L2 cache when the half
    /// fits). Results are bitwise the same whatever the thread count.
    /// </summary>
    public RecurrentWorkspace CreateWorkspace(int maxSteps, int maxBatch, ComputePool? pool) => new(Options, maxSteps, maxBatch, pool);

    /// <summary>
    /// Runs one time step of every stream in <paramref name="state"/> and updates the state in place, as
    /// <see cref="RecurrentLayer.Step(ReadOnlySpan{float}, RecurrentState, RecurrentWorkspace, Span{float})"/>. Streams are
    /// stepped one after another, each streaming the weights once: this is the batch-1 fast path; for large batches the
    /// layer's matrix-product path reads the weights once for all streams.
    /// </summary>
    /// <param name="input">x_t of each stream, [B, I].</param>
    /// <param name="state">h and c of the streams, read and updated.</param>
    /// <param name="workspace">Scratch for at least B streams; a saved forward pass in it is discarded.</param>
    /// <param name="output">Receives h_t of the top layer, [B, H].</param>
    /// <exception cref="ArgumentException">A length or shape does not match; nothing has been written.</exception>
    public void Step(ReadOnlySpan<float> input, RecurrentState state, RecurrentWorkspace workspace, Span<float> output)
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
    public void Step(ReadOnlySpan<int> tokens, RecurrentState state, RecurrentWorkspace workspace, Span<float> output)
    {
        ValidateStep(state, workspace, output);
        Guard.Length(tokens.Length, state.BatchSize, nameof(tokens));
        ValidateTokens(tokens);
        StepCore(ReadOnlySpan<float>.Empty, tokens, state, workspace, output);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> steps of every stream for inference and leaves the final h and c in
    /// <paramref name="state"/>, as <see cref="RecurrentLayer.Forward(ReadOnlySpan{float}, int, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/>
    /// but without saving anything for a backward pass. Each layer projects the inputs of all steps with one matrix product,
    /// then streams only W_hh per step.
    /// </summary>
    /// <param name="input">The inputs, [T, B, I] (or [B, T, I] when <paramref name="batchFirst"/>).</param>
    /// <param name="steps">T, 1 ≤ T ≤ <see cref="RecurrentWorkspace.MaxSteps"/>.</param>
    /// <param name="state">The initial state on entry; the final state on return.</param>
    /// <param name="workspace">Scratch; a saved forward pass in it is discarded.</param>
    /// <param name="output">Receives h_t of the top layer for every step, [T, B, H] (or [B, T, H]).</param>
    /// <param name="batchFirst">Whether <paramref name="input"/> and <paramref name="output"/> are batch-first.</param>
    /// <exception cref="ArgumentException">A length or shape does not match; nothing has been written.</exception>
    public void Forward(ReadOnlySpan<float> input, int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output, bool batchFirst = false)
    {
        ValidateForward(steps, state, workspace, output);
        int batch = state.BatchSize, inputSize = Options.InputSize;
        Guard.Length(input.Length, steps * batch * inputSize, nameof(input));
        workspace.HasSaved = false;
        RecurrentLayer.SaveInput(input, steps, batch, inputSize, batchFirst, workspace);
        ForwardCore(steps, state, workspace, output, tokens: false, batchFirst);
    }

    /// <summary>As <see cref="Forward(ReadOnlySpan{float}, int, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/> with token inputs, [T, B] (or [B, T]).</summary>
    /// <exception cref="ArgumentException">A length does not match; nothing has been written.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside [0, I); nothing has been written.</exception>
    public void Forward(ReadOnlySpan<int> tokens, int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output, bool batchFirst = false)
    {
        ValidateForward(steps, state, workspace, output);
        int batch = state.BatchSize;
        Guard.Length(tokens.Length, steps * batch, nameof(tokens));
        ValidateTokens(tokens);
        workspace.HasSaved = false;
        RecurrentLayer.SaveTokens(tokens, steps, batch, batchFirst, workspace);
        ForwardCore(steps, state, workspace, output, tokens: true, batchFirst);
    }

    private void StepCore(ReadOnlySpan<float> input, ReadOnlySpan<int> tokens, RecurrentState state, RecurrentWorkspace workspace, Span<float> output)
    {
        workspace.HasSaved = false;
        workspace.Pool?.ThrowIfDisposed();
        int batch = state.BatchSize, h = Options.HiddenSize, g = Options.GateSize, gates = GateCount;
        float[] gatesArray = workspace.Gates, hiddenArray = state.HiddenArray, inputArray = workspace.Input;
        input.CopyTo(inputArray); // a pool's work reads arrays, not the caller's span
        for (int l = 0; l < Options.NumLayers; l++)
        {
            int inputSize = Options.LayerInputSize(l);
            for (int b = 0; b < batch; b++)
            {
                int hiddenAt = state.HiddenOffset(l) + b * h;
                _bias[l].CopyTo(gatesArray, 0);
                if (l == 0 && !tokens.IsEmpty)
                {
                    Kernels.GatePanelAddColumn(_panelIh[0], inputSize, tokens[b], gates, h, gatesArray.AsSpan(0, g));
                    StepStream(workspace, state, l, [], 0, [], 0, _panelHh[l], hiddenAt, 0);
                }
                else if (l == 0)
                {
                    StepStream(workspace, state, l, _panelIh[l], inputSize, inputArray, b * inputSize, _panelHh[l], hiddenAt, 0);
                }
                else
                {
                    StepStream(workspace, state, l, _panelIh[l], inputSize, hiddenArray, state.HiddenOffset(l - 1) + b * h, _panelHh[l], hiddenAt, 0);
                }
            }
        }
        state.HiddenOf(Options.NumLayers - 1).CopyTo(output);
    }

    private void ForwardCore(int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output, bool tokens, bool batchFirst)
    {
        workspace.Pool?.ThrowIfDisposed();
        int batch = state.BatchSize, h = Options.HiddenSize, g = Options.GateSize, gates = GateCount;
        int rows = steps * batch;
        float[] gatesArray = workspace.Gates, hiddenArray = state.HiddenArray, outputs = workspace.Hidden;
        Span<float> allGates = gatesArray.AsSpan(0, rows * g);
        // Layer l's outputs for all steps, [T, B, H], are the next layer's inputs: two halves of the workspace's hidden
        // buffer alternate (the workspace holds L·(T+1)·B·H floats, at least 2·T·B·H when L ≥ 2).
        int lowerAt = -1;
        for (int l = 0; l < Options.NumLayers; l++)
        {
            int inputSize = Options.LayerInputSize(l);
            for (int r = 0; r < rows; r++)
                _bias[l].CopyTo(allGates.Slice(r * g, g));
            if (l == 0 && tokens)
            {
                ReadOnlySpan<int> saved = workspace.Tokens.AsSpan(0, rows);
                for (int r = 0; r < rows; r++)
                    Kernels.GatePanelAddColumn(_panelIh[0], inputSize, saved[r], gates, h, allGates.Slice(r * g, g));
            }
            else
            {
                // One matrix product projects the inputs of all steps.
                PackedGemmRowsWork projection = workspace.ProjectionWork;
                projection.Set(rows, g, inputSize, l == 0 ? workspace.Input : outputs, l == 0 ? 0 : lowerAt, _gemmIh[l], gatesArray, 0);
                RunSplit(workspace, projection, rows * g * inputSize, rows);
                projection.Clear();
            }

            int upperAt = (l & 1) * rows * h;
            int layerAt = state.HiddenOffset(l);
            for (int t = 0; t < steps; t++)
            {
                for (int b = 0; b < batch; b++)
                {
                    StepStream(workspace, state, l, [], 0, [], 0, _panelHh[l], layerAt + b * h, (t * batch + b) * g);
                }
                hiddenArray.AsSpan(layerAt, batch * h).CopyTo(outputs.AsSpan(upperAt + t * batch * h, batch * h));
            }
            lowerAt = upperAt;
        }

        ReadOnlySpan<float> top = outputs.AsSpan(lowerAt, rows * h);
        if (batchFirst)
            RecurrentLayer.SwapTimeAndBatch(top, steps, batch, h, output);
        else
            top.CopyTo(output);
    }

    // One step of one stream in one layer: workspace.Gates[gatesAt ..] (bias and input projection so far) += A·xa +
    // W_hh·h, then the cell's pointwise step: c in place, the new h through the workspace's scratch into the state.
    // With a pool and a product large enough to repay the hand-off, each thread takes a range of panel blocks and runs
    // the pointwise step on its own units while their gates are hot.
    private void StepStream(RecurrentWorkspace workspace, RecurrentState state, int layer, float[] panelA, int colsA, float[] xa, int offsetXA,
        float[] panelHh, int hiddenAt, int gatesAt)
    {
        int gates = GateCount, h = Options.HiddenSize;
        float[] hiddenArray = state.HiddenArray, hiddenNext = workspace.CarryHidden;
        RecurrentCell recurrence = Options.Recurrence;
        if (recurrence.SeparateRecurrent)
            _biasHh[layer].CopyTo(workspace.Recurrent, 0);
        GatePanelWork work = workspace.PanelWork;
        work.Set(panelA, colsA, xa, offsetXA, panelHh, h, hiddenArray, hiddenAt, gates, h, workspace.Gates, gatesAt);
        work.SetPointwise(recurrence, state.CellArray, hiddenAt, hiddenNext, 0, workspace.Recurrent, 0);
        RunSplit(workspace, work, (long)Options.GateSize * (colsA + h), Kernels.PanelBlocks(gates, h));
        work.Clear();
        hiddenNext.AsSpan(0, h).CopyTo(hiddenArray.AsSpan(hiddenAt, h));
    }

    // Runs the work on the workspace's pool in up to `shares` shares, or on this thread alone when there is no pool or the
    // product is too small to repay the hand-off.
    private static void RunSplit(RecurrentWorkspace workspace, IComputeWork work, long multiplyAdds, int shares)
    {
        ComputePool? pool = workspace.Pool;
        if (pool is null || pool.ThreadCount == 1 || shares < 2 || multiplyAdds < MinimumSplitWork)
            work.Run(0, 1);
        else
            pool.Run(work, Math.Min(pool.ThreadCount, shares));
    }

    // Multiply-adds below which a product runs on the calling thread: handing work to a spinning worker and waiting for
    // it costs 0.5–1 µs with both cores free; at the LSTM H = 64 sizes (16–32 K multiply-adds, 2–4 µs a step) two threads
    // measured slower than one here, from 64 K up they were faster.
    private const long MinimumSplitWork = 64 * 1024;

    private void ValidateStep(RecurrentState state, RecurrentWorkspace workspace, Span<float> output) =>
        RecurrentLayer.ValidateStep(Options, state, workspace, output.Length);

    private void ValidateForward(int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output) =>
        RecurrentLayer.ValidateForward(Options, steps, state, workspace, output.Length);

    private void ValidateTokens(ReadOnlySpan<int> tokens) => RecurrentLayer.ValidateTokens(tokens, Options.InputSize);
}

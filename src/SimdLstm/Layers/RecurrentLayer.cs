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
/// <para>Layouts are time-major: inputs [T, B, I], outputs [T, B, D·H'] (batch-first [B, T, ·] on request), states
/// [L·D, B, H'] and [L·D, B, H] (D = 2 directions when bidirectional; H' = P with a projection, else H).
/// A sequence forward projects the inputs of all steps with one matrix product, then runs the recurrence step by step.
/// Backward runs the pointwise backward and dh_{t−1} = W_hhᵀ·dgates per step in reverse, then forms the weight gradients
/// with one matrix product each over all steps.</para>
/// </remarks>
public sealed partial class RecurrentLayer
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
    /// <param name="precision">The number format of the copy's gate matrices (<see cref="PackedPrecision"/>).</param>
    public PackedRecurrentLayer Pack(PackedPrecision precision = PackedPrecision.Float32) => new(Weights, precision);

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
    /// Runs a sequence pass over every stream in <paramref name="state"/>, saving in <paramref name="workspace"/> what
    /// <see cref="Backward"/> needs, and leaves the final h and c in <paramref name="state"/> (so the next chunk of the
    /// streams continues from them, as truncated BPTT does).
    /// </summary>
    /// <param name="input">The inputs: dense or tokens, time-major or batch-first, with optional per-stream lengths (see <see cref="SequenceInput"/>).</param>
    /// <param name="state">The initial state h0, c0 on entry ([L·D, B, ·], as PyTorch's); the final state on return, each
    /// stream's at its own last step (for a reverse direction, after step 0).</param>
    /// <param name="workspace">Receives the saved activations.</param>
    /// <param name="output">Receives every step's output of the top layer, [T, B, D·H'] (or [B, T, D·H']): the forward
    /// direction's h, then the reverse direction's; zero past a stream's length.</param>
    /// <param name="training">Whether this is a training pass: only then is <see cref="RecurrentOptions.Dropout"/> applied
    /// (to every layer's output but the last), with masks drawn from the workspace's seed (<see cref="RecurrentWorkspace.SeedDropout"/>).</param>
    /// <remarks>
    /// <para>Each layer runs as one pass per direction: the input projection of all rows with one matrix product, then
    /// the recurrence step by step, forward in time or reversed. With lengths, streams that have ended take no row,
    /// product or pointwise step.</para>
    /// <para>With a workspace made with a <see cref="ComputePool"/>, the pass is shared among the pool's threads: the input
    /// projection by rows, the recurrence by streams (each stream depends only on itself, so no thread waits for another
    /// between steps). Every element is computed by the same operations in the same order as on one thread, so the results
    /// are bitwise those of a pass without a pool, whatever the thread count.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">A length, a shape, a token or a stream length is out of range; nothing has been written.</exception>
    /// <exception cref="ObjectDisposedException">The workspace's pool has been disposed; nothing has been written.</exception>
    public void Forward(SequenceInput input, RecurrentState state, RecurrentWorkspace workspace, Span<float> output, bool training = false)
    {
        ValidateSequence(Options, input, state, workspace, output.Length);
        SaveSequence(Options, input, state.BatchSize, workspace);
        ForwardCore(input.IsTokens, input.BatchFirst, training, state, workspace, output);
    }

    /// <summary>
    /// As <see cref="Forward(SequenceInput, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/> with dense inputs
    /// [T, B, I] (or [B, T, I] when <paramref name="batchFirst"/>), every stream <paramref name="steps"/> long, no dropout.
    /// </summary>
    /// <exception cref="ArgumentException">A length or shape does not match; nothing has been written.</exception>
    /// <exception cref="ObjectDisposedException">The workspace's pool has been disposed; nothing has been written.</exception>
    public void Forward(ReadOnlySpan<float> input, int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output, bool batchFirst = false) =>
        Forward(SequenceInput.Dense(input, steps, batchFirst), state, workspace, output);

    /// <summary>
    /// As <see cref="Forward(SequenceInput, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/> with token inputs
    /// [T, B] (or [B, T]), each token in [0, I), every stream <paramref name="steps"/> long, no dropout.
    /// </summary>
    /// <exception cref="ArgumentException">A length does not match; nothing has been written.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside [0, I); nothing has been written.</exception>
    /// <exception cref="ObjectDisposedException">The workspace's pool has been disposed; nothing has been written.</exception>
    public void Forward(ReadOnlySpan<int> tokens, int steps, RecurrentState state, RecurrentWorkspace workspace, Span<float> output, bool batchFirst = false) =>
        Forward(SequenceInput.FromTokens(tokens, steps, batchFirst), state, workspace, output);

    /// <summary>
    /// Backpropagation through time over the pass last run by <see cref="Forward(ReadOnlySpan{float}, int, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/>
    /// with <paramref name="workspace"/>. dh and dc flow from step t+1 back to step t; the gradient stops at the start of
    /// the pass (truncated BPTT stops here between chunks).
    /// </summary>
    /// <param name="dOutput">dL/d(output), in the forward pass's layout: [T, B, D·H'] (or [B, T, D·H']); never read past a stream's length.</param>
    /// <param name="workspace">The workspace of the forward pass.</param>
    /// <param name="gradients">Parameter gradients, <b>accumulated</b> into (the caller zeroes them).</param>
    /// <param name="dInput">Receives dL/d(input), [T, B, I] (or [B, T, I]), zero past a stream's length; empty to skip. Must be empty for token inputs.</param>
    /// <param name="dFinalHidden">dL/dh_n of every layer and direction, [L·D, B, H']; empty for zero.</param>
    /// <param name="dFinalCell">dL/dc_n, [L·D, B, H] (LSTM); empty for zero.</param>
    /// <param name="dInitialHidden">Receives dL/dh_0, [L·D, B, H']; empty to skip.</param>
    /// <param name="dInitialCell">Receives dL/dc_0, [L·D, B, H] (LSTM); empty to skip.</param>
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
        int hiddenLength = Options.StateLayers * batch * Options.HiddenStateSize;
        int cellLength = Options.StateLayers * batch * Options.HiddenSize;
        bool hasCell = Options.HasCellState;
        Guard.Length(dOutput.Length, steps * batch * Options.OutputSize, nameof(dOutput));
        if (!dInput.IsEmpty)
        {
            if (workspace.SavedTokens)
                throw new ArgumentException("The forward pass took token inputs, which have no gradient; pass an empty dInput.", nameof(dInput));
            Guard.Length(dInput.Length, steps * batch * Options.InputSize, nameof(dInput));
        }
        if (!dFinalHidden.IsEmpty)
            Guard.Length(dFinalHidden.Length, hiddenLength, nameof(dFinalHidden));
        if (!dInitialHidden.IsEmpty)
            Guard.Length(dInitialHidden.Length, hiddenLength, nameof(dInitialHidden));
        if (!hasCell && !dFinalCell.IsEmpty)
            throw new ArgumentException($"A {Options.Cell} has no cell state; pass an empty dFinalCell.", nameof(dFinalCell));
        if (!hasCell && !dInitialCell.IsEmpty)
            throw new ArgumentException($"A {Options.Cell} has no cell state; pass an empty dInitialCell.", nameof(dInitialCell));
        if (!dFinalCell.IsEmpty)
            Guard.Length(dFinalCell.Length, cellLength, nameof(dFinalCell));
        if (!dInitialCell.IsEmpty)
            Guard.Length(dInitialCell.Length, cellLength, nameof(dInitialCell));
        // The outputs must not overlap each other nor any input: backward reads its inputs while it writes.
        NoOverlap(dInput, nameof(dInput), dOutput, dFinalHidden, dFinalCell, dInitialHidden, dInitialCell);
        NoOverlap(dInitialHidden, nameof(dInitialHidden), dOutput, dFinalHidden, dFinalCell, dInput, dInitialCell);
        NoOverlap(dInitialCell, nameof(dInitialCell), dOutput, dFinalHidden, dFinalCell, dInput, dInitialHidden);
        NoOverlapWithBuffer(dInput, nameof(dInput), gradients.Buffer, Weights.Buffer);
        NoOverlapWithBuffer(dInitialHidden, nameof(dInitialHidden), gradients.Buffer, Weights.Buffer);
        NoOverlapWithBuffer(dInitialCell, nameof(dInitialCell), gradients.Buffer, Weights.Buffer);

        BackwardCore(dOutput, workspace, gradients, dInput, dFinalHidden, dFinalCell, dInitialHidden, dInitialCell);
    }

    private static void NoOverlap(ReadOnlySpan<float> output, string name, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c,
        ReadOnlySpan<float> d, ReadOnlySpan<float> e)
    {
        if (output.IsEmpty)
            return;
        if (output.Overlaps(a) || output.Overlaps(b) || output.Overlaps(c) || output.Overlaps(d) || output.Overlaps(e))
            throw new ArgumentException($"{name} overlaps another argument of Backward; every output needs memory of its own.", name);
    }

    private static void NoOverlapWithBuffer(ReadOnlySpan<float> output, string name, ParameterBuffer gradients, ParameterBuffer weights)
    {
        if (output.IsEmpty)
            return;
        if (output.Overlaps(gradients.Span) || output.Overlaps(weights.Span))
            throw new ArgumentException($"{name} overlaps the weights or the gradients; it needs memory of its own.", name);
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

    private void ValidateWorkspace(RecurrentWorkspace workspace) => ValidateWorkspace(Options, workspace);

    private void ValidateTokens(ReadOnlySpan<int> tokens) => ValidateTokens(tokens, Options.InputSize);

    // The argument checks of a step, shared with PackedRecurrentLayer.
    internal static void ValidateStep(RecurrentOptions options, RecurrentState state, IPassWorkspace workspace, int outputLength)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(workspace);
        ValidateState(options, state);
        ValidateWorkspace(options, workspace);
        if (options.Bidirectional)
            throw new InvalidOperationException(
                "A bidirectional network cannot step: its reverse direction needs the whole sequence. Run Forward over the sequence instead.");
        if (state.BatchSize > workspace.MaxBatch)
            throw new ArgumentException($"The state has batch size {state.BatchSize} but the workspace holds at most {workspace.MaxBatch}.", nameof(workspace));
        Guard.Length(outputLength, state.BatchSize * options.HiddenStateSize, "output");
    }

    // The argument checks of a sequence pass, shared with PackedRecurrentLayer.
    internal static void ValidateSequence(RecurrentOptions options, SequenceInput input, RecurrentState state, IPassWorkspace workspace, int outputLength)
    {
        ValidatePass(options, input.Steps, input.Lengths, state, workspace, outputLength);
        int steps = input.Steps, batch = state.BatchSize;
        if (input.IsTokens)
        {
            Guard.Length(input.Tokens.Length, steps * batch, "tokens");
            ValidateTokens(input.Tokens, options.InputSize);
        }
        else
        {
            Guard.Length(input.Values.Length, steps * batch * options.InputSize, nameof(input));
        }
    }

    // The checks of a pass that do not look at its input values: state, workspace, steps, lengths and the output's length.
    internal static void ValidatePass(RecurrentOptions options, int steps, ReadOnlySpan<int> lengths, RecurrentState state, IPassWorkspace workspace, int outputLength)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(workspace);
        ValidateState(options, state);
        ValidateWorkspace(options, workspace);
        workspace.Pool?.ThrowIfDisposed();
        int batch = state.BatchSize;
        if (steps < 1 || steps > workspace.MaxSteps)
            throw new ArgumentOutOfRangeException("steps", steps, $"Expected 1 to {workspace.MaxSteps} steps (the workspace's maximum).");
        if (batch > workspace.MaxBatch)
            throw new ArgumentException($"The state has batch size {batch} but the workspace holds at most {workspace.MaxBatch}.", nameof(workspace));
        if (!lengths.IsEmpty)
        {
            if (lengths.Length != batch)
                throw new ArgumentException($"Expected one length per stream, {batch}, but got {lengths.Length}.", "lengths");
            for (int b = 0; b < batch; b++)
            {
                if (lengths[b] < 1 || lengths[b] > steps)
                    throw new ArgumentOutOfRangeException("lengths", lengths[b], $"Length of stream {b} is {lengths[b]}; expected 1 to {steps} (the pass's steps).");
            }
        }
        Guard.Length(outputLength, steps * batch * options.OutputSize, "output");
    }

    private static void ValidateState(RecurrentOptions options, RecurrentState state)
    {
        if (state.Options != options)
            throw new ArgumentException($"Expected a state for {Describe(options)} but got one for {Describe(state.Options)}.", nameof(state));
    }

    private static void ValidateWorkspace(RecurrentOptions options, IPassWorkspace workspace)
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
        $"{o.Cell}(inputSize: {o.InputSize}, hiddenSize: {o.HiddenSize}, numLayers: {o.NumLayers}, bias: {o.Bias}{(o.Cell == CellKind.Rnn ? ", " + o.Activation : "")}" +
        $"{(o.Bidirectional ? ", bidirectional" : "")}{(o.ProjectionSize > 0 ? $", projSize: {o.ProjectionSize}" : "")}{(o.Dropout > 0 ? $", dropout: {o.Dropout}" : "")})";

    private static RecurrentParameters CreateWeights(RecurrentOptions options, int seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        var weights = new RecurrentParameters(options, new ParameterBuffer(RecurrentParameters.Layout(options)));
        weights.InitializeUniform(seed);
        return weights;
    }
}

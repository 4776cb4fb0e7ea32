using System;
using System.Collections.Generic;

namespace SimdLstm;

/// <summary>
/// A whole trainable sequence model: a stacked LSTM, GRU or RNN (any direction, projection and dropout), a
/// <see cref="Linear"/> head on every step's output (D·H' features), and the softmax cross-entropy loss against one target
/// class per step. Inputs are tokens (a character-level language model) or dense vectors (e.g. the bits of a binary
/// addition), with optional per-stream lengths: padded steps have no target, and the loss is the mean over the real ones.
/// </summary>
/// <remarks>
/// All parameters live in one <see cref="Parameters"/> buffer named as PyTorch's state_dict of a module holding an
/// <c>nn.LSTM</c>/<c>nn.RNN</c> and an <c>nn.Linear</c> called <c>fc</c>: <c>weight_ih_l0</c>, …, <c>fc.weight</c>,
/// <c>fc.bias</c>. Gradients live in a buffer of the same layout (<see cref="CreateGradients"/>), so an optimiser steps
/// the whole model with one loop.
/// </remarks>
public sealed class SequenceModel
{
    /// <summary>The name prefix of the head's tensors.</summary>
    public const string HeadPrefix = "fc.";

    /// <summary>The name prefix of the embedding's tensor.</summary>
    public const string EmbeddingPrefix = "embedding.";

    /// <summary>Creates a model with PyTorch's default initialisation drawn from a generator seeded with <paramref name="seed"/>.</summary>
    /// <param name="recurrent">The recurrent layers; with an embedding, their input size is the embedding's dimension E.</param>
    /// <param name="outputSize">V, the head's classes.</param>
    /// <param name="seed">Seeds the initialisation.</param>
    /// <param name="vocabularySize">With a value above 0, an <c>nn.Embedding</c> of that many tokens (<c>embedding.weight</c>
    /// [vocabularySize, E]) looks the token inputs up before the recurrent layers; 0 for none (tokens then index
    /// <c>weight_ih_l0</c>'s columns, a one-hot input).</param>
    public SequenceModel(RecurrentOptions recurrent, int outputSize, int seed, int vocabularySize = 0)
        : this(recurrent, outputSize, new ParameterBuffer(Layout(recurrent, outputSize, vocabularySize)), vocabularySize)
    {
        var random = new Random(seed);
        Embedding?.InitializeNormal(random);
        Recurrent.Weights.InitializeUniform(random);
        Head.InitializeUniform(random);
    }

    /// <summary>Creates a model over existing parameters (e.g. loaded from a checkpoint), checking every tensor's name and shape.</summary>
    /// <exception cref="ArgumentException">A tensor is missing or has the wrong shape.</exception>
    public SequenceModel(RecurrentOptions recurrent, int outputSize, ParameterBuffer parameters, int vocabularySize = 0)
    {
        ArgumentNullException.ThrowIfNull(recurrent);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(vocabularySize);
        Options = recurrent;
        OutputSize = outputSize;
        Parameters = parameters;
        VocabularySize = vocabularySize;
        Embedding = vocabularySize > 0 ? new Embedding(vocabularySize, recurrent.InputSize, parameters, EmbeddingPrefix) : null;
        Recurrent = new RecurrentLayer(new RecurrentParameters(recurrent, parameters));
        Head = new Linear(recurrent.OutputSize, outputSize, parameters, HeadPrefix);
    }

    /// <summary>The embedding's number of tokens, or 0 when the model has none.</summary>
    public int VocabularySize { get; }

    /// <summary>The embedding before the recurrent layers, or null.</summary>
    public Embedding? Embedding { get; }

    /// <summary>The recurrent network's shape.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>Number of output classes (V).</summary>
    public int OutputSize { get; }

    /// <summary>Every parameter of the model.</summary>
    public ParameterBuffer Parameters { get; }

    /// <summary>The recurrent layers.</summary>
    public RecurrentLayer Recurrent { get; }

    /// <summary>The output head.</summary>
    public Linear Head { get; }

    /// <summary>The names and shapes of a model's tensors.</summary>
    public static IEnumerable<(string Name, int[] Shape)> Layout(RecurrentOptions recurrent, int outputSize, int vocabularySize = 0)
    {
        ArgumentNullException.ThrowIfNull(recurrent);
        if (vocabularySize > 0)
            foreach ((string, int[]) tensor in Embedding.Layout(vocabularySize, recurrent.InputSize, EmbeddingPrefix))
                yield return tensor;
        foreach ((string, int[]) tensor in RecurrentParameters.Layout(recurrent))
            yield return tensor;
        foreach ((string, int[]) tensor in Linear.Layout(recurrent.OutputSize, outputSize, HeadPrefix))
            yield return tensor;
    }

    /// <summary>A zero state for <paramref name="batchSize"/> streams.</summary>
    public RecurrentState CreateState(int batchSize = 1) => Recurrent.CreateState(batchSize);

    /// <summary>A workspace for at most <paramref name="maxSteps"/> steps of at most <paramref name="maxBatch"/> streams.</summary>
    public SequenceModelWorkspace CreateWorkspace(int maxSteps, int maxBatch = 1) => new(this, maxSteps, maxBatch, pool: null);

    /// <summary>
    /// A workspace for at most <paramref name="maxSteps"/> steps of at most <paramref name="maxBatch"/> streams whose
    /// recurrent passes share their work among the threads of <paramref name="pool"/> (null: the calling thread alone);
    /// the head runs on the calling thread. Results are bitwise the same whatever the pool's thread count.
    /// </summary>
    public SequenceModelWorkspace CreateWorkspace(int maxSteps, int maxBatch, ComputePool? pool) => new(this, maxSteps, maxBatch, pool);

    /// <summary>Zeroed gradients with the layout of <see cref="Parameters"/>.</summary>
    public SequenceModelGradients CreateGradients() => new(this, Parameters.CreateZeroedLike());

    /// <summary>
    /// One training pass over a chunk of streams: forward from <paramref name="state"/> (which is left at the chunk's end,
    /// so the next chunk continues the streams), loss, and backward through time within the chunk, with the recurrent
    /// layers' dropout applied. Gradients are <b>accumulated</b> (zero them first). Returns the mean cross-entropy over the
    /// real steps (Σ lengths, or T·B without lengths).
    /// </summary>
    /// <param name="input">Inputs: tokens or dense vectors, time-major or batch-first, optional per-stream lengths.</param>
    /// <param name="targets">Target classes in the input's layout, [T, B] (or [B, T]), each in [0, V) where a stream
    /// runs; not read past a stream's length (any value, e.g. PyTorch's −100, may stand there).</param>
    /// <param name="state">Initial state on entry; final state on return.</param>
    /// <param name="workspace">Scratch and saved activations.</param>
    /// <param name="gradients">Receives the accumulated gradients.</param>
    /// <exception cref="ArgumentException">A length, shape, token, target or stream length is out of range; nothing has been written.</exception>
    public float ForwardBackward(SequenceInput input, ReadOnlySpan<int> targets, RecurrentState state, SequenceModelWorkspace workspace, SequenceModelGradients gradients)
    {
        ValidateTrainingArguments(gradients);
        ValidateEvaluationArguments(input, targets, state, workspace);
        Span<float> hidden = workspace.Hidden(input.Steps, state.BatchSize);
        Recurrent.Forward(Embed(input, state.BatchSize, workspace), state, workspace.Recurrent, hidden, training: true);
        int rows = GatherTargets(targets, input.BatchFirst, workspace);
        int width = Options.OutputSize;
        ReadOnlySpan<float> headInput = RealRows(hidden, input.BatchFirst, workspace);
        Span<float> logits = workspace.Logits.AsSpan(0, rows * OutputSize);
        Head.Forward(headInput, rows, logits);
        // The fused loss writes (p − onehot(target)) / N in place of the logits, N = the real steps.
        float loss = SoftmaxCrossEntropy.Forward(logits, rows, OutputSize, workspace.Targets.AsSpan(0, rows), logits);
        Span<float> dRows = workspace.DHidden.AsSpan(0, rows * width);
        Head.Backward(headInput, logits, rows, gradients.Head, dRows);
        Span<float> dHidden = dRows;
        SequenceLayout layout = workspace.Recurrent.Layout;
        if (!layout.Uniform || input.BatchFirst)
        {
            // Back to the layers' padded layout, zero where no step ran.
            dHidden = workspace.DPadded.AsSpan(0, input.Steps * state.BatchSize * width);
            RecurrentLayer.ScatterRows(layout, dRows, width, input.BatchFirst, dHidden);
        }
        if (Embedding is null)
        {
            Recurrent.Backward(dHidden, workspace.Recurrent, gradients.Recurrent);
        }
        else
        {
            // dL/d(embedded input), zero past each stream's length, added into the looked-up rows.
            Span<float> dEmbedded = workspace.DEmbedded.AsSpan(0, input.Steps * state.BatchSize * Options.InputSize);
            Recurrent.Backward(dHidden, workspace.Recurrent, gradients.Recurrent, dEmbedded);
            Embedding.Scatter(workspace.EmbeddedTokens.AsSpan(0, input.Steps * state.BatchSize), dEmbedded, gradients.Embedding!.Weight);
        }
        return loss;
    }

    /// <summary>As <see cref="ForwardBackward(SequenceInput, ReadOnlySpan{int}, RecurrentState, SequenceModelWorkspace, SequenceModelGradients)"/> over token streams [T, B] of <paramref name="steps"/> steps.</summary>
    public float ForwardBackward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace, SequenceModelGradients gradients) =>
        ForwardBackward(SequenceInput.FromTokens(tokens, steps), targets, state, workspace, gradients);

    /// <summary>As <see cref="ForwardBackward(SequenceInput, ReadOnlySpan{int}, RecurrentState, SequenceModelWorkspace, SequenceModelGradients)"/> over dense inputs [T, B, I] of <paramref name="steps"/> steps.</summary>
    public float ForwardBackward(ReadOnlySpan<float> input, ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace, SequenceModelGradients gradients) =>
        ForwardBackward(SequenceInput.Dense(input, steps), targets, state, workspace, gradients);

    /// <summary>
    /// The mean cross-entropy of a chunk of streams over their real steps, without gradients or dropout (evaluation);
    /// advances <paramref name="state"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A length, shape, token, target or stream length is out of range; nothing has been written.</exception>
    public float Loss(SequenceInput input, ReadOnlySpan<int> targets, RecurrentState state, SequenceModelWorkspace workspace)
    {
        ValidateEvaluationArguments(input, targets, state, workspace);
        Span<float> hidden = workspace.Hidden(input.Steps, state.BatchSize);
        Recurrent.Forward(Embed(input, state.BatchSize, workspace), state, workspace.Recurrent, hidden);
        int rows = GatherTargets(targets, input.BatchFirst, workspace);
        Span<float> logits = workspace.Logits.AsSpan(0, rows * OutputSize);
        Head.Forward(RealRows(hidden, input.BatchFirst, workspace), rows, logits);
        return SoftmaxCrossEntropy.Forward(logits, rows, OutputSize, workspace.Targets.AsSpan(0, rows), logits);
    }

    /// <summary>As <see cref="Loss(SequenceInput, ReadOnlySpan{int}, RecurrentState, SequenceModelWorkspace)"/> over token streams [T, B].</summary>
    public float Loss(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace) =>
        Loss(SequenceInput.FromTokens(tokens, steps), targets, state, workspace);

    /// <summary>As <see cref="Loss(SequenceInput, ReadOnlySpan{int}, RecurrentState, SequenceModelWorkspace)"/> over dense inputs [T, B, I].</summary>
    public float Loss(ReadOnlySpan<float> input, ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace) =>
        Loss(SequenceInput.Dense(input, steps), targets, state, workspace);

    /// <summary>
    /// Streams one token per stream through the model and writes the logits of the next class, [B, V] — the path a sampler
    /// runs once per generated character. Allocation-free. A bidirectional model cannot step.
    /// </summary>
    public void Step(ReadOnlySpan<int> tokens, RecurrentState state, SequenceModelWorkspace workspace, Span<float> logits)
    {
        Span<float> hidden = ValidateStepArguments(state, workspace, logits);
        if (Embedding is null)
        {
            Recurrent.Step(tokens, state, workspace.Recurrent, hidden);
        }
        else
        {
            Span<float> embedded = workspace.Embedded.AsSpan(0, state.BatchSize * Options.InputSize);
            Embedding.Forward(tokens, embedded);
            Recurrent.Step(embedded, state, workspace.Recurrent, hidden);
        }
        Head.Forward(hidden, state.BatchSize, logits);
    }

    /// <summary>As the token overload, with dense inputs [B, I] (a model without an embedding).</summary>
    public void Step(ReadOnlySpan<float> input, RecurrentState state, SequenceModelWorkspace workspace, Span<float> logits)
    {
        Span<float> hidden = ValidateStepArguments(state, workspace, logits);
        if (Embedding is not null)
            throw new ArgumentException("The model looks its inputs up in an embedding: step it with tokens.", nameof(input));
        Recurrent.Step(input, state, workspace.Recurrent, hidden);
        Head.Forward(hidden, state.BatchSize, logits);
    }

    // The recurrent layers' input: the caller's, or its tokens looked up in the embedding (in the input's layout, zero
    // rows past each stream's length), whose tokens are kept for backward with −1 where no step runs.
    private SequenceInput Embed(SequenceInput input, int batch, SequenceModelWorkspace workspace)
    {
        if (Embedding is null)
            return input;
        int steps = input.Steps, rows = steps * batch;
        Span<int> tokens = workspace.EmbeddedTokens.AsSpan(0, rows);
        input.Tokens.CopyTo(tokens);
        ReadOnlySpan<int> lengths = input.Lengths;
        if (!lengths.IsEmpty)
        {
            for (int b = 0; b < batch; b++)
                for (int t = lengths[b]; t < steps; t++)
                    tokens[input.BatchFirst ? b * steps + t : t * batch + b] = -1;
        }
        Span<float> embedded = workspace.Embedded.AsSpan(0, rows * Options.InputSize);
        Embedding.Gather(tokens, embedded);
        return SequenceInput.Dense(embedded, steps, input.BatchFirst, lengths);
    }

    // The targets of the real steps, in the pass's compact row order; returns their count.
    private static int GatherTargets(ReadOnlySpan<int> targets, bool batchFirst, SequenceModelWorkspace workspace)
    {
        SequenceLayout layout = workspace.Recurrent.Layout;
        Span<int> rows = workspace.Targets.AsSpan(0, layout.Rows);
        for (int t = 0; t < layout.Steps; t++)
        {
            int at = layout.RowStart[t];
            for (int s = 0; s < layout.Active[t]; s++)
            {
                int b = layout.Order[s];
                rows[at + s] = targets[batchFirst ? b * layout.Steps + t : t * layout.Batch + b];
            }
        }
        return layout.Rows;
    }

    // The recurrent outputs of the real steps, in the same compact row order as GatherTargets (no copy when every stream
    // runs all steps, time-major).
    private ReadOnlySpan<float> RealRows(Span<float> hidden, bool batchFirst, SequenceModelWorkspace workspace)
    {
        SequenceLayout layout = workspace.Recurrent.Layout;
        if (layout.Uniform && !batchFirst)
            return hidden;
        int width = Options.OutputSize;
        Span<float> rows = workspace.HiddenRows.AsSpan(0, layout.Rows * width);
        RecurrentLayer.GatherRows(layout, hidden, width, batchFirst, rows);
        return rows;
    }

    /// <summary>
    /// A frozen copy of the model for inference: the recurrent layers packed (<see cref="PackedRecurrentLayer"/>) and the
    /// head, sharing this model's head weights. Call <see cref="PackedSequenceModel.Refresh"/> after the weights change.
    /// </summary>
    /// <param name="precision">The number format of the recurrent layers' gate matrices; the embedding and the head stay float32.</param>
    public PackedSequenceModel Pack(PackedPrecision precision = PackedPrecision.Float32) => new(this, precision);

    private void ValidateTrainingArguments(SequenceModelGradients gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        if (gradients.Model != this)
            throw new ArgumentException("The gradients were created by another model.", nameof(gradients));
    }

    private void ValidateEvaluationArguments(SequenceInput input, ReadOnlySpan<int> targets, RecurrentState state, SequenceModelWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(workspace);
        ValidateWorkspace(workspace);
        int steps = input.Steps, batch = state.BatchSize;
        if (Embedding is null)
        {
            RecurrentLayer.ValidateSequence(Options, input, state, workspace.Recurrent, steps * batch * Options.OutputSize);
        }
        else
        {
            if (!input.IsTokens)
                throw new ArgumentException("The model looks its inputs up in an embedding: pass tokens (SequenceInput.FromTokens).", nameof(input));
            RecurrentLayer.ValidatePass(Options, steps, input.Lengths, state, workspace.Recurrent, steps * batch * Options.OutputSize);
            Guard.Length(input.Tokens.Length, steps * batch, "tokens");
            ReadOnlySpan<int> tokenLengths = input.Lengths;
            for (int b = 0; b < batch; b++)
            {
                int length = tokenLengths.IsEmpty ? steps : tokenLengths[b];
                for (int t = 0; t < length; t++)
                {
                    int i = input.BatchFirst ? b * steps + t : t * batch + b;
                    if ((uint)input.Tokens[i] >= (uint)VocabularySize)
                        throw new ArgumentOutOfRangeException("tokens", input.Tokens[i], $"Token at index {i} is {input.Tokens[i]}; expected a value in [0, {VocabularySize}).");
                }
            }
        }
        Guard.Length(targets.Length, steps * batch, nameof(targets));
        ReadOnlySpan<int> lengths = input.Lengths;
        for (int b = 0; b < batch; b++)
        {
            int length = lengths.IsEmpty ? steps : lengths[b];
            for (int t = 0; t < length; t++)
            {
                int i = input.BatchFirst ? b * steps + t : t * batch + b;
                if ((uint)targets[i] >= (uint)OutputSize)
                    throw new ArgumentOutOfRangeException(nameof(targets), targets[i], $"Target at index {i} is {targets[i]}; expected a value in [0, {OutputSize}).");
            }
        }
    }

    // Checks what both Step overloads take and returns the workspace's [B, H] output of the recurrent layers.
    private Span<float> ValidateStepArguments(RecurrentState state, SequenceModelWorkspace workspace, Span<float> logits)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(workspace);
        ValidateWorkspace(workspace);
        if (state.BatchSize > workspace.Recurrent.MaxBatch)
            throw new ArgumentException($"The state has batch size {state.BatchSize} but the workspace holds at most {workspace.Recurrent.MaxBatch}.", nameof(workspace));
        Guard.Length(logits.Length, state.BatchSize * OutputSize, nameof(logits));
        return workspace.Hidden(1, state.BatchSize);
    }

    private void ValidateWorkspace(SequenceModelWorkspace workspace)
    {
        if (workspace.Model != this)
            throw new ArgumentException("The workspace was created by another model.", nameof(workspace));
    }
}

/// <summary>Scratch for a <see cref="SequenceModel"/>: the recurrent workspace plus the head's activations.</summary>
public sealed class SequenceModelWorkspace
{
    private readonly float[] _hidden;

    internal SequenceModelWorkspace(SequenceModel model, int maxSteps, int maxBatch, ComputePool? pool)
    {
        Model = model;
        Recurrent = model.Recurrent.CreateWorkspace(maxSteps, maxBatch, pool);
        long rows = (long)maxSteps * maxBatch;
        _hidden = new float[Checked(rows * model.Options.OutputSize)];
        DHidden = new float[_hidden.Length];
        DPadded = new float[_hidden.Length];
        HiddenRows = new float[_hidden.Length];
        Targets = new int[rows];
        bool embedding = model.VocabularySize > 0;
        Embedded = embedding ? new float[Checked(rows * model.Options.InputSize)] : [];
        DEmbedded = new float[Embedded.Length];
        EmbeddedTokens = embedding ? new int[rows] : [];
        Logits = new float[Checked(rows * model.OutputSize)];
    }

    /// <summary>The model this workspace serves.</summary>
    public SequenceModel Model { get; }

    /// <summary>The recurrent layers' workspace.</summary>
    public RecurrentWorkspace Recurrent { get; }

    internal float[] DHidden { get; }     // [R, D·H']: dL/d(recurrent output) of the real steps
    internal float[] DPadded { get; }     // [T, B, D·H']: the same in the layers' padded layout
    internal float[] HiddenRows { get; }  // [R, D·H']: the recurrent outputs of the real steps
    internal int[] Targets { get; }       // [R]: their targets
    internal float[] Embedded { get; }    // [T, B, E]: the looked-up inputs (models with an embedding)
    internal float[] DEmbedded { get; }   // [T, B, E]: their gradient
    internal int[] EmbeddedTokens { get; } // [T, B]: the tokens looked up, −1 where no step runs
    internal float[] Logits { get; }      // [R, V]; also the logits' gradient after the loss

    internal Span<float> Hidden(int steps, int batch) => _hidden.AsSpan(0, steps * batch * Model.Options.OutputSize); // [T, B, D·H']

    private static int Checked(long length) =>
        length <= Array.MaxLength ? (int)length : throw new ArgumentOutOfRangeException("maxSteps", "The workspace would not fit in one array; use fewer steps or a smaller batch.");
}

/// <summary>Gradients of a <see cref="SequenceModel"/>: one buffer with the model's layout, with the same views as the model.</summary>
public sealed class SequenceModelGradients
{
    internal SequenceModelGradients(SequenceModel model, ParameterBuffer buffer)
    {
        Model = model;
        Buffer = buffer;
        Recurrent = new RecurrentParameters(model.Options, buffer);
        Head = new Linear(model.Options.OutputSize, model.OutputSize, buffer, SequenceModel.HeadPrefix);
        Embedding = model.VocabularySize > 0 ? new Embedding(model.VocabularySize, model.Options.InputSize, buffer, SequenceModel.EmbeddingPrefix) : null;
    }

    /// <summary>The embedding's gradient, or null when the model has none.</summary>
    public Embedding? Embedding { get; }

    /// <summary>The model these gradients belong to.</summary>
    public SequenceModel Model { get; }

    /// <summary>All gradients, in the layout of <see cref="SequenceModel.Parameters"/>.</summary>
    public ParameterBuffer Buffer { get; }

    /// <summary>The recurrent layers' gradients.</summary>
    public RecurrentParameters Recurrent { get; }

    /// <summary>The head's gradients.</summary>
    public Linear Head { get; }

    /// <summary>Zeroes every gradient.</summary>
    public void Clear() => Buffer.Clear();
}

using System;
using System.Collections.Generic;

namespace SimdLstm;

/// <summary>
/// A whole trainable sequence model: a stacked LSTM or RNN, a <see cref="Linear"/> head on every step's output, and the
/// softmax cross-entropy loss against one target class per step. Inputs are tokens (a character-level language model) or
/// dense vectors (e.g. the bits of a binary addition).
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

    /// <summary>Creates a model with PyTorch's default initialisation drawn from a generator seeded with <paramref name="seed"/>.</summary>
    public SequenceModel(RecurrentOptions recurrent, int outputSize, int seed)
        : this(recurrent, outputSize, new ParameterBuffer(Layout(recurrent, outputSize)))
    {
        var random = new Random(seed);
        Recurrent.Weights.InitializeUniform(random);
        Head.InitializeUniform(random);
    }

    /// <summary>Creates a model over existing parameters (e.g. loaded from a checkpoint), checking every tensor's name and shape.</summary>
    /// <exception cref="ArgumentException">A tensor is missing or has the wrong shape.</exception>
    public SequenceModel(RecurrentOptions recurrent, int outputSize, ParameterBuffer parameters)
    {
        ArgumentNullException.ThrowIfNull(recurrent);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        Options = recurrent;
        OutputSize = outputSize;
        Parameters = parameters;
        Recurrent = new RecurrentLayer(new RecurrentParameters(recurrent, parameters));
        Head = new Linear(recurrent.HiddenSize, outputSize, parameters, HeadPrefix);
    }

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
    public static IEnumerable<(string Name, int[] Shape)> Layout(RecurrentOptions recurrent, int outputSize)
    {
        ArgumentNullException.ThrowIfNull(recurrent);
        foreach ((string, int[]) tensor in RecurrentParameters.Layout(recurrent))
            yield return tensor;
        foreach ((string, int[]) tensor in Linear.Layout(recurrent.HiddenSize, outputSize, HeadPrefix))
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
    /// One training pass over a chunk of token streams: forward from <paramref name="state"/> (which is left at the chunk's
    /// end, so the next chunk continues the streams), loss, and backward through time within the chunk. Gradients are
    /// <b>accumulated</b> (zero them first). Returns the mean cross-entropy over the T·B predictions.
    /// </summary>
    /// <param name="tokens">Inputs, [T, B], each in [0, I).</param>
    /// <param name="targets">Target classes, [T, B], each in [0, V).</param>
    /// <param name="steps">T.</param>
    /// <param name="state">Initial state on entry; final state on return.</param>
    /// <param name="workspace">Scratch and saved activations.</param>
    /// <param name="gradients">Receives the accumulated gradients.</param>
    public float ForwardBackward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace, SequenceModelGradients gradients)
    {
        ValidateTrainingArguments(targets, steps, state, workspace, gradients);
        Span<float> hidden = workspace.Hidden(steps, state.BatchSize);
        Recurrent.Forward(tokens, steps, state, workspace.Recurrent, hidden);
        return HeadForwardBackward(targets, steps, state.BatchSize, workspace, gradients);
    }

    /// <summary>As the token overload, with dense inputs [T, B, I].</summary>
    public float ForwardBackward(ReadOnlySpan<float> input, ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace, SequenceModelGradients gradients)
    {
        ValidateTrainingArguments(targets, steps, state, workspace, gradients);
        Span<float> hidden = workspace.Hidden(steps, state.BatchSize);
        Recurrent.Forward(input, steps, state, workspace.Recurrent, hidden);
        return HeadForwardBackward(targets, steps, state.BatchSize, workspace, gradients);
    }

    /// <summary>The mean cross-entropy of a chunk of token streams without computing gradients (evaluation); advances <paramref name="state"/>.</summary>
    public float Loss(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace)
    {
        ValidateEvaluationArguments(targets, steps, state, workspace);
        Span<float> hidden = workspace.Hidden(steps, state.BatchSize);
        Recurrent.Forward(tokens, steps, state, workspace.Recurrent, hidden);
        return HeadLoss(targets, steps, state.BatchSize, workspace);
    }

    /// <summary>As the token overload, with dense inputs [T, B, I].</summary>
    public float Loss(ReadOnlySpan<float> input, ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace)
    {
        ValidateEvaluationArguments(targets, steps, state, workspace);
        Span<float> hidden = workspace.Hidden(steps, state.BatchSize);
        Recurrent.Forward(input, steps, state, workspace.Recurrent, hidden);
        return HeadLoss(targets, steps, state.BatchSize, workspace);
    }

    /// <summary>
    /// Streams one token per stream through the model and writes the logits of the next class, [B, V] — the path a sampler
    /// runs once per generated character. Allocation-free.
    /// </summary>
    public void Step(ReadOnlySpan<int> tokens, RecurrentState state, SequenceModelWorkspace workspace, Span<float> logits)
    {
        Span<float> hidden = ValidateStepArguments(state, workspace, logits);
        Recurrent.Step(tokens, state, workspace.Recurrent, hidden);
        Head.Forward(hidden, state.BatchSize, logits);
    }

    /// <summary>As the token overload, with dense inputs [B, I].</summary>
    public void Step(ReadOnlySpan<float> input, RecurrentState state, SequenceModelWorkspace workspace, Span<float> logits)
    {
        Span<float> hidden = ValidateStepArguments(state, workspace, logits);
        Recurrent.Step(input, state, workspace.Recurrent, hidden);
        Head.Forward(hidden, state.BatchSize, logits);
    }

    private float HeadForwardBackward(ReadOnlySpan<int> targets, int steps, int batch, SequenceModelWorkspace workspace, SequenceModelGradients gradients)
    {
        int rows = steps * batch;
        Span<float> hidden = workspace.Hidden(steps, batch);
        Span<float> logits = workspace.Logits.AsSpan(0, rows * OutputSize);
        Head.Forward(hidden, rows, logits);
        // The fused loss writes p − onehot(target) (over N) in place of the logits.
        float loss = SoftmaxCrossEntropy.Forward(logits, rows, OutputSize, targets, logits);
        Span<float> dHidden = workspace.DHidden.AsSpan(0, rows * Options.HiddenSize);
        Head.Backward(hidden, logits, rows, gradients.Head, dHidden);
        Recurrent.Backward(dHidden, workspace.Recurrent, gradients.Recurrent);
        return loss;
    }

    private float HeadLoss(ReadOnlySpan<int> targets, int steps, int batch, SequenceModelWorkspace workspace)
    {
        int rows = steps * batch;
        Span<float> logits = workspace.Logits.AsSpan(0, rows * OutputSize);
        Head.Forward(workspace.Hidden(steps, batch), rows, logits);
        return SoftmaxCrossEntropy.Forward(logits, rows, OutputSize, targets, logits);
    }

    private void ValidateTrainingArguments(ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace, SequenceModelGradients gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        if (gradients.Model != this)
            throw new ArgumentException("The gradients were created by another model.", nameof(gradients));
        ValidateEvaluationArguments(targets, steps, state, workspace);
    }

    private void ValidateEvaluationArguments(ReadOnlySpan<int> targets, int steps, RecurrentState state, SequenceModelWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(workspace);
        ValidateWorkspace(workspace);
        if (steps < 1 || steps > workspace.Recurrent.MaxSteps)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"Expected 1 to {workspace.Recurrent.MaxSteps} steps (the workspace's maximum).");
        Guard.Length(targets.Length, steps * state.BatchSize, nameof(targets));
        for (int i = 0; i < targets.Length; i++)
        {
            if ((uint)targets[i] >= (uint)OutputSize)
                throw new ArgumentOutOfRangeException(nameof(targets), targets[i], $"Target at index {i} is {targets[i]}; expected a value in [0, {OutputSize}).");
        }
    }

    // Checks what both Step overloads take and returns the workspace's [B, H] output of the recurrent layers.
    private Span<float> ValidateStepArguments(RecurrentState state, SequenceModelWorkspace workspace, Span<float> logits)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(workspace);
        ValidateWorkspace(workspace);
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
        _hidden = new float[checked((int)(rows * model.Options.HiddenSize))];
        DHidden = new float[_hidden.Length];
        Logits = new float[checked((int)(rows * model.OutputSize))];
    }

    /// <summary>The model this workspace serves.</summary>
    public SequenceModel Model { get; }

    /// <summary>The recurrent layers' workspace.</summary>
    public RecurrentWorkspace Recurrent { get; }

    internal float[] DHidden { get; }   // [T, B, H]
    internal float[] Logits { get; }    // [T·B, V]; also the logits' gradient after the loss

    internal Span<float> Hidden(int steps, int batch) => _hidden.AsSpan(0, steps * batch * Model.Options.HiddenSize); // [T, B, H]
}

/// <summary>Gradients of a <see cref="SequenceModel"/>: one buffer with the model's layout, with the same views as the model.</summary>
public sealed class SequenceModelGradients
{
    internal SequenceModelGradients(SequenceModel model, ParameterBuffer buffer)
    {
        Model = model;
        Buffer = buffer;
        Recurrent = new RecurrentParameters(model.Options, buffer);
        Head = new Linear(model.Options.HiddenSize, model.OutputSize, buffer, SequenceModel.HeadPrefix);
    }

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

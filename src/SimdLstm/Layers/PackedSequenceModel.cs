using System;

namespace SimdLstm;

/// <summary>
/// A frozen inference copy of a <see cref="SequenceModel"/>: its recurrent layers packed for fast steps
/// (<see cref="PackedRecurrentLayer"/>) and a copy of its head. Made by <see cref="SequenceModel.Pack"/>; the copy is
/// taken when it is made, and <see cref="Refresh"/> retakes it (after training changed the model) without allocating.
/// </summary>
/// <remarks>Steps only read this object, so many threads may share it, each with its own state and workspace.</remarks>
public sealed class PackedSequenceModel
{
    private readonly ParameterBuffer _headWeights;
    private readonly ParameterBuffer? _embeddingWeights;

    internal PackedSequenceModel(SequenceModel model, PackedPrecision precision)
    {
        Model = model;
        Recurrent = model.Recurrent.Pack(precision);
        int width = model.Options.OutputSize;
        _headWeights = new ParameterBuffer(Linear.Layout(width, model.OutputSize, SequenceModel.HeadPrefix));
        Head = new Linear(width, model.OutputSize, _headWeights, SequenceModel.HeadPrefix);
        if (model.VocabularySize > 0)
        {
            _embeddingWeights = new ParameterBuffer(Embedding.Layout(model.VocabularySize, model.Options.InputSize, SequenceModel.EmbeddingPrefix));
            Embedding = new Embedding(model.VocabularySize, model.Options.InputSize, _embeddingWeights, SequenceModel.EmbeddingPrefix);
        }
        CopyHead();
    }

    /// <summary>The model this copy was taken from.</summary>
    public SequenceModel Model { get; }

    /// <summary>The number format of the recurrent layers' gate matrices.</summary>
    public PackedPrecision Precision => Recurrent.Precision;

    /// <summary>The packed recurrent layers.</summary>
    public PackedRecurrentLayer Recurrent { get; }

    /// <summary>The copy of the head.</summary>
    public Linear Head { get; }

    /// <summary>The copy of the embedding, or null when the model has none.</summary>
    public Embedding? Embedding { get; }

    /// <summary>Retakes the copy from the model's current weights, in place and without allocating; not thread-safe against concurrent steps.</summary>
    /// <remarks>Allocation-free, so a sampler may refresh before every generation.</remarks>
    public void Refresh()
    {
        Recurrent.Refresh(Model.Recurrent.Weights);
        CopyHead();
    }

    /// <summary>A zero state for <paramref name="batchSize"/> streams.</summary>
    public RecurrentState CreateState(int batchSize = 1) => Recurrent.CreateState(batchSize);

    /// <summary>A workspace for steps of at most <paramref name="maxBatch"/> streams, run on the calling thread (or shared among <paramref name="pool"/>'s threads).</summary>
    public PackedSequenceModelWorkspace CreateWorkspace(int maxBatch = 1, ComputePool? pool = null) => new(this, maxBatch, pool);

    /// <summary>Streams one token per stream through the model and writes the logits of the next class, [B, V]; allocation-free.</summary>
    /// <exception cref="ArgumentException">A length does not match, or the workspace is another model's; nothing has been written.</exception>
    public void Step(ReadOnlySpan<int> tokens, RecurrentState state, PackedSequenceModelWorkspace workspace, Span<float> logits)
    {
        Span<float> hidden = Validate(state, workspace, logits);
        if (Embedding is null)
        {
            Recurrent.Step(tokens, state, workspace.Recurrent, hidden);
        }
        else
        {
            Span<float> embedded = workspace.Embedded.AsSpan(0, state.BatchSize * Model.Options.InputSize);
            Embedding.Forward(tokens, embedded);
            Recurrent.Step(embedded, state, workspace.Recurrent, hidden);
        }
        Head.Forward(hidden, state.BatchSize, logits);
    }

    /// <summary>As the token overload, with dense inputs [B, I].</summary>
    public void Step(ReadOnlySpan<float> input, RecurrentState state, PackedSequenceModelWorkspace workspace, Span<float> logits)
    {
        Span<float> hidden = Validate(state, workspace, logits);
        if (Embedding is not null)
            throw new ArgumentException("The model looks its inputs up in an embedding: step it with tokens.", nameof(input));
        Recurrent.Step(input, state, workspace.Recurrent, hidden);
        Head.Forward(hidden, state.BatchSize, logits);
    }

    private Span<float> Validate(RecurrentState state, PackedSequenceModelWorkspace workspace, Span<float> logits)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(workspace);
        if (workspace.Model != this)
            throw new ArgumentException("The workspace was created by another packed model.", nameof(workspace));
        if (state.BatchSize > workspace.Recurrent.MaxBatch)
            throw new ArgumentException($"The state has batch size {state.BatchSize} but the workspace holds at most {workspace.Recurrent.MaxBatch}.", nameof(workspace));
        Guard.Length(logits.Length, state.BatchSize * Model.OutputSize, nameof(logits));
        return workspace.Hidden.AsSpan(0, state.BatchSize * Model.Options.HiddenStateSize);
    }

    private void CopyHead()
    {
        Model.Head.Weight.CopyTo(Head.Weight);
        Model.Head.Bias.CopyTo(Head.Bias);
        if (_embeddingWeights is not null)
            Model.Embedding!.Weight.CopyTo(Embedding!.Weight);
    }
}

/// <summary>Scratch for a <see cref="PackedSequenceModel"/>'s steps.</summary>
public sealed class PackedSequenceModelWorkspace
{
    internal PackedSequenceModelWorkspace(PackedSequenceModel model, int maxBatch, ComputePool? pool)
    {
        Model = model;
        Recurrent = model.Recurrent.CreateWorkspace(1, maxBatch, pool);
        Hidden = new float[(long)maxBatch * model.Model.Options.HiddenStateSize];
        Embedded = model.Embedding is null ? [] : new float[(long)maxBatch * model.Model.Options.InputSize];
    }

    /// <summary>The packed model this workspace serves.</summary>
    public PackedSequenceModel Model { get; }

    /// <summary>The packed recurrent layers' workspace.</summary>
    public InferenceWorkspace Recurrent { get; }

    internal float[] Hidden { get; }
    internal float[] Embedded { get; }
}

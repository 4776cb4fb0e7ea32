using System;

namespace SimdLstm;

/// <summary>The phases of a pass that a <see cref="ComputePool"/> can split.</summary>
internal enum RecurrentPhase
{
    /// <summary>The input projection of a layer, split by rows (t, b).</summary>
    Project,

    /// <summary>The forward recurrence of a layer, split by streams.</summary>
    Recur,

    /// <summary>The reverse recurrence of a layer, split by streams.</summary>
    BackRecur,

    /// <summary>The weight gradients (split by gate rows) and the input gradient (split by rows) of a layer.</summary>
    Gradients,
}

/// <summary>
/// The arguments of the pass a workspace is running, kept in one object the workspace allocates once, so that handing a
/// phase to a <see cref="ComputePool"/> allocates nothing (no closure, no task). Spans given by the caller never reach it:
/// every split phase reads and writes the workspace, the weights and the gradients only.
/// </summary>
internal sealed class RecurrentPassWork(RecurrentWorkspace workspace) : IComputeWork
{
    public RecurrentWorkspace Workspace { get; } = workspace;

    public RecurrentLayer? Layer { get; private set; }
    public RecurrentParameters? Gradients { get; private set; }
    public int Steps { get; private set; }
    public int Batch { get; private set; }
    public bool Tokens { get; private set; }

    public bool Dropout { get; private set; }

    public RecurrentPhase Phase { get; set; }
    public int LayerIndex { get; set; }
    public int Direction { get; set; }
    public bool ComputeInputGradient { get; set; }

    // The unit being run: one direction of one layer, u = l·D + d.
    public int Unit => LayerIndex * Workspace.Options.NumDirections + Direction;

    // Units are T·B rows apart in every per-unit buffer (the pass's R ≤ T·B rows are at the start of each).
    public int UnitRows => Steps * Batch;

    public Span<float> Gates(int unit) => Workspace.Gates.AsSpan(unit * UnitRows * Workspace.Options.GateSize, UnitRows * Workspace.Options.GateSize);

    public Span<float> Recurrent(int unit) => Workspace.Recurrent.AsSpan(unit * UnitRows * Workspace.Options.GateSize, UnitRows * Workspace.Options.GateSize);

    public Span<float> Raw(int unit) => Workspace.Raw.AsSpan(unit * UnitRows * Workspace.Options.HiddenSize, UnitRows * Workspace.Options.HiddenSize);

    public int HiddenHistoryOffset(int unit) => unit * (UnitRows + Batch) * Workspace.Options.HiddenStateSize;

    public Span<float> HiddenHistory(int unit) =>
        Workspace.Hidden.AsSpan(HiddenHistoryOffset(unit), (UnitRows + Batch) * Workspace.Options.HiddenStateSize);

    public Span<float> CellHistory(int unit) => Workspace.Cell.Length == 0
        ? Span<float>.Empty
        : Workspace.Cell.AsSpan(unit * (UnitRows + Batch) * Workspace.Options.HiddenSize, (UnitRows + Batch) * Workspace.Options.HiddenSize);

    // Backward's two dL/d(activation) buffers: the layer's output gradient and its input gradient; swapped between layers.
    public float[] Upper { get; set; } = [];
    public float[] Lower { get; set; } = [];

    public void Begin(RecurrentLayer layer, int steps, int batch, bool tokens, RecurrentParameters? gradients, bool dropout)
    {
        Dropout = dropout;
        Direction = 0;
        Layer = layer;
        Steps = steps;
        Batch = batch;
        Tokens = tokens;
        Gradients = gradients;
        ComputeInputGradient = false;
    }

    // Drops the references of the pass, so the workspace does not keep a layer's gradients alive.
    public void End()
    {
        Layer = null;
        Gradients = null;
        Upper = [];
        Lower = [];
    }

    public void Run(int part, int parts) => Layer!.RunShare(this, part, parts);
}

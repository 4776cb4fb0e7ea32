using System;

namespace SimdLstm;

/// <summary>
/// Scratch memory and saved activations for a stacked recurrent network, allocated once for at most
/// <see cref="MaxSteps"/> steps of at most <see cref="MaxBatch"/> streams. Forward saves here exactly what backward needs;
/// steps and passes that fit allocate nothing.
/// </summary>
/// <remarks>
/// A workspace belongs to one thread at a time. Its contents are valid for a <see cref="RecurrentLayer.Backward"/> only
/// until the next forward pass or step run with it. A workspace made with a <see cref="ComputePool"/> runs the sequence
/// passes (<see cref="RecurrentLayer.Forward(ReadOnlySpan{float}, int, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/>,
/// <see cref="RecurrentLayer.Backward"/>) on the pool's threads, with bitwise the same results as without it; streaming
/// steps stay on the calling thread.
/// </remarks>
public sealed class RecurrentWorkspace
{
    /// <summary>Creates a workspace for a network shaped by <paramref name="options"/>, whose passes run on the calling thread.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1, or the buffers would not fit in arrays.</exception>
    public RecurrentWorkspace(RecurrentOptions options, int maxSteps, int maxBatch)
        : this(options, maxSteps, maxBatch, pool: null)
    {
    }

    /// <summary>
    /// Creates a workspace for a network shaped by <paramref name="options"/> whose sequence passes share their work among
    /// the threads of <paramref name="pool"/> (null: the calling thread alone). The workspace uses the pool but does not
    /// own it: dispose the pool after its last pass.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1, or the buffers would not fit in arrays.</exception>
    public RecurrentWorkspace(RecurrentOptions options, int maxSteps, int maxBatch, ComputePool? pool)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        Options = options;
        MaxSteps = maxSteps;
        MaxBatch = maxBatch;
        int h = options.HiddenSize, g = options.GateSize, layers = options.NumLayers;
        int widest = Math.Max(options.InputSize, h);
        long rows = (long)maxSteps * maxBatch;
        Gates = new float[Checked((long)layers * rows * g, nameof(maxSteps))];
        Hidden = new float[Checked((long)layers * (maxSteps + 1) * maxBatch * h, nameof(maxSteps))];
        Cell = options.HasCellState ? new float[Hidden.Length] : [];
        Recurrent = options.Recurrence.SeparateRecurrent ? new float[Gates.Length] : [];
        Input = new float[Checked(rows * options.InputSize, nameof(maxSteps))];
        Tokens = new int[rows];
        DGates = new float[Checked(rows * g, nameof(maxSteps))];
        DRecurrent = options.Recurrence.SeparateRecurrent ? new float[DGates.Length] : [];
        DUpper = new float[Checked(rows * widest, nameof(maxSteps))];
        DLower = new float[DUpper.Length];
        CarryHidden = new float[maxBatch * h];
        CarryCell = new float[maxBatch * h];
        DHiddenTotal = new float[maxBatch * h];
        DBias = new float[g];
        PackedWeightHh = new float[CellMath.RecurrentPackedLength(h, g)];
        Pool = pool;
        PassWork = new RecurrentPassWork(this);
        PanelWork = new GatePanelWork();
        ProjectionWork = new PackedGemmRowsWork();
    }

    /// <summary>The pool whose threads share this workspace's sequence passes, or null for the calling thread alone.</summary>
    public ComputePool? Pool { get; }

    /// <summary>The network shape this workspace serves.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>The largest number of steps a forward pass may run with this workspace.</summary>
    public int MaxSteps { get; }

    /// <summary>The largest batch a forward pass or step may run with this workspace.</summary>
    public int MaxBatch { get; }

    // Saved by forward, read by backward. Layouts are time-major with the batch size of the last forward pass.
    internal float[] Gates { get; }         // [L, T, B, G·H]: what each cell's backward reads (activations; an RNN's pre-activations, its backward reads h)
    internal float[] Hidden { get; }        // [L, T+1, B, H]: index 0 is h0, index t+1 is h_t
    internal float[] Cell { get; }          // [L, T+1, B, H]: index 0 is c0 (cells with a cell state only)
    internal float[] Recurrent { get; }     // [L, T, B, G·H]: W_hh·h₋₁ + b_hh (cells that keep it apart only; a step's scratch too)
    internal float[] Input { get; }         // [T, B, I]: the dense input, time-major
    internal int[] Tokens { get; }          // [T, B]: the token input

    // Backward scratch.
    internal float[] DGates { get; }        // [T, B, G·H]: dL/d(input projection), and of the recurrent one when fused
    internal float[] DRecurrent { get; }    // [T, B, G·H]: dL/d(recurrent projection) (cells that keep it apart only)
    internal float[] DUpper { get; }        // [T, B, max(I, H)]: dL/d(output of the current layer)
    internal float[] DLower { get; }        // [T, B, max(I, H)]: dL/d(input of the current layer)
    internal float[] CarryHidden { get; }   // [B, H]: dh flowing from step t+1 to t
    internal float[] CarryCell { get; }     // [B, H]: dc flowing from step t+1 to t
    internal float[] DHiddenTotal { get; }  // [B, H]
    internal float[] DBias { get; }         // [G·H]

    // W_hh of the layer being processed, packed once per forward or backward pass for the per-step products. It is
    // rebuilt from the weights at the start of every pass (and of every layer), never kept across passes, so an
    // optimiser's update of the weights between passes cannot leave it stale.
    internal float[] PackedWeightHh { get; }

    // The arguments of the running pass, handed to the pool's threads without allocating.
    internal RecurrentPassWork PassWork { get; }

    // The split work of a PackedRecurrentLayer's steps.
    internal GatePanelWork PanelWork { get; }
    internal PackedGemmRowsWork ProjectionWork { get; }

    // What the last forward pass saved.
    internal int SavedSteps { get; set; }
    internal int SavedBatch { get; set; }
    internal bool SavedTokens { get; set; }
    internal bool SavedBatchFirst { get; set; }
    internal bool HasSaved { get; set; }

    private static int Checked(long length, string paramName) =>
        length <= Array.MaxLength ? (int)length : throw new ArgumentOutOfRangeException(paramName, "The workspace would not fit in one array; use fewer steps or a smaller batch.");
}

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
public sealed class RecurrentWorkspace : IPassWorkspace
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
        int h = options.HiddenSize, hs = options.HiddenStateSize, g = options.GateSize, units = options.StateLayers;
        int width = options.OutputSize, widest = Math.Max(options.InputSize, width);
        long rows = (long)maxSteps * maxBatch;
        string name = nameof(maxSteps);
        Gates = new float[Checked(units * rows * g, name)];
        Hidden = new float[Checked(units * (rows + maxBatch) * hs, name)];
        Cell = options.HasCellState ? new float[Checked(units * (rows + maxBatch) * h, name)] : [];
        Recurrent = options.Recurrence.SeparateRecurrent ? new float[Gates.Length] : [];
        Raw = options.ProjectionSize > 0 ? new float[Checked(units * rows * h, name)] : [];
        LayerOutput = options.Bidirectional ? new float[Checked(options.NumLayers * rows * width, name)] : [];
        bool dropout = options.Dropout > 0f && options.NumLayers > 1;
        Dropped = dropout ? new float[Checked((options.NumLayers - 1) * rows * width, name)] : [];
        DropoutMask = dropout ? new float[Dropped.Length] : [];
        Input = new float[Checked(rows * options.InputSize, name)];
        Tokens = new int[Checked(rows, name)];
        DGates = new float[Checked(rows * g, name)];
        DRecurrent = options.Recurrence.SeparateRecurrent ? new float[DGates.Length] : [];
        DUpper = new float[Checked(rows * widest, name)];
        DLower = new float[DUpper.Length];
        DProjected = options.ProjectionSize > 0 ? new float[Checked(rows * hs, name)] : [];
        DRaw = options.ProjectionSize > 0 ? new float[Checked((long)maxBatch * h, name)] : [];
        PreviousRows = new float[Checked(rows * hs, name)];
        CarryHidden = new float[Checked((long)maxBatch * Math.Max(h, hs), name)];
        CarryCell = new float[Checked((long)maxBatch * h, name)];
        DHiddenTotal = new float[Checked((long)maxBatch * hs, name)];
        DBias = new float[g];
        PackedWeightHh = new float[CellMath.RecurrentPackedLength(hs, g)];
        Layout = new SequenceLayout(maxSteps, maxBatch);
        Pool = pool;
        PassWork = new RecurrentPassWork(this);
    }

    /// <summary>The pool whose threads share this workspace's sequence passes, or null for the calling thread alone.</summary>
    public ComputePool? Pool { get; }

    /// <summary>The network shape this workspace serves.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>The largest number of steps a forward pass may run with this workspace.</summary>
    public int MaxSteps { get; }

    /// <summary>The largest batch a forward pass or step may run with this workspace.</summary>
    public int MaxBatch { get; }

    // Saved by forward, read by backward, per unit u = layer·D + direction, with the rows of the last pass's
    // SequenceLayout (R ≤ T·B compact rows; units are T·B rows apart).
    internal float[] Gates { get; }         // [U, R, G·H]: what each cell's backward reads (activations; an RNN's pre-activations, its backward reads h)
    internal float[] Hidden { get; }        // [U, R + B, H']: the history of h, initial rows included (see SequenceLayout)
    internal float[] Cell { get; }          // [U, R + B, H]: the history of c (cells with a cell state only)
    internal float[] Recurrent { get; }     // [U, R, G·H]: W_hh·h₋₁ + b_hh (cells that keep it apart only; a step's scratch too)
    internal float[] Raw { get; }           // [U, R, H]: h before the projection (projected LSTMs only; a step's scratch too)
    internal float[] LayerOutput { get; }   // [L, R, D·H']: each layer's two directions side by side (bidirectional only)
    internal float[] Dropped { get; }       // [L−1, R, D·H']: a layer's output after dropout, the next layer's input (training passes)
    internal float[] DropoutMask { get; }   // [L−1, R, D·H']: the dropout multipliers of the last training pass (0 or 1/(1−p))
    internal float[] Input { get; }         // [R, I]: the dense input, compact
    internal int[] Tokens { get; }          // [R]: the token input, compact
    internal SequenceLayout Layout { get; } // the rows of the last pass

    SequenceLayout IPassWorkspace.Layout => Layout;
    float[] IPassWorkspace.Input => Input;
    int[] IPassWorkspace.Tokens => Tokens;

    // Backward scratch.
    internal float[] DGates { get; }        // [T, B, G·H]: dL/d(input projection), and of the recurrent one when fused
    internal float[] DRecurrent { get; }    // [T, B, G·H]: dL/d(recurrent projection) (cells that keep it apart only)
    internal float[] DUpper { get; }        // [T, B, max(I, H)]: dL/d(output of the current layer)
    internal float[] DLower { get; }        // [T, B, max(I, H)]: dL/d(input of the current layer)
    internal float[] DProjected { get; }    // [R, P]: dL/dh of every step, for dL/dW_hr (projected LSTMs only)
    internal float[] DRaw { get; }          // [B, H]: dL/d(h before the projection) of one step
    internal float[] PreviousRows { get; }  // [R, H']: h₋₁ of every row gathered in row order, when the history does not hold it so
    internal float[] CarryHidden { get; }   // [B, max(H, H')]: dh flowing from step t+1 to t (a packed step's next h too)
    internal float[] CarryCell { get; }     // [B, H]: dc flowing from step t+1 to t
    internal float[] DHiddenTotal { get; }  // [B, H']
    internal float[] DBias { get; }         // [G·H]

    // W_hh of the layer being processed, packed once per forward or backward pass for the per-step products. It is
    // rebuilt from the weights at the start of every pass (and of every layer), never kept across passes, so an
    // optimiser's update of the weights between passes cannot leave it stale.
    internal float[] PackedWeightHh { get; }

    // The arguments of the running pass, handed to the pool's threads without allocating.
    internal RecurrentPassWork PassWork { get; }

    // What the last forward pass saved.
    internal int SavedSteps { get; set; }
    internal int SavedBatch { get; set; }
    internal bool SavedTokens { get; set; }
    internal bool SavedBatchFirst { get; set; }
    internal bool HasSaved { get; set; }
    internal bool SavedTraining { get; set; }

    /// <summary>
    /// Seeds the dropout of the training passes run with this workspace and restarts their count: the k-th training pass
    /// after this call draws the same masks for the same seed, whatever the thread count. A new workspace is seeded with 0.
    /// </summary>
    public void SeedDropout(ulong seed)
    {
        DropoutSeed = seed;
        DropoutPasses = 0;
    }

    internal ulong DropoutSeed { get; private set; }
    internal ulong DropoutPasses { get; set; }

    /// <summary>
    /// Copies the dropout multipliers the last training pass applied to layer <paramref name="layer"/>'s output (0 or
    /// 1/(1 − p); 0 at padded positions) into <paramref name="mask"/>, [T, B, D·H'] time-major in the streams' order.
    /// </summary>
    /// <exception cref="InvalidOperationException">No training pass with dropout is saved.</exception>
    /// <exception cref="ArgumentException">The layer has no dropout after it, or the length is not T·B·D·H'.</exception>
    public void CopyDropoutMask(int layer, Span<float> mask)
    {
        if (!HasSaved || !SavedTraining || DropoutMask.Length == 0)
            throw new InvalidOperationException("The workspace holds no training pass with dropout.");
        if ((uint)layer >= (uint)(Options.NumLayers - 1))
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"Expected a layer in [0, {Options.NumLayers - 1}) (dropout follows every layer but the last).");
        SequenceLayout layout = Layout;
        int width = Options.OutputSize, batch = layout.Batch;
        Guard.Length(mask.Length, layout.Steps * batch * width, nameof(mask));
        mask.Clear();
        ReadOnlySpan<float> saved = DropoutMask.AsSpan(layer * layout.Steps * batch * width);
        for (int t = 0; t < layout.Steps; t++)
            for (int s = 0; s < layout.Active[t]; s++)
                saved.Slice((layout.RowStart[t] + s) * width, width).CopyTo(mask.Slice((t * batch + layout.Order[s]) * width, width));
    }

    private static int Checked(long length, string paramName) =>
        length <= Array.MaxLength ? (int)length : throw new ArgumentOutOfRangeException(paramName, "The workspace would not fit in one array; use fewer steps or a smaller batch.");
}

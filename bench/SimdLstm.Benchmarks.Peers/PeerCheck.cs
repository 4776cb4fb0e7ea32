using System;
using System.Collections.Generic;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// Cross-checks a peer against SimdLstm on the same weights and inputs before it is timed. A peer that disagrees is
/// not timed at all.
/// </summary>
/// <remarks>
/// <para>
/// Every inference path the benchmarks time is compared: <see cref="RecurrentLayer"/> itself, its packed copy, and the
/// packed copy on a 2-thread <see cref="ComputePool"/>; and the training pass on one thread and on the pool.
/// </para>
/// <para>
/// Tolerances. Outputs h (and an LSTM's c) lie in (−1, 1); each gate pre-activation sums I + H ≤ 2048 float32 products of
/// weights ≤ 1/√H with values ≤ 1, so different summation orders and the peers' own sigmoid/tanh approximations differ
/// by ~1e-6, and the contractive recurrence keeps that from growing over 100 steps: <see cref="OutputTolerance"/> =
/// 1e-4 absolute leaves a wide margin while still catching any mapping error (a swapped gate or a missing bias changes
/// outputs by ~1e-1). Gradients are sums over every token and grow with them, so they are compared relative to the largest
/// magnitude of the tensor: <see cref="GradientTolerance"/> = 1e-4 of it.
/// </para>
/// </remarks>
internal static class PeerCheck
{
    public const double OutputTolerance = 1e-4;
    public const double GradientTolerance = 1e-4;

    // The training check uses a small B and T: the mapping of weights and the semantics of the pass do not depend on
    // them, and it keeps the check quick at every size.
    private const int CheckBatch = 4, CheckSteps = 5;

    // Steps the ONNX Runtime check streams (the state carried through its outputs), and steps the libtorch check takes
    // before its cell step, so that the step starts from a nonzero state.
    private const int StreamSteps = 3, WarmSteps = 5;

    /// <summary>The layer every peer benchmark copies: the shape and seed of the main suite's class of that cell.</summary>
    public static RecurrentLayer Layer(int size, CellKind cell) => new(BenchCases.Options(cell, size), seed: 1);

    /// <summary>Deterministic inputs in U(−1, 1).</summary>
    public static float[] Uniform(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>ONNX Runtime against every inference path of ours: a 3-step stream and a 100-step sequence.</summary>
    public static Agreement OnnxRuntime(int size, CellKind cell)
    {
        var agreement = new Agreement(size);
        RecurrentLayer layer = Layer(size, cell);
        bool hasCell = layer.Options.HasCellState;
        float[] x = Uniform(BenchCases.SequenceSteps * size, seed: 2);

        // ONNX Runtime's results, once.
        var streamH = new float[StreamSteps][];
        var streamC = new float[StreamSteps][];
        using (var step = new OnnxRuntimePeer(layer.Weights, steps: 1))
        {
            for (int t = 0; t < StreamSteps; t++)
            {
                x.AsSpan(t * size, size).CopyTo(step.Input);
                step.Run();
                streamH[t] = step.CurrentHidden.AsSpan().ToArray();
                streamC[t] = step.CurrentCell.AsSpan().ToArray();
            }
        }
        float[] y, yH, yC;
        using (var sequence = new OnnxRuntimePeer(layer.Weights, BenchCases.SequenceSteps))
        {
            x.CopyTo(sequence.Input, 0);
            sequence.Run();
            y = sequence.Output.AsSpan().ToArray();
            yH = sequence.CurrentHidden.AsSpan().ToArray();
            yC = sequence.CurrentCell.AsSpan().ToArray();
        }

        using var pool = new ComputePool(2);
        foreach (InferencePath ours in InferencePath.All(layer, pool))
        {
            RecurrentState state = layer.CreateState();
            InferencePath.Work workspace = ours.CreateWorkspace(1);
            float[] h = new float[size];
            for (int t = 0; t < StreamSteps; t++)
            {
                ours.Step(x.AsSpan(t * size, size), state, workspace, h);
                agreement.Output($"ONNX Runtime step {t + 1} h ({ours.Name})", streamH[t], state.Hidden);
                if (hasCell)
                    agreement.Output($"ONNX Runtime step {t + 1} c ({ours.Name})", streamC[t], state.Cell);
            }

            state = layer.CreateState();
            float[] ourY = new float[BenchCases.SequenceSteps * size];
            ours.Forward(x, BenchCases.SequenceSteps, state, ours.CreateWorkspace(BenchCases.SequenceSteps), ourY);
            agreement.Output($"ONNX Runtime sequence Y ({ours.Name})", y, ourY);
            agreement.Output($"ONNX Runtime sequence Y_h ({ours.Name})", yH, state.Hidden);
            if (hasCell)
                agreement.Output($"ONNX Runtime sequence Y_c ({ours.Name})", yC, state.Cell);
        }
        return agreement;
    }

    /// <summary>
    /// libtorch against every path of ours: a cell step from a nonzero state, a 100-step sequence, and a training pass's
    /// parameter and input gradients against autograd.
    /// </summary>
    public static Agreement Torch(int size, CellKind cell)
    {
        var agreement = new Agreement(size);
        RecurrentLayer layer = Layer(size, cell);
        bool hasCell = layer.Options.HasCellState;
        string cellModule = cell == CellKind.Lstm ? "LSTMCell" : "GRUCell", sequenceModule = cell == CellKind.Lstm ? "LSTM" : "GRU";
        using var peer = new TorchPeer(layer.Weights);
        using IDisposable scope = NewDisposeScope();
        using var pool = new ComputePool(2);
        float[] x = Uniform(BenchCases.SequenceSteps * size, seed: 2);
        float[] xStep = x.AsSpan(WarmSteps * size, size).ToArray();

        foreach (InferencePath ours in InferencePath.All(layer, pool))
        {
            // Step from this path's state after a few steps, so the h (and c) inputs are exercised.
            RecurrentState state = layer.CreateState();
            InferencePath.Work workspace = ours.CreateWorkspace(1);
            float[] h = new float[size];
            for (int t = 0; t < WarmSteps; t++)
                ours.Step(x.AsSpan(t * size, size), state, workspace, h);
            Tensor h0 = tensor(state.Hidden.ToArray(), [1, size]);
            Tensor? c0 = hasCell ? tensor(state.Cell.ToArray(), [1, size]) : null;
            ours.Step(xStep, state, workspace, h);
            (Tensor h1, Tensor? c1) = peer.Step(tensor(xStep, [1, size]), h0, c0);
            agreement.Output($"libtorch {cellModule} h ({ours.Name})", h1.data<float>().ToArray(), state.Hidden);
            if (c1 is not null)
                agreement.Output($"libtorch {cellModule} c ({ours.Name})", c1.data<float>().ToArray(), state.Cell);
        }

        // Sequence from a zero state.
        (Tensor ty, Tensor th, Tensor? tc) = peer.Sequence(tensor(x, [BenchCases.SequenceSteps, 1, size]),
            zeros(1, 1, size), hasCell ? zeros(1, 1, size) : null);
        float[] peerY = ty.data<float>().ToArray(), peerH = th.data<float>().ToArray();
        float[] peerC = tc is null ? [] : tc.data<float>().ToArray();
        foreach (InferencePath ours in InferencePath.All(layer, pool))
        {
            RecurrentState state = layer.CreateState();
            float[] y = new float[BenchCases.SequenceSteps * size];
            ours.Forward(x, BenchCases.SequenceSteps, state, ours.CreateWorkspace(BenchCases.SequenceSteps), y);
            agreement.Output($"libtorch nn.{sequenceModule} y ({ours.Name})", peerY, y);
            agreement.Output($"libtorch nn.{sequenceModule} h_T ({ours.Name})", peerH, state.Hidden);
            if (hasCell)
                agreement.Output($"libtorch nn.{sequenceModule} c_T ({ours.Name})", peerC, state.Cell);
        }

        // Training: the same dL/dy into both, compare every parameter gradient and dL/dx.
        int rows = CheckSteps * CheckBatch;
        float[] input = Uniform(rows * size, seed: 3), dOutput = Uniform(rows * size, seed: 4);
        Tensor tx = tensor(input, [CheckSteps, CheckBatch, size]).requires_grad_(true);
        peer.Train(tx, tensor(dOutput, [CheckSteps, CheckBatch, size]));
        string[] names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];
        var peerGradients = new float[names.Length][];
        for (int i = 0; i < names.Length; i++)
        {
            Tensor? grad = peer.Gradient(names[i]);
            if (grad is null)
                return agreement.Fail($"libtorch has no gradient for {names[i]}");
            peerGradients[i] = grad.data<float>().ToArray();
        }
        float[] peerDx = tx.grad!.data<float>().ToArray();

        foreach ((string name, ComputePool? trainPool) in new[] { ("RecurrentLayer", (ComputePool?)null), ("RecurrentLayer, 2 threads", pool) })
        {
            float[] output = new float[rows * size], dInput = new float[rows * size];
            RecurrentParameters gradients = layer.CreateGradients();
            RecurrentWorkspace trainWorkspace = layer.CreateWorkspace(CheckSteps, CheckBatch, trainPool);
            layer.Forward(input, CheckSteps, layer.CreateState(CheckBatch), trainWorkspace, output);
            layer.Backward(dOutput, trainWorkspace, gradients, dInput);
            agreement.Gradient($"libtorch d{names[0]} ({name})", peerGradients[0], gradients.WeightIh(0));
            agreement.Gradient($"libtorch d{names[1]} ({name})", peerGradients[1], gradients.WeightHh(0));
            agreement.Gradient($"libtorch d{names[2]} ({name})", peerGradients[2], gradients.BiasIh(0));
            agreement.Gradient($"libtorch d{names[3]} ({name})", peerGradients[3], gradients.BiasHh(0));
            agreement.Gradient($"libtorch dL/dx ({name})", peerDx, dInput);
        }
        return agreement;
    }

    /// <summary>The bidirectional layer the sequence-shape peer benchmarks copy: the shape and seed of the main suite's <c>…SequenceShapeBench</c>.</summary>
    public static RecurrentLayer BidirectionalLayer(int size, CellKind cell) => new(SequenceShapes.Options(cell, size, bidirectional: true), seed: 1);

    /// <summary>The sequence-shape passes the peers time: B = 1 (every stream T long) and B = 16 with <see cref="SequenceShapes.BatchLengths"/>.</summary>
    public static IEnumerable<(string Name, int Batch, int[] Lengths)> BidirectionalPasses() =>
        [("B = 1", 1, []), ($"B = {SequenceShapes.Batch}", SequenceShapes.Batch, SequenceShapes.BatchLengths.ToArray())];

    /// <summary>
    /// ONNX Runtime's bidirectional node with <c>sequence_lens</c> against our packed copy and <see cref="RecurrentLayer"/>:
    /// Y (converted from [T, 2, B, H] to [T, B, 2H], zero past each stream's length), Y_h and Y_c ([2, B, H]), for each
    /// pass of <see cref="BidirectionalPasses"/>.
    /// </summary>
    public static Agreement OnnxRuntimeBidirectional(int size, CellKind cell)
    {
        var agreement = new Agreement(size);
        RecurrentLayer layer = BidirectionalLayer(size, cell);
        foreach ((string pass, int batch, int[] lengths) in BidirectionalPasses())
        {
            float[] x = Uniform(SequenceShapes.Steps * batch * size, seed: 2);
            int[] peerLengths = lengths.Length > 0 ? lengths : [.. System.Linq.Enumerable.Repeat(SequenceShapes.Steps, batch)];
            float[] y, yH, yC;
            using (var peer = new OnnxRuntimeSequencePeer(layer.Weights, SequenceShapes.Steps, peerLengths))
            {
                x.CopyTo(peer.Input, 0);
                peer.Run();
                y = peer.OutputTimeBatchFeature();
                yH = peer.Hidden.AsSpan().ToArray();
                yC = peer.Cell.AsSpan().ToArray();
            }
            CompareBidirectional(agreement, $"ONNX Runtime bidirectional {pass}", layer, x, batch, lengths, y, yH, yC, "Y", "Y_h", "Y_c");
        }
        return agreement;
    }

    /// <summary>
    /// libtorch's <c>nn.LSTM</c> / <c>nn.GRU</c> with <c>bidirectional</c>, through <c>pack_padded_sequence</c>
    /// (unsorted lengths) for B = 16 and directly for B = 1, against our packed copy and <see cref="RecurrentLayer"/>: y
    /// [T, B, 2H] (zero past each stream's length), h_n and c_n [2, B, H].
    /// </summary>
    public static Agreement TorchBidirectional(int size, CellKind cell)
    {
        var agreement = new Agreement(size);
        RecurrentLayer layer = BidirectionalLayer(size, cell);
        using var peer = new TorchSequencePeer(layer.Weights);
        using IDisposable scope = NewDisposeScope();
        string module = cell == CellKind.Lstm ? "nn.LSTM" : "nn.GRU";
        foreach ((string pass, int batch, int[] lengths) in BidirectionalPasses())
        {
            float[] x = Uniform(SequenceShapes.Steps * batch * size, seed: 2);
            Tensor? peerLengths = lengths.Length > 0 ? tensor(System.Array.ConvertAll(lengths, l => (long)l), [batch]) : null;
            (Tensor ty, Tensor th, Tensor? tc) = peer.Forward(tensor(x, [SequenceShapes.Steps, batch, size]), peerLengths);
            CompareBidirectional(agreement, $"libtorch {module} bidirectional{(lengths.Length > 0 ? " packed" : "")} {pass}", layer, x, batch, lengths,
                ty.contiguous().data<float>().ToArray(), th.contiguous().data<float>().ToArray(), tc is null ? [] : tc.contiguous().data<float>().ToArray(), "y", "h_n", "c_n");
        }
        return agreement;
    }

    // Runs both of our timed paths (the packed copy, RecurrentLayer) over x with these lengths from a zero state and
    // compares the output [T, B, 2H] and the final state [2, B, H] with the peer's.
    private static void CompareBidirectional(Agreement agreement, string what, RecurrentLayer layer, float[] x, int batch, int[] lengths,
        float[] peerY, float[] peerH, float[] peerC, string yName, string hName, string cName)
    {
        PackedRecurrentLayer packed = layer.Pack();
        foreach (string path in new[] { "packed", "RecurrentLayer" })
        {
            RecurrentState state = layer.CreateState(batch);
            float[] y = new float[SequenceShapes.Steps * batch * layer.Options.OutputSize];
            var input = SequenceInput.Dense(x, SequenceShapes.Steps, lengths: lengths);
            if (path == "packed")
                packed.Forward(input, state, packed.CreateWorkspace(SequenceShapes.Steps, batch), y);
            else
                layer.Forward(input, state, layer.CreateWorkspace(SequenceShapes.Steps, batch), y, training: false);
            agreement.Output($"{what} {yName} ({path})", peerY, y);
            agreement.Output($"{what} {hName} ({path})", peerH, state.Hidden);
            if (layer.Options.HasCellState)
                agreement.Output($"{what} {cName} ({path})", peerC, state.Cell);
        }
    }

    // One of our inference paths: the layer itself (weights in PyTorch's layout), or its packed copy on one thread or on
    // a pool (what the benchmarks' Step/Sequence and …TwoThreads cases time).
    private sealed class InferencePath(string name, RecurrentLayer layer, PackedRecurrentLayer? packed, ComputePool? pool)
    {
        public string Name { get; } = name;

        public static IEnumerable<InferencePath> All(RecurrentLayer layer, ComputePool pool)
        {
            PackedRecurrentLayer packed = layer.Pack();
            return [new("RecurrentLayer", layer, null, null), new("packed", layer, packed, null), new("packed, 2 threads", layer, packed, pool)];
        }

        /// <summary>The scratch of one path: the layer's own workspace, or the packed copy's inference workspace.</summary>
        public sealed record Work(RecurrentWorkspace? Layer, InferenceWorkspace? Packed);

        public Work CreateWorkspace(int steps) =>
            packed is null ? new(layer.CreateWorkspace(steps, 1, pool), null) : new(null, packed.CreateWorkspace(steps, 1, pool));

        public void Step(ReadOnlySpan<float> input, RecurrentState state, Work workspace, Span<float> output)
        {
            if (packed is null)
                layer.Step(input, state, workspace.Layer!, output);
            else
                packed.Step(input, state, workspace.Packed!, output);
        }

        public void Forward(ReadOnlySpan<float> input, int steps, RecurrentState state, Work workspace, Span<float> output)
        {
            if (packed is null)
                layer.Forward(input, steps, state, workspace.Layer!, output);
            else
                packed.Forward(input, steps, state, workspace.Packed!, output);
        }
    }
}

/// <summary>
/// What a cross-check found: the largest output difference (absolute) and the largest gradient difference (relative to
/// the larger of 1 and the tensor's largest magnitude) with where they were, and the first comparison beyond its
/// tolerance.
/// </summary>
internal sealed class Agreement(int size)
{
    /// <summary>The first disagreement, or null.</summary>
    public string? Problem { get; private set; }

    /// <summary>Largest |peer − ours| over every output compared.</summary>
    public double WorstOutput { get; private set; }

    /// <summary>Where <see cref="WorstOutput"/> was.</summary>
    public string WorstOutputAt { get; private set; } = "nothing compared";

    /// <summary>Largest |peer − ours| / max(1, max |ours|) over every gradient compared (0 when none was).</summary>
    public double WorstGradient { get; private set; }

    /// <summary>Where <see cref="WorstGradient"/> was.</summary>
    public string WorstGradientAt { get; private set; } = "nothing compared";

    /// <summary>Whether any gradient was compared.</summary>
    public bool HasGradients { get; private set; }

    /// <summary>How the outputs were compared, for the summary line: the fixed tolerances unless a check says otherwise.</summary>
    public string Tolerance { get; init; } = string.Create(CultureInfo.InvariantCulture,
        $"outputs within {PeerCheck.OutputTolerance:G} abs, gradients within {PeerCheck.GradientTolerance:G} of their largest magnitude");

    /// <summary>
    /// One line per label of <see cref="Bounded"/>: its largest difference with the bound there, and its largest
    /// difference as a fraction of the bound, over every call.
    /// </summary>
    public IEnumerable<string> Details
    {
        get
        {
            foreach ((string label, BoundedWorst w) in _bounded)
                yield return string.Create(CultureInfo.InvariantCulture,
                    $"{label}: largest |Δ| {w.Difference:G3}, bound there {w.BoundAtDifference:G3} ({w.DifferenceAt}); largest |Δ| / bound {w.Ratio:F3}");
        }
    }

    private readonly List<(string Label, BoundedWorst Worst)> _bounded = [];

    private sealed class BoundedWorst
    {
        public double Difference, BoundAtDifference, Ratio;
        public string DifferenceAt = "-";
        public bool Any;
    }

    /// <summary>
    /// Compares an approximation with a reference element by element, each within its own bound; records the worst
    /// difference under <paramref name="label"/> (with <paramref name="where"/>) for <see cref="Details"/>.
    /// </summary>
    public void Bounded(string label, string where, ReadOnlySpan<float> approximation, ReadOnlySpan<float> reference, ReadOnlySpan<double> bound)
    {
        if (approximation.Length != reference.Length || bound.Length != reference.Length)
        {
            Fail($"{label} {where}: {approximation.Length} values and {bound.Length} bounds, expected {reference.Length}");
            return;
        }
        BoundedWorst? worst = null;
        foreach ((string l, BoundedWorst w) in _bounded)
        {
            if (l == label)
                worst = w;
        }
        if (worst is null)
        {
            worst = new BoundedWorst();
            _bounded.Add((label, worst));
        }
        for (int i = 0; i < reference.Length; i++)
        {
            double d = Math.Abs((double)approximation[i] - reference[i]), ratio = d / bound[i];
            string at = string.Create(CultureInfo.InvariantCulture, $"{where}, element {i}: {approximation[i]:G6} against fp32 {reference[i]:G6}");
            if (!(d <= worst.Difference) || !worst.Any)
                (worst.Difference, worst.BoundAtDifference, worst.DifferenceAt) = (d, bound[i], at);
            if (!(ratio <= worst.Ratio) || !worst.Any)
                worst.Ratio = ratio;
            worst.Any = true;
            if (!(d <= bound[i]))
                Problem ??= string.Create(CultureInfo.InvariantCulture, $"{label} differs from fp32 by {d:G3} at I = H = {size}, {at} (bound {bound[i]:G3})");
            if (!(d <= WorstOutput) || WorstOutputAt == "nothing compared")
            {
                WorstOutput = d;
                WorstOutputAt = string.Create(CultureInfo.InvariantCulture, $"{label} at I = H = {size}, {at}");
            }
        }
    }

    /// <summary>Compares outputs within <see cref="PeerCheck.OutputTolerance"/>.</summary>
    public void Output(string what, ReadOnlySpan<float> peer, ReadOnlySpan<float> ours)
    {
        if (Worst(what, peer, ours, 1, PeerCheck.OutputTolerance) is not (double d, string at))
            return;
        if (!(d <= WorstOutput) || WorstOutputAt == "nothing compared")
        {
            WorstOutput = d;
            WorstOutputAt = at;
        }
    }

    /// <summary>Compares gradients within <see cref="PeerCheck.GradientTolerance"/> of max(1, their largest magnitude).</summary>
    public void Gradient(string what, ReadOnlySpan<float> peer, ReadOnlySpan<float> ours)
    {
        double scale = 1;
        foreach (float v in ours)
            scale = Math.Max(scale, Math.Abs(v));
        if (Worst(what, peer, ours, scale, PeerCheck.GradientTolerance) is not (double d, string at))
            return;
        if (!(d <= WorstGradient) || !HasGradients)
        {
            WorstGradient = d;
            WorstGradientAt = at;
        }
        HasGradients = true;
    }

    /// <summary>Records a disagreement that is not a difference of values; returns this.</summary>
    public Agreement Fail(string problem)
    {
        Problem ??= $"{problem} at I = H = {size}";
        return this;
    }

    // The worst |peer − ours| / scale, and a description of it; records a problem beyond tolerance (or a length mismatch,
    // then returns null).
    private (double, string)? Worst(string what, ReadOnlySpan<float> peer, ReadOnlySpan<float> ours, double scale, double tolerance)
    {
        if (peer.Length != ours.Length)
        {
            Fail($"{what}: {peer.Length} values, expected {ours.Length}");
            return null;
        }
        if (ours.Length == 0)
            return (0, $"{what} at I = H = {size} (no values)");
        double worst = 0;
        int at = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double d = Math.Abs((double)peer[i] - ours[i]) / scale;
            if (!(d <= worst))
            {
                worst = d;
                at = i;
            }
        }
        string where = string.Create(CultureInfo.InvariantCulture, $"{what} at I = H = {size}, element {at} (peer {peer[at]}, SimdLstm {ours[at]})");
        if (!(worst <= tolerance))
            Problem ??= string.Create(CultureInfo.InvariantCulture, $"{what} differs by {worst:G3}{(scale > 1 ? " of its largest magnitude" : "")} at I = H = {size}, element {at} (peer {peer[at]}, SimdLstm {ours[at]}; tolerance {tolerance:G3})");
        return (worst, where);
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace SimdLstm.Benchmarks;

/// <summary>
/// Writes the tracked results page: the machine, the command, the limits measured in the run, and per size a table of
/// our time, each peer's time, the ratio peer / ours (above 1: SimdLstm is faster) and our fraction of the limit.
/// </summary>
public static class ReportWriter
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>Builds the page from our results and the peers' (either may be empty).</summary>
    public static string Write(ResultSet ours, ResultSet peers, string command, string notes)
    {
        ArgumentNullException.ThrowIfNull(ours);
        ArgumentNullException.ThrowIfNull(peers);
        var sb = new StringBuilder();
        IReadOnlyDictionary<string, string> host = ours.Host.Count > 0 ? ours.Host : peers.Host;
        string Host(string name) => host.TryGetValue(name, out string? v) ? v : "?";
        sb.AppendLine(CultureInfo.InvariantCulture, $"# SimdLstm benchmarks on {Host("ProcessorName")}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"- CPU: {Host("ProcessorName")}, {Host("PhysicalCoreCount")} physical / {Host("LogicalCoreCount")} logical cores; OS: {Host("OsVersion")}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- .NET: {Host("RuntimeVersion")} ({Host("Architecture")}), BenchmarkDotNet {Host("BenchmarkDotNetVersion")}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- Command: `{command}`");
        if (!string.IsNullOrWhiteSpace(notes))
            sb.AppendLine(CultureInfo.InvariantCulture, $"- Notes: {notes}");
        sb.AppendLine("- Raw BenchmarkDotNet exports (CSV, full JSON) are in the folder of the same name beside this file.");
        sb.AppendLine();

        double? peak = ours.PeakGflops();
        sb.AppendLine("## Hardware limit measured in this run (one core)");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"- FMA peak (12 independent Vector256 FMA chains): {Format(peak, "F1")} GFLOP/s");
        List<int> sizes = Sizes(ours, peers);
        // A run of the precision cases alone (bench/run.sh --precision-only) has its own read cases and no cell cases.
        bool precisionOnly = ours.Cases.Any(c => CaseWork.PrecisionCellOf(c.Key.Type) is not null)
            && !ours.Cases.Concat(peers.Cases).Any(c => c.Key.Type == nameof(BandwidthBench) || CaseWork.CellOf(c.Key.Type) is not null
                || CaseWork.SequenceShapeCellOf(c.Key.Type) is not null);
        if (precisionOnly)
        {
            WritePackedReads(sb, ours, sizes);
            WritePrecision(sb, ours, peers, sizes);
            return sb.ToString();
        }
        if (sizes.Count > 0)
        {
            sb.AppendLine("- Read bandwidth over a buffer the size of the weights (GB/s, and the floor time to stream them once):");
            sb.AppendLine();
            sb.Append("| I = H |");
            foreach (CellKind cell in s_cells)
                sb.Append(CultureInfo.InvariantCulture, $" {Name(cell)} all weights | {Name(cell)} W_hh |");
            sb.AppendLine();
            sb.Append("|---:|");
            foreach (CellKind _ in s_cells)
                sb.Append("---:|---:|");
            sb.AppendLine();
            foreach (int size in sizes)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {size} |");
                foreach (CellKind cell in s_cells)
                {
                    foreach (WeightSet set in new[] { WeightSet.All, WeightSet.Recurrent })
                    {
                        double? ns = ours.BandwidthNs(cell, size, set);
                        double bytes = BandwidthBench.Bytes(cell, size, set);
                        sb.Append(ns is double n ? $" {(bytes / n).ToString("F1", s_inv)} GB/s, {Time(n)} |" : " - |");
                    }
                }
                sb.AppendLine();
            }
        }
        sb.AppendLine();
        sb.AppendLine("Times are per step for the step and sequence cases and per pass for training. A peer's ratio is its time over ours");
        sb.AppendLine("(above 1: SimdLstm is faster). The limit is the floor from the measurements above: a batch-1 step must stream all");
        sb.AppendLine("weights once and do 2·G·H·(I+H) FLOPs (G = 4 LSTM, 3 GRU, 1 RNN); a sequence step must stream W_hh (the input");
        sb.AppendLine("projection covers all steps in one product) and do the same FLOPs; training (3 × 2·G·H·(I+H) FLOPs per token) is");
        sb.AppendLine("bound by the FMA peak.");
        sb.AppendLine();

        foreach (int size in sizes)
        {
            int sectionStart = sb.Length, rows = 0;
            sb.AppendLine(CultureInfo.InvariantCulture, $"## I = H = {size}");
            sb.AppendLine();
            List<string> peerColumns = PeerColumns(peers);
            sb.Append("| Case | SimdLstm | alloc | GFLOP/s |");
            foreach (string column in peerColumns)
                sb.Append(CultureInfo.InvariantCulture, $" {column} | ratio |");
            sb.AppendLine(" limit | of limit |");
            sb.Append("|---|---:|---:|---:|");
            foreach (var _ in peerColumns)
                sb.Append("---:|---:|");
            sb.AppendLine("---:|---:|");
            foreach (CellKind cell in s_cells)
            {
                foreach (string method in new[] { "Step", "StepTwoThreads", "LayerStep", "Sequence", "SequenceTwoThreads", "LayerSequence", "Train", "TrainTwoThreads" })
                {
                    string type = cell switch
                    {
                        CellKind.Lstm => nameof(LstmBench),
                        CellKind.Gru => nameof(GruBench),
                        _ => nameof(RnnBench),
                    };
                    CaseResult? mine = ours.Find(k => k.Type == type && k.Method == method && k.Parameter("Size") == size.ToString(s_inv));
                    // Peers have one step and one sequence case; both of ours are compared with it.
                    string peerMethod = method.Replace("Layer", "", StringComparison.Ordinal).Replace("TwoThreads", "", StringComparison.Ordinal);
                    var peerResults = peerColumns.Select(column => peers.Find(k => PeerColumn(k) == column && CaseWork.CellOf(k.Type) == cell
                        && k.Method == peerMethod && k.Parameter("Size") == size.ToString(s_inv))).ToList();
                    if (mine is null && peerResults.All(p => p is null))
                        continue;
                    rows++;
                    sb.Append(CultureInfo.InvariantCulture, $"| {cell} {Label(method)} | {Time(mine?.MeanNs)} | {Alloc(mine?.AllocatedBytes)} | ");
                    CaseWork work = CaseWork.Of(mine?.Key ?? new CaseKey(type, method, new Dictionary<string, string> { ["Size"] = size.ToString(s_inv) }));
                    sb.Append(CultureInfo.InvariantCulture, $"{(mine is null ? "-" : (work.Flops / mine.MeanNs).ToString("F1", s_inv))} |");
                    foreach (CaseResult? peer in peerResults)
                    {
                        string ratio = peer is not null && mine is not null ? (peer.MeanNs / mine.MeanNs).ToString("F2", s_inv) + "×" : "-";
                        sb.Append(CultureInfo.InvariantCulture, $" {Time(peer?.MeanNs)} | {ratio} |");
                    }
                    double? limit = mine is null ? null : ours.LimitNs(mine.Key);
                    string fraction = limit is double l && mine is not null ? (l / mine.MeanNs).ToString("P1", s_inv) : "-";
                    sb.AppendLine(CultureInfo.InvariantCulture, $" {Time(limit)} | {fraction} |");
                }
            }
            sb.AppendLine();
            if (rows == 0)
                sb.Length = sectionStart; // a run without the cell cases (e.g. the sequence shapes alone)
        }
        WriteSequenceShapes(sb, ours, peers, sizes);
        if (ours.Cases.Any(c => CaseWork.PrecisionCellOf(c.Key.Type) is not null))
        {
            WritePackedReads(sb, ours, sizes);
            WritePrecision(sb, ours, peers, sizes);
        }
        return sb.ToString();
    }

    private static readonly PackedPrecision[] s_precisions = [PackedPrecision.Float32, PackedPrecision.BFloat16, PackedPrecision.Int8];

    private static string Name(PackedPrecision precision) => precision switch
    {
        PackedPrecision.Float32 => "fp32",
        PackedPrecision.BFloat16 => "bf16",
        PackedPrecision.Int8 => "int8",
        _ => precision.ToString(),
    };

    // The read bandwidth of the precision cases' working sets (PackedReadBench): per cell, size and precision, the bytes
    // one step streams, the GB/s of a read of that many bytes and the floor time it gives.
    private static void WritePackedReads(StringBuilder sb, ResultSet ours, List<int> sizes)
    {
        if (!ours.Cases.Any(c => c.Key.Type == nameof(PackedReadBench)))
            return;
        sb.AppendLine("- Read bandwidth over a buffer of the packed copy's weight bytes at each precision (`PackedReadBench`: the bytes one");
        sb.AppendLine("  batch-1 step streams, `PackedRecurrentLayer.WeightBytes`; the GB/s of one pass over that many bytes; the floor time):");
        sb.AppendLine();
        sb.Append("| Cell | I = H |");
        foreach (PackedPrecision precision in s_precisions)
            sb.Append(CultureInfo.InvariantCulture, $" {Name(precision)} |");
        sb.AppendLine();
        sb.Append("|---|---:|");
        foreach (PackedPrecision _ in s_precisions)
            sb.Append("---:|");
        sb.AppendLine();
        foreach (CellKind cell in new[] { CellKind.Lstm, CellKind.Gru })
        {
            foreach (int size in sizes)
            {
                if (!s_precisions.Any(p => ours.PackedReadNs(cell, size, p) is not null))
                    continue;
                sb.Append(CultureInfo.InvariantCulture, $"| {Name(cell)} | {size} |");
                foreach (PackedPrecision precision in s_precisions)
                {
                    double? ns = ours.PackedReadNs(cell, size, precision);
                    double bytes = PackedReadBench.Bytes(cell, size, precision);
                    sb.Append(ns is double n ? $" {Bytes(bytes)}, {(bytes / n).ToString("F1", s_inv)} GB/s, {Time(n)} |" : " - |");
                }
                sb.AppendLine();
            }
        }
        sb.AppendLine();
    }

    // The precision table: per cell and size, the packed step at fp32, bf16 and int8, ONNX Runtime's DynamicQuantizeLSTM
    // step (LSTM only), the bytes each step streams and the fraction of its floor reached.
    private static void WritePrecision(StringBuilder sb, ResultSet ours, ResultSet peers, List<int> sizes)
    {
        CaseResult? Ours(CellKind cell, int size, PackedPrecision precision) =>
            ours.Find(k => CaseWork.PrecisionCellOf(k.Type) == cell && k.Method == nameof(PrecisionBench.Step)
                && k.Parameter("Size") == size.ToString(s_inv) && k.Parameter("Precision") == precision.ToString());
        CaseResult? Ort(int size) =>
            peers.Find(k => k.Type == DynamicQuantizeLstmPeer && k.Method == "Step" && k.Parameter("Size") == size.ToString(s_inv));
        static string Ratio(CaseResult? a, CaseResult? b, string suffix = "") =>
            a is not null && b is not null ? (a.MeanNs / b.MeanNs).ToString("F2", s_inv) + suffix : "-";

        sb.AppendLine("## Packed batch-1 step with fp32, bf16 and int8 weights");
        sb.AppendLine();
        sb.AppendLine("One layer, I = H, one thread: `PackedRecurrentLayer.Step` on `layer.Pack(precision)` (`LstmPrecisionBench`, `GruPrecisionBench`),");
        sb.AppendLine("the weights and input of `LstmBench`/`GruBench`, state carried from step to step. \"÷ fp32\" is the time over the fp32 step's");
        sb.AppendLine("(below 1: faster). ONNX Runtime: one `com.microsoft.DynamicQuantizeLSTM` node on the same weights quantised to int8 per gate");
        sb.AppendLine("row (symmetric, zero point 0; it quantises x and h to uint8 at run time), T = 1 with the state passed in and out, one");
        sb.AppendLine("intra-op thread; \"int8 speed-up\" is its time over our int8 step's (above 1: SimdLstm is faster). Both were checked");
        sb.AppendLine("against our fp32 step within a bound derived from their rounding before anything was timed (bench/README.md). Bytes:");
        sb.AppendLine("`WeightBytes`, what one step streams (fp32 / bf16 / int8); the floor is those bytes over the read bandwidth of a buffer");
        sb.AppendLine("of that size (above), \"of floor\" the floor over the time. \"Spread\" is the largest standard deviation of the row's cases over");
        sb.AppendLine("its mean.");
        sb.AppendLine();
        sb.AppendLine("| Cell | I = H | fp32 | bf16 | ÷ fp32 | int8 | ÷ fp32 | ONNX Runtime DynamicQuantizeLSTM | int8 speed-up | bytes per step | of floor | alloc | ONNX Runtime alloc | spread |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (CellKind cell in new[] { CellKind.Lstm, CellKind.Gru })
        {
            foreach (int size in sizes)
            {
                CaseResult?[] mine = [.. s_precisions.Select(p => Ours(cell, size, p))];
                CaseResult? ort = cell == CellKind.Lstm ? Ort(size) : null;
                if (mine.All(c => c is null) && ort is null)
                    continue;
                (CaseResult? fp32, CaseResult? bf16, CaseResult? int8) = (mine[0], mine[1], mine[2]);
                string bytes = string.Join(" / ", s_precisions.Select(p => Bytes(PrecisionBench.WeightBytes(cell, size, p))));
                string floors = string.Join(" / ", mine.Select(c => c is not null && ours.LimitNs(c.Key) is double l ? (l / c.MeanNs).ToString("P0", s_inv) : "-"));
                long? alloc = mine.Where(c => c?.AllocatedBytes is not null).Select(c => c!.AllocatedBytes).Max();
                string ortName = cell == CellKind.Lstm ? Time(ort?.MeanNs) : "(no GRU operator)";
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {Name(cell)} | {size} | {Time(fp32?.MeanNs)} | {Time(bf16?.MeanNs)} | {Ratio(bf16, fp32)} | {Time(int8?.MeanNs)} | {Ratio(int8, fp32)} | {ortName} | {Ratio(ort, int8, "×")} | {bytes} | {floors} | {Alloc(alloc)} | {Alloc(ort?.AllocatedBytes)} | {Spread([.. mine, ort])} |");
            }
        }
        sb.AppendLine();
    }

    // The peer class of the precision table (bench/SimdLstm.Benchmarks.Peers; named here because that project is separate).
    private const string DynamicQuantizeLstmPeer = "DynamicQuantizeLstmBench";

    // The largest standard deviation, relative to its mean, of the cases given: how far to trust their ratios.
    private static string Spread(params CaseResult?[] cases) =>
        cases.OfType<CaseResult>().Select(c => c.StdDevNs / c.MeanNs).DefaultIfEmpty(double.NaN).Max() is double v && !double.IsNaN(v)
            ? v.ToString("P0", s_inv) : "-";

    // Bytes as B, KiB or MiB with three significant digits.
    private static string Bytes(double bytes) => bytes switch
    {
        >= 1 << 20 => (bytes / (1 << 20)).ToString("G3", s_inv) + " MiB",
        >= 1 << 10 => (bytes / (1 << 10)).ToString("G3", s_inv) + " KiB",
        _ => bytes.ToString("G3", s_inv) + " B",
    };

    // The sequence-shape section: bidirectional ÷ (2 × unidirectional), ours against the peers, and the mean-half
    // lengths ÷ full; nothing when the run has none of these cases.
    private static void WriteSequenceShapes(StringBuilder sb, ResultSet ours, ResultSet peers, List<int> sizes)
    {
        if (!ours.Cases.Concat(peers.Cases).Any(c => CaseWork.SequenceShapeCellOf(c.Key.Type) is not null))
            return;
        CaseResult? Ours(CellKind cell, string method, int size) =>
            ours.Find(k => CaseWork.SequenceShapeCellOf(k.Type) == cell && k.Method == method && k.Parameter("Size") == size.ToString(s_inv));
        CaseResult? Peer(string prefix, CellKind cell, string method, int size) =>
            peers.Find(k => k.Type.StartsWith(prefix, StringComparison.Ordinal) && CaseWork.SequenceShapeCellOf(k.Type) == cell
                && k.Method == method && k.Parameter("Size") == size.ToString(s_inv));
        string Ratio(CaseResult? a, CaseResult? b, double scale = 1) =>
            a is not null && b is not null ? (a.MeanNs / (scale * b.MeanNs)).ToString("F2", s_inv) : "-";
        (string Batch, string Bi, string Uni)[] batches =
        [
            ("1", "Bidirectional", "Unidirectional"),
            (SequenceShapes.Batch.ToString(s_inv), "BidirectionalBatch", "UnidirectionalBatch"),
        ];
        CellKind[] cells = [CellKind.Lstm, CellKind.Gru];

        sb.AppendLine("## Sequence shapes: bidirectional passes, per-stream lengths");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"One layer, I = H, T = {SequenceShapes.Steps}, inference from a zero state, one thread. B = 1: every stream T long, per token");
        sb.AppendLine(CultureInfo.InvariantCulture, $"(time / T). B = {SequenceShapes.Batch}: lengths {string.Join(", ", SequenceShapes.BatchLengths.ToArray())} (drawn once from U{{50 … 100}}, unsorted), per");
        sb.AppendLine(CultureInfo.InvariantCulture, $"real token (time / Σ lengths = {SequenceShapes.BatchTokens}). A bidirectional token is processed by both directions.");
        sb.AppendLine("\"Spread\" is the largest standard deviation of the row's cases over its mean (a quick job measures 3 iterations, whose");
        sb.AppendLine("99.9 % interval is about ±18 standard deviations; the raw CSV has BenchmarkDotNet's Error column).");
        sb.AppendLine();
        sb.AppendLine("### Bidirectional against twice the unidirectional (packed copy; target bi ÷ (2 × uni) ≤ 1.05)");
        sb.AppendLine();
        sb.AppendLine("| Cell | I = H | B | bidirectional | unidirectional | bi ÷ (2 × uni) | bidirectional, RecurrentLayer | alloc | spread |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (CellKind cell in cells)
        {
            foreach (int size in sizes)
            {
                foreach ((string batch, string bi, string uni) in batches)
                {
                    CaseResult? b = Ours(cell, bi, size), u = Ours(cell, uni, size);
                    CaseResult? layer = batch == "1" ? null : Ours(cell, "Layer" + bi, size);
                    if (b is null && u is null)
                        continue;
                    long? alloc = new[] { b, u, layer }.Where(c => c?.AllocatedBytes is not null).Select(c => c!.AllocatedBytes).Max();
                    sb.AppendLine(CultureInfo.InvariantCulture, $"| {Name(cell)} | {size} | {batch} | {Time(b?.MeanNs)} | {Time(u?.MeanNs)} | {Ratio(b, u, 2)} | {Time(layer?.MeanNs)} | {Alloc(alloc)} | {Spread(b, u)} |");
                }
            }
        }
        sb.AppendLine();
        sb.AppendLine("### Against the peers (bidirectional, per token, one thread; speed-up = peer ÷ SimdLstm's packed copy)");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"ONNX Runtime: one `LSTM`/`GRU` node with `direction = \"bidirectional\"` and `sequence_lens`. libtorch: `nn.LSTM`/`nn.GRU(bidirectional: true)`,");
        sb.AppendLine(CultureInfo.InvariantCulture, $"B = 1 as it is, B = {SequenceShapes.Batch} through `pack_padded_sequence` (enforce_sorted false) and `pad_packed_sequence` (both inside the timed call).");
        sb.AppendLine();
        sb.AppendLine("| Cell | I = H | B | SimdLstm | ONNX Runtime | speed-up | libtorch | speed-up | spread |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (CellKind cell in cells)
        {
            foreach (int size in sizes)
            {
                foreach ((string batch, string bi, _) in batches)
                {
                    CaseResult? mine = Ours(cell, bi, size), ort = Peer("OnnxRuntime", cell, bi, size), torch = Peer("Torch", cell, bi, size);
                    if (mine is null && ort is null && torch is null)
                        continue;
                    sb.AppendLine(CultureInfo.InvariantCulture, $"| {Name(cell)} | {size} | {batch} | {Time(mine?.MeanNs)} | {Time(ort?.MeanNs)} | {Ratio(ort, mine)} | {Time(torch?.MeanNs)} | {Ratio(torch, mine)} | {Spread(mine, ort, torch)} |");
                }
            }
        }
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"### Per-stream lengths: mean T/2 against every stream T long (B = {SequenceShapes.Batch}, unidirectional, packed copy; target ≤ 0.6)");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Lengths {string.Join(", ", SequenceShapes.HalfLengths.ToArray())} (Σ = {SequenceShapes.HalfTokens}, mean T/2) against no lengths. Both per padded slot");
        sb.AppendLine(CultureInfo.InvariantCulture, $"(time / (T·B) = time / {SequenceShapes.PaddedTokens}), so the ratio is the ratio of the passes' times; the ideal is Σ lengths / (T·B) = 0.5.");
        sb.AppendLine();
        sb.AppendLine("| Cell | I = H | mean T/2 | all T | half ÷ full | alloc | spread |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (CellKind cell in cells)
        {
            foreach (int size in sizes)
            {
                CaseResult? half = Ours(cell, "HalfLengths", size), full = Ours(cell, "FullLengths", size);
                if (half is null && full is null)
                    continue;
                long? alloc = new[] { half, full }.Where(c => c?.AllocatedBytes is not null).Select(c => c!.AllocatedBytes).Max();
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {Name(cell)} | {size} | {Time(half?.MeanNs)} | {Time(full?.MeanNs)} | {Ratio(half, full)} | {Alloc(alloc)} | {Spread(half, full)} |");
            }
        }
        sb.AppendLine();
    }

    private static string Label(string method) => method switch
    {
        "Step" => "step, B=1 (packed)",
        "LayerStep" => "step, B=1 (RecurrentLayer)",
        "Sequence" => "sequence T=100, B=1, per step (packed)",
        "LayerSequence" => "sequence T=100, B=1, per step (RecurrentLayer)",
        "Train" => "train fwd+bwd B=32 T=50",
        "TrainTwoThreads" => "train fwd+bwd B=32 T=50, 2 threads",
        "StepTwoThreads" => "step, B=1 (packed), 2 threads",
        "SequenceTwoThreads" => "sequence T=100, B=1, per step (packed), 2 threads",
        _ => method,
    };

    // The peers' columns present in the results, in a fixed order: ONNX Runtime, then libtorch by thread count.
    private static List<string> PeerColumns(ResultSet peers) =>
        peers.Cases.Select(c => PeerColumn(c.Key)).OfType<string>().Distinct()
            .OrderBy(c => c == OnnxRuntimeColumn ? 0 : 1)
            .ThenBy(c => c.Split(' ') is [_, string n, ..] && int.TryParse(n, out int threads) ? threads : int.MaxValue)
            .ToList();

    private const string OnnxRuntimeColumn = "ONNX Runtime";

    // The column of a peer's case: its peer (one class per cell: OnnxRuntimeBench and OnnxRuntimeGruBench, TorchBench and
    // TorchGruBench) and, for libtorch, its thread count. Null for a case of no peer.
    private static string? PeerColumn(CaseKey key)
    {
        if (key.Type.StartsWith("OnnxRuntime", StringComparison.Ordinal))
            return OnnxRuntimeColumn;
        if (!key.Type.StartsWith("Torch", StringComparison.Ordinal))
            return null;
        string threads = key.Parameter("Threads") ?? "1";
        return threads == "1" ? "libtorch 1 thread" : $"libtorch {threads} threads";
    }

    private static readonly CellKind[] s_cells = [CellKind.Lstm, CellKind.Gru, CellKind.Rnn];

    private static string Name(CellKind cell) => cell.ToString().ToUpperInvariant();

    private static List<int> Sizes(ResultSet ours, ResultSet peers) =>
        ours.Cases.Concat(peers.Cases).Select(c => int.TryParse(c.Key.Parameter("Size"), out int s) ? s : 0)
            .Where(s => s > 0).Distinct().Order().ToList();

    private static string Format(double? value, string format) => value is double v ? v.ToString(format, s_inv) : "not measured";

    private static string Alloc(long? bytes) => bytes is long b ? b.ToString(s_inv) + " B" : "-";

    /// <summary>A time in ns as µs or ms with three significant digits.</summary>
    public static string Time(double? ns)
    {
        if (ns is not double t)
            return "-";
        return t switch
        {
            >= 1e9 => (t / 1e9).ToString("G3", s_inv) + " s",
            >= 1e6 => (t / 1e6).ToString("G3", s_inv) + " ms",
            >= 1e3 => (t / 1e3).ToString("G3", s_inv) + " µs",
            _ => t.ToString("G3", s_inv) + " ns",
        };
    }
}

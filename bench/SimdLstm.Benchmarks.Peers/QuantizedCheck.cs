using System;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// Cross-checks ONNX Runtime's <c>DynamicQuantizeLSTM</c> (int8 weights, uint8 activations) and our int8 and bf16 packed
/// copies against our fp32 packed copy on the same weights, before the quantised peer is timed. Both quantised paths only
/// approximate fp32, so each is held to a bound derived from its own rounding (below), not to the 1e-4 of the fp32 peers.
/// </summary>
/// <remarks>
/// <para>
/// What is compared: a stream of fp32 steps (<see cref="WarmSteps"/> to reach a nonzero state, then
/// <see cref="CheckedSteps"/> more); before each checked step its fp32 state (h, c) is handed to each approximation, which
/// takes that one step, and its h and c are compared with the fp32 step's. Starting every approximation from the same
/// state keeps the comparison to one step's rounding, which is what the bound covers.
/// </para>
/// <para>
/// The bound. Gate row j's pre-activation is a_j = W_j·x + R_j·h + b_j. An approximation computes Ŵ_j·x̂ + R̂_j·ĥ + b_j with
/// rounded weights Ŵ = W − ε_W and rounded activations x̂ = x + ε_x (likewise R, h), so
/// â_j − a_j = −ε_W,j·x − ε_R,j·h + Ŵ_j·ε_x + R̂_j·ε_h exactly (integer accumulation is exact: int32 in both). Each rounding
/// error lies within half its quantisation step and, for values spread far wider than a step, is a zero-mean error
/// independent of the others. Hoeffding's inequality: a sum S = Σ c_k ε_k of independent zero-mean terms with
/// |ε_k| ≤ b_k has P(|S| ≥ t) ≤ 2·exp(−t² / (2 Σ c_k² b_k²)); every sum below is bounded at t = z·√(Σ c_k² b_k²) with
/// z = √(2 ln(2 / p)) ≈ 7.4 for p = <see cref="FailureProbability"/>, the weight part and the activation part separately
/// (then added). That gives E_j, a bound on |Δa_j| per gate row. The change of c' = σ(a_f)·c + σ(a_i)·tanh(a_g) is, to first
/// order, Σ_g α_g Δa_g with α_i = σ′(a_i) tanh(a_g), α_f = σ′(a_f) c, α_g = σ(a_i) tanh′(a_g) at the exact (double)
/// pre-activations; that of h' = σ(a_o)·tanh(c') is σ′(a_o) tanh(c') Δa_o + σ(a_o) tanh′(c') Δc'. Both linear forms are
/// again sums of the same independent roundings (an activation's rounding enters all four gates, so its coefficient is
/// Σ_g γ_g Ŵ_gk, at most |Σ_g γ_g W_gk| + Σ_g |γ_g| |ε_W,gk|), bounded by Hoeffding as above. The second-order remainder
/// is added from |σ″| ≤ 1/(6√3), |tanh″| ≤ 4/(3√3) and the E_j (σ′ ≤ 1/4, tanh′ ≤ 1, gates within [0, 1] and [−1, 1]
/// after rounding too). <see cref="ArithmeticSlack"/> (1e-4, the fp32 peers' tolerance) is added for float rounding,
/// summation order and ONNX Runtime's own sigmoid and tanh. With about 12 such events per unit at p = 1e-12, a correct
/// implementation fails the whole check (about 2000 units × 3 steps × 3 approximations) with probability below 1e-6.
/// </para>
/// <para>
/// The half-steps. ONNX Runtime (its CPU kernel, ComputeGemm in rnn_helpers.cc): our weights quantised by
/// <see cref="OnnxModel.QuantizeRows"/>, so w_j = scale_j / 2 exactly; X and each step's h quantised to uint8 with one
/// scale (max − min) / 255 over the tensor's range widened to include 0, so δ = (max − min) / 510 — about 1/255 for
/// x ∈ (−1, 1), the dominant term. SimdLstm int8 (16-bit activations): w_j = max(|W_ih,j|, |W_hh,j|) / 254, the
/// half-step of a scale taken over the whole gate row — no smaller than one taken over either part alone, so it bounds
/// both layouts; δ = max |v| / (2Q) (plus float rounding of the quotient) with Q = 32767, or the smallest Q the packed
/// copy may choose to keep its int32 sums from overflowing, ⌊(2³¹ − 1) / (127·K)⌋ (PackedPrecision.Int8's documentation). SimdLstm bf16 (fp32 activations): each weight off by at most 2⁻⁸ of its magnitude (round to nearest
/// with 8 significant bits), so the weight term uses c_k b_k = |W_jk x_k| 2⁻⁸ and the activation term is 0. With the
/// suite's weights U(±1/√H) and x ∈ U(−1, 1) the bound on |Δh| came to 0.005–0.008 for int8, 0.003–0.004 for bf16 and
/// 0.009–0.018 for ONNX Runtime at the worst units over H = 64 … 1024, the differences measured to at most a quarter of
/// that: uint8 activations are about 256 times coarser than int16 ones, so their rounding (about 1/255 per element of x)
/// adds to the weights' and makes ONNX Runtime's bound and error the larger.
/// </para>
/// <para>
/// What it assumes: exact int32 accumulation. On x86 ONNX Runtime's u8s8 kernel without VNNI multiplies with vpmaddubsw,
/// whose 16-bit pair sums saturate; a result saturated that way can fall outside the bound, and the check then fails (as it
/// should: the peer no longer computes what it claims).
/// </para>
/// </remarks>
internal static class QuantizedCheck
{
    /// <summary>Chance, under the rounding model above, that one gate row's pre-activation error exceeds its bound.</summary>
    public const double FailureProbability = 1e-12;

    /// <summary>Added to every bound for float arithmetic and the activation functions' approximations.</summary>
    public const double ArithmeticSlack = PeerCheck.OutputTolerance;

    /// <summary>fp32 steps before the first checked step, so the state is not zero.</summary>
    public const int WarmSteps = 5;

    /// <summary>Steps checked, each from the fp32 stream's state.</summary>
    public const int CheckedSteps = 3;

    private static readonly double s_z = Math.Sqrt(2 * Math.Log(2 / FailureProbability));

    /// <summary>A one-line description of the bounds, for the summary line.</summary>
    public static string Description =>
        "h and c within a bound derived from each one's rounding (QuantizedCheck), per unit, from the same fp32 state";

    /// <summary>
    /// ONNX Runtime's <c>DynamicQuantizeLSTM</c> (T = 1, state passed in) and our int8 and bf16 packed copies, each against
    /// our fp32 packed copy within its bound. LSTM only: ONNX Runtime has no quantised GRU operator.
    /// </summary>
    public static Agreement OnnxRuntimeDynamicQuantize(int size, CellKind cell)
    {
        if (cell != CellKind.Lstm)
            throw new NotSupportedException("ONNX Runtime's DynamicQuantizeLSTM is an LSTM operator only.");
        var agreement = new Agreement(size) { Tolerance = Description };
        RecurrentLayer layer = PeerCheck.Layer(size, cell);
        RecurrentParameters weights = layer.Weights;
        int h = weights.Options.HiddenSize, rows = weights.Options.GateSize;
        PackedRecurrentLayer fp32 = layer.Pack(), int8 = layer.Pack(PackedPrecision.Int8), bf16 = layer.Pack(PackedPrecision.BFloat16);
        float[] x = PeerCheck.Uniform((WarmSteps + CheckedSteps) * size, seed: 2);

        // Weight half-steps per gate row (PyTorch order; a row's scale does not depend on where the row is stored).
        double[] ortW = HalfSteps(OnnxModel.QuantizeRows(weights.WeightIh(0), rows, size).Scales);
        double[] ortR = HalfSteps(OnnxModel.QuantizeRows(weights.WeightHh(0), rows, h).Scales);
        double[] oursRow = new double[rows];
        for (int j = 0; j < rows; j++)
            oursRow[j] = Math.Max(MaxAbs(weights.WeightIh(0).Slice(j * size, size)), MaxAbs(weights.WeightHh(0).Slice(j * h, h))) / 254;

        RecurrentState reference = fp32.CreateState(), ours8 = int8.CreateState(), ours16 = bf16.CreateState();
        InferenceWorkspace fp32Work = fp32.CreateWorkspace(), int8Work = int8.CreateWorkspace(), bf16Work = bf16.CreateWorkspace();
        float[] output = new float[h];
        for (int t = 0; t < WarmSteps; t++)
            fp32.Step(x.AsSpan(t * size, size), reference, fp32Work, output);

        using var ort = new OnnxRuntimePeer(weights, steps: 1, dynamicQuantize: true);
        for (int t = WarmSteps; t < WarmSteps + CheckedSteps; t++)
        {
            ReadOnlySpan<float> xt = x.AsSpan(t * size, size);
            float[] h0 = reference.Hidden.ToArray(), c0 = reference.Cell.ToArray();
            xt.CopyTo(ort.Input);
            h0.CopyTo(ort.CurrentHidden, 0);
            c0.CopyTo(ort.CurrentCell, 0);
            ort.Run();
            ours8.CopyFrom(reference);
            int8.Step(xt, ours8, int8Work, output);
            ours16.CopyFrom(reference);
            bf16.Step(xt, ours16, bf16Work, output);
            fp32.Step(xt, reference, fp32Work, output);

            string step = $"step {t - WarmSteps + 1} of {CheckedSteps}";
            (double[] ortH, double[] ortC) = Bound(weights, xt, h0, c0, ortW, ortR, Uint8HalfStep(xt), Uint8HalfStep(h0), relativeWeights: false);
            agreement.Bounded("ONNX Runtime DynamicQuantizeLSTM h", step, ort.CurrentHidden, reference.Hidden, ortH);
            agreement.Bounded("ONNX Runtime DynamicQuantizeLSTM c", step, ort.CurrentCell, reference.Cell, ortC);
            (double[] int8H, double[] int8C) = Bound(weights, xt, h0, c0, oursRow, oursRow, Int16HalfStep(xt, size), Int16HalfStep(h0, h), relativeWeights: false);
            agreement.Bounded("SimdLstm int8 h", step, ours8.Hidden, reference.Hidden, int8H);
            agreement.Bounded("SimdLstm int8 c", step, ours8.Cell, reference.Cell, int8C);
            double[] bf16Half = new double[rows];
            Array.Fill(bf16Half, 1.0 / 256);
            (double[] bf16H, double[] bf16C) = Bound(weights, xt, h0, c0, bf16Half, bf16Half, 0, 0, relativeWeights: true);
            agreement.Bounded("SimdLstm bf16 h", step, ours16.Hidden, reference.Hidden, bf16H);
            agreement.Bounded("SimdLstm bf16 c", step, ours16.Cell, reference.Cell, bf16C);
        }
        return agreement;
    }

    /// <summary>
    /// The per-unit bounds on |Δh| and |Δc| of one LSTM step from (h, c) on input x (see the remarks). Weight half-steps
    /// per gate row (<paramref name="inputHalf"/> for W_ih, <paramref name="recurrentHalf"/> for W_hh) are absolute, or
    /// with <paramref name="relativeWeights"/> fractions of each weight's magnitude; <paramref name="xHalf"/> and
    /// <paramref name="hHalf"/> are the activations' half-steps.
    /// </summary>
    public static (double[] Hidden, double[] Cell) Bound(RecurrentParameters weights, ReadOnlySpan<float> x, ReadOnlySpan<float> h, ReadOnlySpan<float> c,
        ReadOnlySpan<double> inputHalf, ReadOnlySpan<double> recurrentHalf, double xHalf, double hHalf, bool relativeWeights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int inputSize = weights.Options.InputSize, hidden = weights.Options.HiddenSize, rows = 4 * hidden;
        ReadOnlySpan<float> wih = weights.WeightIh(0), whh = weights.WeightHh(0), bih = weights.BiasIh(0), bhh = weights.BiasHh(0);
        double xx = SumSquares(x), hh = SumSquares(h);

        // Per gate row j: the exact pre-activation a_j (double), the Hoeffding proxies Σ c_k² b_k² of its weight rounding
        // (weightProxy) and of its activation rounding (activationProxy), and E_j, the bound on |Δa_j| they give.
        var a = new double[rows];
        var weightProxy = new double[rows];
        var e = new double[rows];
        for (int j = 0; j < rows; j++)
        {
            ReadOnlySpan<float> wRow = wih.Slice(j * inputSize, inputSize), rRow = whh.Slice(j * hidden, hidden);
            a[j] = bih[j] + (double)bhh[j] + Dot(wRow, x) + Dot(rRow, h);
            weightProxy[j] = relativeWeights
                ? inputHalf[j] * inputHalf[j] * SumSquaredProducts(wRow, x) + recurrentHalf[j] * recurrentHalf[j] * SumSquaredProducts(rRow, h)
                : inputHalf[j] * inputHalf[j] * xx + recurrentHalf[j] * recurrentHalf[j] * hh;
            // The rounded row's norm is at most ‖W_j‖ + ‖ε_W,j‖.
            double wNorm = Math.Sqrt(SumSquares(wRow)), rNorm = Math.Sqrt(SumSquares(rRow));
            wNorm += relativeWeights ? wNorm * inputHalf[j] : Math.Sqrt(inputSize) * inputHalf[j];
            rNorm += relativeWeights ? rNorm * recurrentHalf[j] : Math.Sqrt(hidden) * recurrentHalf[j];
            double activationProxy = xHalf * xHalf * wNorm * wNorm + hHalf * hHalf * rNorm * rNorm;
            e[j] = s_z * (Math.Sqrt(weightProxy[j]) + Math.Sqrt(activationProxy));
        }

        var boundH = new double[hidden];
        var boundC = new double[hidden];
        Span<int> gateRows = stackalloc int[4];
        Span<double> cellCoefficients = stackalloc double[4], hiddenCoefficients = stackalloc double[4];
        for (int u = 0; u < hidden; u++)
        {
            // PyTorch's gate blocks: i, f, g, o.
            for (int g = 0; g < 4; g++)
                gateRows[g] = g * hidden + u;
            double si = Sigmoid(a[gateRows[0]]), sf = Sigmoid(a[gateRows[1]]), tg = Math.Tanh(a[gateRows[2]]), so = Sigmoid(a[gateRows[3]]);
            double cNext = sf * c[u] + si * tg, tc = Math.Tanh(cNext);
            // c' = σ(a_f)·c + σ(a_i)·tanh(a_g): its first-order change is Σ_g α_g Δa_g.
            cellCoefficients[0] = si * (1 - si) * tg;
            cellCoefficients[1] = sf * (1 - sf) * c[u];
            cellCoefficients[2] = si * (1 - tg * tg);
            cellCoefficients[3] = 0;
            // h' = σ(a_o)·tanh(c'): first order σ′(a_o) tanh(c') Δa_o + σ(a_o) tanh′(c') Δc'.
            double dhdc = so * (1 - tc * tc);
            for (int g = 0; g < 3; g++)
                hiddenCoefficients[g] = dhdc * cellCoefficients[g];
            hiddenCoefficients[3] = so * (1 - so) * tc;

            double ei = e[gateRows[0]], ef = e[gateRows[1]], eg = e[gateRows[2]], eo = e[gateRows[3]];
            // Second-order remainders, from |σ″| ≤ 1/(6√3) and |tanh″| ≤ 4/(3√3) (Taylor, Lagrange form) and the products
            // of two changes, each bounded by σ′ ≤ 1/4, tanh′ ≤ 1 times its E.
            const double HalfSigmoid2 = 0.5 / (6 * 1.7320508075688772), HalfTanh2 = 0.5 * 4 / (3 * 1.7320508075688772);
            double cellRemainder = HalfSigmoid2 * (ef * ef * Math.Abs(c[u]) + ei * ei) + HalfTanh2 * eg * eg + ei * eg / 4;
            double dc = Linear(cellCoefficients, gateRows, wih, whh, inputSize, hidden, weightProxy, inputHalf, recurrentHalf, xHalf, hHalf, relativeWeights)
                + cellRemainder;
            double hiddenRemainder = HalfSigmoid2 * eo * eo + cellRemainder + HalfTanh2 * dc * dc + eo * dc / 4;
            double dh = Linear(hiddenCoefficients, gateRows, wih, whh, inputSize, hidden, weightProxy, inputHalf, recurrentHalf, xHalf, hHalf, relativeWeights)
                + hiddenRemainder;
            boundC[u] = dc + ArithmeticSlack;
            boundH[u] = dh + ArithmeticSlack;
        }
        return (boundH, boundC);
    }

    // The Hoeffding bound on |Σ_g γ_g Δa_g| for the unit's four gate rows: the weight roundings are independent from row
    // to row (proxy Σ_g γ_g² weightProxy_g); an activation's rounding enters every gate, so its coefficient is
    // Σ_g γ_g Ŵ_gk, at most |Σ_g γ_g W_gk| + Σ_g |γ_g| |ε_W,gk| in magnitude.
    private static double Linear(ReadOnlySpan<double> gamma, ReadOnlySpan<int> gateRows, ReadOnlySpan<float> wih, ReadOnlySpan<float> whh,
        int inputSize, int hidden, ReadOnlySpan<double> weightProxy, ReadOnlySpan<double> inputHalf, ReadOnlySpan<double> recurrentHalf,
        double xHalf, double hHalf, bool relativeWeights)
    {
        double weightPart = 0;
        for (int g = 0; g < 4; g++)
            weightPart += gamma[g] * gamma[g] * weightProxy[gateRows[g]];
        double activationPart = 0;
        if (xHalf > 0)
            activationPart += xHalf * xHalf * CoefficientSquares(gamma, gateRows, wih, inputSize, inputHalf, relativeWeights);
        if (hHalf > 0)
            activationPart += hHalf * hHalf * CoefficientSquares(gamma, gateRows, whh, hidden, recurrentHalf, relativeWeights);
        return s_z * (Math.Sqrt(weightPart) + Math.Sqrt(activationPart));
    }

    // Σ_k (|Σ_g γ_g W_gk| + Σ_g |γ_g| |ε_W,gk|)² over the columns of one weight matrix.
    private static double CoefficientSquares(ReadOnlySpan<double> gamma, ReadOnlySpan<int> gateRows, ReadOnlySpan<float> matrix, int cols,
        ReadOnlySpan<double> half, bool relativeWeights)
    {
        double sum = 0;
        for (int k = 0; k < cols; k++)
        {
            double combined = 0, error = 0;
            for (int g = 0; g < 4; g++)
            {
                double w = matrix[gateRows[g] * cols + k];
                combined += gamma[g] * w;
                error += Math.Abs(gamma[g]) * (relativeWeights ? Math.Abs(w) * half[gateRows[g]] : half[gateRows[g]]);
            }
            double coefficient = Math.Abs(combined) + error;
            sum += coefficient * coefficient;
        }
        return sum;
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int k = 0; k < a.Length; k++)
            sum += (double)a[k] * b[k];
        return sum;
    }

    // ONNX Runtime's uint8 activation half-step: scale = (max − min) / 255 over the values' range widened to include 0.
    private static double Uint8HalfStep(ReadOnlySpan<float> values)
    {
        double min = 0, max = 0;
        foreach (float v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        return (max - min) / 255 / 2;
    }

    // SimdLstm int8's int16 input half-step for a product with K columns (PackedPrecision.Int8 and Int8PanelWeights'
    // documentation): scale m / Q with m = max |x| and Q = 32767, or less when the matrix's largest row sum of |q| times
    // Q could pass 2³¹ − 1 — at least ⌊(2³¹ − 1) / (127·K)⌋, the smallest any row sum allows; the rounding of x·Q/m in
    // float adds at most m/Q·2⁻²⁴·Q + 3·2⁻²⁴·m.
    private static double Int16HalfStep(ReadOnlySpan<float> values, int columns)
    {
        double m = MaxAbs(values), q = Math.Min(32767, Math.Floor(int.MaxValue / (127.0 * columns)));
        return m / q * (0.5 + q / (1 << 24)) + 3 * m / (1 << 24);
    }

    private static double[] HalfSteps(float[] scales) => Array.ConvertAll(scales, s => (double)s / 2);

    private static double MaxAbs(ReadOnlySpan<float> values)
    {
        double max = 0;
        foreach (float v in values)
            max = Math.Max(max, Math.Abs(v));
        return max;
    }

    private static double SumSquares(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values)
            sum += (double)v * v;
        return sum;
    }

    private static double SumSquaredProducts(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int k = 0; k < a.Length; k++)
        {
            double p = (double)a[k] * b[k];
            sum += p * p;
        }
        return sum;
    }
}

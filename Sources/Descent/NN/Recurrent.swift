/// Multi-layer recurrent layers (RNN, LSTM, GRU) with PyTorch's parameters, shapes and options.
///
/// Input (T, B, I), or (B, T, I) with `batchFirst`, or unbatched (T, I). Output (T, B, D·H)
/// (D = 2 when bidirectional), final states (numLayers·D, B, H). Parameters per layer k and
/// direction: `weight_ih_l{k}` (G·H, I or D·H), `weight_hh_l{k}` (G·H, H), `bias_ih_l{k}`,
/// `bias_hh_l{k}` (G·H), with `_reverse` for the backward direction; G = 1, 4 (i, f, g, o) or
/// 3 (r, z, n); all initialized U(−1/√H, 1/√H).
///
/// `lengths` gives each sequence's valid length: steps past it never change the final states,
/// and their outputs are zero (as PyTorch's packed sequences after `pad_packed_sequence`).
public class RecurrentLayer: Module {
    enum Kind { case rnn(RNNNonlinearity), lstm, gru }

    /// The options given at creation.
    public let inputSize: Int, hiddenSize: Int, numLayers: Int, hasBias: Bool, batchFirst: Bool, dropout: Double, bidirectional: Bool
    let kind: Kind
    /// weights[layer][direction] = (weight_ih, weight_hh, bias_ih, bias_hh)
    let weights: [[RecurrentWeights]]
    var directions: Int { bidirectional ? 2 : 1 }

    init(kind: Kind, inputSize: Int, hiddenSize: Int, numLayers: Int, bias: Bool, batchFirst: Bool, dropout: Double, bidirectional: Bool) {
        check(inputSize > 0 && hiddenSize > 0 && numLayers > 0,
              "[\(Self.self)] inputSize, hiddenSize and numLayers must be positive, got \(inputSize), \(hiddenSize), \(numLayers)")
        check(dropout >= 0 && dropout <= 1, "[\(Self.self)] dropout must be in [0, 1], got \(dropout)")
        self.kind = kind; self.inputSize = inputSize; self.hiddenSize = hiddenSize; self.numLayers = numLayers
        self.hasBias = bias; self.batchFirst = batchFirst; self.dropout = dropout; self.bidirectional = bidirectional
        let g: Int
        switch kind {
        case .rnn: g = 1
        case .lstm: g = 4
        case .gru: g = 3
        }
        let d = bidirectional ? 2 : 1
        weights = (0..<numLayers).map { layer in
            (0..<d).map { _ in
                (recurrentParameter([g * hiddenSize, layer == 0 ? inputSize : d * hiddenSize], hidden: hiddenSize),
                 recurrentParameter([g * hiddenSize, hiddenSize], hidden: hiddenSize),
                 bias ? recurrentParameter([g * hiddenSize], hidden: hiddenSize) : nil,
                 bias ? recurrentParameter([g * hiddenSize], hidden: hiddenSize) : nil)
            }
        }
        super.init()
        for layer in 0..<numLayers {
            for dir in 0..<d {
                let suffix = "_l\(layer)" + (dir == 1 ? "_reverse" : "")
                let w = weights[layer][dir]
                registerParameter("weight_ih" + suffix, w.ih)
                registerParameter("weight_hh" + suffix, w.hh)
                registerParameter("bias_ih" + suffix, w.bih)
                registerParameter("bias_hh" + suffix, w.bhh)
            }
        }
    }

    /// Runs all layers and directions. Returns output (T, B, D·H) and final h and c (L·D, B, H).
    func run(_ input: Tensor, h0: Tensor?, c0: Tensor?, lengths: [Int]?) -> (Tensor, Tensor, Tensor?) {
        let name = typeName
        let unbatched = input.rank == 2
        check(input.rank == 3 || unbatched, "[\(name)] expected input of shape (T, B, \(inputSize))\(batchFirst ? " or (B, T, \(inputSize)) with batchFirst" : "") or (T, \(inputSize)), got \(Shape.describe(input.shape))")
        var x = unbatched ? input.unsqueeze(1) : (batchFirst ? input.transpose(0, 1) : input)
        check(x.shape[2] == inputSize, "[\(name)] expected input size \(inputSize) in the last dim, got \(Shape.describe(input.shape))")
        let steps = x.shape[0], batch = x.shape[1], d = directions
        func state(_ t: Tensor?, _ label: String) -> Tensor? {
            guard var t else { return nil }
            if unbatched { t = t.unsqueeze(1) }
            check(t.shape == [numLayers * d, batch, hiddenSize],
                  "[\(name)] expected \(label) of shape \(Shape.describe([numLayers * d] + (unbatched ? [] : [batch]) + [hiddenSize])), got \(Shape.describe(unbatched ? Array(t.shape.dropFirst(0)) : t.shape))")
            return t
        }
        let h0 = state(h0, "h0"), c0 = state(c0, "c0")
        var masks: [Tensor]? = nil
        if let lengths {
            check(lengths.count == batch, "[\(name)] expected \(batch) lengths, got \(lengths.count)")
            check(lengths.allSatisfy { $0 >= 1 && $0 <= steps },
                  "[\(name)] lengths must be between 1 and the sequence length \(steps), got \(lengths)")
            masks = (0..<steps).map { t in
                Tensor(shape: [batch, 1], scalars: lengths.map { t < $0 ? 1.0 : 0.0 }).to(x.dtype)
            }
        }
        var finalH: [Tensor] = [], finalC: [Tensor] = []
        for layer in 0..<numLayers {
            var outputs: [Tensor] = []
            for dir in 0..<d {
                let index = layer * d + dir
                let h = h0?.select(dim: 0, index: index) ?? Tensor.zeros([batch, hiddenSize], dtype: x.dtype)
                let c = c0?.select(dim: 0, index: index) ?? Tensor.zeros([batch, hiddenSize], dtype: x.dtype)
                let (out, hT, cT) = direction(x, weights[layer][dir], reverse: dir == 1, h: h, c: c, masks: masks)
                outputs.append(out)
                finalH.append(hT)
                if let cT { finalC.append(cT) }
            }
            x = d == 1 ? outputs[0] : Tensor.cat(outputs, dim: 2)
            if layer < numLayers - 1 && dropout > 0 && isTraining { x = x.dropout(p: dropout) }
        }
        var output = x, hN = Tensor.stack(finalH, dim: 0), cN = finalC.isEmpty ? nil : Tensor.stack(finalC, dim: 0)
        if unbatched {
            output = output.squeeze(dim: 1); hN = hN.squeeze(dim: 1); cN = cN?.squeeze(dim: 1)
        } else if batchFirst {
            output = output.transpose(0, 1)
        }
        return (output, hN, cN)
    }

    /// Runs the step-by-step composite instead of the sequence primitive (the test oracle).
    var useReference = false

    /// One layer in one direction over (T, B, In): the sequence primitive (the fast path), or
    /// with `useReference` the step-by-step composite (the reference).
    private func direction(_ x: Tensor, _ w: RecurrentWeights, reverse: Bool, h: Tensor, c: Tensor,
                           masks: [Tensor]?) -> (Tensor, Tensor, Tensor?) {
        let cell = cellKind
        // Under autocast every step's hidden product h·W_hhᵀ takes bfloat16 operands: inside the
        // fused LSTM and GRU loops on AVX512-BF16, else in the step-by-step composite.
        let composite = useReference || (isAutocastEnabled && !Kernels.fusedSequenceRunsBFloat16(cell, x))
        let run = composite ? recurrentDirectionReference : recurrentDirection
        return run(cell, x, w, reverse, h, cell == .lstm ? c : nil, masks)
    }

    var cellKind: RecurrentCellKind {
        switch kind {
        case .rnn(let nl): return nl == .tanh ? .rnnTanh : .rnnRelu
        case .lstm: return .lstm
        case .gru: return .gru
        }
    }

    public override var extraDescription: String {
        var text = "\(inputSize), \(hiddenSize)"
        if numLayers != 1 { text += ", num_layers=\(numLayers)" }
        if !hasBias { text += ", bias=False" }
        if batchFirst { text += ", batch_first=True" }
        if dropout != 0 { text += ", dropout=\(dropout)" }
        if bidirectional { text += ", bidirectional=True" }
        return text
    }
}

/// Elman RNN: h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh) (or relu), stacked in layers.
public final class RNN: RecurrentLayer {
    /// An Elman RNN with PyTorch's initialization.
    /// - Parameters:
    ///   - inputSize: I, the size of each input.
    ///   - hiddenSize: H, the size of the state.
    ///   - numLayers: Layers stacked, each reading the previous one's output, default 1.
    ///   - nonlinearity: `.tanh` (default) or `.relu`.
    ///   - bias: Whether to learn b_ih and b_hh (default true).
    ///   - batchFirst: Inputs and outputs are (B, T, ·) instead of (T, B, ·), default false.
    ///   - dropout: Dropout on the outputs of every layer but the last, in training, default 0.
    ///   - bidirectional: Run each layer forward and backward and concatenate, default false.
    public init(_ inputSize: Int, _ hiddenSize: Int, numLayers: Int = 1, nonlinearity: RNNNonlinearity = .tanh, bias: Bool = true,
                batchFirst: Bool = false, dropout: Double = 0, bidirectional: Bool = false) {
        super.init(kind: .rnn(nonlinearity), inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional)
    }

    /// Returns the output sequence and the final hidden state (numLayers·D, B, H).
    public func callAsFunction(_ input: Tensor, _ h0: Tensor? = nil, lengths: [Int]? = nil) -> (output: Tensor, h: Tensor) {
        let (o, h, _) = run(input, h0: h0, c0: nil, lengths: lengths)
        return (o, h)
    }

    public override func forward(_ input: Tensor) -> Tensor { self(input).output }
}

/// Long short-term memory: gates i, f, g, o; c_t = f·c_{t−1} + i·g, h_t = o·tanh(c_t).
public final class LSTM: RecurrentLayer {
    /// An LSTM with PyTorch's initialization.
    /// - Parameters:
    ///   - inputSize: I, the size of each input.
    ///   - hiddenSize: H, the size of the state.
    ///   - numLayers: Layers stacked, each reading the previous one's output, default 1.
    ///   - bias: Whether to learn b_ih and b_hh (default true).
    ///   - batchFirst: Inputs and outputs are (B, T, ·) instead of (T, B, ·), default false.
    ///   - dropout: Dropout on the outputs of every layer but the last, in training, default 0.
    ///   - bidirectional: Run each layer forward and backward and concatenate, default false.
    public init(_ inputSize: Int, _ hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false) {
        super.init(kind: .lstm, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional)
    }

    /// Returns the output sequence and the final states h and c (numLayers·D, B, H each).
    public func callAsFunction(_ input: Tensor, _ state: (h: Tensor, c: Tensor)? = nil, lengths: [Int]? = nil)
        -> (output: Tensor, state: (h: Tensor, c: Tensor)) {
        let (o, h, c) = run(input, h0: state?.h, c0: state?.c, lengths: lengths)
        return (o, (h, c!))
    }

    public override func forward(_ input: Tensor) -> Tensor { self(input).output }
}

/// Gated recurrent unit with PyTorch's gates r, z, n: n_t = tanh(W_in x + b_in + r·(W_hn h + b_hn)),
/// h_t = (1 − z)·n_t + z·h_{t−1}.
public final class GRU: RecurrentLayer {
    /// A GRU with PyTorch's initialization.
    /// - Parameters:
    ///   - inputSize: I, the size of each input.
    ///   - hiddenSize: H, the size of the state.
    ///   - numLayers: Layers stacked, each reading the previous one's output, default 1.
    ///   - bias: Whether to learn b_ih and b_hh (default true).
    ///   - batchFirst: Inputs and outputs are (B, T, ·) instead of (T, B, ·), default false.
    ///   - dropout: Dropout on the outputs of every layer but the last, in training, default 0.
    ///   - bidirectional: Run each layer forward and backward and concatenate, default false.
    public init(_ inputSize: Int, _ hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false) {
        super.init(kind: .gru, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional)
    }

    /// Returns the output sequence and the final hidden state (numLayers·D, B, H).
    public func callAsFunction(_ input: Tensor, _ h0: Tensor? = nil, lengths: [Int]? = nil) -> (output: Tensor, h: Tensor) {
        let (o, h, _) = run(input, h0: h0, c0: nil, lengths: lengths)
        return (o, h)
    }

    public override func forward(_ input: Tensor) -> Tensor { self(input).output }
}

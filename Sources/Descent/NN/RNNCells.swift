/// The non-linearity of a plain RNN.
public enum RNNNonlinearity: String, Sendable { case tanh, relu }

/// U(−1/√hidden, 1/√hidden), PyTorch's initialization of every recurrent weight and bias.
func recurrentParameter(_ shape: [Int], hidden: Int) -> Tensor {
    let k = 1 / Double(hidden).squareRoot()
    return Tensor.uniform(shape, low: -k, high: k)
}

/// Shared parameters of the cells: weight_ih (G·H, I), weight_hh (G·H, H), bias_ih, bias_hh (G·H).
public class RecurrentCellBase: Module {
    /// The sizes of the input and of the state.
    public let inputSize: Int, hiddenSize: Int
    /// W_ih (G·H, I) and W_hh (G·H, H), saved as `weight_ih` and `weight_hh`.
    public let weightIH: Tensor, weightHH: Tensor
    /// b_ih and b_hh (G·H), or nil with `bias: false`.
    public let biasIH: Tensor?, biasHH: Tensor?

    init(inputSize: Int, hiddenSize: Int, gates: Int, bias: Bool) {
        check(inputSize > 0 && hiddenSize > 0, "[\(Self.self)] sizes must be positive, got input \(inputSize) and hidden \(hiddenSize)")
        self.inputSize = inputSize; self.hiddenSize = hiddenSize
        weightIH = recurrentParameter([gates * hiddenSize, inputSize], hidden: hiddenSize)
        weightHH = recurrentParameter([gates * hiddenSize, hiddenSize], hidden: hiddenSize)
        biasIH = bias ? recurrentParameter([gates * hiddenSize], hidden: hiddenSize) : nil
        biasHH = bias ? recurrentParameter([gates * hiddenSize], hidden: hiddenSize) : nil
        super.init()
        registerParameter("weight_ih", weightIH)
        registerParameter("weight_hh", weightHH)
        registerParameter("bias_ih", biasIH)
        registerParameter("bias_hh", biasHH)
    }

    /// x·W_ihᵀ + b_ih and h·W_hhᵀ + b_hh.
    func projections(_ x: Tensor, _ h: Tensor) -> (Tensor, Tensor) {
        check(x.rank == 2 && x.shape[1] == inputSize, "[\(typeName)] expected input (B, \(inputSize)), got \(Shape.describe(x.shape))")
        check(h.shape == [x.shape[0], hiddenSize], "[\(typeName)] expected hidden state (\(x.shape[0]), \(hiddenSize)), got \(Shape.describe(h.shape))")
        var gi = x.matmul(weightIH.t), gh = h.matmul(weightHH.t)
        if let biasIH { gi = gi + biasIH }
        if let biasHH { gh = gh + biasHH }
        return (gi, gh)
    }

    func zeroState(_ x: Tensor) -> Tensor { Tensor.zeros([x.shape[0], hiddenSize], dtype: x.dtype) }

    public override var extraDescription: String { "\(inputSize), \(hiddenSize)" + (biasIH == nil ? ", bias=False" : "") }
}

/// h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (or relu). Input (B, I), state (B, H).
public final class RNNCell: RecurrentCellBase {
    /// tanh or relu.
    public let nonlinearity: RNNNonlinearity
    /// - Parameters:
    ///   - inputSize: I, the size of each input.
    ///   - hiddenSize: H, the size of the state.
    ///   - bias: Whether to learn b_ih and b_hh (default true).
    ///   - nonlinearity: `.tanh` (default) or `.relu`.
    public init(_ inputSize: Int, _ hiddenSize: Int, bias: Bool = true, nonlinearity: RNNNonlinearity = .tanh) {
        self.nonlinearity = nonlinearity
        super.init(inputSize: inputSize, hiddenSize: hiddenSize, gates: 1, bias: bias)
    }
    /// One step; `h` defaults to zeros.
    public func callAsFunction(_ x: Tensor, _ h: Tensor?) -> Tensor {
        let (gi, gh) = projections(x, h ?? zeroState(x))
        let pre = gi + gh
        return nonlinearity == .tanh ? pre.tanh() : pre.relu()
    }
    public override func forward(_ x: Tensor) -> Tensor { self(x, nil) }
}

/// LSTM step: gates i, f, g, o; c' = f·c + i·g, h' = o·tanh(c'). Input (B, I), states (B, H).
public final class LSTMCell: RecurrentCellBase {
    /// - Parameters:
    ///   - inputSize: I, the size of each input.
    ///   - hiddenSize: H, the size of the states.
    ///   - bias: Whether to learn b_ih and b_hh (default true).
    public init(_ inputSize: Int, _ hiddenSize: Int, bias: Bool = true) {
        super.init(inputSize: inputSize, hiddenSize: hiddenSize, gates: 4, bias: bias)
    }
    /// One step; the state defaults to zeros. Returns (h', c').
    public func callAsFunction(_ x: Tensor, _ state: (h: Tensor, c: Tensor)?) -> (h: Tensor, c: Tensor) {
        let h = state?.h ?? zeroState(x), c = state?.c ?? zeroState(x)
        let (gi, gh) = projections(x, h)
        return Tensor.lstmPointwise(gates: gi + gh, cell: c)
    }
    public override func forward(_ x: Tensor) -> Tensor { self(x, nil).h }
}

/// GRU step with PyTorch's gates r, z, n: n = tanh(W_in x + b_in + r·(W_hn h + b_hn)),
/// h' = (1 − z)·n + z·h. Input (B, I), state (B, H).
public final class GRUCell: RecurrentCellBase {
    /// - Parameters:
    ///   - inputSize: I, the size of each input.
    ///   - hiddenSize: H, the size of the state.
    ///   - bias: Whether to learn b_ih and b_hh (default true).
    public init(_ inputSize: Int, _ hiddenSize: Int, bias: Bool = true) {
        super.init(inputSize: inputSize, hiddenSize: hiddenSize, gates: 3, bias: bias)
    }
    /// One step; `h` defaults to zeros.
    public func callAsFunction(_ x: Tensor, _ h: Tensor?) -> Tensor {
        let hp = h ?? zeroState(x)
        let (gi, gh) = projections(x, hp)
        return Tensor.gruPointwise(inputGates: gi, hiddenGates: gh, hidden: hp)
    }
    public override func forward(_ x: Tensor) -> Tensor { self(x, nil) }
}

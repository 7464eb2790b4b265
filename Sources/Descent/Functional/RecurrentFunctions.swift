// One layer-direction of an RNN, LSTM or GRU, in two forms kept equal by RecurrentTests
// (outputs and every gradient, float64 and float32) and tied to PyTorch by the fixtures:
// - `recurrentDirectionReference`, the reference: the step-by-step composite of primitives
//   (a matmul and a fused cell per step), short enough to check against the formulas;
// - `recurrentDirection`, the fast path: the whole time loop as one primitive
//   (Ops/RecurrentSequence.swift, and in C for float32 LSTM/GRU on AVX-512:
//   Ops/FusedRecurrentSequence.swift).

/// The parameters of one layer-direction: W_ih (G·H, I), W_hh (G·H, H), b_ih, b_hh (G·H).
typealias RecurrentWeights = (ih: Tensor, hh: Tensor, bih: Tensor?, bhh: Tensor?)

/// x·W_ihᵀ + b for every step at once: (T, B, G·H). For RNN and LSTM both biases add to the
/// same pre-activation, so b = b_ih + b_hh is added in one pass; GRU keeps b_hh for its
/// hidden gates (r multiplies W_hn·h + b_hn).
func recurrentInputProjection(_ cell: RecurrentCellKind, _ x: Tensor, _ w: RecurrentWeights) -> Tensor {
    let (proj, bias) = recurrentInputProduct(cell, x, w)
    return bias.map { proj + $0 } ?? proj
}

/// x·W_ihᵀ for every step at once (T, B, G·H), and the bias the input projection adds: b_ih +
/// b_hh for RNN and LSTM, b_ih for GRU (nil without biases).
func recurrentInputProduct(_ cell: RecurrentCellKind, _ x: Tensor, _ w: RecurrentWeights) -> (Tensor, Tensor?) {
    let steps = x.shape[0], batch = x.shape[1], g = w.ih.shape[0]
    let product = x.reshape([steps * batch, x.shape[2]]).matmul(w.ih.t).reshape([steps, batch, g])
    var bias = w.bih
    if cell != .gru, let bhh = w.bhh { bias = bias.map { $0 + bhh } ?? bhh }
    return (product, bias)
}

/// One direction over x (T, B, I) from h (B, H) and, for LSTM, c: the input projection as one
/// matrix product, then the time loop as one primitive. Returns the outputs (T, B, H), the
/// final h and (LSTM) c. `masks[t]` (B, 1) holds 1 for sequences still running at position t.
/// Under autocast (where `Kernels.fusedSequenceRunsBFloat16`) the input projection is an
/// autocast product, and the loop's products run on the bf16 kernel with W_hh rounded once per
/// region (autocast's copy), each step's h·W_hhᵀ rounded as the composite's autocast product is.
/// The fused LSTM and GRU loops take the projection's bias apart (`inputBias`): each step adds it
/// to its gates, and the backward sums its gradient, while the step's rows are in cache.
func recurrentDirection(_ cell: RecurrentCellKind, _ x: Tensor, _ w: RecurrentWeights, _ reverse: Bool, _ h: Tensor,
                        _ c: Tensor?, _ masks: [Tensor]?) -> (Tensor, Tensor, Tensor?) {
    let (product, bias) = recurrentInputProduct(cell, x, w), state = ThreadState.current
    let fused = Tensor.fusedSequenceApplies(cell, product)
    let proj = fused ? product : bias.map { product + $0 } ?? product
    let autocast = state.autocast
    let whh = autocast ? Autocast.rounded(w.hh, state) : w.hh
    return Autocast.disabled {
        Kernels.withBFloat16Operands(autocast) {
            // proj is this function's own: the fused kernels may write the gates over it (not
            // under anomaly detection, which reads a primitive's inputs after it ran).
            Tensor.recurrentSequence(cell, proj: proj, inputBias: fused ? bias : nil, h0: h, c0: c, whh: whh,
                                     bhh: cell == .gru ? w.bhh : nil, masks: masks, reverse: reverse,
                                     projIsScratch: !state.detectAnomaly)
        }
    }
}

/// The same direction composed step by step from primitives (matmul, fused cell ops): the
/// reference the sequence primitive is tested against. Same arguments and results.
func recurrentDirectionReference(_ cell: RecurrentCellKind, _ x: Tensor, _ w: RecurrentWeights, _ reverse: Bool,
                                 _ h0: Tensor, _ c0: Tensor?, _ masks: [Tensor]?) -> (Tensor, Tensor, Tensor?) {
    let steps = x.shape[0]
    let proj = recurrentInputProjection(cell, x, w)
    let whhT = w.hh.t
    var h = h0, c = c0 ?? h0
    var outputs = [Tensor](repeating: h, count: steps)
    for s in 0..<steps {
        let t = reverse ? steps - 1 - s : s
        let gi = proj[t]
        var gh = h.matmul(whhT)
        var hNew: Tensor, cNew: Tensor? = nil
        switch cell {
        case .rnnTanh: hNew = (gi + gh).tanh()
        case .rnnRelu: hNew = (gi + gh).relu()
        case .lstm: (hNew, cNew) = Tensor.lstmPointwise(gates: gi + gh, cell: c)
        case .gru:
            if let bhh = w.bhh { gh = gh + bhh }
            hNew = Tensor.gruPointwise(inputGates: gi, hiddenGates: gh, hidden: h)
        }
        if let m = masks?[t] {
            // Past a sequence's end its state is carried unchanged and its output is zero.
            outputs[t] = hNew * m
            h = Tensor.where(m, hNew, h)
            if let cNew { c = Tensor.where(m, cNew, c) }
        } else {
            outputs[t] = hNew
            h = hNew
            if let cNew { c = cNew }
        }
    }
    return (Tensor.stack(outputs, dim: 0), h, cell == .lstm ? c : nil)
}

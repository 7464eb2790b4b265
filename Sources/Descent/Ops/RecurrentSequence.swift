// A whole layer-direction of an RNN, LSTM or GRU as one primitive: the general path (any float
// type, any CPU), and the door to the fast path (Ops/FusedRecurrentSequence.swift) where
// `Kernels.fusedSequenceApplies`. Forward runs the time loop on raw kernels (one W_hh product
// and one fused cell kernel per step, no graph nodes per step); backward runs the loop in
// reverse and forms the W_hh gradient as ONE product over all steps (Σ_t dG_tᵀ·h_{t−1}),
// instead of one small product per step. The reference it is tested against (RecurrentTests:
// outputs and all gradients) is the step-by-step composite `recurrentDirectionReference`
// (Functional/Recurrent.swift).

/// The cell a recurrent sequence runs.
enum RecurrentCellKind { case rnnTanh, rnnRelu, lstm, gru }

extension Tensor {
    /// Runs one direction over `proj` (T, B, G·H): x_t·W_ihᵀ + b_ih (+ b_hh except for GRU), or
    /// x_t·W_ihᵀ alone with that bias as `inputBias` (G·H), which the fused kernels add step by
    /// step (elsewhere it is added to `proj` first). Returns the outputs (T, B, H), the final h
    /// and (LSTM) c. `masks[t]` (B, 1) holds 1 for sequences still running at step t (by
    /// position t, not processing order). `projIsScratch`: `proj` is the caller's temporary,
    /// which nothing reads after this call (not even a backward rule): the fused kernels then
    /// write the activated gates over it instead of over a copy.
    static func recurrentSequence(_ kind: RecurrentCellKind, proj: Tensor, inputBias: Tensor? = nil, h0: Tensor, c0: Tensor?,
                                  whh: Tensor, bhh: Tensor?, masks: [Tensor]?, reverse: Bool,
                                  projIsScratch: Bool = false) -> (Tensor, Tensor, Tensor?) {
        if kind == .lstm, let c0, fusedSequenceApplies(kind, proj) {
            precondition(bhh == nil, "recurrentSequence: the LSTM's b_hh belongs in inputBias (b_ih + b_hh)")
            let (out, h, c) = lstmSequence(proj: proj, bias: inputBias, h0: h0, c0: c0, whh: whh, masks: masks,
                                           reverse: reverse, projIsScratch: projIsScratch)
            return (out, h, c)
        }
        if kind == .gru, fusedSequenceApplies(kind, proj) {
            let (out, h) = gruSequence(proj: proj, bih: inputBias, h0: h0, whh: whh, bhh: bhh, masks: masks, reverse: reverse,
                                       projIsScratch: projIsScratch)
            return (out, h, nil)
        }
        let proj = inputBias.map { proj + $0 } ?? proj
        let steps = proj.shape[0], batch = proj.shape[1], g = proj.shape[2], hidden = whh.shape[1]
        let dtype = proj.dtype, bh = batch * hidden, bg = batch * g
        let wd = whh.detach().contiguousData()
        // W_hhᵀ laid out once, so each step's product reads B row-major (packing is then a plain copy).
        let wT = Kernels.copyToContiguous(wd.t)
        // Saved for backward: the state entering each step, and each step's pre-activations.
        let hPrev = Tensor(uninitialized: [steps, batch, hidden], dtype: dtype)
        let cPrev = kind == .lstm ? Tensor(uninitialized: [steps, batch, hidden], dtype: dtype) : nil
        let pre = Kernels.copyToContiguous(proj.detach())  // LSTM/RNN: proj + h·W_hhᵀ; GRU: gi
        let gh = kind == .gru ? Tensor(uninitialized: [steps, batch, g], dtype: dtype) : nil
        let hNew = kind == .rnnTanh || kind == .rnnRelu ? Tensor(uninitialized: [steps, batch, hidden], dtype: dtype) : nil
        // Packed result: outputs, then final h, then final c.
        let packed = Tensor.zeros([steps + 2, batch, hidden], dtype: dtype)
        var h = Kernels.copyToContiguous(h0.detach()).rowsView(batch, hidden, at: 0)
        var c = c0.map { Kernels.copyToContiguous($0.detach()).rowsView(batch, hidden, at: 0) }
        let bhhD = bhh?.detach()
        for s in 0..<steps {
            let t = reverse ? steps - 1 - s : s
            Kernels.copy(h, into: hPrev.rowsView(batch, hidden, at: t * bh))
            if let c, let cPrev { Kernels.copy(c, into: cPrev.rowsView(batch, hidden, at: t * bh)) }
            let newH: Tensor
            var newC: Tensor? = nil
            switch kind {
            case .lstm:
                let gates = pre.rowsView(batch, g, at: t * bg)
                Kernels.gemm(false, false, m: batch, n: g, k: hidden, a: h, aOffset: 0, lda: hidden, b: wT, bOffset: 0, ldb: g,
                             c: pre, cOffset: t * bg, ldc: g, accumulate: true)
                let hc = Kernels.lstmCell(gates, c!, batch: batch, hidden: hidden)
                newH = Kernels.copyToContiguous(hc.narrow(dim: 1, start: 0, length: hidden).detach())
                newC = Kernels.copyToContiguous(hc.narrow(dim: 1, start: hidden, length: hidden).detach())
            case .gru:
                Kernels.gemm(false, false, m: batch, n: g, k: hidden, a: h, aOffset: 0, lda: hidden, b: wT, bOffset: 0, ldb: g,
                             c: gh!, cOffset: t * bg, ldc: g)
                let ght = gh!.rowsView(batch, g, at: t * bg)
                if let bhhD { Kernels.addInPlace(ght, bhhD) }
                newH = Kernels.gruCell(pre.rowsView(batch, g, at: t * bg), ght, h, batch: batch, hidden: hidden)
            case .rnnTanh, .rnnRelu:
                Kernels.gemm(false, false, m: batch, n: g, k: hidden, a: h, aOffset: 0, lda: hidden, b: wT, bOffset: 0, ldb: g,
                             c: pre, cOffset: t * bg, ldc: g, accumulate: true)
                let p = pre.rowsView(batch, g, at: t * bg)
                newH = kind == .rnnTanh ? Kernels.map(p, TanhFn.self, op: "rnn") : Kernels.map(p, ReluFn.self, op: "rnn")
                Kernels.copy(newH, into: hNew!.rowsView(batch, hidden, at: t * bh))
            }
            let out = packed.rowsView(batch, hidden, at: t * bh)
            if let m = masks?[t] {
                Kernels.copy(Kernels.zip(newH, m, MulFn.self, op: "rnn"), into: out)
                h = Kernels.zip3(m, newH, h, dtype: dtype)
                if let nc = newC { c = Kernels.zip3(m, nc, c!, dtype: dtype) }
            } else {
                Kernels.copy(newH, into: out)
                h = newH
                if let nc = newC { c = nc }
            }
        }
        Kernels.copy(h, into: packed.rowsView(batch, hidden, at: steps * bh))
        if let c { Kernels.copy(c, into: packed.rowsView(batch, hidden, at: (steps + 1) * bh)) }

        let inputs = [proj, h0, whh] + (c0.map { [$0] } ?? []) + (bhh.map { [$0] } ?? [])
        if needsGrad(inputs) {
            packed.record("RecurrentSequenceBackward", inputs) { grad in
                let gd = grad.contiguousData()
                let dPre = Tensor(uninitialized: [steps, batch, g], dtype: dtype)  // d(pre-activation) or d(gi)
                let dGh = kind == .gru ? Tensor(uninitialized: [steps, batch, g], dtype: dtype) : dPre
                var dh = Kernels.copyToContiguous(gd.rowsView(batch, hidden, at: steps * bh))
                var dc = kind == .lstm ? Kernels.copyToContiguous(gd.rowsView(batch, hidden, at: (steps + 1) * bh)) : nil
                for s in stride(from: steps - 1, through: 0, by: -1) {
                    let t = reverse ? steps - 1 - s : s
                    let dOut = gd.rowsView(batch, hidden, at: t * bh)
                    // Split the state gradients between this step's new state and the carried one.
                    var dhNew = Kernels.zip(dh, dOut, AddFn.self, op: "rnn")
                    var dcNew = dc
                    var dhCarry: Tensor? = nil, dcCarry: Tensor? = nil
                    if let m = masks?[t] {
                        dhNew = Kernels.zip(dhNew, m, MulFn.self, op: "rnn")
                        let keep = Kernels.zip(Tensor(1.0, dtype: dtype), m, SubFn.self, op: "rnn")
                        dhCarry = Kernels.zip(dh, keep, MulFn.self, op: "rnn")
                        if let d = dc {
                            dcNew = Kernels.zip(d, m, MulFn.self, op: "rnn")
                            dcCarry = Kernels.zip(d, keep, MulFn.self, op: "rnn")
                        }
                    }
                    let hp = hPrev.rowsView(batch, hidden, at: t * bh)
                    var dhPrev: Tensor
                    switch kind {
                    case .lstm:
                        let dhc = Tensor.cat([dhNew, dcNew!], dim: 1)
                        let (dg, dcPrev) = Kernels.lstmCellBackward(dhc, pre.rowsView(batch, g, at: t * bg),
                                                                    cPrev!.rowsView(batch, hidden, at: t * bh), batch: batch, hidden: hidden)
                        Kernels.copy(dg, into: dPre.rowsView(batch, g, at: t * bg))
                        dc = dcCarry.map { Kernels.zip(dcPrev, $0, AddFn.self, op: "rnn") } ?? dcPrev
                        dhPrev = Tensor.zeros([batch, hidden], dtype: dtype)
                    case .gru:
                        let (dgi, dgh, dhCell) = Kernels.gruCellBackward(dhNew, pre.rowsView(batch, g, at: t * bg),
                                                                         gh!.rowsView(batch, g, at: t * bg), hp, batch: batch, hidden: hidden)
                        Kernels.copy(dgi, into: dPre.rowsView(batch, g, at: t * bg))
                        Kernels.copy(dgh, into: dGh.rowsView(batch, g, at: t * bg))
                        dhPrev = dhCell
                    case .rnnTanh, .rnnRelu:
                        let y = hNew!.rowsView(batch, hidden, at: t * bh)
                        let dp = kind == .rnnTanh ? Kernels.zip(dhNew, y, TanhGradFn.self, op: "rnn") : Kernels.zip(dhNew, y, ReluGradFn.self, op: "rnn")
                        Kernels.copy(dp, into: dPre.rowsView(batch, g, at: t * bg))
                        dhPrev = Tensor.zeros([batch, hidden], dtype: dtype)
                    }
                    // dh_{t−1} += dG_t · W_hh
                    Kernels.gemm(false, false, m: batch, n: hidden, k: g, a: dGh, aOffset: t * bg, lda: g, b: wd, bOffset: 0, ldb: hidden,
                                 c: dhPrev, cOffset: 0, ldc: hidden, accumulate: true)
                    dh = dhCarry.map { Kernels.zip(dhPrev, $0, AddFn.self, op: "rnn") } ?? dhPrev
                }
                // dW_hh = Σ_t dG_tᵀ·h_{t−1}: one product over all steps.
                let dW = Tensor(uninitialized: [g, hidden], dtype: dtype)
                Kernels.gemm(true, false, m: g, n: hidden, k: steps * batch, a: dGh, aOffset: 0, lda: g, b: hPrev, bOffset: 0, ldb: hidden,
                             c: dW, cOffset: 0, ldc: hidden)
                var grads: [Tensor?] = [dPre, dh, dW]
                if c0 != nil { grads.append(dc) }
                if bhh != nil { grads.append(Kernels.sum(dGh.reshape([steps * batch, g]), dims: [0]).reshape([g])) }
                return grads
            }
        }
        let out = packed.narrow(dim: 0, start: 0, length: steps)
        let hT = packed.select(dim: 0, index: steps)
        let cT = kind == .lstm ? packed.select(dim: 0, index: steps + 1) : nil
        return (out, hT, cT)
    }
}

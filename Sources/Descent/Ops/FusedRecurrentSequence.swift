import CDescentKernels

// Whole LSTM and GRU layer-directions in float32 as primitives whose time loop runs in C
// (lstm_sequence.c, gru_sequence.c): one parallel phase per step, W_hh packed once per
// sequence, the activated gates saved so that backward evaluates no exp, states written in
// place (no tensors per step). Used when the AVX-512 GEMM runs; `recurrentSequence` (the
// general path, float64 and other CPUs) and the step-by-step composite are their oracles.

extension Tensor {
    /// Whether the fused sequence kernels can run `proj` on this machine.
    static func fusedSequenceApplies(_ proj: Tensor) -> Bool {
        proj.dtype == .float32 && MatmulBackend.resolved == .avx512
    }

    /// The raw inputs of a fused sequence: contiguous copies and the kernel's description.
    /// The tensors the description points into live as long as this value.
    private struct FusedSequenceInputs {
        let steps: Int, batch: Int, gates: Int, hidden: Int
        let whh: Tensor, masks: Tensor?
        let reverse: Bool

        init(proj: Tensor, whh: Tensor, masks: [Tensor]?, reverse: Bool) {
            (steps, batch, gates, hidden) = (proj.shape[0], proj.shape[1], proj.shape[2], whh.shape[1])
            self.whh = whh.detach().contiguousData()
            self.masks = masks.map { [batch] in Tensor.stack($0.map { $0.detach().reshape([batch]) }, dim: 0).contiguousData() }
            self.reverse = reverse
        }

        func shape() -> dk_recurrent_shape {
            dk_recurrent_shape(steps: Int64(steps), batch: Int64(batch), hidden: Int64(hidden), reverse: reverse ? 1 : 0,
                               threads: Int32(Parallel.threads), whh: ptr(whh), masks: masks.map { UnsafePointer(ptr($0)) })
        }

        func states() -> Tensor { Tensor(uninitialized: [steps, batch, hidden], dtype: .float32) }

        /// dW_hh = Σ_t dG_tᵀ·h_{t−1}: one product over all steps.
        func weightGradient(_ dG: Tensor, _ hPrev: Tensor) -> Tensor {
            let dW = Tensor(uninitialized: [gates, hidden], dtype: .float32)
            Kernels.gemm(true, false, m: gates, n: hidden, k: steps * batch, a: dG, aOffset: 0, lda: gates, b: hPrev,
                         bOffset: 0, ldb: hidden, c: dW, cOffset: 0, ldc: hidden)
            return dW
        }

        func biasGradient(_ dG: Tensor) -> Tensor { Kernels.sum(dG.reshape([steps * batch, gates]), dims: [0]).reshape([gates]) }
    }

    private static func ptr(_ t: Tensor) -> UnsafeMutablePointer<Float> { t.storage.typed(Float.self) + t.offset }

    /// LSTM over `proj` (T, B, 4H) = x·W_ihᵀ + b_ih + b_hh, from h0, c0 (B, H), with W_hh
    /// (4H, H). Same contract as `recurrentSequence(.lstm, …)`: returns the outputs (T, B, H)
    /// and the final h and c; `masks[t]` (B, 1) is 1 for sequences still running at position t.
    static func lstmSequence(proj: Tensor, h0: Tensor, c0: Tensor, whh: Tensor, bhh: Tensor?, masks: [Tensor]?,
                             reverse: Bool) -> (Tensor, Tensor, Tensor) {
        let s = FusedSequenceInputs(proj: proj, whh: whh, masks: masks, reverse: reverse)
        let gates = Kernels.copyToContiguous(proj.detach())  // becomes the activated gates
        let h0d = h0.detach().contiguousData(), c0d = c0.detach().contiguousData()
        let hPrev = s.states(), cPrev = s.states(), tanhC = s.states()
        let packed = Tensor(uninitialized: [s.steps + 2, s.batch, s.hidden], dtype: .float32)
        var shape = s.shape()
        dk_lstm_sequence_forward_f32(&shape, ptr(gates), ptr(h0d), ptr(c0d), ptr(hPrev), ptr(cPrev), ptr(tanhC), ptr(packed))

        let inputs = [proj, h0, whh, c0] + (bhh.map { [$0] } ?? [])
        if needsGrad(inputs) {
            packed.record("LSTMSequenceBackward", inputs) { grad in
                let gd = grad.contiguousData()
                let dGates = Tensor(uninitialized: [s.steps, s.batch, s.gates], dtype: .float32)
                let dh0 = Tensor(uninitialized: [s.batch, s.hidden], dtype: .float32)
                let dc0 = Tensor(uninitialized: [s.batch, s.hidden], dtype: .float32)
                var shape = s.shape()
                dk_lstm_sequence_backward_f32(&shape, ptr(gd), ptr(gates), ptr(cPrev), ptr(tanhC), ptr(dGates), ptr(dh0), ptr(dc0))
                var grads: [Tensor?] = [dGates, dh0, s.weightGradient(dGates, hPrev), dc0]
                if bhh != nil { grads.append(s.biasGradient(dGates)) }
                return grads
            }
        }
        let out = packed.narrow(dim: 0, start: 0, length: s.steps)
        return (out, packed.select(dim: 0, index: s.steps), packed.select(dim: 0, index: s.steps + 1))
    }

    /// GRU over `proj` (T, B, 3H) = x·W_ihᵀ + b_ih, from h0 (B, H), with W_hh (3H, H) and
    /// b_hh. Same contract as `recurrentSequence(.gru, …)`: returns the outputs (T, B, H) and
    /// the final h.
    static func gruSequence(proj: Tensor, h0: Tensor, whh: Tensor, bhh: Tensor?, masks: [Tensor]?,
                            reverse: Bool) -> (Tensor, Tensor) {
        let s = FusedSequenceInputs(proj: proj, whh: whh, masks: masks, reverse: reverse)
        let gates = Kernels.copyToContiguous(proj.detach())  // becomes r, z, n
        let h0d = h0.detach().contiguousData()
        let bias = bhh.map { $0.detach().contiguousData() } ?? Tensor.zeros([s.gates], dtype: .float32)
        let hPrev = s.states(), ghn = s.states()
        let packed = Tensor(uninitialized: [s.steps + 1, s.batch, s.hidden], dtype: .float32)
        var shape = s.shape()
        dk_gru_sequence_forward_f32(&shape, ptr(gates), ptr(bias), ptr(h0d), ptr(hPrev), ptr(ghn), ptr(packed))

        let inputs = [proj, h0, whh] + (bhh.map { [$0] } ?? [])
        if needsGrad(inputs) {
            packed.record("GRUSequenceBackward", inputs) { grad in
                let gd = grad.contiguousData()
                let dGi = Tensor(uninitialized: [s.steps, s.batch, s.gates], dtype: .float32)
                let dGh = Tensor(uninitialized: [s.steps, s.batch, s.gates], dtype: .float32)
                let dh0 = Tensor(uninitialized: [s.batch, s.hidden], dtype: .float32)
                var shape = s.shape()
                dk_gru_sequence_backward_f32(&shape, ptr(gd), ptr(gates), ptr(ghn), ptr(hPrev), ptr(dGi), ptr(dGh), ptr(dh0))
                var grads: [Tensor?] = [dGi, dh0, s.weightGradient(dGh, hPrev)]
                if bhh != nil { grads.append(s.biasGradient(dGh)) }
                return grads
            }
        }
        return (packed.narrow(dim: 0, start: 0, length: s.steps), packed.select(dim: 0, index: s.steps))
    }
}

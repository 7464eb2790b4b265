import CDescentKernels

// A whole LSTM layer-direction in float32 as one primitive whose time loop runs in C
// (lstm_sequence.c): one parallel phase per step, W_hh packed once per sequence, the activated
// gates saved so that backward evaluates no exp, states written in place (no per-step tensors).
// Used when the AVX-512 GEMM runs; `recurrentSequence` (the general path) is its oracle.

extension Tensor {
    /// Whether `lstmSequence` can run `proj` on this machine.
    static func lstmSequenceApplies(_ proj: Tensor) -> Bool {
        proj.dtype == .float32 && MatmulBackend.resolved == .avx512
    }

    /// LSTM over `proj` (T, B, 4H) = x·W_ihᵀ + b_ih + b_hh, from h0, c0 (B, H), with W_hh
    /// (4H, H). Same contract as `recurrentSequence(.lstm, …)`: returns the outputs (T, B, H)
    /// and the final h and c; `masks[t]` (B, 1) is 1 for sequences still running at position t.
    static func lstmSequence(proj: Tensor, h0: Tensor, c0: Tensor, whh: Tensor, bhh: Tensor?, masks: [Tensor]?,
                             reverse: Bool) -> (Tensor, Tensor, Tensor) {
        let steps = proj.shape[0], batch = proj.shape[1], g = proj.shape[2], hidden = whh.shape[1]
        let wd = whh.detach().contiguousData()
        let gates = Kernels.copyToContiguous(proj.detach())  // becomes the activated gates
        let h0d = h0.detach().contiguousData(), c0d = c0.detach().contiguousData()
        let maskT = masks.map { Tensor.stack($0.map { $0.detach().reshape([batch]) }, dim: 0).contiguousData() }
        let hPrev = Tensor(uninitialized: [steps, batch, hidden], dtype: .float32)
        let cPrev = Tensor(uninitialized: [steps, batch, hidden], dtype: .float32)
        let tanhC = Tensor(uninitialized: [steps, batch, hidden], dtype: .float32)
        let packed = Tensor(uninitialized: [steps + 2, batch, hidden], dtype: .float32)
        func f(_ t: Tensor) -> UnsafeMutablePointer<Float> { t.storage.typed(Float.self) + t.offset }
        // The tensors the raw pointers point into are captured with this function.
        func makeShape() -> dk_lstm_shape {
            dk_lstm_shape(steps: Int64(steps), batch: Int64(batch), hidden: Int64(hidden), reverse: reverse ? 1 : 0,
                          threads: Int32(Parallel.threads), whh: f(wd), masks: maskT.map { UnsafePointer(f($0)) })
        }
        var shape = makeShape()
        dk_lstm_sequence_forward_f32(&shape, f(gates), f(h0d), f(c0d), f(hPrev), f(cPrev), f(tanhC), f(packed))

        let inputs = [proj, h0, whh, c0] + (bhh.map { [$0] } ?? [])
        if needsGrad(inputs) {
            packed.record("LSTMSequenceBackward", inputs) { grad in
                let gd = grad.contiguousData()
                let dGates = Tensor(uninitialized: [steps, batch, g], dtype: .float32)
                let dh0 = Tensor(uninitialized: [batch, hidden], dtype: .float32)
                let dc0 = Tensor(uninitialized: [batch, hidden], dtype: .float32)
                var shape = makeShape()
                dk_lstm_sequence_backward_f32(&shape, f(gd), f(gates), f(cPrev), f(tanhC), f(dGates), f(dh0), f(dc0))
                // dW_hh = Σ_t dG_tᵀ·h_{t−1}: one product over all steps.
                let dW = Tensor(uninitialized: [g, hidden], dtype: .float32)
                Kernels.gemm(true, false, m: g, n: hidden, k: steps * batch, a: dGates, aOffset: 0, lda: g, b: hPrev, bOffset: 0,
                             ldb: hidden, c: dW, cOffset: 0, ldc: hidden)
                var grads: [Tensor?] = [dGates, dh0, dW, dc0]
                if bhh != nil { grads.append(Kernels.sum(dGates.reshape([steps * batch, g]), dims: [0]).reshape([g])) }
                return grads
            }
        }
        let out = packed.narrow(dim: 0, start: 0, length: steps)
        return (out, packed.select(dim: 0, index: steps), packed.select(dim: 0, index: steps + 1))
    }
}

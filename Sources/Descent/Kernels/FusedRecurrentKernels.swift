import CDescentKernels

// The fused float32 LSTM and GRU sequence kernels (lstm_sequence.c, gru_sequence.c): a whole
// layer-direction's time loop in C (each thread runs every step on its own batch rows, or where
// the batch is too small, one parallel phase per step over hidden units), W_hh packed once per
// sequence, the activated gates saved so that backward evaluates no exp, states written in place.
// Ops/FusedRecurrentSequence.swift records them as primitives.
extension Kernels {
    /// Whether the fused sequence kernels can run `proj` on this machine: float32, with the
    /// AVX-512 GEMM, or with AVX2 unless the portable kernels are asked for.
    static func fusedSequenceApplies(_ proj: Tensor) -> Bool {
        proj.dtype == .float32
            && (MatmulBackend.resolved == .avx512 || (MatmulBackend.current != .portable && dk_sgemm_prepacked_available() != 0))
    }

    /// Whether an LSTM or GRU layer-direction over float32 `x` runs on the fused kernels under
    /// autocast, its per-step products on the bf16 kernel (`dk_bgemm_prepacked`): where the CPU
    /// has AVX512-BF16 (`bfloat16DotProducts`). Elsewhere autocast runs the step-by-step
    /// composite, each step's h·W_hhᵀ an autocast product.
    static func fusedSequenceRunsBFloat16(_ cell: RecurrentCellKind, _ x: Tensor) -> Bool {
        (cell == .lstm || cell == .gru) && bfloat16DotProducts && fusedSequenceApplies(x)
    }

    /// The raw inputs of a fused sequence: contiguous copies and the kernel's description.
    /// The tensors the description points into live as long as this value.
    struct FusedSequence {
        let steps: Int, batch: Int, gates: Int, hidden: Int
        let whh: Tensor, masks: Tensor?
        /// The bias added to each step's gates by the loop (LSTM b_ih + b_hh, GRU b_ih), if any.
        let bias: Tensor?
        let reverse: Bool
        /// Autocast's products on the bf16 kernel (`bfloat16KernelsRun` when made): h·W_hhᵀ
        /// and dG·W_hh on bfloat16 operands, their results rounded; the weight gradient's
        /// product then runs on the bf16 GEMM too (the backward runs with the flag).
        let bfloat16: Bool
        /// The activated gates (LSTM i, f, g, o; GRU r, z, n), written by the forward kernel.
        let activated: Tensor
        /// Saved states: h entering each step; LSTM: c entering each step and tanh(c);
        /// GRU: W_hn·h + b_hn.
        let hPrev: Tensor, cPrev: Tensor?, saved: Tensor

        /// `takingProj`: the activated gates are written over `proj` itself where it is contiguous
        /// (a temporary of the caller's), else over a copy.
        init(proj: Tensor, bias: Tensor?, whh: Tensor, masks: [Tensor]?, reverse: Bool, lstm: Bool, takingProj: Bool) {
            (steps, batch, gates, hidden) = (proj.shape[0], proj.shape[1], proj.shape[2], whh.shape[1])
            self.whh = whh.detach().contiguousData()
            self.bias = bias.map { $0.detach().contiguousData() }
            self.masks = masks.map { [steps, batch] masks in
                // One row of B flags per step.
                let rows = Tensor(uninitialized: [steps, batch], dtype: .float32)
                for (t, m) in masks.enumerated() { copy(m.detach(), into: rows.rowsView(batch, 1, at: t * batch)) }
                return rows
            }
            self.reverse = reverse
            bfloat16 = bfloat16KernelsRun
            activated = takingProj && proj.isContiguous && proj.dtype == .float32 ? proj.detach() : copyToContiguous(proj.detach())
            let states = [steps, batch, hidden]
            hPrev = Tensor(uninitialized: states, dtype: .float32)
            cPrev = lstm ? Tensor(uninitialized: states, dtype: .float32) : nil
            saved = Tensor(uninitialized: states, dtype: .float32)
        }

        func shape() -> dk_recurrent_shape {
            dk_recurrent_shape(steps: Int64(steps), batch: Int64(batch), hidden: Int64(hidden), reverse: reverse ? 1 : 0,
                               threads: Int32(Parallel.threads), whh: ptr(whh), masks: masks.map { UnsafePointer(ptr($0)) },
                               bfloat16: bfloat16 ? 1 : 0)
        }

        /// dW_hh = Σ_t dG_tᵀ·h_{t−1}: one product over all steps.
        func weightGradient(_ dG: Tensor) -> Tensor {
            let dW = Tensor(uninitialized: [gates, hidden], dtype: .float32)
            gemm(true, false, m: gates, n: hidden, k: steps * batch, a: dG, aOffset: 0, lda: gates, b: hPrev,
                 bOffset: 0, ldb: hidden, c: dW, cOffset: 0, ldc: hidden)
            return dW
        }

        /// A bias gradient (G·H) for the kernel to sum into where `wanted`, else nil.
        func biasGradient(_ wanted: Bool) -> Tensor? { wanted ? Tensor(uninitialized: [gates], dtype: .float32) : nil }
    }

    private static func ptr(_ t: Tensor) -> UnsafeMutablePointer<Float> { t.storage.typed(Float.self) + t.offset }
    private static func optionalPtr(_ t: Tensor?) -> UnsafeMutablePointer<Float>? { t.map { ptr($0) } }

    /// LSTM over `proj` (T, B, 4H) + `bias` (4H, added step by step) from h0, c0 (B, H) with
    /// W_hh (4H, H): returns the packed result (T + 2, B, H) — outputs, final h, final c — and
    /// what the backward needs.
    static func lstmSequence(proj: Tensor, bias: Tensor?, h0: Tensor, c0: Tensor, whh: Tensor, masks: [Tensor]?,
                             reverse: Bool, projIsScratch: Bool) -> (Tensor, FusedSequence) {
        let s = FusedSequence(proj: proj, bias: bias, whh: whh, masks: masks, reverse: reverse, lstm: true,
                              takingProj: projIsScratch)
        let h0d = h0.detach().contiguousData(), c0d = c0.detach().contiguousData()
        let packed = Tensor(uninitialized: [s.steps + 2, s.batch, s.hidden], dtype: .float32)
        var shape = s.shape()
        dk_lstm_sequence_forward_f32(&shape, ptr(s.activated), optionalPtr(s.bias), ptr(h0d), ptr(c0d), ptr(s.hPrev), ptr(s.cPrev!),
                                     ptr(s.saved), ptr(packed))
        return (packed, s)
    }

    /// The gradients of `lstmSequence` for the packed result's gradient: proj, h0, W_hh, c0 and,
    /// where the sequence has a bias, the bias's (summed in the loop where `biasGradient`, else nil).
    static func lstmSequenceBackward(_ grad: Tensor, _ s: FusedSequence, biasGradient: Bool) -> [Tensor?] {
        let gd = grad.contiguousData()
        let dGates = Tensor(uninitialized: [s.steps, s.batch, s.gates], dtype: .float32)
        let dh0 = Tensor(uninitialized: [s.batch, s.hidden], dtype: .float32)
        let dc0 = Tensor(uninitialized: [s.batch, s.hidden], dtype: .float32)
        let dBias = s.biasGradient(biasGradient && s.bias != nil)
        var shape = s.shape()
        dk_lstm_sequence_backward_f32(&shape, ptr(gd), ptr(s.activated), ptr(s.cPrev!), ptr(s.saved), ptr(dGates), optionalPtr(dBias),
                                      ptr(dh0), ptr(dc0))
        return [dGates, dh0, s.weightGradient(dGates), dc0] + (s.bias != nil ? [dBias] : [])
    }

    /// GRU over `proj` (T, B, 3H) = x·W_ihᵀ (+ `bih`, 3H, added step by step) from h0 (B, H) with
    /// W_hh (3H, H) and b_hh: returns the packed result (T + 1, B, H) — outputs, final h — and
    /// what the backward needs.
    static func gruSequence(proj: Tensor, bih: Tensor?, h0: Tensor, whh: Tensor, bhh: Tensor?, masks: [Tensor]?,
                            reverse: Bool, projIsScratch: Bool) -> (Tensor, FusedSequence) {
        let s = FusedSequence(proj: proj, bias: bih, whh: whh, masks: masks, reverse: reverse, lstm: false,
                              takingProj: projIsScratch)
        let h0d = h0.detach().contiguousData()
        let hiddenBias = bhh.map { $0.detach().contiguousData() } ?? Tensor.zeros([s.gates], dtype: .float32)
        let packed = Tensor(uninitialized: [s.steps + 1, s.batch, s.hidden], dtype: .float32)
        var shape = s.shape()
        dk_gru_sequence_forward_f32(&shape, ptr(s.activated), optionalPtr(s.bias), ptr(hiddenBias), ptr(h0d), ptr(s.hPrev), ptr(s.saved),
                                    ptr(packed))
        return (packed, s)
    }

    /// The gradients of `gruSequence`: proj, h0, W_hh and, where the sequence has them, b_ih's
    /// and b_hh's (summed in the loop where `inputBiasGradient`, `biasGradient`, else nil).
    static func gruSequenceBackward(_ grad: Tensor, _ s: FusedSequence, inputBiasGradient: Bool, biasGradient: Bool,
                                    hasBhh: Bool) -> [Tensor?] {
        let gd = grad.contiguousData()
        let dGi = Tensor(uninitialized: [s.steps, s.batch, s.gates], dtype: .float32)
        let dGh = Tensor(uninitialized: [s.steps, s.batch, s.gates], dtype: .float32)
        let dh0 = Tensor(uninitialized: [s.batch, s.hidden], dtype: .float32)
        let dBih = s.biasGradient(inputBiasGradient && s.bias != nil), dBhh = s.biasGradient(biasGradient && hasBhh)
        var shape = s.shape()
        dk_gru_sequence_backward_f32(&shape, ptr(gd), ptr(s.activated), ptr(s.saved), ptr(s.hPrev), ptr(dGi), ptr(dGh),
                                     optionalPtr(dBih), optionalPtr(dBhh), ptr(dh0))
        return [dGi, dh0, s.weightGradient(dGh)] + (s.bias != nil ? [dBih] : []) + (hasBhh ? [dBhh] : [])
    }
}

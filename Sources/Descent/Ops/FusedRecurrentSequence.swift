// The fast path of the recurrent layers: whole float32 LSTM and GRU layer-directions as primitives
// whose time loop runs in C (Kernels/FusedRecurrentKernels.swift), used on CPUs with AVX-512 or
// AVX2 unless the portable kernels are asked for. The reference they are kept equal to is the
// step-by-step composite (`recurrentDirectionReference` in Functional/Recurrent.swift), with
// `recurrentSequence` (Ops/RecurrentSequence.swift: float64 and other CPUs) between them;
// RecurrentTests compares all three, outputs and every gradient, and the fixtures tie them to
// PyTorch. Under autocast on AVX512-BF16 CPUs they also run, their per-step products on the bf16
// kernel (BFloat16RecurrentTests compares them with autocast's step-by-step composite).

extension Tensor {
    /// Whether a `kind` sequence over `proj` runs on the fused kernels (LSTM and GRU where
    /// `Kernels.fusedSequenceApplies`).
    static func fusedSequenceApplies(_ kind: RecurrentCellKind, _ proj: Tensor) -> Bool {
        (kind == .lstm || kind == .gru) && Kernels.fusedSequenceApplies(proj)
    }

    /// LSTM over `proj` (T, B, 4H) = x·W_ihᵀ + `bias` (b_ih + b_hh, 4H: added step by step;
    /// nil when `proj` holds it or there is none), from h0, c0 (B, H), with W_hh (4H, H). Same
    /// contract as `recurrentSequence(.lstm, …)`: returns the outputs (T, B, H) and the final h
    /// and c; `masks[t]` (B, 1) is 1 for sequences still running at position t.
    static func lstmSequence(proj: Tensor, bias: Tensor?, h0: Tensor, c0: Tensor, whh: Tensor, masks: [Tensor]?,
                             reverse: Bool, projIsScratch: Bool = false) -> (Tensor, Tensor, Tensor) {
        let (packed, saved) = Kernels.lstmSequence(proj: proj, bias: bias, h0: h0, c0: c0, whh: whh, masks: masks,
                                                   reverse: reverse, projIsScratch: projIsScratch)
        let inputs = [proj, h0, whh, c0] + (bias.map { [$0] } ?? [])
        if needsGrad(inputs) {
            packed.record("LSTMSequenceBackward", inputs) { grad in
                Kernels.lstmSequenceBackward(grad, saved, biasGradient: bias?.requiresGrad == true)
            }
        }
        let steps = proj.shape[0]
        return (packed.narrow(dim: 0, start: 0, length: steps), packed.select(dim: 0, index: steps), packed.select(dim: 0, index: steps + 1))
    }

    /// GRU over `proj` (T, B, 3H) = x·W_ihᵀ + `bih` (3H: added step by step; nil when `proj`
    /// holds it or there is none), from h0 (B, H), with W_hh (3H, H) and b_hh. Same contract as
    /// `recurrentSequence(.gru, …)`: returns the outputs (T, B, H) and the final h.
    static func gruSequence(proj: Tensor, bih: Tensor?, h0: Tensor, whh: Tensor, bhh: Tensor?, masks: [Tensor]?,
                            reverse: Bool, projIsScratch: Bool = false) -> (Tensor, Tensor) {
        let (packed, saved) = Kernels.gruSequence(proj: proj, bih: bih, h0: h0, whh: whh, bhh: bhh, masks: masks,
                                                  reverse: reverse, projIsScratch: projIsScratch)
        let inputs = [proj, h0, whh] + (bih.map { [$0] } ?? []) + (bhh.map { [$0] } ?? [])
        if needsGrad(inputs) {
            packed.record("GRUSequenceBackward", inputs) { grad in
                Kernels.gruSequenceBackward(grad, saved, inputBiasGradient: bih?.requiresGrad == true,
                                            biasGradient: bhh?.requiresGrad == true, hasBhh: bhh != nil)
            }
        }
        let steps = proj.shape[0]
        return (packed.narrow(dim: 0, start: 0, length: steps), packed.select(dim: 0, index: steps))
    }
}

// The fused pointwise parts of the LSTM and GRU cells as primitives: one kernel per step
// forward and one backward, instead of a dozen small elementwise ops.

extension Tensor {
    /// LSTM cell update from pre-activation gates (B, 4H) stacked i, f, g, o and c (B, H):
    /// c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c'). Returns (h', c').
    static func lstmPointwise(gates: Tensor, cell c: Tensor) -> (h: Tensor, c: Tensor) {
        check(gates.rank == 2 && c.rank == 2 && gates.shape[0] == c.shape[0] && gates.shape[1] == 4 * c.shape[1],
              "[lstmPointwise] expected gates (B, 4H) and cell (B, H), got \(Shape.describe(gates.shape)) and \(Shape.describe(c.shape))")
        let (g, cc) = promoted(gates, c)
        let batch = c.shape[0], hidden = c.shape[1]
        let gd = g.detach().contiguousData(), cd = cc.detach().contiguousData()
        let hc = Kernels.lstmCell(gd, cd, batch: batch, hidden: hidden)
        if needsGrad(g, cc) {
            hc.record("LSTMCellBackward", [g, cc]) { grad in
                let (dg, dc) = Kernels.lstmCellBackward(grad.contiguousData(), gd, cd, batch: batch, hidden: hidden)
                return [dg, dc]
            }
        }
        return (hc.narrow(dim: 1, start: 0, length: hidden), hc.narrow(dim: 1, start: hidden, length: hidden))
    }

    /// GRU cell update from gi = x·W_ihᵀ + b_ih and gh = h·W_hhᵀ + b_hh (both (B, 3H), stacked
    /// r, z, n) and h (B, H): r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n),
    /// h' = (1 − z)·n + z·h (PyTorch's formula: r multiplies W_hn·h + b_hn).
    static func gruPointwise(inputGates gi: Tensor, hiddenGates gh: Tensor, hidden h: Tensor) -> Tensor {
        check(gi.rank == 2 && gh.shape == gi.shape && h.rank == 2 && gi.shape[0] == h.shape[0] && gi.shape[1] == 3 * h.shape[1],
              "[gruPointwise] expected gates (B, 3H) and hidden (B, H), got \(Shape.describe(gi.shape)), \(Shape.describe(gh.shape)) and \(Shape.describe(h.shape))")
        let batch = h.shape[0], hidden = h.shape[1]
        let a = gi.detach().contiguousData(), b = gh.detach().contiguousData(), p = h.detach().contiguousData()
        let out = Kernels.gruCell(a, b, p, batch: batch, hidden: hidden)
        if needsGrad([gi, gh, h]) {
            out.record("GRUCellBackward", [gi, gh, h]) { grad in
                let (dgi, dgh, dh) = Kernels.gruCellBackward(grad.contiguousData(), a, b, p, batch: batch, hidden: hidden)
                return [dgi, dgh, dh]
            }
        }
        return out
    }
}

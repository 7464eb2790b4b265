import CDescentKernels

/// Fused pointwise parts of the LSTM and GRU cells (forward and backward), over rows of a batch.
/// Float32 runs the vectorized C kernels (recurrent.c); float64 (gradient checks) the Swift loops.
/// Gate blocks are laid out as PyTorch stacks them: LSTM i, f, g, o; GRU r, z, n.
extension Kernels {
    @inline(__always) private static func sigmoid<T: FloatScalar>(_ x: T) -> T { T.sigmoid(x) }

    /// LSTM: from pre-activation gates (B, 4H) and c (B, H) to [h | c'] (B, 2H).
    static func lstmCell(_ gates: Tensor, _ c: Tensor, batch: Int, hidden h: Int) -> Tensor {
        let out = Tensor(uninitialized: [batch, 2 * h], dtype: gates.dtype)
        func go<T: FloatScalar>(_: T.Type) {
            let gp = gates.storage.typed(T.self) + gates.offset, cp = c.storage.typed(T.self) + c.offset
            let op = out.storage.typed(T.self)
            Parallel.forRange(batch, cost: h * 40) { range in
                for b in range {
                    let g = gp + b * 4 * h, cr = cp + b * h, o = op + b * 2 * h
                    for j in 0..<h {
                        let i = sigmoid(g[j]), f = sigmoid(g[h + j]), gg = T.fastTanh(g[2 * h + j]), oo = sigmoid(g[3 * h + j])
                        let cn = f * cr[j] + i * gg
                        o[h + j] = cn
                        o[j] = oo * T.fastTanh(cn)
                    }
                }
            }
        }
        switch gates.dtype {
        case .float32:
            let gp = gates.storage.typed(Float.self) + gates.offset, cp = c.storage.typed(Float.self) + c.offset
            let op = out.storage.typed(Float.self)
            Parallel.forRange(batch, cost: h * 40) { r in
                dk_lstm_cell_f32(Int64(r.count), Int64(h), gp + r.lowerBound * 4 * h, cp + r.lowerBound * h, op + r.lowerBound * 2 * h)
            }
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("lstmCell")
        case .int64: checkFailure("[lstmCell] expected floating-point tensors")
        }
        return out
    }

    /// LSTM backward: from d[h | c'] (B, 2H) to (d gates (B, 4H), d c (B, H)).
    static func lstmCellBackward(_ grad: Tensor, _ gates: Tensor, _ c: Tensor, batch: Int, hidden h: Int) -> (Tensor, Tensor) {
        let dg = Tensor(uninitialized: [batch, 4 * h], dtype: gates.dtype)
        let dc = Tensor(uninitialized: [batch, h], dtype: gates.dtype)
        func go<T: FloatScalar>(_: T.Type) {
            let gp = gates.storage.typed(T.self) + gates.offset, cp = c.storage.typed(T.self) + c.offset
            let dp = grad.storage.typed(T.self) + grad.offset
            let dgp = dg.storage.typed(T.self), dcp = dc.storage.typed(T.self)
            Parallel.forRange(batch, cost: h * 60) { range in
                for b in range {
                    let g = gp + b * 4 * h, cr = cp + b * h, d = dp + b * 2 * h, o = dgp + b * 4 * h, oc = dcp + b * h
                    for j in 0..<h {
                        let i = sigmoid(g[j]), f = sigmoid(g[h + j]), gg = T.fastTanh(g[2 * h + j]), oo = sigmoid(g[3 * h + j])
                        let cn = f * cr[j] + i * gg, tc = T.fastTanh(cn)
                        let dh = d[j]
                        let dcn = d[h + j] + dh * oo * (1 - tc * tc)
                        o[j] = dcn * gg * i * (1 - i)
                        o[h + j] = dcn * cr[j] * f * (1 - f)
                        o[2 * h + j] = dcn * i * (1 - gg * gg)
                        o[3 * h + j] = dh * tc * oo * (1 - oo)
                        oc[j] = dcn * f
                    }
                }
            }
        }
        switch gates.dtype {
        case .float32:
            let gp = gates.storage.typed(Float.self) + gates.offset, cp = c.storage.typed(Float.self) + c.offset
            let dp = grad.storage.typed(Float.self) + grad.offset
            let dgp = dg.storage.typed(Float.self), dcp = dc.storage.typed(Float.self)
            Parallel.forRange(batch, cost: h * 60) { r in
                let o = r.lowerBound
                dk_lstm_cell_backward_f32(Int64(r.count), Int64(h), dp + o * 2 * h, gp + o * 4 * h, cp + o * h, dgp + o * 4 * h, dcp + o * h)
            }
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("lstmCell")
        case .int64: checkFailure("[lstmCell] expected floating-point tensors")
        }
        return (dg, dc)
    }

    /// GRU: from gi = x·W_ihᵀ + b_ih (B, 3H), gh = h·W_hhᵀ + b_hh (B, 3H) and h (B, H) to h'.
    static func gruCell(_ gi: Tensor, _ gh: Tensor, _ hPrev: Tensor, batch: Int, hidden h: Int) -> Tensor {
        let out = Tensor(uninitialized: [batch, h], dtype: gi.dtype)
        func go<T: FloatScalar>(_: T.Type) {
            let ip = gi.storage.typed(T.self) + gi.offset, hp = gh.storage.typed(T.self) + gh.offset
            let pp = hPrev.storage.typed(T.self) + hPrev.offset, op = out.storage.typed(T.self)
            Parallel.forRange(batch, cost: h * 40) { range in
                for b in range {
                    let x = ip + b * 3 * h, y = hp + b * 3 * h, p = pp + b * h, o = op + b * h
                    for j in 0..<h {
                        let r = sigmoid(x[j] + y[j]), z = sigmoid(x[h + j] + y[h + j])
                        let n = T.fastTanh(x[2 * h + j] + r * y[2 * h + j])
                        o[j] = (1 - z) * n + z * p[j]
                    }
                }
            }
        }
        switch gi.dtype {
        case .float32:
            let ip = gi.storage.typed(Float.self) + gi.offset, hp = gh.storage.typed(Float.self) + gh.offset
            let pp = hPrev.storage.typed(Float.self) + hPrev.offset, op = out.storage.typed(Float.self)
            Parallel.forRange(batch, cost: h * 40) { r in
                let o = r.lowerBound
                dk_gru_cell_f32(Int64(r.count), Int64(h), ip + o * 3 * h, hp + o * 3 * h, pp + o * h, op + o * h)
            }
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("gruCell")
        case .int64: checkFailure("[gruCell] expected floating-point tensors")
        }
        return out
    }

    /// GRU backward: from dh' to (d gi, d gh, d h).
    static func gruCellBackward(_ grad: Tensor, _ gi: Tensor, _ gh: Tensor, _ hPrev: Tensor, batch: Int, hidden h: Int) -> (Tensor, Tensor, Tensor) {
        let dgi = Tensor(uninitialized: [batch, 3 * h], dtype: gi.dtype)
        let dgh = Tensor(uninitialized: [batch, 3 * h], dtype: gi.dtype)
        let dhp = Tensor(uninitialized: [batch, h], dtype: gi.dtype)
        func go<T: FloatScalar>(_: T.Type) {
            let ip = gi.storage.typed(T.self) + gi.offset, hp = gh.storage.typed(T.self) + gh.offset
            let pp = hPrev.storage.typed(T.self) + hPrev.offset, dp = grad.storage.typed(T.self) + grad.offset
            let a = dgi.storage.typed(T.self), bq = dgh.storage.typed(T.self), cq = dhp.storage.typed(T.self)
            Parallel.forRange(batch, cost: h * 60) { range in
                for b in range {
                    let x = ip + b * 3 * h, y = hp + b * 3 * h, p = pp + b * h, d = dp + b * h
                    let ox = a + b * 3 * h, oy = bq + b * 3 * h, op = cq + b * h
                    for j in 0..<h {
                        let r = sigmoid(x[j] + y[j]), z = sigmoid(x[h + j] + y[h + j])
                        let n = T.fastTanh(x[2 * h + j] + r * y[2 * h + j])
                        let dh = d[j]
                        let dnPre = dh * (1 - z) * (1 - n * n)
                        let dzPre = dh * (p[j] - n) * z * (1 - z)
                        let drPre = dnPre * y[2 * h + j] * r * (1 - r)
                        ox[j] = drPre; oy[j] = drPre
                        ox[h + j] = dzPre; oy[h + j] = dzPre
                        ox[2 * h + j] = dnPre; oy[2 * h + j] = dnPre * r
                        op[j] = dh * z
                    }
                }
            }
        }
        switch gi.dtype {
        case .float32:
            let ip = gi.storage.typed(Float.self) + gi.offset, hp = gh.storage.typed(Float.self) + gh.offset
            let pp = hPrev.storage.typed(Float.self) + hPrev.offset, dp = grad.storage.typed(Float.self) + grad.offset
            let a = dgi.storage.typed(Float.self), bq = dgh.storage.typed(Float.self), cq = dhp.storage.typed(Float.self)
            Parallel.forRange(batch, cost: h * 60) { r in
                let o = r.lowerBound
                dk_gru_cell_backward_f32(Int64(r.count), Int64(h), dp + o * h, ip + o * 3 * h, hp + o * 3 * h, pp + o * h,
                                         a + o * 3 * h, bq + o * 3 * h, cq + o * h)
            }
        case .float64: go(Double.self)
        case .bfloat16: bfloat16Unsupported("gruCell")
        case .int64: checkFailure("[gruCell] expected floating-point tensors")
        }
        return (dgi, dgh, dhp)
    }
}

extension Kernels {
    /// where(m ≠ 0, a, b) for a (B, 1) mask and (B, H) a, b of `dtype`.
    static func zip3(_ m: Tensor, _ a: Tensor, _ b: Tensor, dtype: DType) -> Tensor {
        switch dtype {
        case .float32: return zip3(m, a, b, Float.self, op: "rnn") { $0 != 0 ? $1 : $2 }
        case .float64: return zip3(m, a, b, Double.self, op: "rnn") { $0 != 0 ? $1 : $2 }
        case .bfloat16: bfloat16Unsupported("rnn")
        case .int64: checkFailure("[rnn] expected floating-point tensors")
        }
    }
}

import CDescentKernels
@testable import Descent
import XCTest

/// Autocast's LSTM and GRU on AVX512-BF16 CPUs: the fused time loops with their per-step products
/// on the bf16 kernel (`dk_bgemm_prepacked`), against the step-by-step composite that autocast
/// runs elsewhere (`bfloat16DotProducts` off), where every step's h·W_hhᵀ is an autocast product.
final class BFloat16RecurrentTests: BFloat16TestCase {
    /// The per-step products' full blocks of 32 rows (batch) × 32 gate columns on AMX tiles
    /// (`dk_bgemm_prepacked`; real where the CPU has them, else emulated) against the AVX512-BF16
    /// dot products alone: the same exact products, in float32 sums of another grouping (16
    /// words on the tiles, then the rest), each product rounded to bfloat16. So every output,
    /// state and gradient within a bfloat16 rounding, most of them to the bit; for a batch of
    /// 37 (a block of 32 and 5 rows) and 40 hidden units (depth 20 words: 16 on the tiles, 4
    /// after; 160 and 120 gate columns: whole and partial panels), on 1 and 2 threads.
    func testTilesMatchTheDotProducts() {
        guard dk_bgemm_avx512bf16_available() != 0 else {  // no AMX path, not even emulated
            XCTAssertEqual(dk_bgemm_amx_model(1), 0)
            return
        }
        for (lstm, threads) in [(true, 1), (true, 2), (false, 2)] {
            Descent.threads = threads
            /// units: AMX on; model: on the emulated tile registers.
            func run(units: Bool, model: Bool) -> [(String, [Float])] {
                Kernels.bfloat16MatrixUnits = units
                XCTAssertEqual(dk_bgemm_amx_model(model ? 1 : 0) != 0, model)
                XCTAssertEqual(dk_amx_path() != 0, units || model)
                defer { _ = dk_bgemm_amx_model(0) }
                Descent.manualSeed(5)
                let layer: RecurrentLayer = lstm ? LSTM(24, 40) : GRU(24, 40)
                let x = Tensor.randn([6, 37, 24]).requiringGrad(), h0 = Tensor.randn([1, 37, 40]).requiringGrad()
                let (out, hN): (Tensor, Tensor) = withAutocast {
                    if let m = layer as? LSTM {
                        let (o, s) = m(x, (h0, Tensor.zeros([1, 37, 40])))
                        return (o, s.h)
                    }
                    let (o, h) = (layer as! GRU)(x, h0)
                    return (o, h)
                }
                ((out * Tensor.randn(out.shape)).sum() + (hN * Tensor.randn(hN.shape)).sum()).backward()
                return [("output", out.scalars), ("h", hN.scalars), ("grad x", x.grad!.scalars), ("grad h0", h0.grad!.scalars)]
                    + layer.namedParameters().map { ("grad \($0.name)", $0.tensor.grad!.scalars) }
            }
            let dot = run(units: false, model: false)
            for tiles in [run(units: false, model: true)] + (dk_bgemm_amx_available() != 0 ? [run(units: true, model: false)] : []) {
                for ((name, p), (_, q)) in zip(tiles, dot) {
                    let label = "\(lstm ? "LSTM" : "GRU") \(threads) threads \(name)", scale = q.map(abs).max()!
                    XCTAssertLessThanOrEqual(zip(p, q).map { abs($0 - $1) }.max()! / scale, 0x1p-7, label)
                    XCTAssertGreaterThan(Double(zip(p, q).filter { $0 == $1 }.count) / Double(p.count), 0.5, label)
                }
            }
        }
    }

    /// Outputs, final states and every gradient (input, initial states, all weights and biases)
    /// for LSTM and GRU: two layers, bidirectional, sequences of different lengths, a hidden
    /// size that is not a whole number of 32-unit panels and a batch that is not a whole number
    /// of 8-row tiles. At most a bfloat16 rounding apart: the float32 sums run in another
    /// order, and W_hh's gradient is rounded once (the fused loop) or at every step (the
    /// composite's per-step product). Outputs and states take the same roundings: most of their
    /// values are the same to the bit.
    func testFusedLoopsMatchTheComposite() {
        // A batch of 5 splits the loops by hidden units on 2 threads, one of 18 by rows (8 and 10).
        for lstm in [true, false] {
            for batch in [5, 18] {
                func run(dot: Bool) -> [(String, [Float])] {
                    Kernels.bfloat16DotProducts = dot
                    Descent.manualSeed(21)
                    let layer: RecurrentLayer = lstm ? LSTM(6, 40, numLayers: 2, bidirectional: true)
                                                     : GRU(6, 40, numLayers: 2, bidirectional: true)
                    let x = Tensor.randn([9, batch, 6]).requiringGrad(), h0 = Tensor.randn([4, batch, 40]).requiringGrad()
                    let c0 = Tensor.randn([4, batch, 40]).requiringGrad(), lengths = (0..<batch).map { [9, 4, 7, 1, 9][$0 % 5] }
                    let (out, hN, cN): (Tensor, Tensor, Tensor?) = withAutocast {
                        if let m = layer as? LSTM {
                            let (o, s) = m(x, (h0, c0), lengths: lengths)
                            return (o, s.h, s.c)
                        }
                        let (o, h) = (layer as! GRU)(x, h0, lengths: lengths)
                        return (o, h, nil)
                    }
                    var loss = (out * Tensor.randn(out.shape)).sum() + (hN * Tensor.randn(hN.shape)).sum()
                    if let cN { loss = loss + (cN * Tensor.randn(cN.shape)).sum() }
                    loss.backward()
                    var parts = [("output", out.scalars), ("h", hN.scalars), ("grad x", x.grad!.scalars), ("grad h0", h0.grad!.scalars)]
                    if let cN { parts += [("c", cN.scalars), ("grad c0", c0.grad!.scalars)] }
                    return parts + layer.namedParameters().map { ("grad \($0.name)", $0.tensor.grad!.scalars) }
                }
                let fused = run(dot: true), composite = run(dot: false), label = "\(lstm ? "LSTM" : "GRU") batch \(batch)"
                XCTAssertEqual(fused.map(\.0), composite.map(\.0))
                for ((name, p), (_, q)) in zip(fused, composite) {
                    let scale = q.map(abs).max()!
                    XCTAssertGreaterThan(scale, 0, "\(label) \(name)")
                    XCTAssertLessThanOrEqual(zip(p, q).map { abs($0 - $1) }.max()! / scale, 0x1p-7, "\(label) \(name)")
                    // The same roundings: most values the same to the bit (but W_hh's gradients and the
                    // biases summed from them).
                    let equalShare = Double(zip(p, q).filter { $0 == $1 }.count) / Double(p.count)
                    if ["output", "h", "c"].contains(name) { XCTAssertGreaterThan(equalShare, 0.9, "\(label) \(name)") }
                    if ["grad x", "grad h0", "grad c0"].contains(name) { XCTAssertGreaterThan(equalShare, 0.8, "\(label) \(name)") }
                }
            }
        }
    }

    /// Which products ran on the kernel shows in subnormal values, which the instructions take
    /// as zero and float32 arithmetic keeps. With a zero input, no biases and a subnormal initial
    /// state, the first step's h·W_hhᵀ is zero on the kernel and subnormal in the composite;
    /// with a subnormal upstream gradient, so are dG·W_hh and its share of h0's gradient. On a
    /// CPU without the instructions both runs are the composite and agree.
    func testProductsRunOnTheKernel() {
        let has = dk_bgemm_avx512bf16_available() != 0, tiny = Double(Float.leastNormalMagnitude / 8)
        for lstm in [true, false] {
            func run(dot: Bool, hScale: Double, gScale: Double) -> (out: [Float], dh0: [Float]) {
                Kernels.bfloat16DotProducts = dot
                Descent.manualSeed(3)
                let layer: RecurrentLayer = lstm ? LSTM(4, 16, bias: false) : GRU(4, 16, bias: false)
                let x = Tensor.zeros([2, 3, 4]), h0 = (Tensor.randn([1, 3, 16]) * hScale).requiringGrad()
                let out: Tensor = withAutocast {
                    if let m = layer as? LSTM { return m(x, (h0, Tensor.zeros([1, 3, 16]))).output }
                    return (layer as! GRU)(x, h0).output
                }
                (out * (Tensor.randn(out.shape) * gScale)).sum().backward()
                return (out.scalars, h0.grad!.scalars)
            }
            let name = lstm ? "LSTM" : "GRU"
            let forwardKernel = run(dot: true, hScale: tiny, gScale: 1), forwardComposite = run(dot: false, hScale: tiny, gScale: 1)
            XCTAssertEqual(forwardKernel.out == forwardComposite.out, !has, "\(name) output")
            if lstm { XCTAssertEqual(forwardKernel.out.allSatisfy { $0 == 0 }, has, "LSTM output: zero on the kernel") }
            let backwardKernel = run(dot: true, hScale: 1, gScale: tiny), backwardComposite = run(dot: false, hScale: 1, gScale: tiny)
            XCTAssertGreaterThan(backwardComposite.dh0.map(abs).max()!, 0, "\(name) initial state's gradient in the composite")
            XCTAssertEqual(backwardKernel.dh0 == backwardComposite.dh0, !has, "\(name) initial state's gradient")
        }
    }
}

// Upsampling (interpolation) primitive: nearest and bilinear, by scale factor or output size,
// with PyTorch's index formulas. No learnable parameters.

/// The interpolation of `interpolate`/`Upsample`.
public enum InterpolationMode: String, Sendable {
    /// src = ⌊dst·scale⌋.
    case nearest
    /// Weighted mean of the 2×2 nearest inputs (half-pixel centres, or corners aligned).
    case bilinear
}

/// Resizes (N, C, H, W) by `scaleFactor` (output ⌊H·s⌋) or to `size`, as PyTorch's
/// `F.interpolate`. `alignCorners` (bilinear only) maps the corner pixels onto each other.
public func interpolate(_ input: Tensor, size: Size2? = nil, scaleFactor: Double? = nil, mode: InterpolationMode = .nearest,
                        alignCorners: Bool? = nil) -> Tensor {
    interpolate(input, size: size, scaleFactors: scaleFactor.map { ($0, $0) }, mode: mode, alignCorners: alignCorners)
}

/// As `interpolate(_:size:scaleFactor:…)` with separate height and width factors.
public func interpolate(_ input: Tensor, size: Size2? = nil, scaleFactors: (Double, Double)?, mode: InterpolationMode = .nearest,
                        alignCorners: Bool? = nil) -> Tensor {
    let op = "interpolate"
    check(input.rank == 4, "[\(op)] expected input of shape (N, C, H, W), got \(Shape.describe(input.shape))")
    check(input.dtype.isFloatingPoint, "[\(op)] expected a floating-point tensor, got \(input.dtype)")
    check((size == nil) != (scaleFactors == nil), "[\(op)] give exactly one of size and scaleFactor")
    check(mode == .bilinear || alignCorners == nil,
          "[\(op)] alignCorners can only be set with the bilinear mode (as in PyTorch)")
    let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    var oh = size?.h ?? 0, ow = size?.w ?? 0
    if let (sh, sw) = scaleFactors {
        check(sh > 0 && sw > 0, "[\(op)] scale factors must be positive, got (\(sh), \(sw))")
        oh = Int((Double(h) * sh).rounded(.down)); ow = Int((Double(w) * sw).rounded(.down))
    }
    check(oh >= 1 && ow >= 1, "[\(op)] output size (\(oh), \(ow)) must be positive")
    let align = alignCorners ?? false
    func axes<T: FloatScalar>(_ t: T.Type) -> (ResampleAxis, ResampleAxis) {
        switch mode {
        case .nearest:
            return (.nearest(t, input: h, output: oh, scaleFactor: scaleFactors?.0), .nearest(t, input: w, output: ow, scaleFactor: scaleFactors?.1))
        case .bilinear:
            return (.linear(t, input: h, output: oh, scaleFactor: scaleFactors?.0, alignCorners: align),
                    .linear(t, input: w, output: ow, scaleFactor: scaleFactors?.1, alignCorners: align))
        }
    }
    let (rows, cols) = input.dtype == .float32 ? axes(Float.self) : axes(Double.self)
    let out = Kernels.resample(input, planes: n * c, h: h, w: w, rows: rows, cols: cols, backward: false).reshape([n, c, oh, ow]).detach()
    if Tensor.needsGrad(input) {
        out.record(mode == .nearest ? "UpsampleNearest2DBackward" : "UpsampleBilinear2DBackward", [input]) { g in
            [Kernels.resample(g, planes: n * c, h: h, w: w, rows: rows, cols: cols, backward: true).reshape([n, c, h, w])]
        }
    }
    return out
}

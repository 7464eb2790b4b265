import CDescentKernels

/// Geometry of a 2-D convolution between a large image (N, C, H, W) and its output grid
/// (oh, ow): output (oy, ox) reads rows oy·sh − padH + i·dh and columns ox·sw − padW + j·dw.
/// Transposed convolution uses the same geometry with the roles of input and output swapped.
struct ConvGeometry {
    let n: Int, c: Int, h: Int, w: Int
    let kh: Int, kw: Int, sh: Int, sw: Int, padH: Int, padW: Int, dh: Int, dw: Int
    let oh: Int, ow: Int
    var outPixels: Int { oh * ow }
    /// The geometry as the C kernels take it.
    var cGeometry: dk_conv_geometry {
        dk_conv_geometry(h: Int64(h), w: Int64(w), kh: Int64(kh), kw: Int64(kw), sh: Int64(sh), sw: Int64(sw), ph: Int64(padH),
                         pw: Int64(padW), dh: Int64(dh), dw: Int64(dw), oh: Int64(oh), ow: Int64(ow))
    }

    /// The geometry of a stride-1 convolution's input gradient, itself a convolution: of the
    /// output gradient (`outChannels` channels, oh × ow) with the flipped, transposed weight,
    /// padded by k − 1 − p on the leading side (which may be negative), giving h × w.
    func inputGradient(outChannels o: Int) -> ConvGeometry {
        ConvGeometry(n: n, c: o, h: oh, w: ow, kh: kh, kw: kw, sh: 1, sw: 1, padH: kh - 1 - padH, padW: kw - 1 - padW, dh: 1, dw: 1,
                     oh: h, ow: w)
    }

    /// The same geometry for one image.
    var single: ConvGeometry {
        ConvGeometry(n: 1, c: c, h: h, w: w, kh: kh, kw: kw, sh: sh, sw: sw, padH: padH, padW: padW, dh: dh, dw: dw, oh: oh, ow: ow)
    }
}

extension Kernels {
    /// The outputs `lo..<hi` (within 0..<count) whose input x0 + o·step lies in 0..<size.
    @inline(__always)
    static func validRange(_ x0: Int, _ step: Int, _ size: Int, _ count: Int) -> (Int, Int) {
        let lo = x0 >= 0 ? 0 : (-x0 + step - 1) / step
        let hi = x0 >= size ? 0 : Swift.min(count, (size - 1 - x0) / step + 1)
        return (Swift.min(lo, count), Swift.max(hi, Swift.min(lo, count)))
    }

    /// col[(c·kh + i)·kw + j, b·oh·ow + p] = x[b, c0 + c, …] (0 outside the image), for the
    /// `cg` channels starting at `c0`. `x` is contiguous (N, C, H, W); `col` has cg·kh·kw rows
    /// of n·oh·ow.
    static func im2col<T: TensorScalar>(_ x: UnsafePointer<T>, _ g: ConvGeometry, c0: Int, cg: Int,
                                        into col: UnsafeMutablePointer<T>) {
        let rows = cg * g.kh * g.kw, rowLength = g.n * g.oh * g.ow
        if T.self == Float.self && g.n == 1 {
            // One float32 image: the vectorized C kernel.
            let xp = UnsafeRawPointer(x + c0 * g.h * g.w).assumingMemoryBound(to: Float.self)
            let cp = UnsafeMutableRawPointer(col).assumingMemoryBound(to: Float.self)
            withUnsafePointer(to: g.cGeometry) { gp in
                Parallel.forRange(rows, cost: rowLength) { r in dk_im2col_f32(gp, xp, Int64(r.lowerBound), Int64(r.upperBound), cp) }
            }
            return
        }
        Parallel.forRange(rows, cost: rowLength) { range in
            for r in range {
                let c = r / (g.kh * g.kw), i = (r / g.kw) % g.kh, j = r % g.kw
                var dst = col + r * rowLength
                for b in 0..<g.n {
                    let plane = x + ((b * g.c) + c0 + c) * g.h * g.w
                    for oy in 0..<g.oh {
                        let iy = oy * g.sh - g.padH + i * g.dh
                        if iy < 0 || iy >= g.h {
                            dst.update(repeating: 0, count: g.ow)
                        } else {
                            let src = plane + iy * g.w
                            let x0 = j * g.dw - g.padW
                            if g.sw == 1 {
                                // Contiguous run with zeros where it leaves the row.
                                let lo = Swift.max(0, -x0), hi = Swift.min(g.ow, g.w - x0)
                                if lo > 0 { dst.update(repeating: 0, count: Swift.min(lo, g.ow)) }
                                if hi > lo { (dst + lo).update(from: src + x0 + lo, count: hi - lo) }
                                if hi < g.ow { (dst + Swift.max(hi, 0)).update(repeating: 0, count: g.ow - Swift.max(hi, 0)) }
                            } else {
                                // Valid outputs are those with 0 <= x0 + ox·sw < w.
                                let (lo, hi) = validRange(x0, g.sw, g.w, g.ow)
                                if lo > 0 { dst.update(repeating: 0, count: lo) }
                                if hi > lo { for ox in lo..<hi { dst[ox] = src[x0 + ox * g.sw] } }
                                if hi < g.ow { (dst + Swift.max(hi, lo)).update(repeating: 0, count: g.ow - Swift.max(hi, lo)) }
                            }
                        }
                        dst += g.ow
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds col's entries back into `dx` (contiguous (N, C, H, W)).
    static func col2im<T: TensorScalar>(_ col: UnsafePointer<T>, _ g: ConvGeometry, c0: Int, cg: Int,
                                        into dx: UnsafeMutablePointer<T>) {
        let rowLength = g.n * g.oh * g.ow
        if T.self == Float.self && g.n == 1 {
            let cp = UnsafeRawPointer(col).assumingMemoryBound(to: Float.self)
            let dp = UnsafeMutableRawPointer(dx + c0 * g.h * g.w).assumingMemoryBound(to: Float.self)
            withUnsafePointer(to: g.cGeometry) { gp in
                Parallel.forRange(cg, cost: g.kh * g.kw * g.oh * g.ow) { r in dk_col2im_f32(gp, cp, Int64(r.lowerBound), Int64(r.upperBound), dp) }
            }
            return
        }
        // Each (image, channel) plane is written by one thread only.
        Parallel.forRange(g.n * cg, cost: g.kh * g.kw * g.oh * g.ow) { range in
            for bc in range {
                let b = bc / cg, c = bc % cg
                let plane = dx + ((b * g.c) + c0 + c) * g.h * g.w
                for i in 0..<g.kh {
                    for j in 0..<g.kw {
                        let src = col + ((c * g.kh + i) * g.kw + j) * rowLength + b * g.oh * g.ow
                        let x0 = j * g.dw - g.padW
                        for oy in 0..<g.oh {
                            let iy = oy * g.sh - g.padH + i * g.dh
                            guard iy >= 0 && iy < g.h else { continue }
                            let row = plane + iy * g.w, s = src + oy * g.ow
                            if g.sw == 1 {
                                let lo = Swift.max(0, -x0), hi = Swift.min(g.ow, g.w - x0)
                                if hi > lo { for ox in lo..<hi { row[x0 + ox] += s[ox] } }
                            } else {
                                let (lo, hi) = validRange(x0, g.sw, g.w, g.ow)
                                if hi > lo { for ox in lo..<hi { row[x0 + ox * g.sw] += s[ox] } }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Kernels {
    /// `im2col` of a contiguous (N, C, H, W) tensor into a new (cg·kh·kw, N·oh·ow) tensor.
    static func im2col(_ x: Tensor, _ g: ConvGeometry, c0: Int, cg: Int) -> Tensor {
        let col = Tensor(uninitialized: [cg * g.kh * g.kw, g.n * g.outPixels], dtype: x.dtype)
        switch x.dtype {
        case .float32: im2col(UnsafePointer(x.storage.typed(Float.self) + x.offset), g, c0: c0, cg: cg, into: col.storage.typed(Float.self))
        case .float64: im2col(UnsafePointer(x.storage.typed(Double.self) + x.offset), g, c0: c0, cg: cg, into: col.storage.typed(Double.self))
        case .bfloat16: bfloat16Unsupported("conv")
        case .int64: checkFailure("[conv] expected a floating-point tensor")
        }
        return col
    }

    /// `im2col` of image `image` of a contiguous (N, C, H, W) tensor: (cg·kh·kw, oh·ow).
    static func im2col(_ x: Tensor, _ g: ConvGeometry, image: Int, c0: Int, cg: Int) -> Tensor {
        let one = Tensor(storage: x.storage, shape: [1, g.c, g.h, g.w], strides: Shape.contiguousStrides([1, g.c, g.h, g.w]),
                         offset: x.offset + image * g.c * g.h * g.w)
        return im2col(one, g.single, c0: c0, cg: cg)
    }

    /// Adds `col2im(col)` (cg·kh·kw, oh·ow) into image `image` of the contiguous `dx`.
    static func col2im(_ col: Tensor, _ g: ConvGeometry, image: Int, c0: Int, cg: Int, into dx: Tensor) {
        let one = Tensor(storage: dx.storage, shape: [1, g.c, g.h, g.w], strides: Shape.contiguousStrides([1, g.c, g.h, g.w]),
                         offset: dx.offset + image * g.c * g.h * g.w)
        col2im(col, g.single, c0: c0, cg: cg, into: one)
    }

    /// Adds `col2im(col)` into the contiguous (N, C, H, W) tensor `dx`.
    static func col2im(_ col: Tensor, _ g: ConvGeometry, c0: Int, cg: Int, into dx: Tensor) {
        let c = col.contiguousData()
        switch dx.dtype {
        case .float32: col2im(UnsafePointer(c.storage.typed(Float.self) + c.offset), g, c0: c0, cg: cg, into: dx.storage.typed(Float.self) + dx.offset)
        case .float64: col2im(UnsafePointer(c.storage.typed(Double.self) + c.offset), g, c0: c0, cg: cg, into: dx.storage.typed(Double.self) + dx.offset)
        case .bfloat16: bfloat16Unsupported("conv")
        case .int64: checkFailure("[conv] expected a floating-point tensor")
        }
    }
}

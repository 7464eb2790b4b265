/// Upsampling without parameters (nearest or bilinear), by `scaleFactor` or to `size`.
/// Input (N, C, H, W) → (N, C, H', W').
public final class Upsample: Module {
    /// The options given at creation.
    public let size: Size2?, scaleFactor: Double?, mode: InterpolationMode, alignCorners: Bool?

    /// - Parameters:
    ///   - size: The output's (H', W') (give this or `scaleFactor`).
    ///   - scaleFactor: The factor for both dims: H' = ⌊H·s⌋.
    ///   - mode: `.nearest` (default) or `.bilinear`.
    ///   - alignCorners: Bilinear only: map the corner pixels onto each other.
    public init(size: Size2? = nil, scaleFactor: Double? = nil, mode: InterpolationMode = .nearest, alignCorners: Bool? = nil) {
        check((size == nil) != (scaleFactor == nil), "[Upsample] give exactly one of size and scaleFactor")
        self.size = size; self.scaleFactor = scaleFactor; self.mode = mode; self.alignCorners = alignCorners
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        interpolate(x, size: size, scaleFactor: scaleFactor, mode: mode, alignCorners: alignCorners)
    }

    public override var extraDescription: String {
        (scaleFactor.map { "scale_factor=\($0)" } ?? "size=\(size!)") + ", mode='\(mode.rawValue)'"
            + (alignCorners.map { ", align_corners=\($0 ? "True" : "False")" } ?? "")
    }
}

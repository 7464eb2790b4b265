/// In training, zeroes each element with probability `p` and scales the rest by 1/(1−p)
/// (inverted dropout), drawing from `Descent.generator`; in eval, the identity.
public final class Dropout: Module {
    /// The probability of zeroing an element.
    public let p: Double
    /// - Parameter p: The probability of zeroing an element, in [0, 1], default 0.5.
    public init(p: Double = 0.5) {
        check(p >= 0 && p <= 1, "[Dropout] probability has to be between 0 and 1, but got \(p)")
        self.p = p
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor { x.dropout(p: p, training: isTraining) }
    public override var extraDescription: String { "p=\(p), inplace=False" }
}

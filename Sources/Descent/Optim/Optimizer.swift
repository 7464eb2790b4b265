/// An optimizer: updates parameters from their gradients, as PyTorch's `torch.optim.Optimizer`.
///
/// ```swift
/// let optimizer: any Optimizer = Adam(model.parameters(), lr: 1e-3)
/// optimizer.zeroGrad()
/// loss.backward()
/// optimizer.step()
/// ```
/// Conforming types: `SGD`, `Adam`, `AdamW`. Parameters without a gradient are skipped by
/// `step()`; `zeroGrad()` sets every gradient to nil (PyTorch's `set_to_none=True`).
public protocol Optimizer: AnyObject {
    /// The tensors this optimizer updates, in the order given at creation.
    var parameters: [Tensor] { get }
    /// The learning rate (a schedule may change it between steps).
    var lr: Double { get set }
    /// Applies one update from the current gradients.
    func step()
    /// Clears the gradients of every parameter (sets them to nil).
    func zeroGrad()
}

extension Optimizer {
    /// Clears the gradients of every parameter (sets them to nil).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

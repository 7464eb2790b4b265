import ArgumentParser
import Descent
import Foundation

/// Trains a recurrent network to remember: a symbol shown at the first step, followed by
/// `length − 1` blank steps, must be reported at the last step, so the signal has to survive
/// `length − 1` steps. A plain RNN
/// struggles as the delay grows (vanishing gradients); LSTM and GRU carry it. Long sequences
/// are trained with truncated backpropagation through time: the state is carried across
/// chunks and detached between them.
struct SequenceTask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sequence",
        abstract: "Train an RNN, LSTM or GRU to recall the first symbol of a sequence (memory over time).")

    enum Cell: String, ExpressibleByArgument, CaseIterable { case rnn, lstm, gru }

    @Option(help: "Recurrent cell: rnn, lstm or gru.") var cell: Cell = .lstm
    @Option(help: "Sequence length (the symbol must be remembered over length − 1 blank steps).") var length = 10
    @Option(help: "Number of distinct symbols.") var symbols = 4
    @Option(help: "Hidden units.") var hidden = 32
    @Option(help: "Training steps (batches of 64).") var steps = 800
    @Option(help: "Truncated BPTT: backpropagate through chunks of this many steps (0 = the whole sequence).") var chunk = 0
    @Option(help: "Learning rate (Adam).") var lr = 0.01
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard length >= 2 else { throw ValidationError("--length must be at least 2, got \(length)") }
        guard symbols >= 2 else { throw ValidationError("--symbols must be at least 2, got \(symbols)") }
        guard hidden >= 1, steps >= 1 else { throw ValidationError("--hidden and --steps must be positive") }
        guard chunk >= 0 else { throw ValidationError("--chunk must be 0 or positive, got \(chunk)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
    }

    func run() throws {
        try common.apply()
        Descent.manualSeed(seed)
        let rnn: RecurrentLayer
        switch cell {
        case .rnn: rnn = RNN(symbols, hidden)
        case .lstm: rnn = LSTM(symbols, hidden)
        case .gru: rnn = GRU(symbols, hidden)
        }
        let head = Linear(hidden, symbols)
        let opt = Adam(rnn.parameters() + head.parameters(), lr: lr)
        print("\(cell.rawValue.uppercased()) with \(hidden) units: recall a symbol after \(length - 1) blank steps (chance \(String(format: "%.0f", 100.0 / Double(symbols)))%)"
              + (chunk > 0 ? ", truncated BPTT every \(chunk) steps" : ""))
        func batch(_ n: Int) -> (Tensor, Tensor) {
            let first = Tensor.randint([n], high: symbols)
            let x = Tensor.cat([first.oneHot(numClasses: symbols).float().unsqueeze(0), Tensor.zeros([length - 1, n, symbols])], dim: 0)
            return (x, first)
        }
        for step in 1...steps {
            let (x, y) = batch(64)
            opt.zeroGrad()
            let logits: Tensor
            if chunk > 0 && chunk < length {
                // Truncated BPTT: carry the state, detach it between chunks; only the last chunk
                // carries the loss, so earlier chunks just advance the state.
                var state: (Tensor, Tensor?)? = nil
                var last = Tensor.zeros([1])
                for start in stride(from: 0, to: length, by: chunk) {
                    let piece = x.narrow(dim: 0, start: start, length: min(chunk, length - start))
                    let (out, h, c) = runLayer(rnn, piece, state)
                    state = (h.detach(), c?.detach())
                    last = out.select(dim: 0, index: -1)
                }
                logits = head(last)
            } else {
                logits = head(runLayer(rnn, x, nil).0.select(dim: 0, index: -1))
            }
            let loss = crossEntropy(logits, y)
            loss.backward()
            opt.step()
            if step == 1 || step % max(1, steps / 10) == 0 || step == steps {
                let (tx, ty) = batch(512)
                let accuracy = withNoGrad { head(runLayer(rnn, tx, nil).0.select(dim: 0, index: -1)).argmax(dim: 1).eq(ty).float().mean().item }
                print("step \(step): loss \(String(format: "%.4f", loss.item)), test accuracy \(String(format: "%.1f", 100 * accuracy))%")
            }
        }
    }

    /// Runs any of the three layers with an optional (h, c) state.
    func runLayer(_ layer: RecurrentLayer, _ x: Tensor, _ state: (Tensor, Tensor?)?) -> (Tensor, Tensor, Tensor?) {
        switch layer {
        case let l as LSTM:
            let (o, s) = l(x, state.map { ($0.0, $0.1!) })
            return (o, s.h, s.c)
        case let g as GRU:
            let (o, h) = g(x, state?.0)
            return (o, h, nil)
        case let r as RNN:
            let (o, h) = r(x, state?.0)
            return (o, h, nil)
        default:
            preconditionFailure("unknown recurrent layer")
        }
    }
}

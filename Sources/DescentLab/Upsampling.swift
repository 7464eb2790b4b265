import Descent
import DescentPlot
import Foundation

/// Checkerboard artifacts: a transposed convolution whose kernel size is not a multiple of its
/// stride covers some output pixels more often than others, and leaves a pattern at the stride's
/// period; upsampling (nearest or bilinear) followed by a convolution covers every pixel alike.
/// Three autoencoders on the embedded digits differ only in how the decoder upsamples.
public enum UpsamplingLesson: LabExperiment {
    public static let name = "upsampling"

    /// How a decoder stage doubles the resolution.
    enum Method: String, CaseIterable {
        case nearest = "nearest + conv", bilinear = "bilinear + conv", transposed = "transposed conv"

        /// One stage: `inputs` channels in, `outputs` out, twice the height and width.
        func stage(_ inputs: Int, _ outputs: Int) -> [Module] {
            switch self {
            case .nearest: return [Upsample(scaleFactor: 2, mode: .nearest), Conv2d(inputs, outputs, kernelSize: 3, padding: 1)]
            case .bilinear: return [Upsample(scaleFactor: 2, mode: .bilinear), Conv2d(inputs, outputs, kernelSize: 3, padding: 1)]
            case .transposed: return [ConvTranspose2d(inputs, outputs, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1)]
            }
        }
    }

    /// The checkerboard score of an image (H, W): how much the means of its four pixel phases
    /// (row and column even or odd, the stride's period) differ, relative to its mean magnitude.
    /// Zero for an image without a pattern at the stride's frequency.
    static func checkerboardScore(_ pixels: [[Double]]) -> Double {
        var sums = [Double](repeating: 0, count: 4), counts = [Double](repeating: 0, count: 4), magnitude = 0.0
        for (r, row) in pixels.enumerated() {
            for (c, v) in row.enumerated() { sums[(r % 2) * 2 + c % 2] += v; counts[(r % 2) * 2 + c % 2] += 1; magnitude += abs(v) }
        }
        let means = zip(sums, counts).map { $0 / $1 }, mean = means.reduce(0, +) / 4
        let spread = (means.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4).squareRoot()
        return spread / max(magnitude / Double(pixels.count * (pixels.first?.count ?? 1)), 1e-12)
    }

    /// The decoder's response to a latent field that is the same at every position (each
    /// channel at its mean over the test set), 8×8 positions in: the output's interior, away
    /// from the zero padding of the borders.
    static func constantResponse(_ decoder: Sequential, channelMeans: Tensor) -> [[Double]] {
        let field = channelMeans.reshape([1, -1, 1, 1]).expand([1, channelMeans.shape[0], 8, 8]).contiguous()
        let out = withNoGrad { decoder(field) }[0][0]
        let margin = 6, n = out.shape[0]
        let v = out.toArray(Double.self)
        return (margin..<(n - margin)).map { r in (margin..<(n - margin)).map { v[r * n + $0] } }
    }

    /// Rows of a (H, W) tensor.
    static func rows(_ t: Tensor) -> [[Double]] {
        let v = t.toArray(Double.self), w = t.shape[1]
        return (0..<t.shape[0]).map { Array(v[($0 * w)..<(($0 + 1) * w)]) }
    }

    public static func run(quick: Bool) -> LabReport {
        let epochs = quick ? 8 : 60
        guard let digits = try? Digits.load() else {
            return LabReport(name: name, title: "Upsampling and checkerboard artifacts", claim: "", table: [], holds: false,
                             verdict: "Not confirmed: the embedded digits could not be read.", numbers: [:], figures: [])
        }
        var table = [["decoder", "test MSE", "checkerboard at init", "checkerboard trained"]]
        var numbers: [String: Double] = [:], curves: [Series] = []
        let shown = 8
        var reconstructions = (0..<shown).map { ImageGrid.Image(rows(digits.test.images[$0][0]), caption: "input") }
        var responses: [ImageGrid.Image] = []
        for method in Method.allCases {
            Descent.manualSeed(21)
            let encoder = Sequential {
                Conv2d(1, 16, kernelSize: 3, stride: 2, padding: 1); ReLU()   // 8×8 → 4×4
                Conv2d(16, 32, kernelSize: 3, stride: 2, padding: 1); ReLU()  // 4×4 → 2×2
            }
            let decoder = Sequential {
                for m in method.stage(32, 16) { m }
                ReLU()
                for m in method.stage(16, 1) { m }
            }
            let model = Sequential { encoder; decoder }
            let means0 = withNoGrad { encoder(digits.test.images).mean(dims: [0, 2, 3]) }
            let atInit = checkerboardScore(constantResponse(decoder, channelMeans: means0))
            let optimizer = Adam(model.parameters(), lr: 0.005)
            var losses: [Double] = []
            Descent.manualSeed(22)
            for _ in 0..<epochs {
                var total = 0.0, count = 0
                for batch in DataLoader(digits.train, batchSize: 64, shuffle: true) {
                    let loss = mseLoss(model(batch.inputs), batch.inputs)
                    optimizer.zeroGrad()
                    loss.backward()
                    optimizer.step()
                    total += loss.itemDouble * Double(batch.inputs.shape[0]); count += batch.inputs.shape[0]
                }
                losses.append(total / Double(count))
            }
            let test = withNoGrad { model(digits.test.images) }
            let mse = withNoGrad { mseLoss(test, digits.test.images).itemDouble }
            let means = withNoGrad { encoder(digits.test.images).mean(dims: [0, 2, 3]) }
            let response = constantResponse(decoder, channelMeans: means)
            let trained = checkerboardScore(response)
            let key = method == .nearest ? "nearest" : method == .bilinear ? "bilinear" : "transposed"
            numbers["\(key)_test_mse"] = mse
            numbers["\(key)_checkerboard_init"] = atInit
            numbers["\(key)_checkerboard_trained"] = trained
            table.append([method.rawValue, fmt(mse), fmt(atInit), fmt(trained)])
            curves.append(Series(method.rawValue, values: losses))
            reconstructions += (0..<shown).map { ImageGrid.Image(rows(test[$0][0]), caption: key) }
            responses.append(ImageGrid.Image(response, caption: method.rawValue))
        }
        let transposed = numbers["transposed_checkerboard_trained"]!
        let smooth = max(numbers["nearest_checkerboard_trained"]!, numbers["bilinear_checkerboard_trained"]!)
        let mses = ["nearest", "bilinear", "transposed"].map { numbers["\($0)_test_mse"]! }
        numbers["checkerboard_ratio"] = transposed / max(smooth, 1e-12)
        let allLearn = mses.allSatisfy { $0 < 0.05 }
        let holds = transposed > 10 * smooth && allLearn
        let verdict = holds
            ? "Confirmed: all three decoders reconstruct the digits (test MSE \(mses.map(fmt).joined(separator: ", "))), but on a constant input the transposed convolution's output keeps a pattern at the stride's period (checkerboard score \(fmt(transposed))) that upsampling + convolution does not (\(fmt(smooth)) at most)."
            : "Not confirmed in this run: checkerboard score \(fmt(transposed)) for the transposed convolution against \(fmt(smooth)) for upsampling + convolution; test MSE \(mses.map(fmt).joined(separator: ", "))."
        let loss = LineChart(title: "Autoencoder training loss on the digits", xLabel: "epoch", yLabel: "MSE (log scale)", series: curves, logY: true)
        let grid = ImageGrid(title: "Test digits (top row) and their reconstructions", images: reconstructions,
                             columns: shown, sharedScale: false)
        let pattern = ImageGrid(title: "Each trained decoder's output for a constant input (interior, one grey scale)", images: responses, columns: 3,
                                sharedScale: true)
        return LabReport(name: name, title: "Upsampling and checkerboard artifacts",
                         claim: "Transposed convolution leaves checkerboard artifacts that upsampling followed by convolution avoids.",
                         table: table, holds: holds, verdict: verdict, numbers: numbers,
                         figures: [("loss.svg", loss.svg()), ("reconstructions.svg", grid.svg(cell: 64)), ("constant-input.svg", pattern.svg(cell: 160))])
    }
}

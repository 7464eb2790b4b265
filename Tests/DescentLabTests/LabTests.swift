@testable import DescentLab
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// Every experiment's quick run: its claim holds by the numbers it measured, and its figures are
/// valid SVG with the expected series.
final class LabTests: XCTestCase {
    private func check(_ e: LabExperiment.Type, series: Int, file: StaticString = #filePath, line: UInt = #line) throws -> LabReport {
        let r = Lab.run(e, quick: true)
        XCTAssertTrue(r.holds, "\(r.name): \(r.verdict)\n\(r.tableText)", file: file, line: line)
        XCTAssertTrue(r.verdict.hasPrefix("Confirmed"), r.verdict, file: file, line: line)
        var total = 0
        for f in r.figures {
            let doc = try XMLDocument(xmlString: f.svg)
            // A series is a line, or a dot when it has a single finite point (a loss that diverged at once).
            total += try doc.nodes(forXPath: "//*[local-name()='polyline' or local-name()='circle']").count
        }
        XCTAssertEqual(total, series, "\(r.name): lines in its figures", file: file, line: line)
        return r
    }

    func testVanishing() throws {
        let r = try check(Vanishing.self, series: 3)
        XCTAssertGreaterThanOrEqual(r.numbers["relu_over_sigmoid_first_layer"]!, 100)
        // During training: a heatmap per activation, a cell per layer (10) and recorded step (15).
        XCTAssertEqual(try cells(r), [0, 150, 150, 150])
        XCTAssertLessThan(r.numbers["sigmoid_first_over_last_end"]!, 0.01)
    }

    /// The heatmap cells in each figure of a report.
    private func cells(_ r: LabReport) throws -> [Int] {
        try r.figures.map { try XMLDocument(xmlString: $0.svg).nodes(forXPath: "//*[local-name()='rect' and @class='cell']").count }
    }

    func testUpsampling() throws {
        let r = try check(UpsamplingLesson.self, series: 3)
        XCTAssertGreaterThan(r.numbers["transposed_checkerboard_trained"]!, 10 * r.numbers["nearest_checkerboard_trained"]!)
        XCTAssertGreaterThan(r.numbers["transposed_checkerboard_trained"]!, 10 * r.numbers["bilinear_checkerboard_trained"]!)
        // The reconstructions: 8 test digits and 8 per decoder; the three constant-input responses.
        let images = try r.figures.map { try XMLDocument(xmlString: $0.svg).nodes(forXPath: "//*[local-name()='g' and @class='image']").count }
        XCTAssertEqual(images, [0, 32, 3])
    }

    /// The score is zero for a flat image and for a smooth ramp, and large for a pattern at the
    /// stride's period.
    func testCheckerboardScore() {
        XCTAssertEqual(UpsamplingLesson.checkerboardScore(Array(repeating: Array(repeating: 0.7, count: 6), count: 6)), 0, accuracy: 1e-12)
        let checker = (0..<6).map { r in (0..<6).map { c in 1.0 + ((r + c) % 2 == 0 ? 0.5 : -0.5) } }
        XCTAssertEqual(UpsamplingLesson.checkerboardScore(checker), 0.5, accuracy: 1e-12)
        let stripes = (0..<6).map { r in (0..<6).map { _ in r % 2 == 0 ? 1.0 : 3.0 } }
        XCTAssertEqual(UpsamplingLesson.checkerboardScore(stripes), 0.5, accuracy: 1e-12)
    }

    func testMemory() throws {
        let r = try check(Memory.self, series: 6)
        XCTAssertGreaterThan(r.numbers["lstm_accuracy_80"]!, r.numbers["rnn_accuracy_80"]! + 0.2)
        XCTAssertGreaterThan(r.numbers["gru_accuracy_80"]!, r.numbers["rnn_accuracy_80"]! + 0.2)
        // The gradient from the first input fades far more through the RNN than through the gates.
        XCTAssertLessThan(r.numbers["rnn_grad_first_over_last"]!, 1e-3 * r.numbers["lstm_grad_first_over_last"]!)
        XCTAssertEqual(try cells(r), [0, 0, 6])
    }

    func testExploding() throws {
        let r = try check(Exploding.self, series: 3)
        XCTAssertLessThan(r.numbers["clipped_final_loss"]!, r.numbers["clipped_start_loss"]! / 2)
    }

    func testNonlinearity() throws {
        let r = try check(Nonlinearity.self, series: 4)
        XCTAssertGreaterThan(r.numbers["no_activation_mse"]!, 10 * min(r.numbers["tanh_mse"]!, r.numbers["relu_mse"]!))
    }

    func testBackprop() throws {
        let r = try check(Backprop.self, series: 2)
        XCTAssertLessThan(r.numbers["largest_slope_difference"]!, 1e-9)
    }

    func testDyingReLU() throws {
        let r = try check(DyingReLU.self, series: 2)
        XCTAssertGreaterThan(r.numbers["relu_dead_fraction"]!, 2 * r.numbers["leaky_dead_fraction"]!)
    }

    func testSaturation() throws {
        let r = try check(Saturation.self, series: 4)
        XCTAssertLessThan(r.numbers["sigmoid_derivative_at_10"]!, 1e-4)
        XCTAssertLessThan(abs(r.numbers["mean_tanh"]!), 0.05)
    }

    func testBatchNorm() throws {
        let r = try check(BatchNormLesson.self, series: 6)
        XCTAssertEqual(r.numbers["eval_mode_change"], 0)
        XCTAssertLessThan(r.numbers["worst_final_loss_with"]!, r.numbers["best_final_loss_without"]!)
    }

    func testConvolution() throws {
        let r = try check(ConvolutionLesson.self, series: 0)
        XCTAssertEqual(r.numbers["size_mismatches"], 0)
        // The filter and feature-map grids: 8 filters; the digit and 8 maps.
        let counts = try r.figures.map { try XMLDocument(xmlString: $0.svg).nodes(forXPath: "//*[local-name()='g' and @class='image']").count }
        XCTAssertEqual(counts, [8, 9])
    }

    /// The report holds every experiment's section, verdict and inline figures, as valid XML.
    func testReportPage() throws {
        let reports = [Lab.run(Backprop.self, quick: true)]
        let html = HTMLReport.page(reports)
        let doc = try XMLDocument(xmlString: html.replacingOccurrences(of: "<!DOCTYPE html>", with: ""))
        XCTAssertEqual(try doc.nodes(forXPath: "//*[local-name()='section']").count, 1)
        XCTAssertEqual(try doc.nodes(forXPath: "//*[local-name()='svg' and @class='plot']").count, 1)
        XCTAssertTrue(html.contains("Verdict.</strong> Confirmed"))
    }
}

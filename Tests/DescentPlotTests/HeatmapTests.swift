@testable import DescentPlot
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

final class HeatmapTests: XCTestCase {
    private func cellFills(_ svg: String) throws -> [String] {
        let cells = try XMLDocument(xmlString: svg).nodes(forXPath: "//*[local-name()='rect' and @class='cell']") as! [XMLElement]
        return cells.compactMap { $0.attributes?.first { $0.name == "fill" }?.stringValue }
    }

    /// One cell per value, row by row; the smallest value gets the scale's low colour, the
    /// largest its high colour, a non-finite value grey; labels and values are written.
    func testCellsColoursAndLabels() throws {
        let map = Heatmap(title: "accuracy", xLabel: "length", yLabel: "model", rowLabels: ["RNN", "LSTM"], columnLabels: ["5", "40"],
                          values: [[1.0, 0.25], [1.0, .nan]], showValues: true)
        let svg = map.svg()
        let fills = try cellFills(svg)
        XCTAssertEqual(fills, ["rgb(253,231,37)", "rgb(68,1,84)", "rgb(253,231,37)", "#dddddd"])
        let texts = (try XMLDocument(xmlString: svg).nodes(forXPath: "//*[local-name()='text']")).compactMap(\.stringValue)
        for label in ["accuracy", "RNN", "LSTM", "5", "40", "length", "model", "0.25", "1"] {
            XCTAssertTrue(texts.contains(label), "\(label) missing from \(texts)")
        }
    }

    /// On a log scale the middle of a decade range gets the middle colour; a given range fixes
    /// the ends, so values outside it take the end colours; non-positive values are grey.
    func testLogScaleAndSharedRange() throws {
        let log = Heatmap(title: "g", xLabel: "", yLabel: "", rowLabels: ["a"], columnLabels: ["1", "2", "3", "4"],
                          values: [[1e-6, 1e-3, 1, 0]], logScale: true)
        XCTAssertEqual(try cellFills(log.svg()), ["rgb(68,1,84)", "rgb(33,145,140)", "rgb(253,231,37)", "#dddddd"])
        let fixed = Heatmap(title: "g", xLabel: "", yLabel: "", rowLabels: ["a"], columnLabels: ["1", "2"], values: [[0.5, 0.75]],
                            range: (0, 1))
        XCTAssertEqual(try cellFills(fixed.svg()), ["rgb(33,145,140)", "rgb(94,201,98)"])
    }
}

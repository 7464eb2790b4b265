@testable import DescentPlot
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

final class BarChartTests: XCTestCase {
    /// Bars start at the reference: one below it extends left, one above it right, as long on the
    /// log axis as their ratio to it (0.5 and 2 equally long); colours follow the target; a
    /// missing value has its label but no bar.
    func testBarsRunFromTheReferenceOnALogAxis() throws {
        let chart = BarChart(title: "ratios", xLabel: "Descent ÷ PyTorch", bars: [("fast", 0.5), ("slow", 2), ("none", .nan)], target: 0.8)
        let doc = try XMLDocument(xmlString: chart.svg())
        let rects = try doc.nodes(forXPath: "//*[local-name()='rect' and @class='bar']") as! [XMLElement]
        XCTAssertEqual(rects.count, 2)
        func attr(_ e: XMLElement, _ name: String) -> String { e.attributes?.first { $0.name == name }?.stringValue ?? "" }
        let widths = rects.map { Double(attr($0, "width"))! }, xs = rects.map { Double(attr($0, "x"))! }
        XCTAssertEqual(widths[0], widths[1], accuracy: 0.02)
        XCTAssertEqual(xs[0] + widths[0], xs[1], accuracy: 0.02, "both bars meet at the reference line")
        XCTAssertEqual(rects.map { attr($0, "fill") }, ["#4c9a5b", "#e0833a"])
        let texts = try doc.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        for t in ["ratios", "fast", "slow", "none", "0.50", "2.00", "Descent ÷ PyTorch", "1"] { XCTAssertTrue(texts.contains(t), "\(t) missing") }
    }
}

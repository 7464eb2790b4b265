@testable import DescentPlot
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

final class LineChartTests: XCTestCase {
    /// The SVG is well-formed XML with one polyline per series (named), the title and the
    /// legend, and points inside the plot area.
    func testChartIsValidSVGWithEverySeries() throws {
        let chart = LineChart(title: "loss & accuracy <per epoch>", xLabel: "epoch", yLabel: "loss",
                              series: [Series("train", values: [2.3, 1.1, 0.5, 0.3]), Series("test", values: [2.2, 1.2, 0.7, .nan])])
        let svg = chart.svg(width: 600, height: 400)
        let doc = try XMLDocument(xmlString: svg)
        let lines = try doc.nodes(forXPath: "//*[local-name()='polyline']") as! [XMLElement]
        XCTAssertEqual(lines.compactMap { $0.attributeValue("data-name") }, ["train", "test"])
        let points = lines[0].attributeValue("points")!.split(separator: " ")
        XCTAssertEqual(points.count, 4)
        for p in points {
            let xy = p.split(separator: ",").map { Double($0)! }
            XCTAssertTrue(xy[0] >= 70 && xy[0] <= 580 && xy[1] >= 40 && xy[1] <= 345, "\(xy) is outside the plot")
        }
        XCTAssertEqual(lines[1].attributeValue("points")!.split(separator: " ").count, 3, "NaN skipped")
        let texts = (try doc.nodes(forXPath: "//*[local-name()='text']")).compactMap(\.stringValue)
        XCTAssertTrue(texts.contains("loss & accuracy <per epoch>"))
        XCTAssertTrue(texts.contains("train") && texts.contains("test"))
    }

    func testTicksAndLogAxis() {
        XCTAssertEqual(Axis.ticks(0, 1).map { ($0 * 10).rounded() / 10 }, [0, 0.2, 0.4, 0.6, 0.8, 1])
        XCTAssertEqual(Axis.ticks(1, 20), [5, 10, 15, 20])
        XCTAssertEqual(Axis.label(0.25), "0.25")
        XCTAssertEqual(Axis.label(1e-6), "1e-06")
        XCTAssertEqual(Axis.logTicks(-3.2, 1.5), [-3, -2, -1, 0, 1])
        let svg = LineChart(title: "g", xLabel: "layer", yLabel: "norm", series: [Series("s", values: [1e-4, 1e-2, 1, 0])], logY: true).svg()
        XCTAssertTrue(svg.contains(">0.0001<") || svg.contains(">1e-04<"), svg)
        XCTAssertTrue(svg.contains(">1<"))
    }
}

extension XMLElement {
    /// The attribute's value (FoundationXML's attribute(forName:) misses attributes of elements
    /// in a default namespace, as SVG's are).
    func attributeValue(_ name: String) -> String? { attributes?.first { $0.name == name }?.stringValue }
}

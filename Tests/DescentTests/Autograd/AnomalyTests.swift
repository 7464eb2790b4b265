import Descent
import Foundation
import XCTest

/// Anomaly detection names the first op whose forward output or backward gradient is NaN or
/// infinite, its input shapes, and the line of the program that called it.
final class AnomalyTests: XCTestCase {
    private func anomaly(_ body: () -> Void) -> AnomalyError? {
        do { try withAnomalyDetection(body); return nil } catch { return error as? AnomalyError }
    }

    func testForwardNaNNamesTheOpAndTheLine() throws {
        let x = Tensor([1.0, -1.0, 2.0]).requiringGrad()
        let line = #line + 1
        let found = try XCTUnwrap(anomaly { _ = (x * 2).log().sum() })
        XCTAssertEqual(found.pass, .forward)
        XCTAssertEqual(found.op, "LogBackward")
        XCTAssertEqual(found.value, "NaN")
        XCTAssertEqual(found.what, "its output")
        XCTAssertEqual(found.inputShapes, [[3]])
        XCTAssertTrue(found.location?.hasPrefix("AnomalyTests.swift:\(line) ") == true, "\(found.location ?? "nil")")
        XCTAssertTrue(found.description.hasPrefix("[anomaly] in the forward pass, LogBackward (inputs (3,)) gave NaN in its output; the op was called at AnomalyTests.swift:\(line)"), found.description)
    }

    /// sqrt(0) is finite, its gradient is not: the backward pass names sqrt.
    func testBackwardInfinityNamesTheOpWhoseRuleMadeIt() throws {
        let x = Tensor([0.0, 4.0]).requiringGrad()
        let line = #line + 2
        let found = try XCTUnwrap(anomaly {
            let y = x.sqrt()
            (y * 3).sum().backward()
        })
        XCTAssertEqual(found.pass, .backward)
        XCTAssertEqual(found.op, "SqrtBackward")
        XCTAssertEqual(found.value, "infinity")
        XCTAssertEqual(found.what, "the gradient for input 0")
        XCTAssertTrue(found.location?.hasPrefix("AnomalyTests.swift:\(line) ") == true, "\(found.location ?? "nil")")
    }

    /// A NaN that comes in with the data is reported at the first recorded op that reads it.
    func testNaNFromOutsideTheGraph() throws {
        let w = Tensor([1.0, 2.0]).requiringGrad(), data = Tensor([Double.nan, 1.0])
        let found = try XCTUnwrap(anomaly { _ = (data * w).sum() })
        XCTAssertEqual(found.op, "MulBackward")
        XCTAssertEqual(found.what, "input 0, which was made outside the recorded graph")
    }

    /// An op made inside a layer's forward names the layer (the innermost module running), in
    /// optimized builds too, where the layer's own frame may be gone from the call stack.
    func testReportNamesTheLayer() throws {
        let fc = Linear(2, 1)
        withNoGrad { fc.weight.fill(10) }
        let model = Sequential([fc]), x = Tensor.full([1, 2], 1e38)
        let line = #line + 1
        let found = try XCTUnwrap(anomaly { _ = model(x).sum() })
        XCTAssertEqual(found.op, "AddmmBackward")
        XCTAssertEqual(found.what, "its output")
        XCTAssertTrue(found.location?.hasPrefix("AnomalyTests.swift:\(line) ") == true, "\(found.location ?? "nil")")
        XCTAssertTrue(found.location?.hasSuffix(", inside Linear.forward(_:)") == true, "\(found.location ?? "nil")")
    }

    /// Finite work passes through and returns its value; the mode ends with the scope; without
    /// the scope nothing is checked.
    func testFiniteWorkAndScope() throws {
        let x = Tensor([1.0, 2.0]).requiringGrad()
        let value = try withAnomalyDetection { () -> Double in
            XCTAssertTrue(isAnomalyDetectionEnabled)
            let loss = (x * x).sum()
            loss.backward()
            return loss.itemDouble
        }
        XCTAssertEqual(value, 5)
        XCTAssertFalse(isAnomalyDetectionEnabled)
        _ = Tensor([-1.0]).requiringGrad().log()  // not checked: no throw, no trap
    }
}

// swift-tools-version:5.9
// libFuzzer targets for Descent's file readers (safetensors, checkpoints, IDX plain and gzip,
// CSV). Not part of the root package, which carries no sanitizer flags: Scripts/fuzz.sh builds
// this package with coverage and AddressSanitizer and links libFuzzer's driver.
import PackageDescription

let package = Package(
    name: "DescentFuzz",
    dependencies: [.package(name: "Descent", path: "..")],
    targets: [
        .executableTarget(name: "DescentFuzz", dependencies: [.product(name: "Descent", package: "Descent")]),
    ]
)

// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "Descent",
    products: [
        .library(name: "Descent", targets: ["Descent"]),
        .executable(name: "descent", targets: ["DescentCLI"]),
        .library(name: "DescentPlot", targets: ["DescentPlot"]),
        .library(name: "DescentLab", targets: ["DescentLab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // For `swift package generate-documentation` (Scripts/docs.sh); not linked into anything.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .target(
            name: "CDescentKernels",
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        .target(name: "Descent", dependencies: ["CDescentKernels"], resources: [.copy("Data/Resources")]),
        // SVG plots (line charts): the tool's training curves and the lab's figures; no dependency
        // on the library, which carries no plotting code.
        .target(name: "DescentPlot"),
        // The lab: the notes' lessons as experiments with measured verdicts, and the HTML report.
        .target(name: "DescentLab", dependencies: ["Descent", "DescentPlot"]),
        .executableTarget(
            name: "DescentCLI",
            dependencies: ["Descent", "DescentPlot", "DescentLab", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "DescentTests", dependencies: ["Descent"]),
        .testTarget(name: "DescentPlotTests", dependencies: ["DescentPlot"]),
        .testTarget(name: "DescentLabTests", dependencies: ["DescentLab", "Descent"]),
        // Runs the built `descent` executable in child processes (no module dependency).
        .testTarget(name: "DescentCLITests"),
    ]
)

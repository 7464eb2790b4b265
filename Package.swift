// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "Descent",
    products: [
        .library(name: "Descent", targets: ["Descent"]),
        .executable(name: "descent", targets: ["DescentCLI"]),
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
        .executableTarget(
            name: "DescentCLI",
            dependencies: ["Descent", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "DescentTests", dependencies: ["Descent"]),
        // Runs the built `descent` executable in child processes (no module dependency).
        .testTarget(name: "DescentCLITests"),
    ]
)

import Foundation

/// The UCI handwritten digits, embedded (no download): 1,797 grayscale images of 8×8 pixels
/// and their digit 0–9, split at random (fixed) into 1,437 for training and 360 for testing.
/// Pixels are scaled from 0…16 to [0, 1].
///
/// E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
/// Repository, 1998 (CC BY 4.0); the copy scikit-learn ships, turned into IDX files by
/// Scripts/make_digits.py.
///
/// ```swift
/// let digits = try Digits.load()
/// let loader = DataLoader(digits.train, batchSize: 64, shuffle: true)
/// ```
public struct Digits {
    /// The 1,437 training images, (N, 1, 8, 8), and their labels.
    public let train: ImageDataset
    /// The 360 test images and their labels.
    public let test: ImageDataset

    /// Reads the embedded files (package resources of the Descent library).
    public static func load() throws -> Digits {
        func part(_ name: String) throws -> ImageDataset {
            func url(_ kind: String) throws -> String {
                guard let u = Bundle.module.url(forResource: "digits-\(name)-\(kind)", withExtension: "idx", subdirectory: "Resources") else {
                    throw DataError(path: "digits-\(name)-\(kind).idx", message: "the embedded digits are missing from the Descent resource bundle")
                }
                return u.path
            }
            let images = try url("images"), labels = try url("labels")
            let x = try IDX.read(images), y = try IDX.read(labels)
            return ImageDataset(images: x.unsqueeze(1).to(.float32) / 16, labels: y, classes: 10)
        }
        return Digits(train: try part("train"), test: try part("test"))
    }
}

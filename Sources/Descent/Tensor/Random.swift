/// A seedable pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Descent's random streams are deterministic for a seed but are not PyTorch's: the same seed
/// gives different numbers than `torch.manual_seed`. Move weights between the two with state
/// dicts, not seeds.
public struct Generator: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    private var spareNormal: Double?

    /// A generator whose stream is fixed by `seed`.
    /// - Parameter seed: Any 64-bit value; equal seeds give equal streams.
    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// The generator's whole state, to save and later restore with `init(state:)`: the four
    /// words of xoshiro256** and the spare normal value (a flag and its bits).
    public var state: [UInt64] {
        [s.0, s.1, s.2, s.3, spareNormal == nil ? 0 : 1, spareNormal?.bitPattern ?? 0]
    }

    /// A generator that continues exactly where the one whose `state` this is stood.
    /// - Parameter state: Six words from `state`; nil when there are not six, or the four
    ///   xoshiro words are all zero (no such state exists).
    public init?(state: [UInt64]) {
        guard state.count == 6, state[0...3].contains(where: { $0 != 0 }), state[4] <= 1 else { return nil }
        s = (state[0], state[1], state[2], state[3])
        spareNormal = state[4] == 1 ? Double(bitPattern: state[5]) : nil
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal (Box–Muller, both values used).
    public mutating func nextNormal() -> Double {
        if let v = spareNormal {
            spareNormal = nil
            return v
        }
        var u1 = nextUniform()
        while u1 <= 0 { u1 = nextUniform() }
        let u2 = nextUniform()
        let r = (-2 * Foundation.log(u1)).squareRoot()
        spareNormal = r * Foundation.sin(2 * .pi * u2)
        return r * Foundation.cos(2 * .pi * u2)
    }
}

import Foundation

// Library-wide settings: the random seed and the thread count. They are declared at the top of
// the module (no namespace type), so that `Descent.manualSeed(0)` and `Descent.threads` name
// the module and a program that defines its own `Tensor` can still write `Descent.Tensor`.

/// The default generator used by `Tensor.rand`, `randn`, initializers, dropout and shuffling.
///
/// Each thread has its own (unlike PyTorch's one global generator): models trained at once on
/// several threads draw the numbers each draws alone. A thread's generator starts from the
/// seed last given to `manualSeed` (0 before any).
public var generator: Generator {
    get { ThreadState.current.generator }
    set { ThreadState.current.generator = newValue }
}

/// Re-seeds the calling thread's generator, making every later random draw on it reproducible
/// (PyTorch's `torch.manual_seed`); threads that have not drawn yet start from this seed too.
public func manualSeed(_ seed: UInt64) {
    ThreadState.defaultSeed.value = seed
    generator = Generator(seed: seed)
}

/// Returns the memory Descent keeps for reuse (freed tensor buffers of 64 KiB and more, up
/// to 1 GiB in all) to the system.
public func releaseCachedMemory() { BufferCache.empty() }

/// Threads used by Descent's kernels (a BLAS runs inside them, one thread per call); defaults
/// to the CPUs this process may use (its affinity mask, limited by a cgroup CPU quota).
/// Setting it applies at once.
public var threads: Int {
    get { Parallel.threads }
    set {
        check(newValue >= 1, "[threads] expected at least 1 thread, got \(newValue)")
        Parallel.threads = newValue
    }
}

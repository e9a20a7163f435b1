/// The `--timeout` option: a wall-clock limit per payload run, for both backends.
public enum RunLimits {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Longest accepted limit: a day, far beyond any payload, and far from overflowing a
    /// monotonic-clock deadline in nanoseconds.
    public static let maximumSeconds = 86_400.0

    /// Seconds (fractions allowed, e.g. 0.5) to nanoseconds; rejects what is not a positive
    /// finite number of at most `maximumSeconds`.
    public static func nanoseconds(seconds: Double) throws(Invalid) -> UInt64 {
        guard seconds.isFinite, seconds > 0, seconds <= maximumSeconds else {
            throw Invalid(description: "--timeout wants a number of seconds above 0 and at most \(Int(maximumSeconds))")
        }
        return max(1, UInt64(seconds * 1e9))
    }
}

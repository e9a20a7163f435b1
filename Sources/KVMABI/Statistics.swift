/// The binary stats of a VM or vCPU fd (KVM_GET_STATS_FD), by name.
public struct Statistics: Sendable, Equatable {
    public struct Descriptor: Sendable, Equatable {
        /// KVM_STATS_TYPE_*: 0 cumulative, 1 instant, 2 peak, 3 linear histogram, 4 log histogram.
        public enum Kind: UInt32, Sendable { case cumulative = 0, instant, peak, linearHistogram, logHistogram, unknown = 0xFF }
        /// KVM_STATS_UNIT_*: 0 none, 1 bytes, 2 seconds, 3 cycles, 4 boolean.
        public enum Unit: UInt32, Sendable { case none = 0, bytes, seconds, cycles, boolean, unknown = 0xFF }
        public var name: String
        public var kind: Kind
        public var unit: Unit
        /// Power-of-ten (seconds) or power-of-two (bytes) exponent of the unit.
        public var exponent: Int16
        public var values: [UInt64]

        public init(name: String, kind: Kind, unit: Unit, exponent: Int16, values: [UInt64]) {
            self.name = name; self.kind = kind; self.unit = unit; self.exponent = exponent; self.values = values
        }
    }

    public var descriptors: [Descriptor]

    public init(descriptors: [Descriptor]) { self.descriptors = descriptors }

    /// The first value of the stat named `name` (`exits`, `halt_exits`, ...), nil if absent.
    public subscript(name: String) -> UInt64? {
        descriptors.first { $0.name == name }?.values.first
    }

    public var names: [String] { descriptors.map(\.name) }
}

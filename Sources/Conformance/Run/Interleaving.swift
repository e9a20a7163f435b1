/// The order in which the reference engine runs the vCPUs of a several-vCPU payload, one
/// at a time on the caller's thread (PayloadRunner.runInTurn). Each turn runs one vCPU
/// for a number of instructions (or up to its next exit, or until it blocks).
///
/// `fixed` is the default: round robin, `quantum` instructions a turn, so two runs are
/// identical to the bit. `shuffled(seed:)` draws the vCPU and the length of every turn
/// from a seeded generator: a payload whose verdict changes with the seed depends on an
/// order the architecture does not promise (`kvm-unit run --interleave-seed`).
public enum Interleaving: Sendable, Equatable, CustomStringConvertible {
    case fixed
    case shuffled(seed: UInt64)

    /// Instructions of one turn in the fixed order (the mean turn of the shuffled one).
    public static let quantum: UInt64 = 1000

    public var description: String {
        switch self {
        case .fixed: "fixed round robin, \(Self.quantum) instructions a turn"
        case .shuffled(let seed): "shuffled (seed \(seed)), 1..\(2 * Self.quantum) instructions a turn"
        }
    }

    func scheduler(vcpus: Int) -> Scheduler { Scheduler(self, vcpus: vcpus) }

    struct Scheduler {
        let vcpus: Int
        let seed: UInt64?
        var state: UInt64
        var turn = 0

        init(_ interleaving: Interleaving, vcpus: Int) {
            self.vcpus = max(1, vcpus)
            switch interleaving {
            case .fixed: seed = nil; state = 0
            case .shuffled(let s): seed = s; state = s
            }
        }

        /// SplitMix64 (Steele, Lea, Flood 2014): small, and good enough to pick turns.
        private mutating func random() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// The vCPU of the next turn and its instruction budget.
        mutating func next() -> (vcpu: Int, instructions: UInt64) {
            defer { turn += 1 }
            guard seed != nil else { return (turn % vcpus, Interleaving.quantum) }
            let v = Int(random() % UInt64(vcpus))
            return (v, 1 + random() % (2 * Interleaving.quantum))
        }
    }
}

import ArgumentParser
import Conformance
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc
import KVMABI

struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Random instruction streams at CPL3 on RAM (the host CPU where CPL3 runs natively), on an MMIO window (KVM's emulator) and on the engine; differences minimised and written as reproducer payloads.")

    @Option(help: "Seed of the generator (the same seed gives the same programs).")
    var seed: UInt64 = 1

    @Option(help: "Programs to run.")
    var count: Int = 2000

    @Option(help: "Stop after this many seconds even if --count is not reached.")
    var time: Double?

    @Option(name: .long, help: "Instructions per program at most.")
    var maxLength: Int = 8

    @Option(name: .long, help: "kvm, ref or both (default: both when the KVM device is usable, else ref).")
    var backend: String?

    @Option(name: .long, help: ArgumentHelp("The KVM device node for the kvm backend (default /dev/kvm).", valueName: "path"))
    var device: String?

    @Option(name: .long, help: ArgumentHelp("Directory for reproducer payloads (.asm), created if missing.", valueName: "dir"))
    var out: String = "fuzz-reproducers"

    @Option(name: .long, help: "Also write a JSON summary to this file.")
    var json: String?

    @Option(name: .long, help: ArgumentHelp("A local known-divergence file (form=FORM entries), added to the built-in table.", valueName: "file"))
    var divergences: String?

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be at least 1") }
        guard (1...64).contains(maxLength) else { throw ValidationError("--max-length must be 1..64") }
        if let t = time, !(t > 0) { throw ValidationError("--time must be a positive number of seconds") }
    }

    func run() throws {
        guard let template = FuzzTemplate.catalogue else { fail("the catalogue has no fuzz_template payload") }
        // Output paths first: an unwritable one stops the campaign before it runs (exit 2).
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            fail("cannot create the reproducer directory \(out)")
        }
        if let json, (try? Data().write(to: URL(fileURLWithPath: json))) == nil { fail("cannot write \(json)") }
        let table = knownDivergences(adding: divergences)
        let backends = openBackends(backend, device: device)
        // The reference first: the host CPU (kvm, RAM) when there is a kvm backend.
        let ordered = backends.sorted { a, _ in a.name == "kvm" }
        var implementations: [FuzzImplementation] = []
        for b in ordered {
            implementations.append(FuzzImplementation(backend: b.name, hypervisor: b.hypervisor, mmio: false))
            implementations.append(FuzzImplementation(backend: b.name, hypervisor: b.hypervisor, mmio: true))
        }
        for b in ordered { print("kvm-unit fuzz: \(b.name): \(b.hypervisor.identity.implementation)") }
        print("kvm-unit fuzz: seed \(seed), \(count) programs of 1..\(maxLength) instructions; reference \(implementations[0].name)"
              + (ordered.first?.name == "kvm" ? " (CPL3 runs on the host CPU)" : ""))
        let campaign = FuzzCampaign(template: template, implementations: implementations,
                                    cpuid: SuiteRunner.sharedCPUID(backends))
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline: (() -> Bool)? = time.map { t in { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 >= t } }
        let terminal = isatty(2) != 0
        let summary = campaign.run(seed: seed, count: count, maxLength: maxLength, deadline: deadline) { s in
            if terminal { writeStandardError("\r\(s.programs)/\(count) programs, \(s.divergences.count) divergences   ") }
        }
        if terminal { writeStandardError("\n") }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        var unexpected = 0
        var explained: Set<String> = []
        var jsonDivergences: [FuzzJSON.Divergence] = []
        for (i, d) in summary.divergences.enumerated() {
            let backendName = d.implementation.split(separator: " ").first.map(String.init) ?? d.implementation
            let identity = backends.first { $0.name == backendName }?.hypervisor.identity.implementation ?? backendName
            let referenceName = d.reference.split(separator: " ").first.map(String.init) ?? d.reference
            let referenceIdentity = backends.first { $0.name == referenceName }?.hypervisor.identity.implementation ?? referenceName
            let label = KnownDivergences.label(d.form)
            // recorded for the implementation that differs, or for the reference (the host CPU
            // where it, not the engine, leaves the SDM)
            let known = table.formEntry(implementation: identity, form: label)
                ?? table.formEntry(implementation: referenceIdentity, form: label)
            let name = "fuzz_\(seed)_\(i)"
            let path = "\(out)/\(name).asm"
            let written = (try? d.reproducer(name: name, seed: seed).write(toFile: path, atomically: true, encoding: .utf8)) != nil
            let stream = d.minimised.instructions.map(\.text).joined(separator: "; ")
            let agreeing = summary.divergences.filter { $0.program == d.program && $0.implementation != d.implementation }.isEmpty
                ? "every other implementation agrees with \(d.reference)" : "other implementations differ too"
            if let known {
                // the reason once per entry; later matches name the entry
                let why = explained.insert(known.key).inserted ? known.reason : "as above"
                print("XDIVERGE form \(d.form) (form=\(label)): \(d.implementation) vs \(d.reference): \(stream) [known divergence of \(known.implementation): \(why)]")
            } else {
                unexpected += 1
                print("DIVERGE form \(d.form) (form=\(label)): \(d.implementation) differs from \(d.reference) on \(d.minimised.instructions.count) instruction(s): \(stream)")
                for line in d.details { print("    \(line)") }
                print("    \(agreeing); reproducer \(written ? path : "not written (\(path) unwritable)")")
            }
            jsonDivergences.append(.init(implementation: d.implementation, reference: d.reference, form: d.form,
                                         known: known != nil, stream: d.minimised.instructions.map(\.text),
                                         details: d.details, reproducer: written ? path : ""))
        }
        for e in summary.runErrors { print("ERROR \(e)") }

        let forms = summary.byForm.sorted { $0.key < $1.key }
        print("forms: \(forms.count) distinct; by form (instructions generated):")
        var line = ""
        for (form, n) in forms {
            let cell = "\(form) \(n)"
            if line.count + cell.count > 96 { print("  " + line); line = "" }
            line += (line.isEmpty ? "" : "; ") + cell
        }
        if !line.isEmpty { print("  " + line) }
        print("faulting programs: \(summary.faultingPrograms) end on the not-present page; #PF on the reference in \(summary.pageFaultsOnReference)")
        let runs = Double(summary.programs * implementations.count)
        let perSecond = Int((runs / seconds).rounded())
        let insnPerSecond = Int((Double(summary.instructions * implementations.count) / seconds).rounded())
        let tenths = Int((seconds * 10).rounded())
        print("FUZZ SUMMARY: \(summary.programs) programs, \(summary.instructions) instructions, \(forms.count) forms on "
              + "\(implementations.count) implementations in \(tenths / 10).\(tenths % 10) s (\(perSecond) program runs/s, "
              + "\(insnPerSecond) instructions/s); \(summary.divergences.count) divergences (\(summary.divergences.count - unexpected) "
              + "expected, \(unexpected) unexpected), \(summary.runErrors.count) run errors")
        if let json {
            let doc = FuzzJSON(seed: seed, programs: summary.programs, instructions: summary.instructions, seconds: seconds,
                               implementations: implementations.map(\.name),
                               forms: Dictionary(uniqueKeysWithValues: forms.map { ($0.key, $0.value) }),
                               divergences: jsonDivergences, runErrors: summary.runErrors)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            guard let data = try? encoder.encode(doc), (try? data.write(to: URL(fileURLWithPath: json))) != nil else {
                fail("cannot write \(json)")
            }
        }
        if unexpected > 0 || !summary.runErrors.isEmpty { throw ExitCode(1) }
    }
}

/// `kvm-unit fuzz --json`: the summary and every divergence.
struct FuzzJSON: Encodable {
    struct Divergence: Encodable {
        let implementation, reference, form: String
        let known: Bool
        let stream, details: [String]
        let reproducer: String
    }
    let seed: UInt64
    let programs, instructions: Int
    let seconds: Double
    let implementations: [String]
    let forms: [String: Int]
    let divergences: [Divergence]
    let runErrors: [String]
}

import Conformance
import Foundation
import GuestPayloads
import PayloadFormat
import Testing

/// Several vCPUs: the v2 header, the reference engine's interleavings, the trace.
@Suite("Several vCPUs")
struct MultiVCPUTests {
    /// A v2 header: the v1 one of PayloadFormatTests with version 2, size 0x150, vcpu_count.
    static func headerV2(vcpus: UInt8, flags: UInt32 = 1) -> [UInt8] {
        var b = header(imageSize: 0x400)
        b[0x08] = 2; b[0x0A] = 0x50; b[0x0B] = 0x01     // abi_version 2, header_size 0x150
        b[0x0C] = 0x50; b[0x0D] = 0x01                  // entry after the v2 header
        withUnsafeBytes(of: flags.littleEndian) { for (i, x) in $0.enumerated() { b[0x18 + i] = x } }
        b[0x140] = vcpus
        return b
    }

    static func parseError(_ b: [UInt8]) -> String {
        do { _ = try PayloadHeader.parse(b); return "" } catch { return error.description }
    }

    @Test func v2HeaderParsesWithItsVCPUCount() throws {
        let h = try PayloadHeader.parse(Self.headerV2(vcpus: 4))
        #expect(h.vcpuCount == 4)
        #expect(h.headerSize == 0x150)
        let v1 = try PayloadHeader.parse(header())
        #expect(v1.vcpuCount == 1 && v1.headerSize == 0x140)
    }

    @Test func v2HeaderRejectsBadVCPUCountsReservedBytesAndMissingIrqchip() {
        #expect(Self.parseError(Self.headerV2(vcpus: 0)) == "bad header field vcpu_count: 0 (1..4)")
        #expect(Self.parseError(Self.headerV2(vcpus: 5)) == "bad header field vcpu_count: 5 (1..4)")
        var reserved = Self.headerV2(vcpus: 2)
        reserved[0x14F] = 1
        #expect(Self.parseError(reserved) == "bad header field reserved: bytes 0x141..0x14F must be zero")
        #expect(Self.parseError(Self.headerV2(vcpus: 2, flags: 0)).hasPrefix("bad header field vcpu_count: 2 needs the in-kernel irqchip"))
        var v1Size = Self.headerV2(vcpus: 2)
        v1Size[0x0A] = 0x40
        #expect(Self.parseError(v1Size) == "bad header field header_size: 320, expected 336 for abi_version 2")
        var entryInHeader = Self.headerV2(vcpus: 2)
        entryInHeader[0x0C] = 0x40
        #expect(Self.parseError(entryInHeader).hasPrefix("bad header field entry: 0x140"))
        #expect(Self.parseError(Array(Self.headerV2(vcpus: 2).prefix(0x148))) == "truncated payload: 328 bytes, the header alone is 336")
    }

    /// A v3 header: v2 with version 3 and ap_entry at 0x144.
    static func headerV3(vcpus: UInt8, apEntry: UInt32) -> [UInt8] {
        var b = headerV2(vcpus: vcpus)
        b[0x08] = 3
        withUnsafeBytes(of: apEntry.littleEndian) { for (i, x) in $0.enumerated() { b[0x144 + i] = x } }
        return b
    }

    @Test func v3HeaderCarriesTheAPEntryAndV2StillLoads() throws {
        let h = try PayloadHeader.parse(Self.headerV3(vcpus: 2, apEntry: 0x200))
        #expect(h.apEntry == 0x200 && h.vcpuCount == 2 && h.headerSize == 0x150)
        #expect(try PayloadHeader.parse(Self.headerV3(vcpus: 2, apEntry: 0)).apEntry == nil)
        #expect(try PayloadHeader.parse(Self.headerV2(vcpus: 2)).apEntry == nil)
        // In a v2 header the same bytes are reserved.
        var v2 = Self.headerV3(vcpus: 2, apEntry: 0x200)
        v2[0x08] = 2
        #expect(Self.parseError(v2) == "bad header field reserved: bytes 0x141..0x14F must be zero")
    }

    @Test func v3HeaderRejectsABadAPEntry() {
        #expect(Self.parseError(Self.headerV3(vcpus: 1, apEntry: 0x200)).hasPrefix("bad header field ap_entry: 0x200 (needs vcpu_count > 1"))
        #expect(Self.parseError(Self.headerV3(vcpus: 2, apEntry: 0x148)).hasPrefix("bad header field ap_entry: 0x148"))
        #expect(Self.parseError(Self.headerV3(vcpus: 2, apEntry: 0x400)).hasPrefix("bad header field ap_entry: 0x400"))
        var reserved = Self.headerV3(vcpus: 2, apEntry: 0x200)
        reserved[0x142] = 1
        #expect(Self.parseError(reserved) == "bad header field reserved: bytes 0x141..0x143 and 0x148..0x14F must be zero")
        var v4 = Self.headerV3(vcpus: 2, apEntry: 0x200)
        v4[0x08] = 4
        #expect(Self.parseError(v4) == "unsupported payload ABI version 4 (this suite reads versions 1 to 3)")
    }

    @Test("a harness-started AP (v3 ap_entry) is RUNNABLE through KVM_SET_MP_STATE and passes on ref")
    func harnessStartedAPsRun() throws {
        let p = try #require(Catalogue.named("smp_harness_start"))
        #expect(p.header.apEntry != nil && p.header.vcpuCount == 4)
        let r = SuiteRunner().run(p, on: try Backends.openReference(), backend: "ref")
        #expect(r.verdict == .pass, "\(r.lines.map(\.text))")
    }

    @Test("the JSON report names the interleaving seed (null for the fixed round robin)")
    func jsonRecordsTheInterleaveSeed() throws {
        func header(_ seed: UInt64?) throws -> Any? {
            let text = JSONReport.render([], backends: SyntheticRun.backends, interleaveSeed: seed)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            return doc["interleave_seed"]
        }
        #expect(try header(0x2A) as? String == "0x2a")
        #expect(try header(nil) is NSNull)
    }

    @Test("kvm-unit trace of a several-vCPU payload on ref shows each vCPU's VMX exits, labelled")
    func traceShowsHardwareExitsPerVCPU() throws {
        let p = try #require(Catalogue.named("ipi_fixed_physical"))
        var lines: [String] = []
        _ = SuiteRunner().run(p, on: try Backends.openReference(), backend: "ref") { lines.append($0) }
        // Every vCPU has VMX-level exits (its boot); only the BSP's checks exit to userspace.
        for i in 0..<4 {
            #expect(lines.contains { $0.hasPrefix("    vCPU \(i): VMX ") }, "VMX-level lines of vCPU \(i)")
        }
        #expect(lines.contains { $0.hasPrefix("1: vCPU 0: KVM_EXIT_IO") }, "KVM exits carry their vCPU")
    }

    static var severalVCPUPayloads: [Payload] { Catalogue.all.filter { $0.header.vcpuCount > 1 } }

    @Test("the irq group has several-vCPU payloads, and each passes on ref with its checks tagged by vCPU")
    func catalogueRunsOnRef() throws {
        let payloads = Self.severalVCPUPayloads
        #expect(payloads.count >= 20)
        let ref = try Backends.openReference()
        for p in payloads {
            let r = SuiteRunner().run(p, on: ref, backend: "ref")
            #expect(r.verdict == .pass, "\(p.name): \(r.lines.map(\.text))")
            let outcome = try #require(r.outcome)
            #expect(outcome.checks.allSatisfy { $0.vcpu != nil }, "\(p.name)")
            #expect(outcome.trace.allSatisfy { $0.vcpu != nil }, "\(p.name)")
        }
    }

    @Test("two runs of a several-vCPU payload on ref give the same trace, exit by exit")
    func fixedInterleavingIsDeterministic() throws {
        for name in ["ipi_lowest_priority", "ioapic_level_eoi_from_ap", "ipi_init_sipi_restart"] {
            let p = try #require(Catalogue.named(name))
            let a = try #require(SuiteRunner().run(p, on: try Backends.openReference(), backend: "ref").outcome)
            let b = try #require(SuiteRunner().run(p, on: try Backends.openReference(), backend: "ref").outcome)
            #expect(a.trace == b.trace && a.traceDigest == b.traceDigest && a.checks == b.checks, "\(name)")
            #expect(a.trace.map(\.description).contains { $0.hasPrefix("vCPU 0: ") }, "\(name)")
        }
    }

    /// A payload with a data race: the BSP reads a flag once that an AP sets after a
    /// delay, with no synchronisation, so its verdict depends on the interleaving.
    static let racy = """
        %define PL_FLAGS PL_F_IRQCHIP
        %define PL_VCPUS 2
        %include "payload.inc"
        PAYLOAD racy_flag, irq, long64, "order-dependent on purpose: reads an AP's flag without waiting"
        payload_main:
            mov ecx, 300
        .spin:
            dec ecx
            jnz .spin
            CHECK_EQ [flag], 0, "the AP has not set the flag yet"
            PAYLOAD_DONE
        payload_ap_main:
            mov ecx, 300
        .spin:
            dec ecx
            jnz .spin
            mov qword [flag], 1
        .idle:
            hlt
            jmp .idle
            align 8
        flag: dq 0
        """

    @Test("the shuffled interleaving finds an order-dependent payload that the fixed one cannot")
    func shuffledInterleavingFindsOrderDependence() throws {
        let p = try assemblePayload("racy_flag", source: Self.racy)
        let ref = try Backends.openReference()
        var fixed = Set<Verdict>()
        for _ in 0..<3 { fixed.insert(SuiteRunner().run(p, on: ref, backend: "ref").verdict) }
        #expect(fixed.count == 1, "the fixed interleaving gives one verdict")
        var shuffled = Set<Verdict>()
        for seed in UInt64(1)...32 {
            var runner = SuiteRunner()
            runner.interleaving = .shuffled(seed: seed)
            shuffled.insert(runner.run(p, on: ref, backend: "ref").verdict)
        }
        #expect(shuffled == [.pass, .fail], "seeds 1-32 give both verdicts: \(shuffled)")
        // The same seed gives the same verdict.
        var again = SuiteRunner()
        again.interleaving = .shuffled(seed: 7)
        let v1 = again.run(p, on: ref, backend: "ref").verdict
        #expect(again.run(p, on: ref, backend: "ref").verdict == v1)
    }
}

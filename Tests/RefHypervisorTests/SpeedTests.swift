import Foundation
import Testing
import KVMABI
@testable import RefHypervisor

/// Interpreter speed on a tight ALU loop (reported, and a floor asserted).
@Suite(.serialized) struct SpeedTests {
    static let loopSource = """
    %include "payload.inc"
    %define PL_BUDGET 100000000
    PAYLOAD speed_alu, emulator, long64, "tight ALU loop"
    payload_main:
        mov ecx, 5000000
        xor eax, eax
        mov ebx, 3
    .l:
        add eax, ebx
        xor edx, eax
        shl edx, 1
        sub ecx, 1
        jnz .l
        PAYLOAD_DONE
    """

    @Test func aluLoopMIPS() throws {
        let bin = try PayloadRunner.assembleSource(SpeedTests.loopSource, name: "speed_alu")
        let t0 = DispatchTime.now().uptimeNanoseconds
        let o = PayloadRunner.run(bin)
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let mips = Double(o.retired) / dt / 1e6
        print("ref ALU loop: \(o.retired) instructions in \(String(format: "%.3f", dt)) s = \(String(format: "%.1f", mips)) MIPS")
        #expect(o.passed)
        #expect(o.retired > 25_000_000)
        #expect(mips > 10, "interpreter too slow: \(mips) MIPS")
    }

    @Test(arguments: ["bench_alu_loop", "bench_mem_call_loop"])
    func benchPayloadMIPS(_ name: String) throws {
        guard PayloadRunner.payloadNames("emulator").contains(name) else { return }
        let bin = try PayloadRunner.assemble("emulator", name)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let o = PayloadRunner.run(bin)
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        print("ref \(name): \(o.retired) instructions in \(String(format: "%.3f", dt)) s = \(String(format: "%.1f", Double(o.retired) / dt / 1e6)) MIPS")
        #expect(o.passed)
    }
}

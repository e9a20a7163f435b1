// swift-tools-version: 6.1
// The KVM userspace-ABI conformance suite and its reference hypervisor.
// Data flows one way: GuestPayloads -> Conformance -> (HostKVM | RefHypervisor) via KVMABI.
import PackageDescription

/// The reference engine is an interpreter: it must be fast even in the debug builds that
/// `swift test` uses, so it is always optimised, with exclusivity checks off (the hot state
/// lives behind unsafe pointers and is never accessed re-entrantly). Every engine function
/// starts on a 64-byte line (`-align-all-functions=6`): where runBlocks' dispatch sequence
/// falls in its cache lines then depends on runBlocks' own code alone, not on the size of
/// whatever the linker puts before it (a change to the bench code moved it by 880 bytes;
/// DESIGN.md "Issue 13"). Every innermost loop starts on one too
/// (`-x86-experimental-pref-innermost-loop-alignment=6`; `-align-loops` is overridden by the
/// x86 target), so a loop's head does not move within its line with the code before it
/// (runBlocks' single dispatch sequence was one until the block-end op let the compiler
/// copy the dispatch into every case). SwiftPM does not recompile a target when only these
/// flags change: remove .build/<triple>/<configuration> after editing them.
let engineSettings: [SwiftSetting] = [
    .unsafeFlags(["-O", "-wmo", "-num-threads", "2", "-enforce-exclusivity=unchecked",
                  "-Xllvm", "-align-all-functions=6", "-Xllvm", "-x86-experimental-pref-innermost-loop-alignment=6"]),
]

let package = Package(
    name: "kvm-conformance",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kvm-unit", targets: ["kvm-unit"]),
        .library(name: "Conformance", targets: ["Conformance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C shim: fixed-arity ioctl wrappers returning -errno, and linux/kvm.h for Swift.
        .target(name: "CKVM"),
        // The C baseline of `kvm-unit bench host`: the benchmarked steps with raw ioctls.
        .target(name: "CKVMBench"),
        // The ABI vocabulary and the backend protocols. Pure Swift, no Linux headers.
        .target(name: "KVMABI"),
        // The /dev/kvm backend.
        .target(name: "HostKVM", dependencies: ["CKVM", "KVMABI"]),
        // The reference engine: KVM on Intel VMX with EPT, in software.
        .target(name: "RefHypervisor", dependencies: ["KVMABI"], swiftSettings: engineSettings),
        // The payload ABI v1 header: parsed by the build tool and by the harness alike.
        .target(name: "PayloadFormat"),
        // nasm -> Swift: assembles guests/**/*.asm and validates each payload header.
        .executableTarget(name: "payload-assembler", dependencies: ["PayloadFormat"]),
        .plugin(name: "GuestAssembler", capability: .buildTool(), dependencies: ["payload-assembler"]),
        .target(name: "GuestPayloads", dependencies: ["PayloadFormat"], plugins: ["GuestAssembler"]),
        // The harness: load, run loop, userspace devices, trace, compare, report.
        .target(name: "Conformance", dependencies: ["KVMABI", "HostKVM", "GuestPayloads", "PayloadFormat", "CKVMBench", "RefHypervisor"]),
        // Every module kvm-unit imports is listed: SwiftPM rebuilds a target when a direct
        // dependency changes, and a stale view of GuestPayloads' types crashed it.
        .executableTarget(name: "kvm-unit", dependencies: [
            "Conformance", "GuestPayloads", "PayloadFormat", "KVMABI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "HostKVMTests", dependencies: ["CKVM", "KVMABI", "HostKVM", "Conformance", "GuestPayloads", "PayloadFormat", "kvm-unit"]),
        .testTarget(name: "RefHypervisorTests", dependencies: ["RefHypervisor", "KVMABI"]),
        .testTarget(name: "ConformanceTests", dependencies: ["Conformance", "GuestPayloads", "PayloadFormat", "KVMABI", "RefHypervisor", "kvm-unit"]),
        .testTarget(name: "Exits", dependencies: ["Conformance"]),
        .testTarget(name: "MMU", dependencies: ["Conformance"]),
        .testTarget(name: "Emulator", dependencies: ["Conformance"]),
        .testTarget(name: "IRQ", dependencies: ["Conformance"]),
    ]
)

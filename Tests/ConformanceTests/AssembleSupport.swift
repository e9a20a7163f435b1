import Conformance
import Foundation
import GuestPayloads
import Testing

/// Assembles a payload source with the suite's include files (nasm, as the build plugin
/// does) into a Payload; the file is named after `name`, as the runner requires.
func assemblePayload(_ name: String, source: String) throws -> Payload {
    let include = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../guests/include/").standardized.path + "/"
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("assemble-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let src = dir.appendingPathComponent("\(name).asm"), out = dir.appendingPathComponent("\(name).bin")
    try source.write(to: src, atomically: true, encoding: .utf8)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/nasm")
    p.arguments = ["-f", "bin", "-I", include, src.path, "-o", out.path]
    let pipe = Pipe()
    p.standardError = pipe
    try p.run()
    p.waitUntilExit()
    let diagnostics = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    try #require(p.terminationStatus == 0, "nasm: \(diagnostics)")
    return try Payload(image: [UInt8](Data(contentsOf: out)), source: out.path)
}

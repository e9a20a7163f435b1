// GuestAssembler: assembles every guests/<group>/*.asm with nasm during `swift build` and
// turns each image into Swift inside the GuestPayloads target.
//
// One build command per payload (so editing one .asm reassembles just that one), each
// depending on every include file (so editing the boot library reassembles them all), and
// one command that writes the list of all payloads.
import Foundation
import PackagePlugin

@main
struct GuestAssembler: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let tool = try context.tool(named: "payload-assembler").url
        let guests = context.package.directoryURL.appending(path: "guests")
        let include = guests.appending(path: "include")
        let fm = FileManager.default
        // include/ and its sub-folders (include/forms: the generated bodies of the form payloads)
        let includeDirs = [include] + (((try? fm.contentsOfDirectory(at: include, includingPropertiesForKeys: [.isDirectoryKey])) ?? [])
            .filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true })
        let includes = includeDirs.flatMap { (try? fm.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil)) ?? [] }
            .filter { $0.pathExtension == "inc" }
        let groups = ["exits", "mmu", "emulator", "irq"]
        var commands: [Command] = []
        var names: [String] = []
        let out = context.pluginWorkDirectoryURL
        for group in groups {
            let dir = guests.appending(path: group)
            let sources = ((try? fm.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
                .filter { $0.pathExtension == "asm" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
            for source in sources {
                let name = source.deletingPathExtension().lastPathComponent
                names.append(name)
                let generated = out.appending(path: "Payload_\(name).swift")
                commands.append(.buildCommand(
                    displayName: "Assembling guests/\(group)/\(name).asm",
                    executable: tool,
                    arguments: ["assemble", source.path, "--include", include.path,
                                "--source", "guests/\(group)/\(name).asm", "--output", generated.path],
                    inputFiles: [source] + includes,
                    outputFiles: [generated]))
            }
        }
        let catalogue = out.appending(path: "GeneratedCatalogue.swift")
        let divergences = guests.appending(path: "known-divergences.txt")
        commands.append(.buildCommand(
            displayName: "Listing \(names.count) guest payloads",
            executable: tool,
            arguments: ["catalogue", "--output", catalogue.path, "--divergences", divergences.path] + names,
            inputFiles: [divergences],
            outputFiles: [catalogue]))
        return commands
    }
}

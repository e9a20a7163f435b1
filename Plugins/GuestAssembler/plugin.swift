import PackagePlugin
struct GuestAssembler: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] { [] }
}
@main extension GuestAssembler {}

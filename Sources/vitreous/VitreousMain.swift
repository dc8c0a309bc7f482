import VitreousCLI

/// The `vitreous` executable: the commands live in the VitreousCLI library.
@main
enum VitreousMain {
    static func main() { VitreousCommand.main() }
}

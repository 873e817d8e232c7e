/// Facts about this build of cotforge.
public enum Cotforge {
    /// The tool version recorded in manifests and printed by `cotforge --version`.
    public static let version = "0.1.0"
}

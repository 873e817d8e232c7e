/// Instructions appended to a question to ask for a short (System 1) or a long, step-by-step
/// (System 2) chain of thought; the dual-cognitive pairs of S3-CoT are trained with them.
public enum Instruction {
    public static let system1 = "Please provide as a brief reasoning process as possible, and put your final answer within \\boxed{}"
    public static let system2 = "Please reason step by step, and put your final answer within \\boxed{}"

    /// `fast`/`system1`, `slow`/`system2`, `none`, or any other text taken as the instruction.
    public static func named(_ name: String) -> String? {
        switch name {
        case "fast", "system1": return system1
        case "slow", "system2": return system2
        case "none", "": return nil
        default: return name
        }
    }
}


/// One chat message.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) { self.role = role; self.content = content }
}

/// Renders chat messages the way a model's `tokenizer.chat_template` does, for the two
/// families the engine supports. Not a Jinja interpreter: the family is recognised from the
/// template, and the default system prompt that ChatML templates insert (SmolLM2, Qwen2) is
/// read out of the template text itself.
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` …; `defaultSystem` is added when the first
    /// message is not a system message and the template does so.
    case chatML(defaultSystem: String?)
    /// `<|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` …
    case llama3

    /// The family of a template string; throws for templates of other families.
    public static func detect(_ template: String?) throws -> ChatTemplate {
        guard let t = template else {
            throw GGUFError(path: "", message: "the model has no chat template (tokenizer.chat_template)", hint: "generate without --chat")
        }
        if t.contains("<|im_start|>") {
            // e.g. {% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are …<|im_end|>\n' }}{% endif %}
            // The newline inside the Jinja string may be a real one or an escaped "\n".
            var system: String? = nil
            if t.contains("!= 'system'") || t.contains("!= \"system\"") {
                for (marker, escaped) in [("<|im_start|>system\n", false), ("<|im_start|>system\\n", true)] {
                    guard let r = t.range(of: marker) else { continue }
                    let rest = t[r.upperBound...]
                    if let end = rest.range(of: "<|im_end|>") {
                        let text = String(rest[..<end.lowerBound])
                        system = escaped ? text.replacingOccurrences(of: "\\n", with: "\n") : text
                    }
                    break
                }
            }
            return .chatML(defaultSystem: system)
        }
        if t.contains("<|start_header_id|>") { return .llama3 }
        throw GGUFError(path: "", message: "this chat template is not supported", hint: "supported: ChatML (SmolLM2, Qwen2) and Llama 3")
    }

    /// The prompt text for `messages`, ending with the assistant header when `addGenerationPrompt`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var s = ""
        switch self {
        case .chatML(let system):
            if let sys = system, messages.first?.role != "system" {
                s += "<|im_start|>system\n\(sys)<|im_end|>\n"
            }
            for m in messages { s += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { s += "<|im_start|>assistant\n" }
        case .llama3:
            s += "<|begin_of_text|>"
            for m in messages { s += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(m.content)<|eot_id|>" }
            if addGenerationPrompt { s += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        }
        return s
    }

    /// Texts that end an assistant turn.
    public var stopTexts: [String] {
        switch self {
        case .chatML: return ["<|im_end|>"]
        case .llama3: return ["<|eot_id|>"]
        }
    }
}

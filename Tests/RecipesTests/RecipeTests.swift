import Corpus
import Foundation
import Testing
import TestSupport
@testable import Recipes

/// Loading recipes: the shipped ones load; every kind of mistake is an error that names the
/// line and the key.
@Suite struct RecipeTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let minimal = """
        name: tiny
        questions:
          generate: {count: 4}
        """

    func error(_ text: String) -> RecipeError? {
        do { _ = try Recipe(text: text, path: "r.yaml"); return nil } catch let e as RecipeError { return e } catch { return nil }
    }

    @Test func shippedRecipesLoad() throws {
        for name in ["s3cot-arith.yaml", "s3cot-gsm8k.yaml"] {
            let r = try Recipe.load(path: Self.repo + "/datasets/" + name)
            #expect(r.steers && r.pairs != nil, "\(name)")
            if case .importFiles(let imp) = r.questions {
                #expect(imp.paths.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "\(name): \(imp.paths)")
            }
        }
    }

    @Test func minimalRecipeHasDefaults() throws {
        let r = try Recipe(text: Self.minimal, path: "dir/r.yaml")
        #expect(r.name == "tiny" && r.model == "smollm2" && r.verify == .gold && !r.steers)
        #expect(r.questions == .generate(Recipe.Generate(count: 4)))
        #expect(r.splits.map(\.name) == ["validation"] && r.exports == ["jsonl"])
    }

    /// Each mistake names the line of the offending key and the key path.
    @Test(arguments: [
        ("name: tiny\nquestions:\n  generate: {count: 4}\nsampel: {samples: 2}\n", 4, "sampel", "not allowed"),
        ("name: tiny\nquestions:\n  generate: {count: four}\n", 3, "questions.generate.count", "expected integer"),
        ("name: tiny\nquestions:\n  generate: {count: 4}\nsample:\n  max_tokens: 0\n", 5, "sample.max_tokens", "minimum"),
        ("name: tiny\nquestions: {}\n", 2, "questions", "exactly one of generate or import"),
        ("name: tiny\nquestions:\n  generate: {count: 4}\n  import: {path: a.jsonl, format: gsm8k}\n", 2, "questions", "exactly one"),
        ("name: tiny\nquestions:\n  generate: {count: 4}\nfilters:\n  - format\n  - spelling\n", 6, "filters.1", "unknown filter spelling"),
        ("name: tiny\nquestions:\n  generate: {count: 4, steps: 2-7}\n", 3, "questions.generate.steps", "within 1-4"),
        ("name: tiny\nquestions:\n  generate: {count: 4}\nsteer:\n  extract: {questions: 4}\n", 4, "steer", "calibrate"),
        ("name: tiny\nquestions:\n  generate: {count: 4}\nsteer:\n  extract: {}\n  calibrate: {alphas: \"-1:x:0\"}\n", 6, "steer.calibrate.alphas", "start:step:end"),
        ("name: tiny\nquestions:\n  generate: {count: 4}\nsample: {samples: 3}\n", 4, "sample.samples", "temperature"),
        ("name: tiny\nquestions:\n  generate: {count: 4}\ndecontaminate: {against: [heldout]}\n", 4, "decontaminate.against", "questions.heldout"),
        ("name: tiny\nquestions:\n  generate: {count: 4}\nfilters:\n  - length: {max: {\"reasoning:lines\": 5}}\n", 5, "filters.0", "unit"),
        ("name: bad name\nquestions:\n  generate: {count: 4}\n", 1, "name", "does not match"),
        ("name: tiny\nquestions:\n  generate: {count: 4}\npairs: {}\n", 4, "pairs", "steer"),
    ] as [(String, Int, String, String)])
    func errorsNameLineAndKey(text: String, line: Int, key: String, words: String) throws {
        let e = try #require(error(text), "accepted: \(text)")
        #expect(e.line == line, "\(e)")
        #expect(e.key == key, "\(e)")
        #expect(e.description.contains(words), "\(e)")
        #expect(e.description.hasPrefix("r.yaml:\(line): "), "\(e)")
    }

    @Test func yamlSyntaxErrorsNameTheLine() throws {
        let e = try #require(error("name: tiny\nquestions:\n  generate: {count: 4\n"))
        #expect(e.line != nil && e.description.contains("YAML"), "\(e)")
        let dup = try #require(error("name: tiny\nname: again\nquestions:\n  generate: {count: 4}\n"))
        #expect(dup.description.contains("twice"), "\(dup)")
        let empty = try #require(error(""))
        #expect(empty.description.contains("empty"), "\(empty)")
    }

    /// YAML scalars become the JSON values PyYAML gives: numbers, booleans, null, strings.
    @Test func scalarsResolveLikePyYAML() throws {
        let y = try RecipeYAML(text: "a: 3\nb: -0.5\nc: true\nd: ~\ne: '3'\nf: 8-14\ng: [0, -1.5]\n", file: "x")
        let o = try #require(y.value.objectValue)
        #expect(o["a"] == .int(3) && o["b"] == .number("-0.5") && o["c"] == .bool(true) && o["d"] == .null)
        #expect(o["e"] == .string("3") && o["f"] == .string("8-14") && o["g"] == .array([.int(0), .number("-1.5")]))
        #expect(y.line(of: "g.1") == 7 && y.line(of: "c") == 3)
    }

    /// The schema file in schemas/ is the one the loader uses.
    @Test func schemaFileMatches() throws {
        let text = try String(contentsOfFile: Self.repo + "/schemas/recipe.schema.json", encoding: .utf8)
        #expect(text == Schemas.recipe + "\n")
    }
}

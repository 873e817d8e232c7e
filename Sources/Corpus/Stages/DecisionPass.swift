import Foundation

/// The last pass of a two-pass job (curriculum, consensus, pairs): reads every record again,
/// asks `decide` what becomes of it — written (possibly changed) to a writer, or dropped with
/// a reason — writes drops and unreadable lines to `rejects`, and counts both stages, so that
/// in = kept + dropped holds for each job by construction.
public enum DecisionPass {
    public enum Decision {
        case write(JSONLWriter)
        case drop(String, String)
    }

    public static func run(inputs: [String], stage name: String, readOptions: RecordReader.Options, rejects: JSONLWriter,
                           decide: (inout Example, RecordLine) throws -> Decision) throws -> [StageCounts] {
        var read = StageCounts(name: "read"), stage = StageCounts(name: name)
        for path in inputs {
            try RecordReader(path: path, options: readOptions).forEach({ line in
                read.keep()
                var r = try line.example()
                switch try decide(&r, line) {
                case .write(let writer):
                    stage.keep()
                    try writer.write(r)
                case .drop(let reason, let detail):
                    stage.drop(reason)
                    try rejects.write(Reject(stage: name, reason: reason, detail: detail, file: path, line: line.line,
                                             offset: line.offset, id: r.id, payload: .record(r.jsonBytes)).jsonBytes)
                }
            }, onReject: { rej in
                read.drop(rej.reason)
                try rejects.write(rej.jsonBytes)
            })
        }
        return [read, stage]
    }
}

import ArgumentParser
import Foundation
import TokenMDP

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the MDP of a config's mdp: block as a tokenmdp/v1 JSON file.",
        discussion: """
        Only the mdp: block is needed. The MDP is the one `tokenmdp run` builds for run
        seed --seed (default: the config's first seed, or 0); with mdp.seed set it is
        that fixed MDP. Sweeps are not applied.

        Examples:
          tokenmdp generate configs/default.yaml --out mdp.json
          tokenmdp generate configs/default.yaml --out mdp-seed3.json --seed 3
          tokenmdp solve --mdp mdp.json --beta 0.5
        """)

    @OptionGroup var config: ConfigOptions
    @Option(help: "The JSON file to write.") var out: String
    @Option(help: "Run seed whose MDP to write (default: the first of seeds:, or 0).") var seed: UInt64?
    @Flag(help: "Replace --out if it exists.") var overwrite = false
    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDir), isDir.boolValue {
            throw ValidationError("--out \(out) is a folder; give the JSON file to write")
        }
        try checkOutputFolder(URL(fileURLWithPath: out).deletingLastPathComponent().path, option: "--out")
    }

    func run() throws {
        try runReportingErrors {
            let doc = try ConfigDocument.load(contentsOf: config.url).applying(overrides: config.overrides)
            let url = URL(fileURLWithPath: out)
            if !overwrite, FileManager.default.fileExists(atPath: url.path) { throw OutputError.exists(url.path) }
            if let shape = try doc.generatorShape() {
                try MemorySize.check(MemorySize.generateBytes(shape), limit: try memory.limit(), what: "generating this MDP")
            }
            let (mdp, runSeed) = try doc.generateMDP(runSeed: seed)
            try AtomicFile.write(mdp.encodeJSON(), to: url)
            print("wrote \(out): \(mdp.numLatent) latent states, vocab \(mdp.vocabSize), horizon \(mdp.horizon), "
                  + "\(mdp.promptIndices(.train).count) train + \(mdp.promptIndices(.test).count) test prompts (run seed \(runSeed))")
        }
    }
}

import Foundation

/// Reading and writing the `tokenmdp/v1` interchange file (SPEC §2.2).
///
///     { "format": "tokenmdp/v1", "vocab_size": V, "horizon": H, "eos": null | token,
///       "num_latent": S, "transitions": [[…V ints…] × S], "rewards": [[…V numbers or null…] × S],
///       "terminal_rewards": [S numbers],
///       "prompts": [{"latent": q0, "tokens": [..], "weight": w, "split": "train"|"test"}, …],
///       "success_latents": [S booleans]          // optional extension, written by generators }
///
/// Every index, length and number is validated; an error names the field and
/// its position (`rewards[3][7]`), or the line and column for broken JSON.
extension TokenMDP {
    public static let formatTag = "tokenmdp/v1"

    /// Loads and validates an MDP file.
    public static func load(contentsOf url: URL) throws -> TokenMDP {
        let data: Data
        do { data = try InputFile.read(url) } catch {
            throw TokenMDPError.invalid(field: url.path, message: "cannot read the MDP file: \(error)")
        }
        // Errors name the file: `mdp.json: rewards[3][7]: …`.
        do { return try decode(json: data) } catch let TokenMDPError.invalid(field, message) {
            throw TokenMDPError.invalid(field: "\(url.lastPathComponent): \(field)", message: message)
        }
    }

    /// Decodes and validates `tokenmdp/v1` JSON.
    public static func decode(json data: Data) throws -> TokenMDP {
        let root: JSONValue
        do { root = try JSONParser.parse(data) } catch let e as JSONParseError {
            throw TokenMDPError.invalid(field: "JSON", message: e.description)
        }
        guard case let .object(pairs) = root else {
            throw TokenMDPError.invalid(field: "(root)", message: "expected an object, got \(root.typeName)")
        }
        let known: Set<String> = ["format", "vocab_size", "horizon", "eos", "num_latent", "transitions",
                                  "rewards", "terminal_rewards", "prompts", "success_latents"]
        for (k, _) in pairs where !known.contains(k) {
            throw TokenMDPError.invalid(field: k, message: "unknown key (expected one of: \(known.sorted().joined(separator: ", ")))")
        }
        func req(_ k: String) throws -> JSONValue {
            guard let v = root[k] else { throw TokenMDPError.invalid(field: k, message: "missing required field") }
            return v
        }
        guard case let .string(fmt) = try req("format"), fmt == formatTag else {
            throw TokenMDPError.invalid(field: "format", message: "expected \"\(formatTag)\"")
        }
        let V = try int(try req("vocab_size"), "vocab_size")
        let H = try int(try req("horizon"), "horizon")
        let S = try int(try req("num_latent"), "num_latent")
        guard V >= 1 && V <= maxVocab else { throw TokenMDPError.invalid(field: "vocab_size", message: "must be in 1...\(maxVocab), got \(V)") }
        guard H >= 1 && H <= maxHorizon else { throw TokenMDPError.invalid(field: "horizon", message: "must be in 1...\(maxHorizon), got \(H)") }
        guard S >= 1, S <= maxEdges / V else { throw TokenMDPError.invalid(field: "num_latent", message: "must be in 1...\(maxEdges / V) for vocab_size \(V), got \(S)") }
        var eos: Int? = nil
        if let e = root["eos"], e != .null { eos = try int(e, "eos") }

        let tRows = try rows(try req("transitions"), "transitions", count: S, width: V)
        var transitions = [Int32](repeating: 0, count: S * V)
        for q in 0..<S {
            for a in 0..<V {
                let f = "transitions[\(q)][\(a)]"
                let d = try int(tRows[q][a], f)
                guard d >= 0 && d < S else { throw TokenMDPError.invalid(field: f, message: "latent state \(d) is out of range 0..<\(S)") }
                transitions[q * V + a] = Int32(d)
            }
        }
        let rRows = try rows(try req("rewards"), "rewards", count: S, width: V)
        var rewards = [Double](repeating: 0, count: S * V)
        for q in 0..<S {
            for a in 0..<V {
                let v = rRows[q][a]
                rewards[q * V + a] = v == .null ? -.infinity : try finite(v, "rewards[\(q)][\(a)]")
            }
        }
        guard case let .array(tr) = try req("terminal_rewards") else {
            throw TokenMDPError.invalid(field: "terminal_rewards", message: "expected an array of \(S) numbers")
        }
        guard tr.count == S else { throw TokenMDPError.invalid(field: "terminal_rewards", message: "expected \(S) entries, got \(tr.count)") }
        let terminal = try tr.enumerated().map { try finite($1, "terminal_rewards[\($0)]") }

        guard case let .array(ps) = try req("prompts") else {
            throw TokenMDPError.invalid(field: "prompts", message: "expected an array of prompt objects")
        }
        var prompts: [Prompt] = []
        for (i, p) in ps.enumerated() {
            let f = "prompts[\(i)]"
            guard case let .object(pp) = p else { throw TokenMDPError.invalid(field: f, message: "expected an object, got \(p.typeName)") }
            for (k, _) in pp where !["latent", "tokens", "weight", "split"].contains(k) {
                throw TokenMDPError.invalid(field: "\(f).\(k)", message: "unknown key (expected latent, tokens, weight, split)")
            }
            guard let lv = p["latent"] else { throw TokenMDPError.invalid(field: "\(f).latent", message: "missing required field") }
            let latent = try int(lv, "\(f).latent")
            var tokens: [Int] = []
            if let tv = p["tokens"] {
                guard case let .array(ta) = tv else { throw TokenMDPError.invalid(field: "\(f).tokens", message: "expected an array of tokens") }
                tokens = try ta.enumerated().map { try int($1, "\(f).tokens[\($0)]") }
            }
            let weight = try p["weight"].map { try finite($0, "\(f).weight") } ?? 1
            var split = Split.train
            if let sv = p["split"] {
                guard case let .string(s) = sv, let sp = Split(rawValue: s) else {
                    throw TokenMDPError.invalid(field: "\(f).split", message: "expected \"train\" or \"test\"")
                }
                split = sp
            }
            prompts.append(Prompt(latent: latent, tokens: tokens, weight: weight, split: split))
        }
        var success: [Bool]? = nil
        if let sv = root["success_latents"], sv != .null {
            guard case let .array(sa) = sv else { throw TokenMDPError.invalid(field: "success_latents", message: "expected an array of booleans") }
            success = try sa.enumerated().map { i, v in
                guard case let .bool(b) = v else { throw TokenMDPError.invalid(field: "success_latents[\(i)]", message: "expected a boolean, got \(v.typeName)") }
                return b
            }
        }
        return try TokenMDP(vocabSize: V, horizon: H, eos: eos, numLatent: S, transitions: transitions,
                            rewards: rewards, terminalRewards: terminal, prompts: prompts, successLatents: success)
    }

    private static func int(_ v: JSONValue, _ field: String) throws -> Int {
        guard case let .number(d, lit) = v else { throw TokenMDPError.invalid(field: field, message: "expected an integer, got \(v.typeName)") }
        guard d == d.rounded(), abs(d) < 9.0e15, !lit.contains("."), let i = Int(exactly: d) else {
            throw TokenMDPError.invalid(field: field, message: "expected an integer, got \(lit)")
        }
        return i
    }

    private static func finite(_ v: JSONValue, _ field: String) throws -> Double {
        guard case let .number(d, lit) = v else { throw TokenMDPError.invalid(field: field, message: "expected a number, got \(v.typeName)") }
        guard d.isFinite else { throw TokenMDPError.invalid(field: field, message: "number \(lit) is out of the range of a Double") }
        return d
    }

    private static func rows(_ v: JSONValue, _ field: String, count: Int, width: Int) throws -> [[JSONValue]] {
        guard case let .array(rs) = v else { throw TokenMDPError.invalid(field: field, message: "expected an array of \(count) rows") }
        guard rs.count == count else { throw TokenMDPError.invalid(field: field, message: "expected \(count) rows (num_latent), got \(rs.count)") }
        return try rs.enumerated().map { q, r in
            guard case let .array(row) = r else { throw TokenMDPError.invalid(field: "\(field)[\(q)]", message: "expected an array of \(width) entries, got \(r.typeName)") }
            guard row.count == width else { throw TokenMDPError.invalid(field: "\(field)[\(q)]", message: "expected \(width) entries (vocab_size), got \(row.count)") }
            return row
        }
    }

    /// Encodes as `tokenmdp/v1` JSON (one latent row per line, numbers in
    /// shortest round-trip form, `null` for −∞ rewards). Byte-stable.
    public func encodeJSON() -> Data {
        var s = "{\n  \"format\": \"\(Self.formatTag)\",\n"
        s += "  \"vocab_size\": \(vocabSize),\n  \"horizon\": \(horizon),\n"
        s += "  \"eos\": \(eos.map(String.init) ?? "null"),\n  \"num_latent\": \(numLatent),\n"
        func rowsText(_ f: (Int) -> String) -> String {
            (0..<numLatent).map { q in "    [" + (0..<vocabSize).map { a in f(q * vocabSize + a) }.joined(separator: ", ") + "]" }
                .joined(separator: ",\n")
        }
        s += "  \"transitions\": [\n" + rowsText { String(transitions[$0]) } + "\n  ],\n"
        s += "  \"rewards\": [\n" + rowsText { rewards[$0] == -.infinity ? "null" : formatNumber(rewards[$0]) } + "\n  ],\n"
        s += "  \"terminal_rewards\": [" + terminalRewards.map(formatNumber).joined(separator: ", ") + "],\n"
        s += "  \"prompts\": [\n" + prompts.map { p in
            "    {\"latent\": \(p.latent), \"tokens\": [\(p.tokens.map(String.init).joined(separator: ", "))], \"weight\": \(formatNumber(p.weight)), \"split\": \"\(p.split.rawValue)\"}"
        }.joined(separator: ",\n") + "\n  ]"
        if let succ = successLatents {
            s += ",\n  \"success_latents\": [" + succ.map { $0 ? "true" : "false" }.joined(separator: ", ") + "]"
        }
        s += "\n}\n"
        return Data(s.utf8)
    }
}

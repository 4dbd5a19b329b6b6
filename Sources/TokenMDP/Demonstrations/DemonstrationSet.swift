import Foundation

/// A validated list of expert demonstrations for one MDP (SPEC §2.4).
///
/// Every demonstration satisfies, against its MDP (`validate`):
///
/// 1. `prompt` is a prompt index in `0..<P`, and that prompt is a **train**
///    prompt. Demonstrations of *test* prompts are an error, not silently
///    dropped: test prompts measure generalisation, so data on them would
///    leak the answer (SPEC §1.1: "Demonstrations come from train prompts
///    only").
/// 2. `tokens` is non-empty, at most `H` long, every token in `0..<V`.
/// 3. EOS (if the MDP has one) appears only as the last token.
/// 4. The response is complete: it ends with EOS or has exactly `H` tokens.
///
/// Order is preserved (it is the order of sampling or of the file's lines);
/// the trie built from a set does not depend on it except for node numbering.
public struct DemonstrationSet: Sendable, Equatable {
    public var demonstrations: [Demonstration]

    /// Wraps demonstrations without checking them (call `validate(against:)`).
    public init(_ demonstrations: [Demonstration]) { self.demonstrations = demonstrations }

    /// Checks every demonstration (rules 1–4 of the type's doc comment).
    /// - Throws: `TokenMDPError.invalid` whose field names the position,
    ///   `demonstrations[i].tokens[j]`.
    public func validate(against mdp: TokenMDP) throws {
        for (i, d) in demonstrations.enumerated() {
            if let (field, message) = Self.problem(with: d, mdp: mdp) {
                throw TokenMDPError.invalid(field: "demonstrations[\(i)].\(field)", message: message)
            }
        }
    }

    /// The first rule `d` breaks, as (field, message), or nil when valid.
    /// `field` is `prompt`, `tokens` or `tokens[j]`.
    public static func problem(with d: Demonstration, mdp: TokenMDP) -> (field: String, message: String)? {
        let P = mdp.prompts.count, V = mdp.vocabSize, H = mdp.horizon
        guard d.prompt >= 0 && d.prompt < P else {
            return ("prompt", "prompt index \(d.prompt) is out of range 0..<\(P)")
        }
        guard mdp.prompts[d.prompt].split == .train else {
            return ("prompt", "prompt \(d.prompt) is a test prompt; demonstrations are allowed for train prompts only")
        }
        guard !d.tokens.isEmpty else { return ("tokens", "the response is empty (a complete response has at least one token)") }
        guard d.tokens.count <= H else {
            return ("tokens", "the response has \(d.tokens.count) tokens, more than the horizon \(H)")
        }
        for (j, a) in d.tokens.enumerated() {
            guard a >= 0 && a < V else { return ("tokens[\(j)]", "token \(a) is out of range 0..<\(V)") }
            if a == mdp.eos && j != d.tokens.count - 1 {
                return ("tokens[\(j)]", "EOS (token \(a)) may only be the last token; it appears at position \(j) of \(d.tokens.count)")
            }
        }
        let last = d.tokens[d.tokens.count - 1]
        guard last == mdp.eos || d.tokens.count == H else {
            let how = mdp.eos.map { "end with EOS (token \($0)) or " } ?? ""
            return ("tokens", "the response is incomplete: \(d.tokens.count) tokens; a complete response must \(how)have exactly \(H) (the horizon) tokens")
        }
        return nil
    }

    /// The teacher-forced trie of this set (SPEC §1.4).
    public func trie(mdp: TokenMDP) -> DemonstrationTrie {
        DemonstrationTrie(mdp: mdp, demonstrations: demonstrations)
    }
}

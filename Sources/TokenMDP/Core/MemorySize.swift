import Foundation

/// Byte sizes for `--max-memory`: parsing, formatting, and the machine's
/// memory.
public enum MemorySize {
    /// Parses a size: a number of bytes (`1073741824`) or a number with a
    /// binary unit `K`, `M`, `G`, `T` (powers of 1024; `KB`/`KiB`, … and
    /// lower case also accepted), e.g. `8G`, `512M`, `1.5g`.
    /// - Throws: `ConfigError` with key `key` naming the accepted forms.
    public static func parse(_ text: String, key: String = "--max-memory") throws -> Double {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("TIB", 0x1p40), ("GIB", 0x1p30), ("MIB", 0x1p20), ("KIB", 0x1p10),
                                         ("TB", 0x1p40), ("GB", 0x1p30), ("MB", 0x1p20), ("KB", 0x1p10),
                                         ("T", 0x1p40), ("G", 0x1p30), ("M", 0x1p20), ("K", 0x1p10), ("B", 1)]
        var number = Substring(t), factor = 1.0
        for (u, f) in units where t.uppercased().hasSuffix(u) {
            number = t.dropLast(u.count)
            factor = f
            break
        }
        let digits = number.trimmingCharacters(in: .whitespaces)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let x = Double(digits), x.isFinite, x > 0, x * factor <= 0x1p60 else {
            throw ConfigError(key: key, "expected a positive size in bytes or with a unit K, M, G or T (e.g. 8G, 512M), got '\(text)'")
        }
        return (x * factor).rounded(.down)
    }

    /// `512 KiB`, `12 MiB`, `3.5 GiB`, `1.2 TiB`.
    public static func format(_ b: Double) -> String {
        if !b.isFinite || b >= 0x1p60 { return String(format: "%.3g EiB", b / 0x1p60) }
        if b < 0x1p20 { return String(format: "%.0f KiB", (b / 1024).rounded(.up)) }
        if b < 0x1p30 { return String(format: "%.0f MiB", b / 0x1p20) }
        if b < 0x1p40 { return String(format: "%.1f GiB", b / 0x1p30) }
        return String(format: "%.1f TiB", b / 0x1p40)
    }

    /// The memory this process may use: the physical memory (`MemTotal` of
    /// `/proc/meminfo`, else `sysconf`), lowered to the cgroup limit when a
    /// container sets one (`memory.max` v2, `memory.limit_in_bytes` v1).
    public static var available: Double {
        var total = Double(ProcessInfo.processInfo.physicalMemory)
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kib = Double(line.split(separator: " ").dropFirst().first ?? "") {
            total = kib * 1024
        }
        for f in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let s = try? String(contentsOfFile: f, encoding: .utf8),
               let limit = Double(s.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0, limit < total {
                total = limit
            }
        }
        return total
    }

    /// The default `--max-memory`: 80% of `available`.
    public static var defaultLimit: Double { (0.8 * available).rounded(.down) }

    /// Throws a `ConfigError` (key `--max-memory`, exit 2) when `bytes`, the
    /// estimated peak of `what`, exceeds `limit`.
    public static func check(_ bytes: Double, limit: Double, what: String) throws {
        guard !(bytes <= limit) else { return }
        throw ConfigError(key: "--max-memory", "\(what) needs an estimated \(format(bytes)) of memory but the limit is \(format(limit)); shrink the input or raise --max-memory")
    }

    /// Peak memory of `generate` for an MDP of this shape: the MDP (12 bytes
    /// per edge) and its JSON text, built as a String and copied once to
    /// Data (2 × 32 bytes per edge: a transition and a reward of up to ~16
    /// characters each).
    public static func generateBytes(_ s: MDPShape) -> Double {
        let edges = Double(s.numLatent) * Double(s.vocabSize)
        return 32 * 0x1p20 + 76 * edges + 30 * Double(s.numLatent) + Double(s.prompts) * (160 + 16 * Double(s.promptTokens))
    }

    /// Peak memory of loading an MDP file of `fileBytes` bytes: the parsed
    /// JSON tree (about 48 bytes per number, and a number takes at least
    /// 2 bytes of text) and the file itself.
    public static func loadBytes(fileBytes: Double) -> Double { 32 * 0x1p20 + 25 * fileBytes }

    /// Peak memory of `solve` after loading: the MDP, the values and, with
    /// CSV output, `q.csv`'s text (≈ 48 bytes per (t, q, a) line) and
    /// `values.csv`'s (≈ 32 bytes per (t, q)).
    public static func solveBytes(_ s: MDPShape, writeCSV: Bool) -> Double {
        let S = Double(s.numLatent), V = Double(s.vocabSize), H = Double(s.horizon)
        var b = 32 * 0x1p20 + 12 * S * V + 8 * (H + 1) * S
        if writeCSV { b += 48 * H * S * V + 32 * (H + 1) * S }
        return b
    }
}

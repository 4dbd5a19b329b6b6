/// Byte-level mutations shared by the fuzzers.

/// Replaces the number nearest at or after byte `i` (digits, '-', '.', 'e')
/// with `replacement`; the text unchanged when no number follows.
func replaceNumber(_ b: [UInt8], at i: Int, with replacement: String) -> String {
    var j = i
    let isNum: (UInt8) -> Bool = { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    while j < b.count, !isNum(b[j]) { j += 1 }
    guard j < b.count else { return String(decoding: b, as: UTF8.self) }
    var k = j
    while k < b.count, isNum(b[k]) || b[k] == UInt8(ascii: "e") { k += 1 }
    return String(decoding: Array(b[..<j]) + Array(replacement.utf8) + Array(b[k...]), as: UTF8.self)
}

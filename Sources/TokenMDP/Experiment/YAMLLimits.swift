import CYaml
import Foundation

/// Structural limits on YAML text (configs, `--set` values), checked on the
/// libyaml event stream *before* the text is composed into a node tree.
///
/// Yams composes recursively and expands aliases by copying, and every walk
/// over the tree (duplicate keys, decoding, flow text) is recursive too; so
/// without limits a short text can overflow the stack (`[[[[…` ten thousand
/// deep) or expand exponentially ("billion laughs": each anchor aliasing the
/// previous one twice). The event pass uses libyaml's own iterative parser
/// and O(depth) memory, and counts nodes *after* alias expansion:
///
/// * text size ≤ `maxBytes` (1 MiB; configs are a few hundred bytes);
/// * nesting depth ≤ `maxDepth` (64; a config needs 5);
/// * nodes after expanding every alias ≤ `maxNodes` (100 000).
///
/// Syntax errors are not reported here: the pass stops and the composer
/// reports them with its own message and line.
enum YAMLLimits {
    static let maxBytes = 1 << 20
    static let maxDepth = 64
    static let maxNodes = 100_000

    /// Throws a `ConfigError` (with `key` and the 1-based line) when `text`
    /// breaks a limit.
    static func check(_ text: String, key: String = "", file: String? = nil) throws {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxBytes else {
            throw ConfigError(key: key, "the YAML text is \(bytes.count) bytes, more than the limit of \(maxBytes) bytes", file: file)
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        try bytes.withUnsafeBufferPointer { buf in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var starts: [(count: Int, anchor: String?)] = []
            var sizes: [String: Int] = [:]
            var count = 0
            // The top-level key being read (named in the error): at depth 1
            // the root mapping's scalars alternate key, value.
            var rootKey = key, expectRootKey = true
            var event = yaml_event_t()
            func anchorText(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            }
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else { return }  // syntax error: the composer reports it
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_SCALAR_EVENT:
                    count += 1
                    if let a = anchorText(event.data.scalar.anchor) { sizes[a] = 1 }
                    if starts.count == 1 && key.isEmpty {
                        if expectRootKey, let v = event.data.scalar.value {
                            rootKey = String(cString: UnsafeRawPointer(v).assumingMemoryBound(to: CChar.self))
                        }
                        expectRootKey.toggle()
                    }
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    count += 1
                    let a = event.type == YAML_SEQUENCE_START_EVENT
                        ? anchorText(event.data.sequence_start.anchor) : anchorText(event.data.mapping_start.anchor)
                    starts.append((count, a))
                    guard starts.count <= maxDepth else {
                        throw ConfigError(key: rootKey, "the YAML nests deeper than \(maxDepth) levels", file: file, line: line)
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    if let s = starts.popLast(), let a = s.anchor { sizes[a] = count - s.count + 1 }
                    if starts.count == 1 { expectRootKey = true }  // a root value (collection) ended
                case YAML_ALIAS_EVENT:
                    count += anchorText(event.data.alias.anchor).flatMap { sizes[$0] } ?? 1
                    if starts.count == 1 { expectRootKey.toggle() }
                default:
                    break
                }
                guard count <= maxNodes else {
                    throw ConfigError(key: rootKey, "the YAML has more than \(maxNodes) values once its aliases (*name) are expanded", file: file, line: line)
                }
            }
        }
    }
}

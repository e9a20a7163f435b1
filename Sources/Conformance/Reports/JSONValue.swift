/// A JSON value with its object keys in the order written, serialised by hand: every field
/// of the JSON report is chosen explicitly (no encoder artefacts such as `{"_0": 2}` for
/// enums with payloads), and the serialiser is small enough to read.
public indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// A 64-bit value as `"0x..."`: JSON numbers lose precision above 2^53 in JavaScript and jq.
    public static func hex(_ v: UInt64) -> JSONValue { .string("0x" + String(v, radix: 16)) }

    public static func strings(_ s: [String]) -> JSONValue { .array(s.map(JSONValue.string)) }

    public static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.text == b.text }

    /// Compact text: no newlines, so a streamed array can hold one element per line.
    public var text: String {
        var o = ""
        write(to: &o)
        return o
    }

    func write(to o: inout String) {
        switch self {
        case .string(let s): Self.quote(s, to: &o)
        case .int(let i): o += String(i)
        case .bool(let b): o += b ? "true" : "false"
        case .null: o += "null"
        case .array(let a):
            o += "["
            for (i, v) in a.enumerated() {
                if i > 0 { o += "," }
                v.write(to: &o)
            }
            o += "]"
        case .object(let fields):
            o += "{"
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { o += "," }
                Self.quote(k, to: &o)
                o += ":"
                v.write(to: &o)
            }
            o += "}"
        }
    }

    /// RFC 8259 section 7: escape `"`, `\` and the control characters.
    static func quote(_ s: String, to o: inout String) {
        o += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\r": o += "\\r"
            case "\t": o += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    o += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    o.unicodeScalars.append(u)
                }
            }
        }
        o += "\""
    }
}

import Glibc

/// `x` with `places` digits after the point, as printf's `%.Nf` writes it (String(format:)
/// is in full Foundation, whose ICU the static binary leaves out).
public func fixedPoint(_ x: Double, places: Int) -> String {
    var buffer = [CChar](repeating: 0, count: 400)
    _ = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.\(max(0, min(places, 20)))f", $0) }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

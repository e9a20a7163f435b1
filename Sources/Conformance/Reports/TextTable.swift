/// A plain-text table: the first column left-aligned, the others right-aligned (numbers),
/// two spaces between columns, one line per row, each ending in a newline.
public enum TextTable {
    public static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        let widths = (0..<columns).map { col in rows.map { col < $0.count ? $0[col].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in i == 0 ? cell.rightPadded(widths[i]) : cell.leftPadded(widths[i]) }
                .joined(separator: "  ") + "\n"
        }.joined()
    }
}

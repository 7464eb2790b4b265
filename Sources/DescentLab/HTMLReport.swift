import Foundation

/// The lab's report: every experiment's claim, verdict, table and figures on one HTML page that
/// opens from disk in any browser (the SVG figures inline; no script, no network).
public enum HTMLReport {
    /// The page for `reports`.
    public static func page(_ reports: [LabReport]) -> String {
        var html = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">", "<title>Descent lab</title>",
                    "<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}"
                        + "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
                        + "th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.holds{color:#06763a}.fails{color:#b00020}"
                        + "figure{margin:1em 0}section{border-top:1px solid #ddd;margin-top:2em}</style>",
                    "</head>", "<body>", "<h1>Descent lab</h1>",
                    "<p>Each lesson of the notes run as an experiment; each verdict is computed from the run's own numbers.</p>",
                    "<ul>" + reports.map { "<li><a href=\"#\($0.name)\">\(escape($0.title))</a>: <span class=\"\($0.holds ? "holds" : "fails")\">\($0.holds ? "confirmed" : "not confirmed")</span></li>" }.joined() + "</ul>"]
        for r in reports {
            html.append("<section id=\"\(r.name)\" class=\"experiment\">")
            html.append("<h2>\(escape(r.title)) <small>(descent lab \(r.name), \(String(format: "%.1f", r.seconds)) s)</small></h2>")
            html.append("<p><strong>Claim.</strong> \(escape(r.claim))</p>")
            html.append("<p class=\"verdict \(r.holds ? "holds" : "fails")\"><strong>Verdict.</strong> \(escape(r.verdict))</p>")
            if let header = r.table.first {
                html.append("<table><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>")
                for row in r.table.dropFirst() { html.append("<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>") }
                html.append("</table>")
            }
            for f in r.figures {
                let svg = f.svg.replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\"", with: "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" data-figure=\"\(r.name)/\(f.name)\"")
                html.append("<figure>\(svg)</figure>")
            }
            html.append("</section>")
        }
        html.append(contentsOf: ["</body>", "</html>"])
        return html.joined(separator: "\n") + "\n"
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}

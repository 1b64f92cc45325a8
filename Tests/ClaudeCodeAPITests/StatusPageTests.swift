import Foundation
import Testing
@testable import ClaudeCodeAPI

@Suite("/status: the JSON report, its recent latency, and the page for a browser")
struct StatusPageTests {
    /// `data-key` paths of the page and the value each shows (`data-value` where the text is formatted).
    func pageValues(_ html: String) -> [String: String] {
        let pattern = try! NSRegularExpression(pattern: #"data-key="([^"]+)"(?: data-value="([^"]*)")?>([^<]*)<"#)
        var values: [String: String] = [:]
        for match in pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
            let group = { (i: Int) in Range(match.range(at: i), in: html).map { String(html[$0]) } }
            values[group(1)!] = unescape(group(2) ?? group(3)!)
        }
        return values
    }

    func unescape(_ text: String) -> String {
        [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")].reduce(text) {
            $0.replacingOccurrences(of: $1.0, with: $1.1)
        }
    }

    func jsonValue(_ json: [String: Any], _ path: String) -> String? {
        var node: Any? = json
        for part in path.split(separator: ".") { node = (node as? [String: Any])?[String(part)] }
        switch node {
        case let number as NSNumber: return number.stringValue
        case let text as String: return text
        default: return nil
        }
    }

    @Test("?html is a self-contained page that refreshes itself; its numbers are the JSON report's")
    func pageMatchesJSON() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        _ = app.chat()
        _ = app.chat(#","stream":true"#)
        let json = app.send("GET", "/status").json
        let page = app.send("GET", "/status", query: "html")
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.header("Content-Security-Policy")?.hasPrefix("default-src 'none'") == true)
        let html = page.text
        #expect(html.contains(#"<meta http-equiv="refresh" content="5">"#))
        #expect(!html.contains("src=") && !html.contains("<script") && !html.contains("http://") && !html.contains("https://"))
        let values = pageValues(html)
        #expect(values.count >= 20)
        for (key, shown) in values {
            switch key {
            // The JSON request came in between: one more accepted, and it has finished (2xx) by now.
            case "requests.accepted": #expect(Int(shown) == Int(jsonValue(json, key)!)! + 1)
            case "requests.by_status.2xx": #expect(Int(shown) == Int(jsonValue(json, key)!)! + 1)
            case "draining": #expect(shown == ((json["draining"] as? Bool) == true ? "true" : "false"))
            case "uptime_seconds": #expect(abs(Int(shown)! - Int(jsonValue(json, key)!)!) <= 1)
            default: #expect(shown == (jsonValue(json, key) ?? (key.hasPrefix("requests.by_status.") ? "0" : nil)), "\(key)")
            }
        }
        #expect(values["recent_latency.turns"] == "2")
        #expect(values["recent_latency.duration_ms.p50"] != nil && values["recent_latency.time_to_first_token_ms.p99"] != nil)
    }

    @Test("recent latency covers model turns only, not the cheap endpoints")
    func latencyOfTurnsOnly() throws {
        let app = TestApplication(launcher: ScriptedProcessLauncher.replaying("bare_partial_stream.jsonl"))
        for _ in 0..<3 { app.send("GET", "/health") }
        let before = try #require(app.send("GET", "/status").json["recent_latency"] as? [String: Any])
        #expect(before["turns"] as? Int == 0 && before["duration_ms"] == nil)
        _ = app.chat()
        let after = try #require(app.send("GET", "/status").json["recent_latency"] as? [String: Any])
        #expect(after["turns"] as? Int == 1 && after["window"] as? Int == ServiceStats.latencyWindow)
        #expect((after["time_to_first_token_ms"] as? [String: Any])?["p50"] is Int)
    }

    @Test("percentiles are nearest-rank over the last samples only")
    func percentiles() {
        var window = LatencyWindow(capacity: 100)
        #expect(window.percentiles == nil)
        for ms in 1...100 { window.add(UInt64(ms) * 1_000_000) }
        #expect(window.percentiles == StatusReport.Percentiles(p50: 50, p90: 90, p99: 99))
        for _ in 1...100 { window.add(7_000_000) }  // the old samples roll out
        #expect(window.count == 100 && window.percentiles == StatusReport.Percentiles(p50: 7, p90: 7, p99: 7))
    }

    @Test("what the page shows from outside (the CLI's path and problem) is escaped")
    func escaping() {
        let app = TestApplication(launcher: ScriptedProcessLauncher { [] }, environment: ["CCA_CLAUDE_PATH": "/nowhere/<b>claude</b>"])
        let html = app.send("GET", "/status", query: "html").text
        #expect(html.contains("&lt;b&gt;claude&lt;/b&gt;") && !html.contains("<b>claude"))
    }

    @Test("only a query naming html gives the page")
    func query() {
        #expect(StatusEndpoint.wantsHTML("html") && StatusEndpoint.wantsHTML("html=1") && StatusEndpoint.wantsHTML("full&html"))
        #expect(!StatusEndpoint.wantsHTML("") && !StatusEndpoint.wantsHTML("json") && !StatusEndpoint.wantsHTML("xhtml"))
    }

    @Test("the page's uptime reads as a person would say it")
    func duration() {
        #expect(StatusPage.duration(9) == "9 s" && StatusPage.duration(247) == "4 min 7 s")
        #expect(StatusPage.duration(7_500) == "2 h 5 min" && StatusPage.duration(277_200) == "3 d 5 h")
    }
}

//! The review reports (`--format html`, `--format markdown`): the HTML page carries exactly the
//! JSON report's data, in a block no input can close; the data-at-rest map has a row per
//! function with passes as well as failures; values from templates and CloudTrail logs that
//! would be markup or script stay data; the Markdown report fits GitHub's 1 MiB step summary.
//! The page in a browser is checked by `tests/browser/check_report.py`, run by `.ci/run`.

use crate::common;
use serde_json::Value;
use std::path::Path;

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = common::atrest(dir).args(args).output().unwrap();
    let code = out.status.code().expect("not killed by a signal");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_ne!(code, 101, "panicked: {stderr}");
    (code, String::from_utf8(out.stdout).unwrap(), stderr)
}

/// The JSON in the page's data block.
fn page_data(html: &str) -> Value {
    let start = html
        .find(r#"<script type="application/json" id="atrest-data">"#)
        .expect("a data block");
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..];
    let end = body.find("</script>").expect("the data block ends");
    serde_json::from_str(&body[..end]).expect("the data block is JSON")
}

/// The page is its template with the data put in, and the data holds no `<`, `>` or `&`: no
/// input can add an element, end the data block or start a comment. The template's own code
/// draws text only.
fn assert_no_markup_from_input(html: &str) {
    let template =
        std::fs::read_to_string(common::manifest_dir().join("src/report/html/page.html")).unwrap();
    let (head, tail) = template.split_once("@@ATREST_DATA@@").unwrap();
    assert!(
        html.starts_with(head) && html.ends_with(tail),
        "the page is its template"
    );
    let data = &html[head.len()..html.len() - tail.len()];
    assert!(
        !data.contains(['<', '>', '&']),
        "markup characters in the data"
    );
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!template.contains(sink), "{sink} in the page's code");
    }
}

#[test]
fn the_html_page_carries_the_json_report_and_maps_every_function() {
    let root = common::manifest_dir();
    let (code, html, stderr) = run(&root, &["scan", "examples", "--format", "html"]);
    assert_eq!(code, 1, "{stderr}");
    let (_, json, _) = run(&root, &["scan", "examples", "--format", "json"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    let data = page_data(&html);
    assert_eq!(
        data["report"], json,
        "the page says what the JSON report says"
    );
    assert_no_markup_from_input(&html);
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing fetched"
    );

    let map = &json["map"];
    let names: Vec<&str> = map["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "CreateOrderFunction",
            "FulfilOrderFunction",
            "NotifyCustomerFunction",
            "InvoiceReportFunction",
            "RenderInvoicePdfFunction"
        ]
    );
    let function = |name: &str| {
        map["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()
            .clone()
    };
    let cell = |f: &Value, kind: &str| -> Value {
        f["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .unwrap()
            .clone()
    };
    // A function that passes every rule is on the map, passing, with its key.
    let create = function("CreateOrderFunction");
    assert_eq!(create["verdict"], "pass");
    let env = cell(&create, "environment");
    assert_eq!(env["verdict"], "pass");
    assert_eq!(env["key"]["state"], "customer_managed");
    assert_eq!(env["key"]["key"], "OrdersKey");
    assert_eq!(cell(&create, "traces")["verdict"], "none");
    // An AWS managed key reached through `!Sub`: failing, with the chain.
    let notify = cell(&function("NotifyCustomerFunction"), "environment");
    assert_eq!(notify["verdict"], "fail");
    assert_eq!(notify["key"]["state"], "aws_managed");
    assert_eq!(notify["key"]["chain"][1], "!Sub");
    assert_eq!(notify["findings"][0]["rule_id"], "ATR-L001");
    // A customer managed key that itself fails (rotation): the cell passes, its key does not.
    let invoice = cell(&function("InvoiceReportFunction"), "environment");
    assert_eq!(invoice["verdict"], "pass");
    assert_eq!(invoice["key_verdict"], "fail");
    let mapping = cell(&function("InvoiceReportFunction"), "filter_criteria");
    assert_eq!(mapping["label"], "InvoiceEventsMapping");
    assert_eq!(mapping["verdict"], "fail");

    let keys = map["keys"].as_array().unwrap();
    let reports = keys.iter().find(|k| k["name"] == "ReportsKey").unwrap();
    assert_eq!(reports["verdict"], "fail");
    assert_eq!(reports["rotation_enabled"], false);
    assert_eq!(reports["protects"][0], "InvoiceReportFunction: environment");
    let orders = keys.iter().find(|k| k["name"] == "OrdersKey").unwrap();
    assert_eq!(orders["verdict"], "pass");
    assert_eq!(orders["protects"].as_array().unwrap().len(), 4);
    assert!(
        keys.iter()
            .any(|k| k["declared"] == false && k["manager"] == "aws_managed"),
        "the AWS managed key a function names is listed"
    );

    // Every finding has its source line and caret, and the fix for its source.
    let extra = data["extra"]["findings"].as_array().unwrap();
    assert_eq!(extra.len(), json["findings"].as_array().unwrap().len());
    let first = &extra[0];
    assert_eq!(first["snippet"]["line"], 101);
    assert_eq!(first["snippet"]["text"], "  FulfilOrderLogs:");
    assert_eq!(first["snippet"]["caret"], "  ^^^^^^^^^^^^^^^");
    let fix = &data["extra"]["fixes"][first["fix"].as_u64().unwrap() as usize];
    assert_eq!(fix["source"], "cloudformation");
    assert!(fix["text"].as_str().unwrap().contains("KmsKeyId"));
}

#[test]
fn a_suppressed_finding_is_shown_as_suppressed_on_the_map() {
    let root = common::manifest_dir();
    let (_, json, stderr) = run(
        &root,
        &[
            "scan",
            "examples",
            "--format",
            "json",
            "--skip-rule",
            "ATR-L003=packages are public code",
        ],
    );
    let json: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let render = json["map"]["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "RenderInvoicePdfFunction")
        .unwrap();
    let package = render["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "package")
        .unwrap();
    assert_eq!(package["verdict"], "suppressed");
    assert_eq!(package["findings"][0]["suppressed"], true);
    // Its logs are still unknown, so the function is too.
    assert_eq!(render["verdict"], "unknown");
}

/// Values that would be markup or script in a page or a Markdown comment.
const HOSTILE: &[&str] = &[
    "<script>window.__pwned=1</script>",
    "\"><img src=x onerror=window.__pwned=2>",
    "javascript:window.__pwned=3",
];

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A template whose function name, variable names and key value are [`HOSTILE`], and a
/// CloudTrail log whose principal and event id are.
fn hostile_project() -> tempfile::TempDir {
    let template = format!(
        r#"{{"Resources": {{
  {name}: {{"Type": "AWS::Lambda::Function", "Properties": {{
    "Code": {{"ZipFile": "x"}}, "KmsKeyArn": {key},
    "Environment": {{"Variables": {{{var}: "v", {var2}: "w"}}}}}}}}
}}}}"#,
        name = json_str(HOSTILE[0]),
        key = json_str(HOSTILE[2]),
        var = json_str(HOSTILE[1]),
        var2 = json_str(HOSTILE[0]),
    );
    let log = std::fs::read_to_string(
        common::manifest_dir()
            .join("fixtures/cloudtrail/ATR-C001/fail_context_outside_lambda.jsonl"),
    )
    .unwrap()
    .replace(
        "user/alice",
        &json_str(HOSTILE[0]).trim_matches('"').replace('/', "\\/"),
    )
    .replace(
        "00000000-0000-4000-8000-000000000002",
        json_str(HOSTILE[1]).trim_matches('"'),
    );
    common::project(&[("evil.json", &template), ("trail.jsonl", &log)])
}

#[test]
fn values_from_inputs_never_become_markup_in_the_page_or_the_markdown() {
    let dir = hostile_project();
    let (code, html, stderr) = run(dir.path(), &["scan", ".", "--format", "html"]);
    assert_eq!(code, 1, "{stderr}");
    assert_no_markup_from_input(&html);
    let data = page_data(&html);
    let text = data.to_string();
    for h in HOSTILE {
        assert!(
            text.contains(&json_str(h)[1..json_str(h).len() - 1]),
            "{h} kept as data"
        );
    }
    let events = data["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|f| f.get("cloudtrail"))
        .expect("a CloudTrail finding");
    assert!(events["principal"].as_str().unwrap().contains(HOSTILE[0]));
    assert_eq!(events["events"][0]["event_id"], HOSTILE[1]);

    let (_, md, _) = run(dir.path(), &["scan", ".", "--format", "markdown"]);
    for bad in ["<script", "<img", "](", "`"] {
        // A backtick in an input is escaped (`\``), never raw.
        let raw = md.replace("\\`", "");
        assert!(!raw.contains(bad), "{bad} in\n{md}");
    }
    assert!(
        md.contains("&lt;script&gt;window.\\_\\_pwned=1&lt;/script&gt;"),
        "{md}"
    );
}

#[test]
fn the_markdown_report_has_summary_map_and_findings() {
    let root = common::manifest_dir();
    let (code, md, _) = run(&root, &["scan", "examples", "--format", "markdown"]);
    assert_eq!(code, 1);
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headings,
        [
            "# atrest review report",
            "## Data-at-rest map",
            "## Findings"
        ]
    );
    assert!(
        md.contains("9 findings \\(") || md.contains("9 findings ("),
        "{md}"
    );
    let rows = |header: &str| -> usize {
        let start = md.find(header).unwrap();
        md[start..]
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .count()
    };
    assert_eq!(rows("| Function |"), 5);
    assert_eq!(rows("| Outcome |"), 12);
    assert!(md.contains("| **CreateOrderFunction**"));
    assert!(md.contains("✅ pass — CMK: OrdersKey"));
    assert!(!md.contains("Cut to fit"));
}

#[test]
fn the_markdown_report_is_cut_to_fit_the_step_summary_and_says_so() {
    // 1,500 functions with long names: about 4,500 findings and a report of several MiB.
    let mut resources = Vec::new();
    for i in 0..1500 {
        resources.push(format!(
            r#""Function{i:04}{pad}": {{"Type": "AWS::Lambda::Function", "Properties": {{"Code": {{"ZipFile": "x"}}, "Environment": {{"Variables": {{"A": "b"}}}}}}}}"#,
            pad = "X".repeat(180)
        ));
    }
    let template = format!(r#"{{"Resources": {{{}}}}}"#, resources.join(",\n"));
    let dir = common::project(&[("big.json", &template)]);
    let (code, md, stderr) = run(dir.path(), &["scan", ".", "--format", "markdown"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        md.len() <= atrest::report::markdown::MAX_BYTES,
        "{} bytes",
        md.len()
    );
    assert!(
        md.len() > atrest::report::markdown::MAX_BYTES / 2,
        "{} bytes",
        md.len()
    );
    let notice = atrest::report::markdown::truncation_notice(&md).expect("says it was cut");
    assert!(
        notice.contains("of 1500 functions") || notice.contains("findings"),
        "{notice}"
    );
    assert!(stderr.contains("warning: **Cut to fit"), "{stderr}");
    // Cut at a row: the last table line is whole.
    let last_row = md.lines().rfind(|l| l.starts_with('|')).unwrap();
    assert!(last_row.ends_with(" |"), "{last_row}");
}

/// The verdict of each kind of data of each function, in an order that does not depend on how
/// a source format names functions.
fn map_verdicts(dir: &Path, input: &Path) -> Vec<Vec<(String, String)>> {
    let (_, json, stderr) = run(dir, &["scan", input.to_str().unwrap(), "--format", "json"]);
    let json: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let mut rows: Vec<Vec<(String, String)>> = json["map"]["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["kind"].to_string(), c["verdict"].to_string()))
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn the_map_is_the_same_in_every_source_format_of_a_system() {
    let root = common::manifest_dir();
    for system in ["fixtures/parity/orders", "fixtures/parity-tf/orders"] {
        let dir = root.join(system);
        let mut formats: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_none_or(|e| e != "md"))
            .collect();
        formats.sort();
        assert!(formats.len() >= 4, "{system}: {formats:?}");
        let first = map_verdicts(&root, &formats[0]);
        assert!(!first.is_empty(), "{system}: no functions on the map");
        for other in &formats[1..] {
            assert_eq!(
                map_verdicts(&root, other),
                first,
                "{}: the map differs from {}'s",
                other.display(),
                formats[0].display()
            );
        }
    }
}

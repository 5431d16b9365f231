use super::*;

fn parse_ok(text: &str) -> Parsed {
    parse(text, &Limits::default()).unwrap()
}

#[test]
fn short_form_tags_become_intrinsics() {
    let doc = parse_ok("A: !Ref Key\nB: !GetAtt [Key, Arn]\nC: !Sub 'x-${Y}'\n");
    let a = doc.root.get("A").unwrap();
    assert_eq!(a.intrinsic().unwrap().0, "Ref");
    assert_eq!(a.intrinsic().unwrap().1.as_str(), Some("Key"));
    let b = doc.root.get("B").unwrap().intrinsic().unwrap();
    assert_eq!(b.0, "Fn::GetAtt");
    assert_eq!(b.1.items().len(), 2);
    assert_eq!(doc.root.get("C").unwrap().intrinsic().unwrap().0, "Fn::Sub");
    assert!(doc.problems.is_empty());
}

#[test]
fn key_positions_are_one_based() {
    let doc = parse_ok("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n");
    let fns = doc.root.get("Resources").unwrap().entry("Fn").unwrap();
    assert_eq!(fns.key_span.start, Pos { line: 2, col: 3 });
}

#[test]
fn scalars_resolve_like_yaml_core() {
    let doc = parse_ok("a: true\nb: '1'\nc: 012\nd: ~\ne: text\n");
    assert_eq!(doc.root.get("a").unwrap().value, Value::Bool(true));
    assert_eq!(doc.root.get("b").unwrap().value, Value::String("1".into()));
    assert_eq!(
        doc.root.get("c").unwrap().value,
        Value::Number("012".into())
    );
    assert_eq!(doc.root.get("d").unwrap().value, Value::Null);
    assert_eq!(
        doc.root.get("e").unwrap().value,
        Value::String("text".into())
    );
}

#[test]
fn duplicates_anchors_and_unknown_tags_are_problems() {
    let doc = parse_ok("a: 1\na: 2\nb: &x {k: v}\nc: *x\nd: !Bogus 1\ne: !Rain::Embed f.txt\n");
    assert_eq!(
        doc.root.get("e").unwrap().intrinsic().unwrap().0,
        "Rain::Embed"
    );
    let msgs: Vec<_> = doc.problems.iter().map(|p| p.message.clone()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("duplicate key \"a\"")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("anchor")));
    assert!(msgs.iter().any(|m| m.contains("alias")));
    assert!(msgs.iter().any(|m| m.contains("unknown tag !Bogus")));
    assert_eq!(msgs.len(), 4, "{msgs:?}");
}

#[test]
fn billion_laughs_is_not_expanded() {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..30 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(", ")));
    }
    let doc = parse_ok(&text);
    assert!(!doc.problems.is_empty());
}

fn expanded(text: &str) -> Parsed {
    parse_with(text, &Limits::default(), Aliases::EXPAND).unwrap()
}

#[test]
fn an_alias_is_a_copy_with_the_anchored_spans() {
    let doc = expanded("a: &k\n  x: 1\nb: *k\nc: &s text\nd: [*s, *s]\n");
    let (a, b) = (doc.root.get("a").unwrap(), doc.root.get("b").unwrap());
    assert_eq!(a, b);
    assert_eq!(
        b.entry("x").unwrap().key_span.start,
        Pos { line: 2, col: 3 }
    );
    let d = doc.root.get("d").unwrap().items();
    assert_eq!(d[1].as_str(), Some("text"));
    assert_eq!(d[1].span.start, Pos { line: 4, col: 4 });
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    // Where they were used, for a file that turns out to be a template.
    assert_eq!(doc.anchors.len(), 5, "{:?}", doc.anchors);
}

#[test]
fn merge_keys_add_what_the_map_does_not_write() {
    let text = "\
base: &base {a: 1, b: 1}
more: &more {b: 2, c: 2}
one:
  a: 0
  <<: *base
  z: 0
list:
  <<: [*more, *base]
  c: 3
quoted:
  \"<<\": *base
";
    let doc = expanded(text);
    let get = |m: &str, k: &str| {
        let map = doc.root.get(m).unwrap();
        map.get(k).and_then(Node::scalar_text)
    };
    // Explicit keys win, before or after the merge key.
    assert_eq!(get("one", "a").as_deref(), Some("0"));
    assert_eq!(get("one", "b").as_deref(), Some("1"));
    assert_eq!(get("one", "z").as_deref(), Some("0"));
    assert!(doc.root.get("one").unwrap().get("<<").is_none());
    // In a list, the first map listed wins.
    assert_eq!(get("list", "b").as_deref(), Some("2"));
    assert_eq!(get("list", "a").as_deref(), Some("1"));
    assert_eq!(get("list", "c").as_deref(), Some("3"));
    // A merged key points at the anchored text.
    let b = doc.root.get("one").unwrap().entry("b").unwrap();
    assert_eq!(b.key_span.start, Pos { line: 1, col: 20 });
    // A quoted "<<" is an ordinary key.
    assert!(doc.root.get("quoted").unwrap().get("<<").is_some());
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
}

#[test]
fn refused_aliases_leave_merge_keys_alone() {
    let doc = parse_ok("b: &b {a: 1}\nm:\n  <<: *b\n");
    let m = doc.root.get("m").unwrap();
    assert!(m.get("<<").unwrap().is_null());
    assert!(m.get("a").is_none());
    assert_eq!(doc.problems.len(), 2, "{:?}", doc.problems);
    assert!(doc.anchors.is_empty());
}

#[test]
fn bad_aliases_and_merges_are_problems() {
    let doc = expanded("a: *nowhere\nb: &s text\nm:\n  <<: *s\nn:\n  <<: [{x: 1}, 2]\n");
    assert!(doc.root.get("a").unwrap().is_null());
    assert_eq!(doc.root.get("n").unwrap().get("x").unwrap().as_str(), None);
    let at: Vec<_> = doc.problems.iter().map(|p| (p.line, p.column)).collect();
    assert_eq!(
        at,
        [(Some(1), Some(4)), (Some(4), Some(3)), (Some(6), Some(16))],
        "{:?}",
        doc.problems
    );
    assert!(doc.problems[0].message.contains("*nowhere"));
    assert!(doc.problems[1].message.contains("merge key"));
}

#[test]
fn billion_laughs_stops_at_the_budget() {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..30 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(", ")));
    }
    let e = parse_with(&text, &Limits::default(), Aliases::EXPAND)
        .err()
        .unwrap();
    assert!(e.message.contains("more than 100000 nodes"), "{e}");
    // Copies of a0..a3 and the nine aliases in a4 take about 82,000 nodes; keeping a4 (about
    // 73,000) passes the budget, at the anchor &a4.
    assert_eq!((e.line, e.column), (Some(5), Some(5)), "{e}");
    // Merge keys copy too.
    let mut text = String::from("m0: &m0 {a: 1, b: 2, c: 3, d: 4}\n");
    for i in 1..30 {
        let refs: Vec<_> = (0..9).map(|_| format!("*m{}", i - 1)).collect();
        text.push_str(&format!(
            "m{i}: &m{i} {{<<: [{}], k{i}: [{}]}}\n",
            refs[0],
            refs.join(", ")
        ));
    }
    let e = parse_with(&text, &Limits::default(), Aliases::EXPAND)
        .err()
        .unwrap();
    assert!(e.message.contains("billion laughs"), "{e}");
    // Anchors nested over one large list, none of them aliased, copy it once per level.
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!("{}k{i}: &n{i}\n", " ".repeat(i)));
    }
    text.push_str(&format!(
        "{}big: [{}]\n",
        " ".repeat(200),
        vec!["x"; 1000].join(", ")
    ));
    let e = parse_with(&text, &Limits::default(), Aliases::EXPAND)
        .err()
        .unwrap();
    assert!(e.message.contains("more than 100000 nodes"), "{e}");
    assert!(parse(&text, &Limits::default()).is_ok());
}

#[test]
fn what_libyaml_reads_is_read() {
    // A quoted scalar continued at, or left of, its key's indentation.
    let doc = parse_ok("R:\n  D: \"a\n  b\"\n  E: 'c\n d'\n");
    let r = doc.root.get("R").unwrap();
    assert_eq!(r.get("D").unwrap().as_str(), Some("a b"));
    assert_eq!(r.get("E").unwrap().as_str(), Some("c d"));
    // A flow list continued further left, and a tab after the colon.
    let doc = parse_ok("R:\n  L: [a,\n b]\n  T:\tx\n");
    let r = doc.root.get("R").unwrap();
    assert_eq!(r.get("L").unwrap().items().len(), 2);
    assert_eq!(r.get("T").unwrap().as_str(), Some("x"));
    // A block scalar that ends the file without a line break has none (clip or keep).
    for (text, want) in [
        ("a: |\n  x\n  y", "x\ny"),
        ("a: >\n  x\n  y", "x y"),
        ("a: |+\n  x", "x"),
        ("a: |\n  x\n", "x\n"),
        ("a: |\n  x\nb: |-\n  y", "x\n"),
    ] {
        let doc = parse_ok(text);
        assert_eq!(doc.root.get("a").unwrap().as_str(), Some(want), "{text:?}");
    }
}

#[test]
fn errors_point_at_what_is_wrong() {
    let e = parse("a:\n  b: \"x \\q\"\n", &Limits::default())
        .err()
        .unwrap();
    assert_eq!((e.line, e.column), (Some(2), Some(9)), "{e}");
    assert!(e.message.contains("unknown escape"), "{e}");
    assert!(e.message.contains("starts at line 2, column 6"), "{e}");
    let e = parse("a: \"open\nb: 1\n", &Limits::default())
        .err()
        .unwrap();
    assert_eq!(e.line, Some(3), "{e}");
}

/// libyaml-safer 0.3 panics on a tag followed by a comma in a flow list (libyaml reads an
/// empty value there): an error for this file, not a crash of the scan.
#[test]
fn a_parser_panic_is_an_error() {
    let e = parse("a: [!Ref,x]\n", &Limits::default()).err().unwrap();
    assert!(e.message.contains("bug to report"), "{e}");
    assert_eq!(e.line, Some(1));
}

#[test]
fn syntax_errors_carry_a_line() {
    let e = parse("a:\n  b: [1, 2\nc: 3\n", &Limits::default())
        .err()
        .unwrap();
    assert!(e.line.is_some());
    let e = parse("a:\n  b: 1\n\tc: 2\n", &Limits::default())
        .err()
        .unwrap();
    assert!(e.message.contains("tab"), "{e}");
    assert!(e.line.is_some_and(|l| l >= 2), "{e}");
}

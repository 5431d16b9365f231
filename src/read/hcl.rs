//! Terraform configuration, in native HCL syntax (`.tf`) or JSON syntax (`.tf.json`), as a
//! syntax tree whose every block, attribute and expression knows its span.
//!
//! Nothing is evaluated here. Native syntax is parsed with `hcl-edit` (byte ranges, turned into
//! line and column by [`LineIndex`]); JSON syntax is read by the JSON reader and its top level
//! (`resource`, `data`, `module`, `variable`, `locals`, ...) turned into the same blocks. Nested
//! blocks of JSON syntax cannot be told from attributes without the provider's schema, so a JSON
//! body keeps them as object-valued attributes and says so ([`Body::json`]).

mod for_lines;

use super::text::LineIndex;
use super::{Limits, Node, Pos, ReadError, Span, Value};
use hcl_edit::expr::{self as hx, Expression};
use hcl_edit::template::{Element, Template};
use hcl_edit::{Span as _, structure as hs};

/// Statements of one body, in source order per kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<Block>,
    /// Written in JSON syntax (or built from JSON data): an attribute whose value is an object,
    /// or a list of objects, may stand for nested blocks of that name.
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub name_span: Span,
    pub expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub kind: String,
    pub labels: Vec<String>,
    /// From the block type to the last label: `resource "aws_kms_key" "k"`.
    pub span: Span,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Eq,
    NotEq,
    LessEq,
    GreaterEq,
    Less,
    Greater,
    Plus,
    Minus,
    Mul,
    Div,
    Mod,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    Lit(String),
    Interp(Expr),
    /// `%{if}` / `%{for}`: not evaluated.
    Directive,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ObjectKey {
    /// A bare identifier or a literal string.
    Name(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectItem {
    pub key: ObjectKey,
    pub key_span: Span,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Attr(String),
    Index(Expr),
    /// `.*` or `[*]`.
    Splat,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForExpr {
    pub key_var: Option<String>,
    pub value_var: String,
    pub collection: Expr,
    pub key: Option<Expr>,
    pub value: Expr,
    pub cond: Option<Expr>,
    pub grouping: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Number(f64),
    /// A string with no interpolation.
    Str(String),
    Template(Vec<TemplatePart>),
    Tuple(Vec<Expr>),
    Object(Vec<ObjectItem>),
    /// A bare name: `var`, `local`, `aws_kms_key`, `each`, an iterator.
    Var(String),
    Traverse(Box<Expr>, Vec<Op>),
    Call(String, Vec<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    For(Box<ForExpr>),
    /// A value that is known only later (a plan's "known after apply"), with why.
    Unknown(String),
}

impl Body {
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn blocks_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks.iter().filter(move |b| b.kind == kind)
    }
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }

    /// The literal text of a string without interpolation.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Deepest bracket nesting in the text (strings included: an overestimate is harmless), checked
/// before parsing so a hostile file cannot overflow the recursive parser's stack.
fn nesting_exceeds(text: &str, max: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Parses native HCL syntax.
pub fn parse(text: &str, limits: &Limits) -> Result<Body, ReadError> {
    let index = LineIndex::new(text);
    if let Some(at) = nesting_exceeds(text, limits.max_depth) {
        return Err(ReadError::at(
            index.pos(at),
            format!("nesting deeper than {} levels", limits.max_depth),
        ));
    }
    // The text as written first; only if hcl-edit refuses it, again with the line breaks HCL
    // ignores inside `for` expressions made spaces (the same length, so its offsets are offsets
    // into `text`, and its error is the first one Terraform would see too).
    let body = hcl_edit::parser::parse_body(text).or_else(|e| match for_lines::join(text) {
        std::borrow::Cow::Owned(joined) => {
            hcl_edit::parser::parse_body(&joined).map_err(|e| syntax_error(&index, &joined, &e))
        }
        std::borrow::Cow::Borrowed(_) => Err(syntax_error(&index, text, &e)),
    })?;
    let conv = Native { index: &index };
    Ok(conv.file_body(body))
}

/// hcl-edit's error for `parsed` (`text` or a same-length copy), placed in `text`. Its offset
/// is a character's start (the last one at the end of the input), and its column may be one
/// past it; that step is kept.
fn syntax_error(index: &LineIndex, parsed: &str, e: &hcl_edit::parser::Error) -> ReadError {
    let loc = e.location();
    let at = index.pos(loc.offset());
    let past = (loc.column() as u32).saturating_sub(LineIndex::new(parsed).pos(loc.offset()).col);
    let message = e.message().lines().next().unwrap_or("").trim().to_owned();
    ReadError::at(
        Pos {
            line: at.line,
            col: at.col + past,
        },
        if message.is_empty() {
            "invalid HCL syntax".to_owned()
        } else {
            format!("invalid HCL syntax: {message}")
        },
    )
}

/// Parses a string of JSON syntax as the template Terraform reads it as (`"${var.x}"`). Its
/// parts get the span of the whole string: JSON escapes make inner offsets unreliable.
pub fn template_in_json(text: &str, span: Span) -> Expr {
    if !text.contains("${") && !text.contains("%{") {
        return Expr::new(ExprKind::Str(text.to_owned()), span);
    }
    match hcl_edit::parser::parse_template(text) {
        Ok(t) => Fixed { span }.template(&t),
        Err(_) => Expr::new(ExprKind::Str(text.to_owned()), span),
    }
}

/// Parses an expression written inside JSON (a plan's `references`), every part at `span`.
pub fn expr_in_json(text: &str, span: Span) -> Expr {
    match hcl_edit::parser::parse_expr(text) {
        Ok(e) => Fixed { span }.expr(&e),
        Err(_) => Expr::new(
            ExprKind::Unknown(format!("cannot read the expression {text:?}")),
            span,
        ),
    }
}

/// Converts `hcl-edit` syntax, asking `span_of` for the position of each piece.
trait Convert {
    fn span_of(&self, range: Option<std::ops::Range<usize>>) -> Span;

    fn expr(&self, e: &Expression) -> Expr {
        let span = self.span_of(e.span());
        let kind = match e {
            Expression::Null(_) => ExprKind::Null,
            Expression::Bool(b) => ExprKind::Bool(*b.value()),
            Expression::Number(n) => ExprKind::Number(n.value().as_f64().unwrap_or(f64::NAN)),
            Expression::String(s) => ExprKind::Str(s.value().to_string()),
            Expression::Array(a) => ExprKind::Tuple(a.iter().map(|x| self.expr(x)).collect()),
            Expression::Object(o) => ExprKind::Object(
                o.iter()
                    .map(|(k, v)| {
                        let (key, key_span) = match k {
                            hx::ObjectKey::Ident(i) => (
                                ObjectKey::Name(i.value().to_string()),
                                self.span_of(i.span()),
                            ),
                            hx::ObjectKey::Expression(x) => {
                                let ex = self.expr(x);
                                let span = ex.span;
                                match ex.kind {
                                    ExprKind::Str(s) => (ObjectKey::Name(s), span),
                                    _ => (ObjectKey::Expr(ex), span),
                                }
                            }
                        };
                        ObjectItem {
                            key,
                            key_span,
                            value: self.expr(v.expr()),
                        }
                    })
                    .collect(),
            ),
            Expression::StringTemplate(t) => {
                return self.parts(t.iter(), span);
            }
            Expression::HeredocTemplate(h) => {
                let mut t = h.template.clone();
                // `<<-` strips the common indentation, as Terraform does.
                if h.indent().is_some() {
                    let mut heredoc = (**h).clone();
                    heredoc.dedent();
                    t = heredoc.template;
                }
                return self.template_with(&t, span);
            }
            Expression::Parenthesis(p) => return self.expr(p.inner()),
            Expression::Variable(v) => ExprKind::Var(v.value().to_string()),
            Expression::Conditional(c) => ExprKind::Cond(
                Box::new(self.expr(&c.cond_expr)),
                Box::new(self.expr(&c.true_expr)),
                Box::new(self.expr(&c.false_expr)),
            ),
            Expression::FuncCall(f) => {
                let mut name = String::new();
                for ns in &f.name.namespace {
                    name.push_str(ns.value());
                    name.push_str("::");
                }
                name.push_str(f.name.name.value());
                let mut args: Vec<Expr> = f.args.iter().map(|a| self.expr(a)).collect();
                if f.args.expand_final() {
                    // `f(list...)`: spreading is not evaluated.
                    if let Some(last) = args.last_mut() {
                        *last = Expr::new(
                            ExprKind::Unknown("an expanded argument list".into()),
                            last.span,
                        );
                    }
                }
                ExprKind::Call(name, args)
            }
            Expression::Traversal(t) => {
                let ops = t
                    .operators
                    .iter()
                    .map(|op| match op.value() {
                        hx::TraversalOperator::GetAttr(i) => Op::Attr(i.value().to_string()),
                        hx::TraversalOperator::Index(x) => Op::Index(self.expr(x)),
                        hx::TraversalOperator::LegacyIndex(n) => Op::Index(Expr::new(
                            ExprKind::Number(*n.value() as f64),
                            self.span_of(n.span()),
                        )),
                        hx::TraversalOperator::AttrSplat(_)
                        | hx::TraversalOperator::FullSplat(_) => Op::Splat,
                    })
                    .collect();
                ExprKind::Traverse(Box::new(self.expr(&t.expr)), ops)
            }
            Expression::UnaryOp(u) => ExprKind::Unary(
                match u.operator.value() {
                    hx::UnaryOperator::Neg => UnOp::Neg,
                    hx::UnaryOperator::Not => UnOp::Not,
                },
                Box::new(self.expr(&u.expr)),
            ),
            Expression::BinaryOp(b) => {
                use hx::BinaryOperator as B;
                let op = match b.operator.value() {
                    B::Eq => BinOp::Eq,
                    B::NotEq => BinOp::NotEq,
                    B::LessEq => BinOp::LessEq,
                    B::GreaterEq => BinOp::GreaterEq,
                    B::Less => BinOp::Less,
                    B::Greater => BinOp::Greater,
                    B::Plus => BinOp::Plus,
                    B::Minus => BinOp::Minus,
                    B::Mul => BinOp::Mul,
                    B::Div => BinOp::Div,
                    B::Mod => BinOp::Mod,
                    B::And => BinOp::And,
                    B::Or => BinOp::Or,
                };
                ExprKind::Binary(
                    op,
                    Box::new(self.expr(&b.lhs_expr)),
                    Box::new(self.expr(&b.rhs_expr)),
                )
            }
            Expression::ForExpr(f) => ExprKind::For(Box::new(ForExpr {
                key_var: f.intro.key_var.as_ref().map(|k| k.value().to_string()),
                value_var: f.intro.value_var.value().to_string(),
                collection: self.expr(&f.intro.collection_expr),
                key: f.key_expr.as_ref().map(|k| self.expr(k)),
                value: self.expr(&f.value_expr),
                cond: f.cond.as_ref().map(|c| self.expr(&c.expr)),
                grouping: f.grouping,
            })),
        };
        Expr::new(kind, span)
    }

    fn template_with(&self, t: &Template, span: Span) -> Expr {
        self.parts(t.iter(), span)
    }

    fn template(&self, t: &Template) -> Expr {
        let span = self.span_of(None);
        self.parts(t.iter(), span)
    }

    fn parts<'e>(&self, elements: impl Iterator<Item = &'e Element>, span: Span) -> Expr {
        let parts: Vec<TemplatePart> = elements
            .map(|el| match el {
                Element::Literal(s) => TemplatePart::Lit(s.value().to_string()),
                Element::Interpolation(i) => TemplatePart::Interp(self.expr(&i.expr)),
                Element::Directive(_) => TemplatePart::Directive,
            })
            .collect();
        match parts.as_slice() {
            [] => Expr::new(ExprKind::Str(String::new()), span),
            [TemplatePart::Lit(s)] => Expr::new(ExprKind::Str(s.clone()), span),
            _ => Expr::new(ExprKind::Template(parts), span),
        }
    }
}

struct Native<'a> {
    index: &'a LineIndex<'a>,
}

impl Convert for Native<'_> {
    fn span_of(&self, range: Option<std::ops::Range<usize>>) -> Span {
        let r = range.unwrap_or(0..0);
        Span {
            start: self.index.pos(r.start),
            end: self.index.pos(r.end),
        }
    }
}

impl Native<'_> {
    fn body(&self, body: &hs::Body) -> Body {
        let mut out = Body::default();
        for s in body.iter() {
            self.structure(s, &mut out);
        }
        out
    }

    /// A file's body, converted one top-level block at a time, each dropped once converted:
    /// hcl-edit's tree of a file takes many times the file's size, so the two trees are never
    /// both whole.
    fn file_body(&self, body: hs::Body) -> Body {
        let mut out = Body::default();
        for s in body {
            self.structure(&s, &mut out);
        }
        out
    }

    fn structure(&self, s: &hs::Structure, out: &mut Body) {
        match s {
            hs::Structure::Attribute(a) => out.attributes.push(Attribute {
                name: a.key.value().to_string(),
                name_span: self.span_of(a.key.span()),
                expr: self.expr(&a.value),
            }),
            hs::Structure::Block(b) => {
                let start = self.span_of(b.ident.span()).start;
                let end = b
                    .labels
                    .last()
                    .and_then(|l| l.span())
                    .map(|r| self.index.pos(r.end))
                    .unwrap_or_else(|| self.span_of(b.ident.span()).end);
                out.blocks.push(Block {
                    kind: b.ident.value().to_string(),
                    labels: b.labels.iter().map(|l| l.as_str().to_owned()).collect(),
                    span: Span { start, end },
                    body: self.body(&b.body),
                });
            }
        }
    }
}

/// Every piece gets one span (inside JSON strings).
struct Fixed {
    span: Span,
}

impl Convert for Fixed {
    fn span_of(&self, _: Option<std::ops::Range<usize>>) -> Span {
        self.span
    }
}

/// The labels each top-level block type of Terraform takes.
fn label_count(kind: &str) -> Option<usize> {
    match kind {
        "resource" | "data" => Some(2),
        "module" | "variable" | "output" | "provider" => Some(1),
        "locals" | "terraform" => Some(0),
        _ => None,
    }
}

/// A JSON value as an expression; strings are templates, as in Terraform's JSON syntax.
pub fn json_expr(node: &Node) -> Expr {
    let span = node.span;
    let kind = match &node.value {
        Value::Null => ExprKind::Null,
        Value::Bool(b) => ExprKind::Bool(*b),
        Value::Number(n) => ExprKind::Number(n.parse().unwrap_or(f64::NAN)),
        Value::String(s) => return template_in_json(s, span),
        Value::Seq(items) => ExprKind::Tuple(items.iter().map(json_expr).collect()),
        Value::Map(entries) => ExprKind::Object(
            entries
                .iter()
                .filter(|e| e.key != "//")
                .map(|e| ObjectItem {
                    key: ObjectKey::Name(e.key.clone()),
                    key_span: e.key_span,
                    value: json_expr(&e.value),
                })
                .collect(),
        ),
    };
    Expr::new(kind, span)
}

/// The body of a JSON object: every property an attribute (`//` comments dropped).
pub fn json_body(node: &Node) -> Body {
    Body {
        attributes: node
            .entries()
            .iter()
            .filter(|e| e.key != "//")
            .map(|e| Attribute {
                name: e.key.clone(),
                name_span: e.key_span,
                expr: json_expr(&e.value),
            })
            .collect(),
        blocks: Vec::new(),
        json: true,
    }
}

/// A `.tf.json` document as the blocks Terraform reads from it.
pub fn from_json(root: &Node) -> Result<Body, ReadError> {
    if !root.is_map() {
        return Err(ReadError::at(
            root.span.start,
            "Terraform JSON must be an object at the top",
        ));
    }
    let mut out = Body {
        json: true,
        ..Body::default()
    };
    for entry in root.entries() {
        let Some(n) = label_count(&entry.key) else {
            continue;
        };
        // Each level of labels may be an object, or a list of objects to allow repeats.
        let mut stack: Vec<(Vec<String>, Span, &Node)> =
            vec![(Vec::new(), entry.key_span, &entry.value)];
        while let Some((labels, span, node)) = stack.pop() {
            if labels.len() == n {
                let bodies: Vec<&Node> = match &node.value {
                    Value::Seq(items) => items.iter().collect(),
                    _ => vec![node],
                };
                for b in bodies {
                    out.blocks.push(Block {
                        kind: entry.key.clone(),
                        labels: labels.clone(),
                        span,
                        body: json_body(b),
                    });
                }
                continue;
            }
            let objects: Vec<&Node> = match &node.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![node],
            };
            for obj in objects.into_iter().rev() {
                for e in obj.entries().iter().rev().filter(|e| e.key != "//") {
                    let mut l = labels.clone();
                    l.push(e.key.clone());
                    stack.push((l, e.key_span, &e.value));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Body {
        parse(text, &Limits::default()).unwrap()
    }

    #[test]
    fn blocks_attributes_and_spans() {
        let b = body(
            "resource \"aws_kms_key\" \"k\" {\n  enable_key_rotation = true\n}\n\nresource \"aws_lambda_function\" \"f\" {\n  kms_key_arn = aws_kms_key.k.arn\n  environment {\n    variables = { A = \"é${var.x}\" }\n  }\n}\n",
        );
        assert_eq!(b.blocks.len(), 2);
        let f = &b.blocks[1];
        assert_eq!(f.labels, ["aws_lambda_function", "f"]);
        assert_eq!(f.span.start, Pos { line: 5, col: 1 });
        assert_eq!(f.span.end, Pos { line: 5, col: 35 });
        let kms = f.body.attr("kms_key_arn").unwrap();
        assert_eq!(kms.name_span.start, Pos { line: 6, col: 3 });
        assert!(matches!(&kms.expr.kind, ExprKind::Traverse(base, ops)
            if base.kind == ExprKind::Var("aws_kms_key".into()) && ops.len() == 2));
        let env = f.body.blocks_of("environment").next().unwrap();
        assert_eq!(env.span.start, Pos { line: 7, col: 3 });
        let vars = env.body.attr("variables").unwrap();
        let ExprKind::Object(items) = &vars.expr.kind else {
            panic!()
        };
        assert_eq!(items[0].key, ObjectKey::Name("A".into()));
        assert_eq!(items[0].key_span.start, Pos { line: 8, col: 19 });
        assert!(matches!(items[0].value.kind, ExprKind::Template(_)));
    }

    #[test]
    fn syntax_errors_are_one_line_with_a_position() {
        let e = parse("resource \"a\" \"b\" {\n  x = \n}\n", &Limits::default()).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(!e.message.contains('\n'), "{}", e.message);
        let deep = format!("x = {}{}", "[".repeat(300), "]".repeat(300));
        let e = parse(&deep, &Limits::default()).unwrap_err();
        assert!(e.message.contains("nesting"), "{}", e.message);
    }

    /// Shapes Terraform accepts (newlines are ignored inside a `for` expression) that hcl-edit
    /// refuses as written: the conditional and binary operation of a `{for}` key or value, and
    /// the collection of either form, broken across lines.
    #[test]
    fn line_breaks_inside_for_expressions() {
        let b = body(concat!(
            "locals {\n",
            "  a = { for k in l : k => c == \"n\" ? x[k] :\n    c == \"t\" ? title(x[k]) :\n    lower(x[k])\n  }\n",
            "  b = [for v in c == null ?\n    [] : c : v]\n",
            "  c = { for k, v in m : k =>\n    v.a &&\n    v.b # both\n    if v != null\n  }\n",
            "  d = { for k, v in m : k => {\n    x = v\n    y = 1\n  } }\n",
            "}\n",
            "resource \"aws_lambda_function\" \"f\" {\n  kms_key_arn = aws_kms_key.k.arn\n}\n",
        ));
        let locals = &b.blocks[0].body;
        for name in ["a", "b", "c", "d"] {
            let e = &locals.attr(name).unwrap().expr;
            assert!(matches!(e.kind, ExprKind::For(_)), "{name}: {e:?}");
        }
        let ExprKind::For(a) = &locals.attr("a").unwrap().expr.kind else {
            panic!()
        };
        assert!(matches!(a.value.kind, ExprKind::Cond(..)));
        assert_eq!(a.value.span.start, Pos { line: 2, col: 27 });
        assert_eq!(a.value.span.end, Pos { line: 4, col: 16 });
        let ExprKind::For(d) = &locals.attr("d").unwrap().expr.kind else {
            panic!()
        };
        assert!(matches!(&d.value.kind, ExprKind::Object(items) if items.len() == 2));
        let f = &b.blocks[1];
        assert_eq!(f.span.start, Pos { line: 18, col: 1 });
        let kms = f.body.attr("kms_key_arn").unwrap();
        assert_eq!(kms.name_span.start, Pos { line: 19, col: 3 });
        assert_eq!(kms.expr.span.start, Pos { line: 19, col: 17 });
        // An error after such an expression is reported on its own line and column.
        let e = parse("x = [for v in l :\n  v]\ny = = 1\n", &Limits::default()).unwrap_err();
        assert_eq!((e.line, e.column), (Some(3), Some(5)), "{}", e.message);
        // At the end of the input, one past the last character, as for a text parsed as written.
        let e = parse("locals {\n  x = [for v in l :\n v", &Limits::default()).unwrap_err();
        assert_eq!((e.line, e.column), (Some(3), Some(3)), "{}", e.message);
        // A newline still separates the items of an object inside a `for`.
        assert!(
            parse(
                "x = [for v in l : { a = v ?\n 1 : 2 }]\n",
                &Limits::default()
            )
            .is_err()
        );
    }

    #[test]
    fn heredocs_and_json_templates() {
        let b = body("locals {\n  p = <<-EOT\n    {\"a\": 1}\n  EOT\n}\n");
        let p = &b.blocks[0].body.attr("p").unwrap().expr;
        assert_eq!(p.as_str(), Some("{\"a\": 1}\n"));
        let span = Span::default();
        let t = template_in_json("${aws_kms_key.k.arn}", span);
        assert!(matches!(t.kind, ExprKind::Template(ref parts) if parts.len() == 1));
        assert_eq!(template_in_json("plain", span).as_str(), Some("plain"));
    }

    #[test]
    fn json_syntax_top_level_blocks() {
        let doc = super::super::json::parse(
            r#"{"resource": {"aws_lambda_function": {"f": {"kms_key_arn": "${aws_kms_key.k.arn}", "environment": {"variables": {"A": "1"}}}}}, "variable": {"v": {"default": "x"}}, "locals": {"a": 1}}"#,
            &Limits::default(),
        )
        .unwrap();
        let b = from_json(&doc.root).unwrap();
        let kinds: Vec<(&str, &[String])> = b
            .blocks
            .iter()
            .map(|b| (b.kind.as_str(), b.labels.as_slice()))
            .collect();
        assert_eq!(kinds.len(), 3);
        assert_eq!(kinds[0].1, ["aws_lambda_function", "f"]);
        assert!(b.blocks[0].body.json);
        assert!(b.blocks[2].body.attr("a").is_some());
    }
}

//! Line comments in YAML and HCL text, found by a small lexer rather than a parser: the
//! readers drop comments, and an `atrest:ignore` comment only needs its line, its column and
//! whether code stands before it on that line.
//!
//! YAML: `#` at the start of a line or after whitespace, outside quoted scalars. HCL: `#` and
//! `//` outside strings, heredocs and `/* */` blocks; the lexer also reports the line range of
//! each top-level `resource`, `data` and `module` block, so a comment can name the block it is
//! in.

/// One line comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// 1-based line and column of the comment marker.
    pub line: u32,
    pub col: u32,
    /// The text after the marker, trimmed.
    pub text: String,
    /// Nothing but whitespace stands before it on its line.
    pub standalone: bool,
}

/// A top-level HCL block and the lines it spans (inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// `type.name` for a resource, `data.type.name`, `module.name`: the address Terraform uses.
    pub name: String,
    pub start: u32,
    pub end: u32,
}

/// A comment on 0-based line `line`, after the text `before` (columns count code points).
fn comment(line: usize, before: &str, text: &str) -> Comment {
    Comment {
        line: line as u32 + 1,
        col: before.chars().count() as u32 + 1,
        text: text.trim().to_owned(),
        standalone: before.trim().is_empty(),
    }
}

/// The comments of a YAML text. A quote opens a quoted scalar only where a scalar can start
/// (`it's` in a plain scalar is not a quote). Quoted scalars that span lines are not tracked
/// across lines; callers drop comments that fall inside a multi-line scalar of the parsed tree.
pub fn yaml(text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut i = 0;
        let mut prev_sig: Option<u8> = None;
        while i < bytes.len() {
            match bytes[i] {
                b'#' if i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t' => {
                    out.push(comment(n, &line[..i], &line[i + 1..]));
                    break;
                }
                q @ (b'\'' | b'"')
                    if matches!(
                        prev_sig,
                        None | Some(b':' | b'-' | b'[' | b'{' | b',' | b'?')
                    ) =>
                {
                    i = skip_quoted(bytes, i + 1, q);
                    prev_sig = Some(q);
                    continue;
                }
                b' ' | b'\t' => {}
                other => prev_sig = Some(other),
            }
            i += 1;
        }
    }
    out
}

/// The index after the closing quote (or the line's end). YAML doubles `'` inside single quotes
/// and escapes with `\` inside double quotes; HCL strings use `\` too.
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The comments of an HCL (Terraform) text, and its top-level blocks.
pub fn hcl(text: &str) -> (Vec<Comment>, Vec<Block>) {
    let mut comments = Vec::new();
    let mut blocks = Vec::new();
    let mut depth: i32 = 0;
    let mut open: Option<(String, u32)> = None;
    let mut in_block_comment = false;
    let mut heredoc: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        if depth == 0
            && !in_block_comment
            && let Some(name) = block_name(line)
        {
            open = Some((name, n as u32 + 1));
        }
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if in_block_comment {
                if line[i..].starts_with("*/") {
                    in_block_comment = false;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            let rest = &line[i..];
            if bytes[i] == b'#' || rest.starts_with("//") {
                let marker = if bytes[i] == b'#' { 1 } else { 2 };
                comments.push(comment(n, &line[..i], &line[i + marker..]));
                break;
            }
            if rest.starts_with("/*") {
                in_block_comment = true;
                i += 2;
                continue;
            }
            if let Some(tag) = heredoc_start(rest) {
                heredoc = Some(tag);
                break;
            }
            match bytes[i] {
                b'"' => {
                    i = skip_hcl_string(bytes, i + 1);
                    continue;
                }
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0
                        && let Some((name, start)) = open.take()
                    {
                        blocks.push(Block {
                            name,
                            start,
                            end: n as u32 + 1,
                        });
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    (comments, blocks)
}

/// Skips an HCL string, including `${ ... }` interpolations that hold strings of their own.
/// Iterative: a hostile file cannot exhaust the stack with nested interpolations.
fn skip_hcl_string(bytes: &[u8], mut i: usize) -> usize {
    // One entry per open string: how many interpolations are open inside it.
    let mut strings: Vec<u32> = vec![0];
    while i < bytes.len() {
        let Some(open) = strings.last_mut() else {
            break;
        };
        match bytes[i] {
            b'\\' if *open == 0 => i += 1,
            b'$' if *open == 0 && bytes.get(i + 1) == Some(&b'{') => {
                *open += 1;
                i += 1;
            }
            b'{' if *open > 0 => *open += 1,
            b'}' if *open > 0 => *open -= 1,
            b'"' if *open > 0 => strings.push(0),
            b'"' => {
                strings.pop();
                if strings.is_empty() {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// `<<EOF` or `<<-EOF`: the closing tag.
fn heredoc_start(rest: &str) -> Option<String> {
    let tag = rest.strip_prefix("<<")?;
    let tag = tag.strip_prefix('-').unwrap_or(tag);
    let tag: String = tag
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!tag.is_empty()).then_some(tag)
}

/// The address of a block that starts on this line: `resource "t" "n" {`, `data "t" "n" {`,
/// `module "n" {`.
fn block_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let kind = words.next()?;
    let label = |w: Option<&str>| -> Option<String> {
        let w = w?;
        (w.len() >= 2 && w.starts_with('"') && w.ends_with('"')).then(|| w[1..w.len() - 1].into())
    };
    match kind {
        "resource" => Some(format!("{}.{}", label(words.next())?, label(words.next())?)),
        "data" => Some(format!(
            "data.{}.{}",
            label(words.next())?,
            label(words.next())?
        )),
        "module" => Some(format!("module.{}", label(words.next())?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(c: &[Comment]) -> Vec<(u32, &str, bool)> {
        c.iter()
            .map(|c| (c.line, c.text.as_str(), c.standalone))
            .collect()
    }

    #[test]
    fn yaml_comments_outside_quotes() {
        let text = "# top\na: 1 # trailing\nb: 'x # not' # yes\nc: \"q \\\" # no\" #y\nd: it's # real\ne: a#b\n";
        assert_eq!(
            texts(&yaml(text)),
            vec![
                (1, "top", true),
                (2, "trailing", false),
                (3, "yes", false),
                (4, "y", false),
                (5, "real", false),
            ]
        );
        assert_eq!(yaml(text)[1].col, 6);
    }

    #[test]
    fn hcl_comments_and_blocks() {
        let text = r##"# header
resource "aws_lambda_function" "f" { # on the block
  kms_key_arn = "arn:aws:kms:x:1:key/#1" // slash
  name = "${var.a == "b" ? "#" : "c"}" # after interpolation
  /* block # not a comment */
  policy = <<EOF
# inside heredoc
EOF
}
module "m" {
  source = "./m"
}
"##;
        let (comments, blocks) = hcl(text);
        assert_eq!(
            texts(&comments),
            vec![
                (1, "header", true),
                (2, "on the block", false),
                (3, "slash", false),
                (4, "after interpolation", false),
            ]
        );
        let deep = format!(
            "x = \"{}{}\" # after\n",
            "${\"".repeat(100_000),
            "\"}".repeat(100_000)
        );
        assert_eq!(
            hcl(&deep).0.len(),
            1,
            "nested interpolations do not recurse"
        );
        assert_eq!(
            blocks,
            vec![
                Block {
                    name: "aws_lambda_function.f".into(),
                    start: 2,
                    end: 9
                },
                Block {
                    name: "module.m".into(),
                    start: 10,
                    end: 12
                },
            ]
        );
    }
}

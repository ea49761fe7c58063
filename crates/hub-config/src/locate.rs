//! Line and column of a key path in a config file's text, for error messages.
//!
//! serde_json values carry no positions, so the text is parsed a second time — only when there
//! are problems to report — with a parser that keeps ranges (jsonc-parser, which reads JSON5:
//! comments, trailing commas, unquoted keys, single quotes). A path that cannot be followed to
//! the end points at the deepest key found, so every message gets the nearest line.

use jsonc_parser::{CollectOptions, ParseOptions, ast, common::Ranged};

/// 1-based line and column of `path` (`mcpServers.github.env.TOKEN`, `…args[2]`,
/// `hub.http.allowedOrigins.1`) in `text`, or `None` when the text does not parse or not even
/// the first key is there. A file that names its server map `servers` (VS Code) is searched
/// there for `mcpServers.…` paths.
pub(crate) fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let parsed =
        jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default())
            .ok()?;
    let ast::Value::Object(top) = parsed.value? else { return None };
    let mut offset = None;
    let mut node = Node::Object(&top);
    let mut rest = path;
    if let Some(after) = rest.strip_prefix("mcpServers") {
        let map = if top.properties.iter().any(|p| p.name.as_str() == "servers") {
            "servers"
        } else {
            "mcpServers"
        };
        let prop = top.properties.iter().find(|p| p.name.as_str() == map)?;
        offset = Some(prop.range.start);
        node = Node::of(&prop.value);
        rest = after.strip_prefix('.').unwrap_or(after);
    }
    while !rest.is_empty() {
        let step = match node {
            Node::Object(o) => o.properties.iter().find_map(|p| {
                let key = p.name.as_str();
                let after = rest.strip_prefix(key)?;
                let after = match after.as_bytes().first() {
                    None => after,
                    Some(b'.') => &after[1..],
                    Some(b'[') => after,
                    Some(_) => return None,
                };
                Some((p.range.start, Node::of(&p.value), after))
            }),
            Node::Array(a) => {
                let (index, after) = split_index(rest)?;
                a.elements.get(index).map(|v| (v.range().start, Node::of(v), after))
            }
            Node::Other => None,
        };
        let Some((start, next, after)) = step else { break };
        offset = Some(start);
        node = next;
        rest = after;
    }
    offset.map(|o| line_col(text, o))
}

#[derive(Clone, Copy)]
enum Node<'a, 'b> {
    Object(&'b ast::Object<'a>),
    Array(&'b ast::Array<'a>),
    Other,
}

impl<'a, 'b> Node<'a, 'b> {
    fn of(v: &'b ast::Value<'a>) -> Self {
        match v {
            ast::Value::Object(o) => Node::Object(o),
            ast::Value::Array(a) => Node::Array(a),
            _ => Node::Other,
        }
    }
}

/// `[3].x` or `3.x` (serde's spelling) → `(3, ".x" without the dot)`.
fn split_index(rest: &str) -> Option<(usize, &str)> {
    let (digits, after) = match rest.strip_prefix('[') {
        Some(r) => {
            let (d, a) = r.split_once(']')?;
            (d, a)
        }
        None => rest.split_at(rest.find(['.', '[']).unwrap_or(rest.len())),
    };
    Some((digits.parse().ok()?, after.strip_prefix('.').unwrap_or(after)))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests;

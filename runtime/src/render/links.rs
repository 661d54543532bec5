//! The links a template's author wrote: only these are tracked through the signed click redirect, never an address that arrived in lead or event data.

/// Every `http://` or `https://` address written literally in a template's source, in
/// order of appearance, without duplicates. An address is cut at whitespace, a quote, a
/// bracket, `<`, `>` or the start of a template tag (`{`), so a link whose address is
/// built from a variable is not in the list (and so is never tracked).
pub fn written_links(source: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = source;
    while let Some(pos) = find_scheme(rest) {
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| {
                c.is_whitespace()
                    || matches!(
                        c,
                        '"' | '\'' | '(' | ')' | '<' | '>' | '[' | ']' | '{' | '}' | '`'
                    )
            })
            .unwrap_or(tail.len());
        let url = &tail[..end];
        // A URL cut by `{` was built from a template variable: not the author's address.
        let built = tail[end..].starts_with('{');
        if !built && url.len() > "https://".len() && !out.iter().any(|u| u == url) {
            out.push(url.to_owned());
        }
        rest = &tail[end.max(1)..];
    }
    out
}

fn find_scheme(s: &str) -> Option<usize> {
    match (s.find("http://"), s.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_addresses_written_by_the_author_count() {
        let src = r#"[Đọc](https://acme.vn/case?a=1&b=2) <a href="http://acme.vn/x">x</a>
        <a href="https://acme.vn/p/{{ lead.id }}">y</a> {{ lead.website }} https://acme.vn/case?a=1&b=2"#;
        assert_eq!(
            written_links(src),
            ["https://acme.vn/case?a=1&b=2", "http://acme.vn/x"]
        );
    }
}

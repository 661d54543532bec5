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

/// Replaces a `href`/`src` value whose scheme runs code or embeds content
/// (`javascript:`, `vbscript:`, `data:`) with `#`: a template may build an address from a
/// lead's value (`href="{{ lead.website }}"`), and escaping alone does not stop a
/// `javascript:` URL.
pub fn neutralize_script_urls(html: &str) -> String {
    // One lowercase copy for the search (ASCII lowercasing keeps every byte offset).
    let lower = html.to_ascii_lowercase();
    if !lower.contains("href=") && !lower.contains("src=") {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len());
    let mut pos = 0;
    loop {
        let next = ["href=\"", "href='", "src=\"", "src='"]
            .iter()
            .filter_map(|p| lower[pos..].find(p).map(|i| (pos + i, p.len())))
            .min();
        let Some((at, len)) = next else {
            out.push_str(&html[pos..]);
            return out;
        };
        let quote = html.as_bytes()[at + len - 1] as char;
        out.push_str(&html[pos..at + len]);
        let value_start = at + len;
        let end = html[value_start..]
            .find(quote)
            .map_or(html.len(), |e| value_start + e);
        let value = &html[value_start..end];
        let scheme: String = crate::render::text::decode_entities(value)
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .take(11)
            .collect::<String>()
            .to_ascii_lowercase();
        if ["javascript:", "vbscript:", "data:"]
            .iter()
            .any(|s| scheme.starts_with(s))
        {
            out.push('#');
        } else {
            out.push_str(value);
        }
        pos = end;
    }
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
    fn script_urls_become_harmless() {
        let html = r#"<a href="javascript:alert(1)">a</a> <a href=' JaVa&#83;cript:x'>b</a> <img src="data:text/html,x"> <a href="https://acme.vn">ok</a>"#;
        assert_eq!(
            neutralize_script_urls(html),
            r##"<a href="#">a</a> <a href='#'>b</a> <img src="#"> <a href="https://acme.vn">ok</a>"##
        );
    }

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

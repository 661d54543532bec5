//! The plain-text part of an email, written for reading: Markdown and HTML turned into paragraphs, list items and links as `text (url)`.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// Markdown to HTML (raw HTML the template's author wrote is kept; values were escaped
/// before the Markdown was rendered).
pub fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, Parser::new(md));
    out
}

/// Markdown to readable text: no `**`, no `[text](url)`; a link reads `text (url)` (just
/// `url` when the text is the address), list items start with `- `, paragraphs are
/// separated by a blank line, raw HTML tags are dropped.
pub fn markdown_to_text(md: &str) -> String {
    let mut out = String::new();
    let mut links: Vec<(String, usize)> = Vec::new();
    let mut ordered: Vec<Option<u64>> = Vec::new();
    for event in Parser::new(md) {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push((dest_url.to_string(), out.len()))
            }
            Event::End(TagEnd::Link) => close_link(&mut out, links.pop()),
            Event::Start(Tag::List(first)) => {
                block_break(&mut out);
                ordered.push(first);
            }
            Event::End(TagEnd::List(_)) => {
                ordered.pop();
                block_break(&mut out);
            }
            Event::Start(Tag::Item) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                match ordered.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("- "),
                }
            }
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::CodeBlock)
                if ordered.is_empty() =>
            {
                block_break(&mut out);
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                links.push((dest_url.to_string(), out.len()))
            }
            Event::End(TagEnd::Image) => {
                if let Some((url, start)) = links.pop() {
                    let alt = out[start..].trim().to_owned();
                    out.truncate(start);
                    if !alt.is_empty() {
                        out.push_str(&format!("[{alt}]"));
                    } else if !url.is_empty() {
                        out.push_str(&format!("[{url}]"));
                    }
                }
            }
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Rule => {
                block_break(&mut out);
                out.push_str("----\n\n");
            }
            Event::Html(h) | Event::InlineHtml(h) => read_html(&h, &mut out, &mut links),
            _ => {}
        }
    }
    tidy(&out)
}

/// Ends a link opened at `start` with address `url`: `text (url)`, just `url` when the
/// link has no text, just the text when it is the address or there is none.
fn close_link(out: &mut String, opened: Option<(String, usize)>) {
    let Some((url, start)) = opened else { return };
    let text = out[start..].trim().to_owned();
    if text.is_empty() {
        out.push_str(&url);
    } else if text != url && !url.is_empty() {
        out.push_str(&format!(" ({url})"));
    }
}

/// Reads HTML into text as it goes (a whole `.html` body, or raw HTML inside Markdown):
/// `<a href>`…`</a>` as a link, `<br>` as a line break, block tags as paragraph breaks,
/// `<li>` as `- `, `<img alt>` as `[alt]`, `<script>`/`<style>` contents dropped, other
/// tags dropped, text decoded. Links opened and not yet closed wait in `links`.
fn read_html(html: &str, out: &mut String, links: &mut Vec<(String, usize)>) {
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        let after = &rest[lt..];
        let Some(gt) = after.find('>') else {
            out.push_str(&decode_entities(after));
            return;
        };
        let tag = &after[1..gt];
        rest = &after[gt + 1..];
        let lower = tag.to_ascii_lowercase();
        let closing = lower.starts_with('/');
        let name: String = lower
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match (name.as_str(), closing) {
            ("script" | "style", false) => {
                let end = format!("</{name}");
                let cut = rest.to_ascii_lowercase().find(&end).unwrap_or(rest.len());
                rest = &rest[cut..];
            }
            ("a", false) => links.push((attribute(tag, "href").unwrap_or_default(), out.len())),
            ("a", true) => close_link(out, links.pop()),
            ("br", _) => out.push('\n'),
            ("li", false) => {
                if !out.ends_with('\n') && !out.is_empty() {
                    out.push('\n');
                }
                out.push_str("- ");
            }
            (
                "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "ul" | "ol" | "table"
                | "tr" | "blockquote",
                _,
            ) => block_break(out),
            ("img", false) => {
                if let Some(alt) = attribute(tag, "alt").filter(|a| !a.is_empty()) {
                    out.push_str(&format!("[{alt}]"));
                }
            }
            _ => {}
        }
    }
    out.push_str(&decode_entities(rest));
}

/// HTML to readable text: see [`read_html`]; then spaces and blank lines tidied.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    read_html(html, &mut out, &mut Vec::new());
    tidy(&out)
}

/// Ends the current block with one blank line.
fn block_break(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
    if out.is_empty() || out.ends_with("\n\n") {
        return;
    }
    if out.ends_with('\n') {
        out.push('\n');
    } else {
        out.push_str("\n\n");
    }
}

/// Collapses runs of spaces inside lines and of blank lines; trims the whole.
fn tidy(s: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in s.lines() {
        let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
        let keep_indent = line.starts_with("- ");
        let line = if keep_indent {
            collapsed
        } else {
            collapsed.trim().to_owned()
        };
        if line.is_empty() && lines.last().is_some_and(|l: &String| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    let text = lines.join("\n");
    format!("{}\n", text.trim())
}

/// The value of an attribute in a tag's text (`a href="…"`), entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(name) {
        let at = from + pos;
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[at + name.len()..].trim_start();
        if before_ok && rest.starts_with('=') {
            let value_start = tag.len() - rest.len() + 1;
            let value = tag[value_start..].trim_start();
            let (quote, body) = match value.chars().next() {
                Some(q @ ('"' | '\'')) => (Some(q), &value[1..]),
                _ => (None, value),
            };
            let end = match quote {
                Some(q) => body.find(q).unwrap_or(body.len()),
                None => body.find(char::is_whitespace).unwrap_or(body.len()),
            };
            return Some(decode_entities(&body[..end]));
        }
        from = at + name.len();
    }
    None
}

/// Decodes the entities HTML escaping produces, `&nbsp;`, and numeric references
/// (`&#91;`, `&#x5B;`).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let end = tail.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let name = &tail[1..e];
            let c = match name {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "amp" => Some('&'),
                "nbsp" => Some(' '),
                "apos" => Some('\''),
                _ => name.strip_prefix('#').and_then(|n| {
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => n.parse::<u32>().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &tail[e + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_reads_as_text_with_links_spelled_out() {
        let md = "Chào **An**,\n\nTải [ebook](https://acme.vn/e) tại đây.\n\n- một\n- hai\n\n[Hủy đăng ký](https://x/u)\n";
        assert_eq!(
            markdown_to_text(md),
            "Chào An,\n\nTải ebook (https://acme.vn/e) tại đây.\n\n- một\n- hai\n\nHủy đăng ký (https://x/u)\n"
        );
    }

    #[test]
    fn html_reads_as_text() {
        let html = "<style>p{}</style><p>A &amp; B</p><p><a href=\"https://a.vn/?x=1&amp;y=2\">Xem</a><br>dòng</p><ul><li>x</li></ul>";
        assert_eq!(
            html_to_text(html),
            "A & B\n\nXem (https://a.vn/?x=1&y=2)\ndòng\n\n- x\n"
        );
    }

    #[test]
    fn raw_html_links_in_markdown_read_as_links() {
        assert_eq!(
            markdown_to_text("Xem <a href=\"https://acme.vn/bang-gia\">bảng giá</a> nhé.\n"),
            "Xem bảng giá (https://acme.vn/bang-gia) nhé.\n"
        );
        assert_eq!(
            markdown_to_text("<div>Công ty: Sao Việt Co&#46;&#44; Ltd&#46;</div>\n"),
            "Công ty: Sao Việt Co., Ltd.\n"
        );
    }

    #[test]
    fn markdown_becomes_html() {
        assert_eq!(
            markdown_to_html("**Chào** bạn"),
            "<p><strong>Chào</strong> bạn</p>\n"
        );
    }
}

//! Escaping of lead and event values for each target: HTML, Markdown (before it is rendered) and plain one-line text.

/// The entity HTML needs for a character, if it needs one (`& < > " '`).
fn entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    }
}

/// Escapes text for HTML text and attribute values (`& < > " '`).
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match entity(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out
}

/// Escapes a value so that Markdown reads it as literal text: the characters HTML gives
/// meaning to become entity references (decoded back in text and link destinations,
/// left to the browser inside raw HTML, so a value can close no attribute), and every
/// other ASCII punctuation character is backslash-escaped, so a value can start no link,
/// emphasis, heading, list or code span. Line breaks become spaces: a value cannot start
/// a block of its own.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if let Some(e) = entity(c) {
            out.push_str(e);
            continue;
        }
        match c {
            '\r' | '\n' => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A plain one-line text (subject, task title, `notify` text): CR and LF removed.
pub fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn markdown_values_cannot_make_links_or_markup() {
        let v = markdown("[bấm](https://evil.example) **x** <b>\n# h");
        assert_eq!(
            v,
            "\\[bấm\\]\\(https\\:\\/\\/evil\\.example\\) \\*\\*x\\*\\* &lt;b&gt; \\# h"
        );
    }

    #[test]
    fn one_line_removes_line_breaks() {
        assert_eq!(one_line("a\r\nBcc: x@y\n"), "aBcc: x@y");
    }
}

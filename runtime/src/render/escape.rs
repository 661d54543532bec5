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

/// Escapes a value so that Markdown reads it as literal text: every ASCII punctuation
/// character becomes a numeric character reference (`&#91;` for `[`). CommonMark decodes
/// references in text and link destinations but never reads them as syntax, so a value
/// can start no link, emphasis, heading, list, code span or tag; inside raw HTML the
/// browser decodes them, so a value can close no attribute and shows as typed (no stray
/// backslashes). Line breaks become spaces: a value cannot start a block of its own.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push_str("&#");
                out.push_str(&u32::from(c).to_string());
                out.push(';');
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
        let v = markdown("[bấm](https://x.vn) **x** <b>\n# h");
        assert_eq!(
            v,
            "&#91;bấm&#93;&#40;https&#58;&#47;&#47;x&#46;vn&#41; &#42;&#42;x&#42;&#42; &#60;b&#62; &#35; h"
        );
        let html = crate::render::text::markdown_to_html(&v);
        assert_eq!(html, "<p>[bấm](https://x.vn) **x** &lt;b&gt; # h</p>\n");
    }

    #[test]
    fn one_line_removes_line_breaks() {
        assert_eq!(one_line("a\r\nBcc: x@y\n"), "aBcc: x@y");
    }
}

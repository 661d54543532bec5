//! Line joining before pest runs: blanks line breaks (and comments) inside `( )` and `[ ]`, and measures nesting.
//!
//! The replacement keeps every byte offset (a line break becomes a space, a
//! comment becomes spaces), so spans computed on the joined text are exact
//! for the original file. It also finds nesting deeper than the parser may
//! recurse, so that 10,000 parentheses give a diagnostic, not a stack overflow.

/// How deep `( [ {` may nest before the parser refuses the declaration.
pub const MAX_NESTING: usize = 64;

pub struct Prepassed {
    /// The source with insignificant line breaks blanked out (same length as the input).
    pub text: String,
    /// Byte offsets of opening brackets that exceed [`MAX_NESTING`] (first one per run).
    pub too_deep: Vec<usize>,
    /// Every comment: byte range of the `#…` text, and whether code precedes it on its line.
    pub comments: Vec<(usize, usize, bool)>,
}

pub fn prepass(src: &str) -> Prepassed {
    let bytes = src.as_bytes();
    let mut out: Vec<u8> = bytes.to_vec();
    let mut stack: Vec<u8> = Vec::new();
    let mut too_deep = Vec::new();
    let mut comments = Vec::new();
    let mut reported_deep = false;
    let mut code_on_line = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                // Skip a text literal; it ends at the closing quote or the line end.
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                        i += 1;
                    }
                    i += 1;
                }
                code_on_line = true;
                if i < bytes.len() && bytes[i] == b'"' {
                    i += 1;
                }
                continue;
            }
            b'#' => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                let mut end = i;
                if end > start && bytes[end - 1] == b'\r' {
                    end -= 1;
                }
                comments.push((start, end, code_on_line));
                if stack.iter().any(|&c| c == b'(' || c == b'[') {
                    for byte in out.iter_mut().take(i).skip(start) {
                        *byte = b' ';
                    }
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                stack.push(b);
                if stack.len() > MAX_NESTING && !reported_deep {
                    too_deep.push(i);
                    reported_deep = true;
                }
                code_on_line = true;
            }
            b')' | b']' | b'}' => {
                stack.pop();
                if stack.len() <= MAX_NESTING {
                    reported_deep = false;
                }
                code_on_line = true;
            }
            b'\n' | b'\r' => {
                if matches!(stack.last(), Some(b'(') | Some(b'[')) {
                    out[i] = b' ';
                }
                if b == b'\n' {
                    code_on_line = false;
                }
            }
            b' ' | b'\t' => {}
            _ => code_on_line = true,
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII spaces, so the text stays valid UTF-8.
    let text = String::from_utf8(out).unwrap_or_else(|_| src.to_owned());
    Prepassed {
        text,
        too_deep,
        comments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_lines_inside_parentheses_only() {
        let p = prepass("a (b\n c) # x\nd [e # note\n f]\n");
        let expected = format!("a (b  c) # x\nd [e{}f]\n", " ".repeat(9));
        assert_eq!(p.text, expected);
        assert_eq!(p.comments.len(), 2);
        assert!(p.comments[0].2);
    }

    #[test]
    fn reports_deep_nesting_once() {
        let src = "(".repeat(10_000);
        let p = prepass(&src);
        assert_eq!(p.too_deep, vec![MAX_NESTING]);
    }
}

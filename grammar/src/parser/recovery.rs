//! After a syntax error: what the broken declaration still declares (its kind, its name, the names written inside it), where a misspelt declaration keyword starts a new declaration, and the help the error gets (a misspelt keyword, a missing `{`, a `{` never closed).
//!
//! A declaration that does not parse is left out of the syntax tree, but its
//! name is read from its first words so that the checker does not report every
//! use of it as unknown: one mistake, one error.

use super::*;
use crate::suggest::{did_you_mean, without_accents};

/// A top-level declaration that did not parse, as far as its words can be read.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenDecl {
    /// The declaration keyword as meant (`journey`, `team`, …; a misspelt one corrected).
    pub keyword: &'static str,
    /// The declared name, when one could be read (`journey NAME`, `event NAME`, …).
    pub name: Option<Ident>,
    /// The declaration, from its keyword to its last word.
    pub span: Span,
    /// `NAME: TYPE` pairs written inside: a `lead`'s fields, an `event`'s properties.
    pub typed: Vec<(Ident, Ident)>,
    /// Every other word written inside, in order: a handoff's reasons, a stage list, the
    /// journeys it enrolls, …
    pub words: Vec<Ident>,
    /// How many of `words` come before the first `|` (a stage list's outside stages follow it).
    pub bar: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Word,
    Text,
    Number,
    Newline,
    Punct(char),
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

/// A forgiving split of `text` into words, texts, numbers and punctuation (comments skipped).
fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let kind = match b {
            b'\n' => {
                i += 1;
                Tok::Newline
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                        i += 1;
                    }
                    i += 1;
                }
                if i < bytes.len() && bytes[i] == b'"' {
                    i += 1;
                }
                Tok::Text
            }
            b'0'..=b'9' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
                {
                    i += 1;
                }
                Tok::Number
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Tok::Word
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or(' ');
                i += c.len_utf8();
                Tok::Punct(c)
            }
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// Words that cannot be a declared name.
fn reserved(word: &str) -> bool {
    matches!(
        word,
        "and"
            | "or"
            | "not"
            | "in"
            | "is"
            | "true"
            | "false"
            | "if"
            | "else"
            | "between"
            | "contains"
            | "matches"
    )
}

/// The declaration keyword a word is, or is a misspelling of.
fn decl_keyword(word: &str) -> Option<&'static str> {
    if let Some(kw) = DECL_KEYWORDS.iter().find(|k| **k == word) {
        return Some(kw);
    }
    // A misspelling, not a shorter word inside a keyword (`send` is not `sending`).
    did_you_mean(word, DECL_KEYWORDS.iter().copied())
        .filter(|kw| kw.len().abs_diff(word.len()) <= 1)
}

/// Declarations whose keyword is followed by their name.
fn named(keyword: &str) -> bool {
    matches!(
        keyword,
        "event"
            | "const"
            | "segment"
            | "score"
            | "rule"
            | "journey"
            | "team"
            | "handoff"
            | "schedule"
    )
}

/// Whether a line begins, in its first column, with a misspelt declaration keyword and a
/// name (`jorney welcome {`): the start of a declaration the whole-file parse could not see.
pub(super) fn starts_misspelt_declaration(line: &str) -> bool {
    let toks = tokens(line);
    let word = |t: Option<&Token>| {
        t.filter(|t| t.kind == Tok::Word)
            .map(|t| &line[t.start..t.end])
    };
    let (Some(first), Some(second)) = (word(toks.first()), word(toks.get(1))) else {
        return false;
    };
    toks.first().is_some_and(|t| t.start == 0)
        && !DECL_KEYWORDS.contains(&first)
        && !reserved(first)
        && !reserved(second)
        && decl_keyword(first).is_some_and(named)
}

/// What a declaration that did not parse still declares. `None` when it does not start
/// with a (possibly misspelt) declaration keyword.
pub(super) fn salvage(file: FileId, offset: usize, chunk: &str) -> Option<BrokenDecl> {
    let toks: Vec<Token> = tokens(chunk)
        .into_iter()
        .filter(|t| t.kind != Tok::Newline)
        .collect();
    let first = toks.first().filter(|t| t.kind == Tok::Word)?;
    let keyword = decl_keyword(&chunk[first.start..first.end])?;
    let ident = |t: &Token| Ident {
        name: chunk[t.start..t.end].to_owned(),
        span: Span::new(file, offset + t.start, offset + t.end),
    };
    let mut rest = &toks[1..];
    let mut name = None;
    if named(keyword) {
        if let Some(t) = rest
            .first()
            .filter(|t| t.kind == Tok::Word && !reserved(&chunk[t.start..t.end]))
        {
            name = Some(ident(t));
            rest = &rest[1..];
        }
    }
    let mut typed = Vec::new();
    let mut words = Vec::new();
    let mut bar = None;
    let mut i = 0;
    while let Some(t) = rest.get(i) {
        match t.kind {
            Tok::Word => {
                let colon = rest.get(i + 1).is_some_and(|c| c.kind == Tok::Punct(':'));
                match rest.get(i + 2).filter(|ty| colon && ty.kind == Tok::Word) {
                    Some(ty) => {
                        typed.push((ident(t), ident(ty)));
                        i += 3;
                        continue;
                    }
                    None => words.push(ident(t)),
                }
            }
            Tok::Punct('|') if bar.is_none() => bar = Some(words.len()),
            _ => {}
        }
        i += 1;
    }
    let end = toks.last().map_or(first.end, |t| t.end);
    Some(BrokenDecl {
        keyword,
        name,
        span: Span::new(file, offset + first.start, offset + end),
        typed,
        words,
        bar,
    })
}

/// The line of `text` that holds byte `at` (moved back to a character boundary), as the
/// byte range from its first character to its `\n` (or the end of the text).
fn line_around(text: &str, at: usize) -> (usize, usize) {
    let at = text.floor_char_boundary(at.min(text.len()));
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    (start, end)
}

/// A name written with accents (`doanh_nghiệp`, `tên`) on the line of a syntax error: names
/// are ASCII letters, digits and `_`, so the help writes the name without its accents.
pub(super) fn accented_name(file: FileId, full: &str, at: usize) -> Option<Diagnostic> {
    let (start, end) = line_around(full, at);
    let line = &full[start..end];
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => return None,
            '"' => {
                // Skip the text, escapes included.
                while let Some((_, t)) = chars.next() {
                    match t {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut j = i + c.len_utf8();
                while let Some(&(k, t)) = chars.peek() {
                    if !(t.is_alphanumeric() || t == '_') {
                        break;
                    }
                    j = k + t.len_utf8();
                    chars.next();
                }
                let word = &line[i..j];
                if word.is_ascii() {
                    continue;
                }
                let plain = without_accents(word);
                let span = Span::new(file, start + i, start + j);
                let d = Diagnostic::error(
                    "E0001",
                    span,
                    format!("`{word}`: a name is written with ASCII letters, digits and `_` only"),
                );
                let valid = crate::suggest::is_ident(&plain);
                let foreign = plain.chars().find(|c| !c.is_ascii());
                return Some(match foreign {
                    // A letter from another alphabet that looks Latin (Cyrillic `а`).
                    Some(c) => d.with_help(format!(
                        "`{c}` (U+{:04X}) is not a Latin letter, though it may look like one: retype the name",
                        c as u32
                    )),
                    None if valid => d.with_help(format!(
                        "write `{plain}` (Vietnamese text belongs in quotes: `\"{word}\"`)"
                    )),
                    None => d.with_help("Vietnamese text belongs in quotes; a name has no accents"),
                });
            }
            _ => {}
        }
    }
    None
}

/// `send welcome.md`, `send trial-tips`, `enroll nurture()` on the line of a syntax error:
/// a template, journey or handoff is named by a plain name.
pub(super) fn decorated_name(file: FileId, full: &str, at: usize) -> Option<Diagnostic> {
    let (start, end) = line_around(full, at);
    let line = &full[start..end];
    let code = line.split('#').next().unwrap_or("");
    let words: Vec<(usize, &str)> = code
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - code.as_ptr() as usize, w))
        .collect();
    for pair in words.windows(2) {
        let [(_, verb), (col, word)] = pair else {
            continue;
        };
        let what = match *verb {
            "send" => "a template",
            "enroll" => "a journey",
            "handoff" => "a handoff",
            _ => continue,
        };
        let name: String = word
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || name.len() == word.len() {
            continue;
        }
        let rest = &word[name.len()..];
        let (message, plain) = if matches!(rest, ".md" | ".html" | ".htm" | ".txt") {
            (
                format!("`{word}`: {what} is named without its file extension"),
                name.clone(),
            )
        } else if rest.starts_with('-') {
            let plain: String = word
                .chars()
                .map(|c| if c == '-' { '_' } else { c })
                .collect();
            (
                format!("`{word}`: a name is written with `_`, not `-`"),
                plain,
            )
        } else if rest.starts_with('(') || rest.starts_with('.') {
            (
                format!("`{word}`: {what} is named by its name alone"),
                name.clone(),
            )
        } else {
            continue;
        };
        let span = Span::new(file, start + col, start + col + word.len());
        return Some(
            Diagnostic::error("E0001", span, message).with_help(format!("write `{verb} {plain}`")),
        );
    }
    None
}

/// The keywords a grammar rule starts with, for "did you mean `send`?" on a misspelt one.
fn leading_keywords(rule: Rule) -> Vec<String> {
    let name = format!("{rule:?}");
    if let Some(kw) = name.strip_prefix("kw_") {
        return vec![kw.to_owned()];
    }
    let words: &[&str] = match name.as_str() {
        // Between declarations: a misspelt declaration keyword.
        "file" => DECL_KEYWORDS,
        "d_timezone" | "team_timezone" => &["timezone"],
        "d_lead" | "t_lead" => &["lead"],
        "d_stages" => &["stages"],
        "d_event" | "t_event" => &["event"],
        "d_const" => &["const"],
        "d_segment" => &["segment"],
        "d_score" => &["score"],
        "d_rule" => &["rule"],
        "d_journey" => &["journey"],
        "d_team" => &["team"],
        "d_handoff" | "a_handoff" => &["handoff"],
        "d_schedule" => &["schedule"],
        "d_sending" => &["sending"],
        "d_test" => &["test"],
        "a_set" => &["set"],
        "a_tag" => &["tag"],
        "a_untag" => &["untag"],
        "a_send" => &["send"],
        "a_enroll" => &["enroll"],
        "a_notify" => &["notify"],
        "a_webhook" => &["webhook"],
        "a_exit" | "j_exit_when" | "j_exit_on" => &["exit"],
        "s_wait" => &["wait"],
        "s_if" => &["if"],
        "s_split" => &["split"],
        "j_enter_on" | "j_enter_when" => &["enter"],
        "j_goal" => &["goal"],
        "j_reenter_after" | "j_reenter_never" => &["reenter"],
        "team_members" => &["members"],
        "team_manager" => &["manager"],
        "team_hours" => &["hours"],
        "team_closed" => &["closed"],
        "team_open" => &["open"],
        "team_holidays" => &["holidays"],
        "h_when" | "rule_when" => &["when"],
        "h_assign" => &["assign"],
        "h_task" | "t_task" => &["task"],
        "h_sla" | "sla_kind" => &["accept", "complete"],
        "h_reasons" => &["reasons"],
        "h_on" => &["on"],
        "outcome_kind" | "task_outcome" => &["accept", "reject", "complete"],
        "sla_action" => &["escalate", "reassign"],
        "assign_strategy" => &["round_robin", "least_open"],
        "sch_for" => &["for"],
        "sch_report" => &["report"],
        "snd_from" => &["from"],
        "snd_quiet" => &["quiet"],
        "snd_cap" => &["at"],
        "t_start" => &["start"],
        "t_update" => &["update"],
        "t_advance" => &["advance"],
        "t_expect" => &["expect"],
        "score_min" => &["min"],
        "score_max" => &["max"],
        "score_decay" => &["decay"],
        "rule_then" | "enter_then" => &["then"],
        "else_if" | "else_block" => &["else"],
        "timeout_block" => &["timeout"],
        "up_to" => &["up"],
        "date_side" => &["before", "after"],
        _ => &[],
    };
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// "did you mean `send`?" when the word found where the grammar wanted a keyword is a
/// misspelling of one it would have taken there.
pub(super) fn keyword_typo(found: &str, expected: &[Rule]) -> Option<String> {
    if found.is_empty() || !found.chars().all(|c| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let candidates: Vec<String> = expected.iter().flat_map(|r| leading_keywords(*r)).collect();
    if candidates.iter().any(|c| c == found) {
        return None;
    }
    did_you_mean(found, candidates.iter().map(String::as_str)).map(str::to_owned)
}

/// A block declaration whose first line ends without its `{` (`journey welcome`, then the
/// steps): "expected `{`" at the end of that line, not at the declaration's first word,
/// where the grammar gives up. `None` for any other error.
pub(super) fn missing_open_brace(
    file: FileId,
    offset: usize,
    chunk: &str,
    pos: usize,
    positives: &[Rule],
) -> Option<Diagnostic> {
    if positives != [Rule::file] {
        return None;
    }
    let toks = tokens(chunk);
    let mut it = toks.iter().skip_while(|t| t.kind == Tok::Newline);
    let first = it
        .next()
        .filter(|t| t.kind == Tok::Word && t.start == pos)?;
    let keyword = &chunk[first.start..first.end];
    if !DECL_KEYWORDS.contains(&keyword)
        || matches!(keyword, "timezone" | "const" | "segment" | "event")
    {
        return None;
    }
    let header: Vec<&Token> = std::iter::once(first)
        .chain(it.by_ref().take_while(|t| t.kind != Tok::Newline))
        .collect();
    if header.iter().any(|t| t.kind == Tok::Punct('{')) {
        return None;
    }
    let end = header.last().map_or(first.end, |t| t.end);
    let head = &chunk[first.start..end];
    let next_opens = it
        .find(|t| t.kind != Tok::Newline)
        .is_some_and(|t| t.kind == Tok::Punct('{'));
    let help = if next_opens {
        format!("move the `{{` up to the end of this line: `{head} {{`")
    } else {
        format!("a block starts on the line that names it: `{head} {{`")
    };
    Some(
        Diagnostic::error(
            "E0001",
            Span::new(file, offset + end, offset + end),
            "expected `{`, found the end of the line",
        )
        .with_help(help),
    )
}

/// `between 50-2000`: the range is read as a subtraction and pest stumbles later, maybe on
/// the next line; the range is written `between 50 and 2000`.
pub(super) fn between_with_dash(
    file: FileId,
    offset: usize,
    chunk: &str,
    pos: usize,
) -> Option<Diagnostic> {
    let (line_start, line_end) = line_around(chunk, pos);
    let before = &chunk[..line_end];
    let number = |s: &str| {
        s.len()
            - s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_' || c == '.')
                .len()
    };
    // Only on the line pest stopped on and the one before it, in code (not a text or a comment).
    let from_line = chunk[..line_start.saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    for (i, _) in before.rmatch_indices("between") {
        let own_line = &chunk[chunk[..i].rfind('\n').map_or(0, |j| j + 1)..i];
        if i < from_line || own_line.contains('#') || own_line.matches('"').count() % 2 == 1 {
            continue;
        }
        let after = &before[i + "between".len()..];
        let a_start = after.len() - after.trim_start().len();
        let a_len = number(&after[a_start..]);
        if a_len == 0 {
            continue;
        }
        let rest = &after[a_start + a_len..];
        let dash = rest.len() - rest.trim_start().len();
        if !rest[dash..].starts_with('-') {
            continue;
        }
        let rest2 = &rest[dash + 1..];
        let b_start = rest2.len() - rest2.trim_start().len();
        let b_len = number(&rest2[b_start..]);
        if b_len == 0 {
            continue;
        }
        let lo = &after[a_start..a_start + a_len];
        let hi = &rest2[b_start..b_start + b_len];
        let from = i + "between".len() + a_start;
        let to = i + "between".len() + a_start + a_len + dash + 1 + b_start + b_len;
        return Some(
            Diagnostic::error(
                "E0001",
                Span::new(file, offset + from, offset + to),
                format!("`{}` is a subtraction, not a range", &chunk[from..to]),
            )
            .with_help(format!("write `between {lo} and {hi}`")),
        );
    }
    None
}

/// A block inside a declaration whose `{` is missing (`if clicked(x)`, `} else`, `split`,
/// `timeout`): pest stumbles on the next line; the `{` belongs at the end of this one.
pub(super) fn missing_inner_brace(
    file: FileId,
    offset: usize,
    chunk: &str,
    pos: usize,
) -> Option<Diagnostic> {
    let (line_start, _) = line_around(chunk, pos);
    // The last line with code before the one pest stopped on.
    let mut end = line_start.checked_sub(1)?;
    let (start, code) = loop {
        let start = chunk[..end].rfind('\n').map_or(0, |i| i + 1);
        let line = &chunk[start..end];
        let code = line.split('#').next().unwrap_or("").trim_end();
        if !code.trim().is_empty() {
            break (start, code);
        }
        end = start.checked_sub(1)?;
    };
    let head = code.trim_start();
    let opens_a_block = head.starts_with("if ")
        || head == "else"
        || head.starts_with("else if ")
        || head.starts_with("} else")
        || head == "split"
        || head == "timeout"
        || head == "} timeout";
    // A condition that goes on over the next line (`if a and` / `  b {`) is not missing anything here.
    let next = chunk[line_start..].trim_start();
    let continued = [" and", " or", " not", "("]
        .iter()
        .any(|w| code.ends_with(w))
        || ["and ", "or ", "not "].iter().any(|w| next.starts_with(w));
    if !opens_a_block || continued || code.ends_with('{') || code.contains('"') {
        return None;
    }
    let at = offset + start + code.len();
    Some(
        Diagnostic::error(
            "E0001",
            Span::new(file, at, at),
            "expected `{`, found the end of the line",
        )
        .with_help(format!(
            "a block starts on the line that opens it: `{head} {{`"
        )),
    )
}

/// `NAME TYPE` where a field is `NAME: TYPE` (in `lead { … }`, an `event`'s properties, a
/// test's `{ name: value }`): "expected `:`" between the two words, not "expected a field"
/// at the name.
pub(super) fn missing_colon(
    file: FileId,
    offset: usize,
    chunk: &str,
    pos: usize,
    positives: &[Rule],
) -> Option<Diagnostic> {
    let value = positives.contains(&Rule::field_value);
    if positives.is_empty()
        || !positives
            .iter()
            .all(|r| matches!(r, Rule::field_decl | Rule::prop_decl | Rule::field_value))
    {
        return None;
    }
    let toks = tokens(chunk.get(pos..)?);
    let (name, next) = match toks.as_slice() {
        [n, next, ..] if n.kind == Tok::Word && next.kind != Tok::Newline => (n, next),
        _ => return None,
    };
    if next.kind == Tok::Punct(':') {
        return None;
    }
    let name_text = &chunk[pos + name.start..pos + name.end];
    let next_text = &chunk[pos + next.start..pos + next.end];
    // `company_size = number`: the `=` (or `-`) stands where the `:` goes; show the word after it.
    let shown = if matches!(next.kind, Tok::Punct('=' | '-')) {
        toks.get(2)
            .filter(|t| t.kind == Tok::Word || value)
            .map(|t| &chunk[pos + t.start..pos + t.end])
            .unwrap_or(next_text)
    } else {
        next_text
    };
    let help = if value {
        format!("a field's value is written `NAME: VALUE`: `{name_text}: {shown}`")
    } else {
        format!("a field is written `NAME: TYPE`: `{name_text}: {shown}`")
    };
    Some(
        Diagnostic::error(
            "E0001",
            Span::new(file, offset + pos + next.start, offset + pos + next.end),
            format!("expected `:` after `{name_text}`, found `{next_text}`"),
        )
        .with_help(help),
    )
}

/// Two fields of a `lead` or `event` block with nothing between them
/// (`{ webinar: text minutes: number }`): "expected `,`" before the second, where the
/// grammar only sees that the block does not end.
pub(super) fn missing_comma(
    file: FileId,
    offset: usize,
    chunk: &str,
    pos: usize,
) -> Option<Diagnostic> {
    let toks = tokens(chunk);
    let keyword = toks.iter().find(|t| t.kind != Tok::Newline)?;
    // In a test, only on the line pest stopped on (`event an reg { at: "…" topic: "x" }`).
    let line = match &chunk[keyword.start..keyword.end] {
        "lead" | "event" => None,
        "handoff" => return missing_reason_comma(file, offset, chunk, &toks),
        "test" => {
            let (start, end) = line_around(chunk, pos);
            Some(start..end)
        }
        _ => return None,
    };
    let open = toks.iter().position(|t| {
        t.kind == Tok::Punct('{') && line.as_ref().is_none_or(|l| l.contains(&t.start))
    })?;
    let inner = &toks[open + 1..];
    let at = (1..inner.len()).find(|&i| {
        let field = inner[i].kind == Tok::Word
            && inner.get(i + 1).is_some_and(|c| c.kind == Tok::Punct(':'));
        let after_value = matches!(
            inner[i - 1].kind,
            Tok::Word | Tok::Text | Tok::Number | Tok::Punct(']')
        );
        let on_the_line = line.as_ref().is_none_or(|l| l.contains(&inner[i].start));
        field && after_value && on_the_line
    })?;
    let name = inner[at];
    let text = &chunk[name.start..name.end];
    Some(
        Diagnostic::error(
            "E0001",
            Span::new(file, offset + name.start, offset + name.end),
            format!("expected `,` or a line break, found `{text}`"),
        )
        .with_help(format!(
            "separate the fields with `,` or put `{text}` on a line of its own"
        )),
    )
}

/// `reasons a "…" b "…"`: the `,` between two reasons.
fn missing_reason_comma(
    file: FileId,
    offset: usize,
    chunk: &str,
    toks: &[Token],
) -> Option<Diagnostic> {
    let start = toks
        .iter()
        .position(|t| t.kind == Tok::Word && &chunk[t.start..t.end] == "reasons")?;
    let list = &toks[start + 1..];
    for (i, t) in list.iter().enumerate() {
        // The list ends at a line break that does not follow a `,`.
        if t.kind == Tok::Newline && i > 0 && list[i - 1].kind != Tok::Punct(',') {
            return None;
        }
        if t.kind == Tok::Word && i > 0 && list[i - 1].kind == Tok::Text {
            let text = &chunk[t.start..t.end];
            return Some(
                Diagnostic::error(
                    "E0001",
                    Span::new(file, offset + t.start, offset + t.end),
                    format!("expected `,` before the reason `{text}`"),
                )
                .with_help(
                    "reasons are separated by `,`: `reasons not_icp \"…\", no_budget \"…\"`",
                ),
            );
        }
    }
    None
}

/// The `{` of `chunk` that was most likely never closed, when one is left open: the first
/// whose `}` stands at another indentation than the line that opened it (it took the `}`
/// of an outer block), else the innermost one left open.
pub(super) fn unclosed_brace(chunk: &str) -> Option<usize> {
    let indent_at = |pos: usize| {
        let line_start = chunk[..pos].rfind('\n').map_or(0, |i| i + 1);
        chunk[line_start..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .count()
    };
    let mut open: Vec<usize> = Vec::new();
    let mut suspects: Vec<usize> = Vec::new();
    for t in tokens(chunk) {
        match t.kind {
            Tok::Punct('{') => open.push(t.start),
            Tok::Punct('}') => {
                if let Some(o) = open.pop() {
                    let closer_first_on_line = chunk[..t.start]
                        .rsplit('\n')
                        .next()
                        .is_some_and(|l| l.trim().is_empty());
                    if closer_first_on_line && indent_at(o) != indent_at(t.start) {
                        suspects.push(o);
                    }
                }
            }
            _ => {}
        }
    }
    if open.is_empty() {
        return None;
    }
    suspects.into_iter().min().or(open.last().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salvages_name_and_inner_names() {
        let src = "journey welcome {\n  send hi\n  wait 2 dayz\n  enroll other\n}\n";
        let b = salvage(0, 10, src).expect("a declaration");
        assert_eq!(b.keyword, "journey");
        let name = b.name.expect("named");
        assert_eq!(name.name, "welcome");
        assert_eq!((name.span.start, name.span.end), (18, 25));
        assert!(b.words.iter().any(|w| w.name == "other"));

        let lead = salvage(0, 0, "lead {\n  name: text\n  size: number = \"x\n}").expect("lead");
        let fields: Vec<(&str, &str)> = lead
            .typed
            .iter()
            .map(|(n, t)| (n.name.as_str(), t.name.as_str()))
            .collect();
        assert_eq!(fields, [("name", "text"), ("size", "number")]);

        let stages = salvage(0, 0, "stages { a, b c | d }").expect("stages");
        assert_eq!(stages.bar, Some(3));

        let typo = salvage(0, 0, "jorney late {\n send x\n}").expect("misspelt keyword");
        assert_eq!(typo.keyword, "journey");
        assert!(salvage(0, 0, "send x").is_none());
        assert!(salvage(0, 0, "").is_none());
    }

    #[test]
    fn names_with_an_extension_a_hyphen_or_brackets_get_the_plain_name() {
        let help = |line: &str| {
            decorated_name(0, line, 2)
                .and_then(|d| d.help)
                .unwrap_or_default()
        };
        assert_eq!(help("  send welcome.md # x"), "write `send welcome`");
        assert_eq!(help("  then send trial-tips"), "write `send trial_tips`");
        assert_eq!(help("  enroll recycle()"), "write `enroll recycle`");
        assert_eq!(help("  send welcome # a.md"), "");
        assert_eq!(help("  set x = a.b"), "");
    }

    #[test]
    fn a_missing_brace_of_an_inner_block_is_put_at_the_end_of_its_line() {
        let chunk = "journey j {\n  if clicked(a)\n    tag \"x\"\n  }\n}\n";
        let pos = chunk.find("tag").expect("tag");
        let d = missing_inner_brace(0, 0, chunk, pos).expect("found");
        assert_eq!(
            d.span.start as usize,
            chunk.find("clicked(a)").expect("if") + "clicked(a)".len()
        );
        let continued = "journey j {\n  if clicked(a)\n    and opened(b) x {\n";
        let pos = continued.find("and").expect("and");
        assert!(missing_inner_brace(0, 0, continued, pos).is_none());
    }

    #[test]
    fn a_range_written_with_a_dash_is_named() {
        let chunk = "segment s = n between 50-2000\n  and x\n";
        let d = between_with_dash(0, 0, chunk, chunk.find("and").expect("and")).expect("found");
        assert_eq!(d.help.as_deref(), Some("write `between 50 and 2000`"));
        let comment = "segment s = n > 1 # between 50-2000\n  and x\n";
        assert!(between_with_dash(0, 0, comment, comment.find("and").expect("and")).is_none());
        let text = "rule r { when t == \"between 5-6\" x\n";
        assert!(between_with_dash(0, 0, text, text.find(" x").expect("x")).is_none());
    }

    #[test]
    fn accented_names_get_their_plain_spelling() {
        assert_eq!(without_accents("doanh_nghiệp"), "doanh_nghiep");
        assert_eq!(without_accents("Đơn_hàng"), "Don_hang");
        let d = accented_name(0, "lead {\n  tên: text # ý\n}\n", 9).expect("found");
        assert_eq!(
            d.message,
            "`tên`: a name is written with ASCII letters, digits and `_` only"
        );
        assert!(accented_name(0, "tag \"doanh nghiệp\" # ý", 0).is_none());
    }

    #[test]
    fn misspelt_declaration_lines() {
        assert!(starts_misspelt_declaration("jorney late {\n"));
        assert!(starts_misspelt_declaration("segmnt big = x\n"));
        assert!(!starts_misspelt_declaration("journey late {\n"));
        assert!(!starts_misspelt_declaration("  jorney late {\n"));
        assert!(!starts_misspelt_declaration("and lower(industry) in x\n"));
        assert!(!starts_misspelt_declaration("rules\n"));
    }

    #[test]
    fn misspelt_keywords_are_named() {
        let step = [Rule::kw_send, Rule::kw_set, Rule::kw_wait, Rule::s_split];
        assert_eq!(keyword_typo("sned", &step).as_deref(), Some("send"));
        assert_eq!(keyword_typo("wiat", &step).as_deref(), Some("wait"));
        assert_eq!(keyword_typo("splti", &step).as_deref(), Some("split"));
        assert_eq!(keyword_typo("rlue", &[Rule::file]).as_deref(), Some("rule"));
        assert_eq!(keyword_typo("send", &step), None);
        assert_eq!(keyword_typo("welcome", &step), None);
        assert_eq!(keyword_typo("\"", &step), None);
    }

    #[test]
    fn declarations_start_new_chunks() {
        let src =
            "journey a {\n  send x\n\njorney b {\n}\n  segment c = icp and\n  score.fit > 3\n";
        let starts: Vec<usize> = chunks(src).into_iter().map(|(s, _)| s).collect();
        let at = |needle: &str| src.find(needle).unwrap_or(usize::MAX);
        // `jorney` starts a declaration; `segment` is indented but outside every block;
        // `score.fit` continues the condition.
        assert_eq!(starts, [0, at("jorney"), at("  segment")]);
    }

    #[test]
    fn finds_the_unclosed_brace() {
        let src = "journey a {\n  if x {\n    send b\n  wait 2 days\n}\n";
        assert_eq!(
            unclosed_brace(src),
            Some(src.find("x {").map_or(0, |i| i + 2))
        );
        assert_eq!(unclosed_brace("journey a {\n  send b\n"), Some(10));
        assert_eq!(unclosed_brace("journey a {\n}\n"), None);
        assert_eq!(unclosed_brace("journey a {\n  if x {\n  }\n}\n"), None);
    }

    #[test]
    fn missing_colon_is_reported_between_the_words() {
        let src = "lead {\n  size number\n}";
        let d = missing_colon(0, 0, src, 9, &[Rule::field_decl]).expect("a missing colon");
        assert_eq!(d.message, "expected `:` after `size`, found `number`");
        assert_eq!((d.span.start, d.span.end), (14, 20));
        assert!(missing_colon(0, 0, "lead {\n  size: number\n}", 9, &[Rule::field_decl]).is_none());
        assert!(missing_colon(0, 0, src, 9, &[Rule::kw_if]).is_none());
    }

    #[test]
    fn missing_comma_between_fields() {
        let src = "event e { a: text b: number }";
        let d = missing_comma(0, 0, src, 0).expect("a missing comma");
        assert_eq!(d.message, "expected `,` or a line break, found `b`");
        assert!(missing_comma(0, 0, "event e { a: text, b: number }", 0).is_none());
        assert!(missing_comma(0, 0, "lead {\n  a: text = \"x\"\n  b: number\n}", 0).is_none());
        assert!(missing_comma(0, 0, "rule r { a: b c: d }", 0).is_none());
    }

    #[test]
    fn missing_open_brace_is_reported_at_the_line_end() {
        let src = "journey a   # note\n  send b\n}\n";
        let d = missing_open_brace(0, 5, src, 0, &[Rule::file]).expect("a missing brace");
        assert_eq!((d.span.start, d.span.end), (14, 14));
        assert_eq!(
            d.help.as_deref(),
            Some("a block starts on the line that names it: `journey a {`")
        );
        let next = missing_open_brace(0, 0, "rule r\n{\n}", 0, &[Rule::file]).expect("brace below");
        assert!(next.help.is_some_and(|h| h.starts_with("move the `{` up")));
        assert!(missing_open_brace(0, 0, "journey a {\n", 0, &[Rule::file]).is_none());
        assert!(missing_open_brace(0, 0, "segment a\n", 0, &[Rule::file]).is_none());
        assert!(missing_open_brace(0, 0, "journey a\n", 0, &[Rule::kw_if]).is_none());
    }
}

//! Turns source text into the typed AST: runs the pest grammar, recovers at top-level declarations, and builds nodes with spans.

mod expressions;
mod leaves;
mod recovery;
mod sales;
mod steps;
mod test_blocks;

use pest::iterators::Pair;
use pest::Parser as _;
use unicode_normalization::UnicodeNormalization;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::prepass::{prepass, MAX_NESTING};
use crate::span::{FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "tandem.pest"]
struct TandemGrammar;

pub use self::Rule as GrammarRule;
pub use recovery::BrokenDecl;

/// How deep an expression tree may grow (operator chains, `not not …`).
pub const MAX_EXPR_DEPTH: usize = 256;

/// Words that start a top-level declaration; recovery restarts at a line that begins with one.
const DECL_KEYWORDS: &[&str] = &[
    "timezone", "lead", "stages", "event", "const", "segment", "score", "rule", "journey", "team",
    "handoff", "schedule", "sending", "test",
];

/// The result of parsing one file: never fails, always has every diagnostic found.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub file: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    /// Declarations left out of `file` because they do not parse, with the names they
    /// still declare (so that their uses are not reported as unknown).
    pub broken: Vec<BrokenDecl>,
}

/// Parses one `.journey` file.
pub fn parse(file_id: FileId, src: &str) -> Parsed {
    let pre = prepass(src);
    let comments = pre
        .comments
        .iter()
        .map(|&(s, e, trailing)| Comment {
            text: src.get(s..e).unwrap_or("").to_owned(),
            span: Span::new(file_id, s, e),
            trailing,
        })
        .collect();
    let mut builder = Builder {
        file: file_id,
        offset: 0,
        diags: Vec::new(),
    };
    let mut decls = Vec::new();
    let mut broken = Vec::new();
    if pre.too_deep.is_empty() {
        if let Ok(mut pairs) = TandemGrammar::parse(Rule::file, &pre.text) {
            if let Some(file) = pairs.next() {
                builder.decls(file, &mut decls);
            }
            return Parsed {
                file: SourceFile { decls, comments },
                diagnostics: builder.diags,
                broken,
            };
        }
    }
    // Recovery: parse each top-level declaration on its own.
    for (start, end) in chunks(&pre.text) {
        let Some(chunk) = pre.text.get(start..end) else {
            continue;
        };
        if let Some(&deep) = pre.too_deep.iter().find(|&&d| d >= start && d < end) {
            builder.diags.push(Diagnostic::error(
                "E0002",
                Span::new(file_id, deep, deep + 1),
                format!(
                    "this is nested more than {MAX_NESTING} levels deep; split the condition or the blocks into smaller pieces"
                ),
            ));
            broken.extend(recovery::salvage(file_id, start, chunk));
            continue;
        }
        match TandemGrammar::parse(Rule::file, chunk) {
            Ok(mut pairs) => {
                builder.offset = start;
                if let Some(file) = pairs.next() {
                    builder.decls(file, &mut decls);
                }
            }
            Err(err) => {
                builder
                    .diags
                    .push(syntax_error(file_id, start, chunk, &pre.text, &err));
                broken.extend(recovery::salvage(file_id, start, chunk));
            }
        }
    }
    Parsed {
        file: SourceFile { decls, comments },
        diagnostics: builder.diags,
        broken,
    }
}

/// Splits the text into top-level declaration chunks: a new chunk starts at every
/// line that begins (in column 0) with a declaration keyword or a misspelling of one
/// followed by a name, and at an indented declaration keyword outside every `{ }`.
fn chunks(text: &str) -> Vec<(usize, usize)> {
    let mut starts = vec![0usize];
    let mut line_start = 0usize;
    let mut depth = 0usize;
    // A declaration in column 0 whose `{` is missing (`team sales` alone on its line): its
    // indented lines are still its body, even those that start with a declaration keyword
    // (`timezone` in a team), until a `}` line or the next declaration in column 0.
    let mut headless = false;
    for line in text.split_inclusive('\n') {
        let indented = line.trim_start_matches([' ', '\t']);
        let in_column_0 = starts_declaration(line) || recovery::starts_misspelt_declaration(line);
        let new_decl = in_column_0 || (depth == 0 && !headless && starts_declaration(indented));
        if new_decl {
            depth = 0;
            if line_start > 0 {
                starts.push(line_start);
            }
        }
        depth = brace_depth(line, depth);
        if in_column_0 {
            headless = depth == 0 && !line.contains('{');
        } else if indented.starts_with('}') {
            headless = false;
        }
        line_start += line.len();
    }
    let mut out = Vec::new();
    for (i, &s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).copied().unwrap_or(text.len());
        out.push((s, e));
    }
    out
}

/// The `{ }` nesting after `line`, from `depth` before it (texts and comments skipped).
fn brace_depth(line: &str, mut depth: usize) -> usize {
    let mut in_text = false;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_text => escaped = true,
            '"' => in_text = !in_text,
            '#' if !in_text => break,
            '{' if !in_text => depth += 1,
            '}' if !in_text => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// Whether `line` starts with a declaration keyword followed by a space, `{` or its end
/// (not `score.fit`, which continues a condition).
fn starts_declaration(line: &str) -> bool {
    DECL_KEYWORDS.iter().any(|kw| {
        line.strip_prefix(kw).is_some_and(|rest| {
            rest.chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || c == '{' || c == '"')
        })
    })
}

fn syntax_error(
    file: FileId,
    offset: usize,
    chunk: &str,
    full: &str,
    err: &pest::error::Error<Rule>,
) -> Diagnostic {
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let positives: &[Rule] = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives,
        pest::error::ErrorVariant::CustomError { .. } => &[],
    };
    if let Some(d) = recovery::accented_name(file, full, offset + pos)
        .or_else(|| recovery::decorated_name(file, full, offset + pos))
        .or_else(|| recovery::missing_open_brace(file, offset, chunk, pos, positives))
        .or_else(|| recovery::missing_colon(file, offset, chunk, pos, positives))
        .or_else(|| recovery::missing_inner_brace(file, offset, chunk, pos))
        .or_else(|| recovery::between_with_dash(file, offset, chunk, pos))
        .or_else(|| recovery::missing_comma(file, offset, chunk, pos))
    {
        return d;
    }
    // pest sometimes blames the whole declaration (position 0, "expected a file") when
    // the last thing it tried was a plain token, as after `start 2026-03-02 10:00 extra`:
    // then ask it again, with details, for the furthest point it reached.
    let (pos, detail) = match positives {
        [Rule::file] if pos == 0 => match furthest(chunk) {
            Some((p, words)) if p > 0 => (p, Some(words)),
            _ => (pos, None),
        },
        _ => (pos, None),
    };
    // The token after the error, read from the whole file: at a chunk's end it is the next declaration.
    let found = found_token(full, offset + pos);
    let expected = match &err.variant {
        _ if detail.is_some() => detail.unwrap_or_default(),
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<String> = Vec::new();
            for r in positives {
                // A chunk ends where the next declaration starts: its "end of input" is a line's end.
                let described = match r {
                    Rule::EOI => Some("the end of the line".to_owned()),
                    r => rule_description(*r),
                };
                if let Some(n) = described {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
            names
        }
        pest::error::ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    let end = (pos + found.len().max(1)).min(chunk.len().max(pos));
    let span = Span::new(file, offset + pos, offset + end.max(pos));
    // A `{` left open when the next declaration (or the file's end) comes: the `}` is what
    // is missing.
    let at_chunk_end = pos >= chunk.trim_end().len();
    // Or a `{` left open before a line indented no deeper than the line that opened it
    // (`enter on X then {` without its `}`, then `exit on …`).
    let indent = |at: usize| {
        let start = chunk[..chunk.floor_char_boundary(at.min(chunk.len()))]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        chunk[start..].len() - chunk[start..].trim_start_matches([' ', '\t']).len()
    };
    let open_brace = recovery::unclosed_brace(chunk)
        .filter(|b| at_chunk_end || (*b < pos && indent(pos) <= indent(*b)));
    let found_text = if found.is_empty() {
        "the end of the file".to_owned()
    } else if found == "\n" || found == "\r\n" {
        "the end of the line".to_owned()
    } else if let Some(c) = found.chars().next().filter(|c| invisible(*c)) {
        format!("the invisible character U+{:04X}", c as u32)
    } else {
        format!("`{found}`")
    };
    let message = match expected.len() {
        _ if open_brace.is_some() && found == "}" => {
            "a `}` is missing: this one closes a block inside".to_owned()
        }
        _ if open_brace.is_some() => format!("expected `}}`, found {found_text}"),
        0 => format!("unexpected {found_text}"),
        1 => format!("expected {}, found {found_text}", expected[0]),
        n if n <= 6 => format!(
            "expected {} or {}, found {found_text}",
            expected[..n - 1].join(", "),
            expected[n - 1]
        ),
        _ => format!(
            "expected {}, … found {found_text}",
            expected[..5].join(", ")
        ),
    };
    let diag = Diagnostic::error("E0001", span, message);
    if let Some(brace) = open_brace {
        return diag
            .with_help(if found.is_empty() {
                "a `}` may be missing at the end of the file"
            } else {
                "a `}` may be missing before this line"
            })
            .with_related(
                Span::new(file, offset + brace, offset + brace + 1),
                "this `{` is never closed",
            );
    }
    let business = positives.contains(&Rule::business_unit);
    let wants_unit = business
        || expected
            .iter()
            .any(|e| e.starts_with("a duration") || e == "`business`");
    if let Some(unit) = unit_typo(&found, business).filter(|_| wants_unit) {
        return diag.with_help(format!("did you mean `{unit}`?"));
    }
    if found.eq_ignore_ascii_case("upto") || found.eq_ignore_ascii_case("up_to") {
        return diag.with_help("write `up to` as two words: `up to 3 days`");
    }
    if matches!(found.as_str(), "elif" | "elseif" | "elsif" | "elsf") {
        return diag.with_help("another branch is written `} else if CONDITION {`");
    }
    if let Some(keyword) = recovery::keyword_typo(&found, positives) {
        return diag.with_help(format!("did you mean `{keyword}`?"));
    }
    // The line around the error: what comes before it, and the rest of it from the token.
    let before = full.get(..offset + pos).unwrap_or("");
    let after_digit = before.ends_with(|c: char| c.is_ascii_digit());
    let line_before = before.rsplit('\n').next().unwrap_or("");
    let rest_of_line = full
        .get(offset + pos..)
        .unwrap_or("")
        .split('\n')
        .next()
        .unwrap_or("");
    let word_before = line_before.split_whitespace().next_back().unwrap_or("");
    let misspelt_day = line_before
        .trim_start()
        .starts_with("wait until ")
        .then(|| word_before.split([',', '-']).find(|w| day_bits(w) == 0))
        .flatten()
        .filter(|w| !w.is_empty())
        .and_then(|w| {
            crate::suggest::did_you_mean(w, DAYS.iter().map(|(name, _)| *name)).map(|d| (w, d))
        });
    if let Some((word, day)) = misspelt_day {
        diag.with_help(format!("`{word}` is not a day name: did you mean `{day}`?"))
    } else if word_before == "per"
        && matches!(
            found.as_str(),
            "minute" | "hour" | "day" | "week" | "minutes" | "hours" | "days" | "weeks"
        )
    {
        diag.with_help(format!(
            "a cap counts over a duration with its number: `per 1 {}`",
            found.trim_end_matches('s')
        ))
    } else if word_before == "notify" && found.chars().next().is_some_and(|c| c.is_alphabetic()) {
        diag.with_help(format!(
            "a team is notified with `notify team {found} \"…\"`; an address is written in quotes: `notify \"an@acme.vn\" \"…\"`"
        ))
    } else if matches!(found.as_str(), "“" | "”" | "‘" | "’" | "'" | "«" | "»") {
        diag.with_help("texts are written between straight double quotes `\"…\"` (an editor or a word processor may have curled them)")
    } else if found == ","
        && after_digit
        && rest_of_line[1..].starts_with(|c: char| c.is_ascii_digit())
    {
        diag.with_help(
            "a number is written with `_` between the thousands (`100_000_000`), not `,`",
        )
    } else if found.len() == 4
        && found.bytes().all(|b| b.is_ascii_digit())
        && rest_of_line.as_bytes().get(4) == Some(&b'-')
        && expected
            .iter()
            .any(|e| e.contains("number") || e.contains("text"))
    {
        diag.with_help(
            "a time is written in quotes, with its offset: `\"2026-03-10T14:00:00+07:00\"`",
        )
    } else if expected.iter().any(|e| e == "a text in quotes")
        && found.chars().next().is_some_and(|c| c.is_alphabetic())
    {
        diag.with_help(format!("a text is written in quotes: `\"{found}\"`"))
    } else if found == "\"" && expected.iter().any(|e| e == "a name") {
        diag.with_help("a name (a template, a journey, a team…) is written without quotes")
    } else if found.chars().next().is_some_and(invisible) {
        diag.with_help(
            "delete it: it does not show in most editors (it often comes with pasted text)",
        )
    } else if found == "=" {
        diag.with_help("to compare two values write `==`; `=` only assigns in `set FIELD = …`")
    } else if found == "." && after_digit {
        diag.with_help("a number is written with `_` between the thousands (`100_000_000`); `.` starts its decimals")
    } else if found == "\"" && !rest_of_line.get(1..).unwrap_or("").contains('"') {
        diag.with_help("this text is never closed: end it with `\"` on the same line (write `\\n` for a line break inside a text)")
    } else {
        diag
    }
}

/// The time unit a misspelt word was meant to be (`dayz` → `days`, `hourz` → `hours`):
/// the closest unit at most two edits away, for a word of three letters or more that is
/// not a unit itself. After `business` only hours and days are units.
fn unit_typo(word: &str, business: bool) -> Option<&'static str> {
    const ALL: [&str; 9] = [
        "minutes", "minute", "hours", "hour", "days", "day", "weeks", "week", "business",
    ];
    const BUSINESS: [&str; 4] = ["hours", "hour", "days", "day"];
    let units: &[&'static str] = if business { &BUSINESS } else { &ALL };
    let w = word.to_lowercase();
    if w.chars().count() < 3 || !w.chars().all(char::is_alphabetic) || ALL.contains(&w.as_str()) {
        return None;
    }
    units
        .iter()
        .map(|u| (edits(&w, u), *u))
        .filter(|(d, u)| *d <= 2 && *d < u.len() / 2 + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, u)| u)
}

/// Levenshtein distance between two short words.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// The token at `pos`: a word, a number, or one character.
/// Where pest got furthest in `chunk`, and what it would have taken there (the end of the
/// line, `}`), from a second parse with error details on.
fn furthest(chunk: &str) -> Option<(usize, Vec<String>)> {
    pest::set_error_detail(true);
    let parsed = TandemGrammar::parse(Rule::file, chunk);
    pest::set_error_detail(false);
    let attempts = parsed.err()?.parse_attempts()?;
    let mut words = Vec::new();
    for t in attempts.expected_tokens() {
        // The token as pest shows it (a literal is shown as itself).
        let word = match t.to_string().as_str() {
            "\n" | "\r\n" | ";" | "#" => "the end of the line".to_owned(),
            "}" => "`}`".to_owned(),
            _ => continue,
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    Some((attempts.max_position, words))
}

/// A character that shows as nothing or as a plain space: a control character, a
/// non-breaking or other Unicode space, a zero-width character, a byte-order mark.
fn invisible(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        || (c.is_whitespace() && !c.is_ascii())
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{feff}')
}

fn found_token(src: &str, pos: usize) -> String {
    let rest = src.get(pos..).unwrap_or("");
    let mut chars = rest.chars();
    match chars.next() {
        None => String::new(),
        Some('\r') | Some('\n') => "\n".to_owned(),
        Some(c) if c.is_alphanumeric() || c == '_' => rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect(),
        Some(c) => c.to_string(),
    }
}

fn rule_description(rule: Rule) -> Option<String> {
    let name = format!("{rule:?}");
    if let Some(kw) = name.strip_prefix("kw_") {
        return Some(format!("`{kw}`"));
    }
    let s = match rule {
        Rule::EOI => "the end of the file",
        Rule::name | Rule::ident => "a name",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::sum
        | Rule::product
        | Rule::unary
        | Rule::paren
        | Rule::path
        | Rule::call
        | Rule::count_call
        | Rule::list_lit
        | Rule::bool_lit
        | Rule::date_in_expr => "an expression",
        Rule::string => "a text in quotes",
        Rule::number | Rule::integer | Rule::signed_number | Rule::neg_number => "a number",
        Rule::duration | Rule::duration_part | Rule::time_unit => "a duration like `2 days`",
        Rule::business_duration => "a duration like `4 business hours`",
        Rule::business_unit => "`hours` or `days`",
        Rule::percent => "a percentage like `20%`",
        Rule::clock => "a clock time like `9:00`",
        Rule::clock_range => "hours like `8:30-17:30`",
        Rule::date | Rule::date_item => "a date like `2027-02-05`",
        Rule::day_spec | Rule::day_name | Rule::day_range => "days like `mon-fri`",
        Rule::cmp_op | Rule::cmp_binary => "a comparison",
        Rule::sum_op | Rule::product_op => "an operator",
        Rule::d_timezone
        | Rule::d_lead
        | Rule::d_stages
        | Rule::d_event
        | Rule::d_const
        | Rule::d_segment
        | Rule::d_score
        | Rule::d_rule
        | Rule::d_journey
        | Rule::d_team
        | Rule::d_handoff
        | Rule::d_schedule
        | Rule::d_sending
        | Rule::d_test => "a declaration",
        Rule::a_set
        | Rule::a_tag
        | Rule::a_untag
        | Rule::a_send
        | Rule::a_enroll
        | Rule::a_notify
        | Rule::a_handoff
        | Rule::a_webhook
        | Rule::a_exit => "an action",
        Rule::wait_for | Rule::wait_clock | Rule::wait_cond | Rule::wait_duration => {
            "a wait (`wait 2 days`, `wait until 9:00`, `wait for EVENT up to …`)"
        }
        Rule::s_if | Rule::s_split => "a step",
        Rule::steps_block | Rule::actions_block | Rule::field_values => "`{`",
        Rule::up_to => "`up to`",
        Rule::timeout_block => "`timeout`",
        Rule::literal | Rule::list_lit_const => "a value",
        Rule::type_name => "a type (`text`, `number`, `bool`, `time`)",
        Rule::assign_strategy => "`round_robin` or `least_open`",
        Rule::sla_kind => "`accept` or `complete`",
        Rule::sla_action => "`escalate` or `reassign`",
        Rule::outcome_kind => "`accept`, `reject` or `complete`",
        Rule::field_decl | Rule::field_value | Rule::prop_decl => "a field",
        Rule::score_if | Rule::score_on => "a score line like `+10 if …`",
        Rule::score_min | Rule::score_max | Rule::score_decay => "a score bound",
        Rule::reason => "a reason",
        Rule::t_start
        | Rule::t_lead
        | Rule::t_event
        | Rule::t_update
        | Rule::t_advance
        | Rule::t_task
        | Rule::t_expect => "a test statement",
        Rule::rule_when | Rule::h_when => "`when`",
        Rule::rule_then => "`then`",
        Rule::eq_sign => "`=`",
        _ => return None,
    };
    Some(s.to_owned())
}

struct Builder {
    file: FileId,
    offset: usize,
    diags: Vec<Diagnostic>,
}

/// Children of a pair that are not keywords (keywords only steer the grammar).
fn parts(pair: Pair<'_, Rule>) -> Vec<Pair<'_, Rule>> {
    pair.into_inner()
        .filter(|p| !is_keyword(p.as_rule()))
        .collect()
}

/// The grammar's contextual keywords (`kw_*` rules).
fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::eq_sign
            | Rule::kw_accept
            | Rule::kw_advance
            | Rule::kw_after
            | Rule::kw_and
            | Rule::kw_assign
            | Rule::kw_assigned
            | Rule::kw_at
            | Rule::kw_before
            | Rule::kw_between
            | Rule::kw_by
            | Rule::kw_closed
            | Rule::kw_complete
            | Rule::kw_const
            | Rule::kw_contains
            | Rule::kw_count
            | Rule::kw_decay
            | Rule::kw_else
            | Rule::kw_emails
            | Rule::kw_ends
            | Rule::kw_enroll
            | Rule::kw_enter
            | Rule::kw_event
            | Rule::kw_escalated
            | Rule::kw_every
            | Rule::kw_exit
            | Rule::kw_expect
            | Rule::kw_for
            | Rule::kw_from
            | Rule::kw_goal
            | Rule::kw_handoff
            | Rule::kw_holidays
            | Rule::kw_hours
            | Rule::kw_if
            | Rule::kw_in
            | Rule::kw_is
            | Rule::kw_journey
            | Rule::kw_lead
            | Rule::kw_leads
            | Rule::kw_manager
            | Rule::kw_matches
            | Rule::kw_max
            | Rule::kw_members
            | Rule::kw_min
            | Rule::kw_missing
            | Rule::kw_most
            | Rule::kw_never
            | Rule::kw_no
            | Rule::kw_not
            | Rule::kw_notified
            | Rule::kw_notify
            | Rule::kw_on
            | Rule::kw_open
            | Rule::kw_or
            | Rule::kw_owner
            | Rule::kw_per
            | Rule::kw_quiet
            | Rule::kw_reassigned
            | Rule::kw_reasons
            | Rule::kw_reenter
            | Rule::kw_reject
            | Rule::kw_report
            | Rule::kw_rule
            | Rule::kw_schedule
            | Rule::kw_score
            | Rule::kw_segment
            | Rule::kw_send
            | Rule::kw_sending
            | Rule::kw_sent
            | Rule::kw_set
            | Rule::kw_split
            | Rule::kw_stages
            | Rule::kw_start
            | Rule::kw_starts
            | Rule::kw_tag
            | Rule::kw_task
            | Rule::kw_team
            | Rule::kw_test
            | Rule::kw_then
            | Rule::kw_timeout
            | Rule::kw_timezone
            | Rule::kw_to
            | Rule::kw_untag
            | Rule::kw_until
            | Rule::kw_up
            | Rule::kw_update
            | Rule::kw_wait
            | Rule::kw_webhook
            | Rule::kw_when
            | Rule::kw_where
            | Rule::kw_with
            | Rule::kw_within
    )
}

impl Builder {
    /// The node's span, without the white space and comments pest may count at its end.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let end = code_end(pair.get_input(), s.start(), s.end());
        Span::new(self.file, self.offset + s.start(), self.offset + end)
    }

    fn error(&mut self, code: &'static str, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, span, msg));
    }

    fn decls(&mut self, file: Pair<'_, Rule>, out: &mut Vec<Decl>) {
        for pair in file.into_inner() {
            if pair.as_rule() == Rule::EOI {
                continue;
            }
            if let Some(d) = self.decl(pair) {
                out.push(d);
            }
        }
    }

    fn decl(&mut self, pair: Pair<'_, Rule>) -> Option<Decl> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let p = parts(pair);
        let kind = match rule {
            Rule::d_timezone => DeclKind::Timezone(self.text(p.first()?.clone())),
            Rule::d_lead => DeclKind::Lead(LeadDecl {
                fields: p.into_iter().map(|f| self.field_decl(f)).collect(),
            }),
            Rule::d_stages => {
                let mut lists = p
                    .into_iter()
                    .map(|l| l.into_inner().map(|n| self.ident(n)).collect::<Vec<_>>());
                let funnel = lists.next().unwrap_or_default();
                let outside = lists.next().unwrap_or_default();
                DeclKind::Stages(StagesDecl { funnel, outside })
            }
            Rule::d_event => {
                let mut it = p.into_iter();
                let name = self.ident(it.next()?);
                let props = it
                    .map(|pd| {
                        let sp = self.span(&pd);
                        let mut q = pd.into_inner();
                        let name = q.next().map(|n| self.ident(n));
                        let ty = q.next().map(|n| self.ident(n));
                        PropDecl {
                            name: name.unwrap_or_else(|| missing_ident(sp)),
                            ty: ty.unwrap_or_else(|| missing_ident(sp)),
                            span: sp,
                        }
                    })
                    .collect();
                DeclKind::Event(EventDecl { name, props })
            }
            Rule::d_const => {
                let mut it = p.into_iter();
                let name = self.ident(it.next()?);
                let value = self.literal(it.next()?);
                DeclKind::Const(ConstDecl { name, value })
            }
            Rule::d_segment => {
                let mut it = p.into_iter();
                let name = self.ident(it.next()?);
                let expr = self.expr(it.next()?);
                DeclKind::Segment(SegmentDecl { name, expr })
            }
            Rule::d_score => {
                let mut it = p.into_iter();
                let name = self.ident(it.next()?);
                let items = it.filter_map(|i| self.score_item(i)).collect();
                DeclKind::Score(ScoreDecl { name, items })
            }
            Rule::d_rule => {
                let mut it = p.into_iter();
                let name = self.ident(it.next()?);
                let when = self.expr(parts(it.next()?).into_iter().next()?);
                let then_pair = parts(it.next()?).into_iter().next()?;
                let then_block = then_pair.as_rule() == Rule::actions_block;
                let then = if then_block {
                    self.actions(then_pair)
                } else {
                    self.action(then_pair).into_iter().collect()
                };
                DeclKind::Rule(RuleDecl {
                    name,
                    when,
                    then,
                    then_block,
                })
            }
            Rule::d_journey => {
                let mut it = p.into_iter();
                let name = self.ident(it.next()?);
                let mut header = Vec::new();
                let mut steps = Vec::new();
                for item in it {
                    let sp = self.span(&item);
                    let h = match item.as_rule() {
                        Rule::j_enter_on => {
                            let mut q = parts(item).into_iter().peekable();
                            let event = self.ident(q.next()?);
                            let filter = if q.peek().is_some_and(|p| p.as_rule() == Rule::expr) {
                                q.next().map(|e| self.expr(e))
                            } else {
                                None
                            };
                            let (then, then_block) = match q.next() {
                                Some(t) => {
                                    let inner = parts(t).into_iter().next()?;
                                    if inner.as_rule() == Rule::actions_block {
                                        (self.actions(inner), true)
                                    } else {
                                        (self.action(inner).into_iter().collect(), false)
                                    }
                                }
                                None => (Vec::new(), false),
                            };
                            Some(JourneyHeaderKind::EnterOn {
                                event,
                                filter,
                                then,
                                then_block,
                            })
                        }
                        Rule::j_exit_on => {
                            let mut q = parts(item).into_iter();
                            let event = self.ident(q.next()?);
                            let filter = q.next().map(|e| self.expr(e));
                            Some(JourneyHeaderKind::ExitOn { event, filter })
                        }
                        Rule::j_enter_when => Some(JourneyHeaderKind::EnterWhen(
                            self.expr(parts(item).into_iter().next()?),
                        )),
                        Rule::j_exit_when => Some(JourneyHeaderKind::ExitWhen(
                            self.expr(parts(item).into_iter().next()?),
                        )),
                        Rule::j_goal => Some(JourneyHeaderKind::Goal(
                            self.expr(parts(item).into_iter().next()?),
                        )),
                        Rule::j_reenter_after => Some(JourneyHeaderKind::ReenterAfter(
                            self.duration(parts(item).into_iter().next()?),
                        )),
                        Rule::j_reenter_never => Some(JourneyHeaderKind::ReenterNever),
                        _ => {
                            if let Some(s) = self.step(item) {
                                steps.push(s);
                            }
                            None
                        }
                    };
                    if let Some(kind) = h {
                        if !steps.is_empty() {
                            self.error(
                                "E0052",
                                sp,
                                "journey settings (`enter`, `exit when`, `exit on`, `goal`, `reenter`) must come before the first step",
                            );
                        }
                        header.push(JourneyHeader { kind, span: sp });
                    }
                }
                DeclKind::Journey(JourneyDecl {
                    name,
                    header,
                    steps,
                })
            }
            Rule::d_team => {
                let mut it = p.into_iter();
                let name = self.ident(it.next()?);
                let items = it.filter_map(|i| self.team_item(i)).collect();
                DeclKind::Team(TeamDecl { name, items })
            }
            Rule::d_handoff => {
                let mut it = p.into_iter();
                let name = self.ident(it.next()?);
                let items = it.filter_map(|i| self.handoff_item(i)).collect();
                DeclKind::Handoff(HandoffDecl { name, items })
            }
            Rule::d_schedule => {
                let mut it = p.into_iter().peekable();
                let name = self.ident(it.next()?);
                let cron = self.text(it.next()?);
                let timezone = if it.peek().is_some_and(|x| x.as_rule() == Rule::string) {
                    it.next().map(|t| self.text(t))
                } else {
                    None
                };
                let mut items = Vec::new();
                for item in it {
                    let sp = self.span(&item);
                    let kind = match item.as_rule() {
                        Rule::sch_for => {
                            let mut q = parts(item).into_iter();
                            let filter = self.expr(q.next()?);
                            let actions = self.actions(q.next()?);
                            ScheduleItemKind::ForLeads { filter, actions }
                        }
                        Rule::sch_report => ScheduleItemKind::Report(
                            parts(item).into_iter().map(|t| self.text(t)).collect(),
                        ),
                        _ => match self.action(item) {
                            Some(a) => ScheduleItemKind::Action(a),
                            None => continue,
                        },
                    };
                    items.push(ScheduleItem { kind, span: sp });
                }
                DeclKind::Schedule(ScheduleDecl {
                    name,
                    cron,
                    timezone,
                    items,
                })
            }
            Rule::d_sending => {
                let mut items = Vec::new();
                for item in p {
                    let sp = self.span(&item);
                    let rule = item.as_rule();
                    let mut q = parts(item).into_iter();
                    let kind = match rule {
                        Rule::snd_from => SendingItemKind::From(self.text(q.next()?)),
                        Rule::snd_quiet => {
                            let start = self.clock(q.next()?);
                            let end = self.clock(q.next()?);
                            SendingItemKind::QuietHours { start, end }
                        }
                        Rule::snd_cap => {
                            let n = q.next()?;
                            let count_span = self.span(&n);
                            let count = n.as_str().parse::<u64>().unwrap_or(u64::MAX);
                            let per = self.duration(q.next()?);
                            SendingItemKind::Cap {
                                count,
                                count_span,
                                per,
                            }
                        }
                        _ => continue,
                    };
                    items.push(SendingItem { kind, span: sp });
                }
                DeclKind::Sending(SendingDecl { items })
            }
            Rule::d_test => {
                let mut it = p.into_iter();
                let name = self.text(it.next()?);
                let stmts = it.filter_map(|s| self.test_stmt(s)).collect();
                DeclKind::Test(TestDecl { name, stmts })
            }
            _ => return None,
        };
        Some(Decl { kind, span })
    }
}

/// Where the code of `input[start..end]` ends: trailing blanks and `#` comments cut off.
fn code_end(input: &str, start: usize, mut end: usize) -> usize {
    loop {
        let slice = input.get(start..end).unwrap_or("");
        let trimmed = slice.trim_end_matches([' ', '\t', '\r', '\n']);
        let line_start = trimmed.rfind('\n').map(|i| i + 1).unwrap_or(0);
        match comment_start(&trimmed[line_start..]) {
            Some(hash) => end = start + line_start + hash,
            None => return start + trimmed.len(),
        }
    }
}

/// The byte index of a `#` that starts a comment in one line of code (not inside a text).
fn comment_start(line: &str) -> Option<usize> {
    let mut in_text = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_text => escaped = true,
            '"' => in_text = !in_text,
            '#' if !in_text => return Some(i),
            _ => {}
        }
    }
    None
}

fn missing_ident(span: Span) -> Ident {
    Ident {
        name: String::new(),
        span,
    }
}

/// The day names the grammar accepts, with their weekday bits (bit 0 = Monday).
const DAYS: [(&str, u8); 16] = [
    ("monday", 1),
    ("mon", 1),
    ("tuesday", 1 << 1),
    ("tue", 1 << 1),
    ("wednesday", 1 << 2),
    ("wed", 1 << 2),
    ("thursday", 1 << 3),
    ("thu", 1 << 3),
    ("friday", 1 << 4),
    ("fri", 1 << 4),
    ("saturday", 1 << 5),
    ("sat", 1 << 5),
    ("sunday", 1 << 6),
    ("sun", 1 << 6),
    ("weekday", 0b001_1111),
    ("weekend", 0b110_0000),
];

/// A day name's weekday bits; 0 for a word that is not one.
fn day_bits(name: &str) -> u8 {
    DAYS.iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, bits)| *bits)
}

/// Whether `y-m-d` is a real calendar date (proleptic Gregorian).
pub fn valid_date(year: i32, month: u32, day: u32) -> bool {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    day >= 1 && day <= days
}

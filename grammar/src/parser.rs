//! Turns source text into the typed AST: runs the pest grammar, recovers at top-level declarations, and builds nodes with spans.

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
    if pre.too_deep.is_empty() {
        if let Ok(mut pairs) = TandemGrammar::parse(Rule::file, &pre.text) {
            if let Some(file) = pairs.next() {
                builder.decls(file, &mut decls);
            }
            return Parsed {
                file: SourceFile { decls, comments },
                diagnostics: builder.diags,
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
            continue;
        }
        match TandemGrammar::parse(Rule::file, chunk) {
            Ok(mut pairs) => {
                builder.offset = start;
                if let Some(file) = pairs.next() {
                    builder.decls(file, &mut decls);
                }
            }
            Err(err) => builder
                .diags
                .push(syntax_error(file_id, start, chunk, &pre.text, &err)),
        }
    }
    Parsed {
        file: SourceFile { decls, comments },
        diagnostics: builder.diags,
    }
}

/// Splits the text into top-level declaration chunks: a new chunk starts at every
/// line that begins (in column 0) with a declaration keyword.
fn chunks(text: &str) -> Vec<(usize, usize)> {
    let mut starts = vec![0usize];
    let mut line_start = 0usize;
    for line in text.split_inclusive('\n') {
        if line_start > 0 && starts_declaration(line) {
            starts.push(line_start);
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

fn starts_declaration(line: &str) -> bool {
    DECL_KEYWORDS.iter().any(|kw| {
        line.strip_prefix(kw).is_some_and(|rest| {
            rest.chars()
                .next()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
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
    // The token after the error, read from the whole file: at a chunk's end it is the next declaration.
    let found = found_token(full, offset + pos);
    let expected = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<String> = Vec::new();
            for r in positives {
                if let Some(n) = rule_description(*r) {
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
    let unclosed = pos >= chunk.trim_end().len() && !found.is_empty();
    let found_text = if found.is_empty() {
        "the end of the file".to_owned()
    } else if found == "\n" || found == "\r\n" {
        "the end of the line".to_owned()
    } else {
        format!("`{found}`")
    };
    let message = match expected.len() {
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
    if unclosed {
        diag.with_help("a `}` may be missing before this line")
    } else if found == "=" {
        diag.with_help("to compare two values write `==`; `=` only assigns in `set FIELD = …`")
    } else {
        diag
    }
}

/// The token at `pos`: a word, a number, or one character.
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
            | Rule::kw_every
            | Rule::kw_exit
            | Rule::kw_expect
            | Rule::kw_for
            | Rule::kw_from
            | Rule::kw_goal
            | Rule::kw_handoff
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
            | Rule::kw_notify
            | Rule::kw_on
            | Rule::kw_open
            | Rule::kw_or
            | Rule::kw_owner
            | Rule::kw_per
            | Rule::kw_quiet
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
                            let mut q = parts(item).into_iter();
                            let event = self.ident(q.next()?);
                            let filter = q.next().map(|e| self.expr(e));
                            Some(JourneyHeaderKind::EnterOn { event, filter })
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
                                "journey settings (`enter`, `exit when`, `goal`, `reenter`) must come before the first step",
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

    // ------------------------------------------------------------ leaves

    fn ident(&mut self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_owned(),
            span: self.span(&pair),
        }
    }

    fn text(&mut self, pair: Pair<'_, Rule>) -> TextLit {
        self.text_with(pair, false)
    }

    /// Decodes a text literal. In a regex (`keep_unknown`), escapes other than
    /// `\"` `\n` `\t` `\u{…}` are kept as written; elsewhere they are errors.
    fn text_with(&mut self, pair: Pair<'_, Rule>, keep_unknown: bool) -> TextLit {
        let span = self.span(&pair);
        let raw = pair
            .into_inner()
            .next()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default();
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            let Some((_, e)) = chars.next() else { break };
            match e {
                '"' => value.push('"'),
                '\\' if !keep_unknown => value.push('\\'),
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let rest = &raw[i + 2..];
                    let decoded = rest
                        .strip_prefix('{')
                        .and_then(|r| r.find('}').map(|end| &r[..end]))
                        .and_then(|hex| {
                            u32::from_str_radix(hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .map(|ch| (ch, hex.len() + 2))
                        });
                    match decoded {
                        Some((ch, len)) => {
                            value.push(ch);
                            for _ in 0..len {
                                chars.next();
                            }
                        }
                        None => {
                            let at = span.start as usize + 1 + i;
                            self.error(
                                "E0003",
                                Span::new(span.file, at, at + 2),
                                "a `\\u` escape must look like `\\u{1F600}` (a hexadecimal Unicode code point)",
                            );
                        }
                    }
                }
                other if keep_unknown => {
                    value.push('\\');
                    value.push(other);
                }
                other => {
                    let at = span.start as usize + 1 + i;
                    self.error(
                        "E0003",
                        Span::new(span.file, at, at + 1 + other.len_utf8()),
                        format!("`\\{other}` is not a known escape; write `\\\\` for a backslash (known: `\\\"` `\\\\` `\\n` `\\t` `\\u{{…}}`)"),
                    );
                }
            }
        }
        TextLit {
            value: value.nfc().collect(),
            raw,
            span,
        }
    }

    fn number(&mut self, pair: &Pair<'_, Rule>) -> f64 {
        let raw: String = pair.as_str().chars().filter(|c| *c != '_').collect();
        raw.parse::<f64>().unwrap_or(0.0)
    }

    fn points(&mut self, pair: Pair<'_, Rule>) -> Points {
        Points {
            value: self.number(&pair),
            raw: pair.as_str().to_owned(),
            span: self.span(&pair),
        }
    }

    fn percent(&mut self, pair: Pair<'_, Rule>) -> Percent {
        let span = self.span(&pair);
        let digits = pair.as_str().trim_end_matches('%');
        let value = digits.parse::<u64>().unwrap_or(u64::MAX);
        if value > 100 {
            self.error(
                "E0051",
                span,
                "a percentage must be a whole number from 0% to 100%",
            );
        }
        Percent { value, span }
    }

    fn duration(&mut self, pair: Pair<'_, Rule>) -> DurationLit {
        let span = self.span(&pair);
        let mut parts_out = Vec::new();
        let mut seconds = 0.0;
        for part in pair.into_inner() {
            let mut q = part.into_inner();
            let (Some(n), Some(u)) = (q.next(), q.next()) else {
                continue;
            };
            let amount = self.number(&n);
            let unit = match u.as_str() {
                "minute" | "minutes" => TimeUnit::Minute,
                "hour" | "hours" => TimeUnit::Hour,
                "day" | "days" => TimeUnit::Day,
                _ => TimeUnit::Week,
            };
            seconds += amount * unit.seconds();
            parts_out.push((amount, n.as_str().to_owned(), unit));
        }
        if seconds <= 0.0 || !seconds.is_finite() {
            self.error("E0051", span, "a duration must be longer than zero");
        }
        DurationLit {
            parts: parts_out,
            seconds,
            span,
        }
    }

    fn clock(&mut self, pair: Pair<'_, Rule>) -> Clock {
        let span = self.span(&pair);
        let (h, m) = pair.as_str().split_once(':').unwrap_or(("0", "0"));
        let hour = h.parse().unwrap_or(99);
        let minute = m.parse().unwrap_or(99);
        if hour > 23 || minute > 59 {
            self.error(
                "E0004",
                span,
                format!(
                    "`{}` is not a clock time (use 0:00 to 23:59)",
                    pair.as_str()
                ),
            );
        }
        Clock { hour, minute, span }
    }

    fn clock_range(&mut self, pair: Pair<'_, Rule>) -> ClockRange {
        let span = self.span(&pair);
        let mut q = pair.into_inner();
        let zero = Clock {
            hour: 0,
            minute: 0,
            span,
        };
        let start = q.next().map(|c| self.clock(c)).unwrap_or(zero);
        let end = q.next().map(|c| self.clock(c)).unwrap_or(zero);
        if (end.hour, end.minute) <= (start.hour, start.minute) {
            self.error(
                "E0004",
                span,
                "the closing time must be after the opening time",
            );
        }
        ClockRange { start, end, span }
    }

    fn date(&mut self, pair: Pair<'_, Rule>) -> Date {
        let span = self.span(&pair);
        let mut it = pair.as_str().split('-');
        let year = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let month = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let day = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if !valid_date(year, month, day) {
            self.error(
                "E0004",
                span,
                format!("`{}` is not a date on the calendar", pair.as_str()),
            );
        }
        Date {
            year,
            month,
            day,
            span,
        }
    }

    fn day_spec(&mut self, pair: Pair<'_, Rule>) -> DaySpec {
        let span = self.span(&pair);
        let mut items = Vec::new();
        let mut mask = 0u8;
        for item in pair.into_inner() {
            items.push(item.as_str().to_owned());
            if item.as_rule() == Rule::day_range {
                let mut q = item.into_inner();
                let a = q.next().map(|d| day_bits(d.as_str())).unwrap_or(0);
                let b = q.next().map(|d| day_bits(d.as_str())).unwrap_or(0);
                let (from, to) = (a.trailing_zeros(), b.trailing_zeros());
                if a.count_ones() != 1 || b.count_ones() != 1 {
                    self.error(
                        "E0004",
                        span,
                        "a day range goes from one day name to another, like `mon-fri`",
                    );
                    continue;
                }
                let mut d = from;
                loop {
                    mask |= 1 << d;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            } else {
                mask |= day_bits(item.as_str());
            }
        }
        DaySpec { items, mask, span }
    }

    fn literal(&mut self, pair: Pair<'_, Rule>) -> Literal {
        let span = self.span(&pair);
        let inner = match pair.into_inner().next() {
            Some(i) => i,
            None => {
                return Literal {
                    kind: LiteralKind::Bool(false),
                    span,
                }
            }
        };
        let kind = match inner.as_rule() {
            Rule::neg_number | Rule::number => LiteralKind::Number {
                value: self.number(&inner),
                raw: inner.as_str().to_owned(),
            },
            Rule::string => LiteralKind::Text(self.text(inner)),
            Rule::bool_lit => LiteralKind::Bool(inner.as_str() == "true"),
            Rule::list_lit_const => {
                LiteralKind::List(inner.into_inner().map(|l| self.literal(l)).collect())
            }
            _ => LiteralKind::Name(self.ident(inner)),
        };
        Literal { kind, span }
    }

    fn field_decl(&mut self, pair: Pair<'_, Rule>) -> FieldDecl {
        let span = self.span(&pair);
        let mut q = parts(pair).into_iter();
        let name = q
            .next()
            .map(|n| self.ident(n))
            .unwrap_or_else(|| missing_ident(span));
        let ty = q
            .next()
            .map(|n| self.ident(n))
            .unwrap_or_else(|| missing_ident(span));
        let default = q.next().map(|l| self.literal(l));
        FieldDecl {
            name,
            ty,
            default,
            span,
        }
    }

    fn field_values(&mut self, pair: Pair<'_, Rule>) -> Vec<FieldValue> {
        pair.into_inner()
            .filter_map(|fv| {
                let mut q = fv.into_inner();
                let name = self.ident(q.next()?);
                let value = self.literal(q.next()?);
                Some(FieldValue { name, value })
            })
            .collect()
    }

    // ------------------------------------------------------------ scores, teams, handoffs

    fn score_item(&mut self, pair: Pair<'_, Rule>) -> Option<ScoreItem> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter();
        let kind = match rule {
            Rule::score_if => {
                let points = self.points(q.next()?);
                let cond = self.expr(q.next()?);
                ScoreItemKind::If { points, cond }
            }
            Rule::score_on => {
                let points = self.points(q.next()?);
                let event = self.ident(q.next()?);
                let filter = q.next().map(|e| self.expr(e));
                ScoreItemKind::On {
                    points,
                    event,
                    filter,
                }
            }
            Rule::score_min => ScoreItemKind::Min(self.points(q.next()?)),
            Rule::score_max => ScoreItemKind::Max(self.points(q.next()?)),
            Rule::score_decay => {
                let percent = self.percent(q.next()?);
                let every = self.duration(q.next()?);
                ScoreItemKind::Decay { percent, every }
            }
            _ => return None,
        };
        Some(ScoreItem { kind, span })
    }

    fn team_item(&mut self, pair: Pair<'_, Rule>) -> Option<TeamItem> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter();
        let kind = match rule {
            Rule::team_members => TeamItemKind::Members(q.map(|t| self.text(t)).collect()),
            Rule::team_manager => TeamItemKind::Manager(self.text(q.next()?)),
            Rule::team_hours => {
                let days = self.day_spec(q.next()?);
                let range = self.clock_range(q.next()?);
                TeamItemKind::Hours { days, range }
            }
            Rule::team_timezone => TeamItemKind::Timezone(self.text(q.next()?)),
            Rule::team_closed => {
                let mut dates = Vec::new();
                for item in q {
                    let mut d = parts(item).into_iter();
                    let from = self.date(d.next()?);
                    let to = d.next().map(|x| self.date(x));
                    if let Some(t) = &to {
                        if (t.year, t.month, t.day) < (from.year, from.month, from.day) {
                            self.error(
                                "E0004",
                                from.span.to(t.span),
                                "a closed range must end on or after the day it starts",
                            );
                        }
                    }
                    dates.push((from, to));
                }
                TeamItemKind::Closed(dates)
            }
            Rule::team_open => {
                let date = self.date(q.next()?);
                let range = q.next().map(|r| self.clock_range(r));
                TeamItemKind::Open { date, range }
            }
            _ => return None,
        };
        Some(TeamItem { kind, span })
    }

    fn handoff_item(&mut self, pair: Pair<'_, Rule>) -> Option<HandoffItem> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter().peekable();
        let kind = match rule {
            Rule::h_when => HandoffItemKind::When(self.expr(q.next()?)),
            Rule::h_assign => {
                let owner_first = q.peek().is_some_and(|x| x.as_rule() == Rule::assign_owner);
                if owner_first {
                    q.next();
                }
                let team = self.ident(q.next()?);
                let strategy = match q.next()?.as_str() {
                    "least_open" => AssignStrategy::LeastOpen,
                    _ => AssignStrategy::RoundRobin,
                };
                HandoffItemKind::Assign {
                    owner_first,
                    team,
                    strategy,
                }
            }
            Rule::h_task => HandoffItemKind::Task(self.text(q.next()?)),
            Rule::h_sla => {
                let kind = match q.next()?.as_str() {
                    "accept" => SlaKind::Accept,
                    _ => SlaKind::Complete,
                };
                let d = q.next()?;
                let within = if d.as_rule() == Rule::business_duration {
                    let dspan = self.span(&d);
                    let text = d.as_str().to_owned();
                    let mut dq = d.into_inner();
                    let n = dq.next()?;
                    let amount = self.number(&n);
                    let raw = n.as_str().to_owned();
                    if amount <= 0.0 {
                        self.error("E0051", dspan, "a duration must be longer than zero");
                    }
                    if text.ends_with("days") || text.ends_with("day") {
                        if amount.fract() != 0.0 {
                            self.error("E0051", dspan, "business days must be a whole number");
                        }
                        SlaDuration::BusinessDays {
                            amount,
                            raw,
                            span: dspan,
                        }
                    } else {
                        SlaDuration::BusinessHours {
                            amount,
                            raw,
                            span: dspan,
                        }
                    }
                } else {
                    SlaDuration::Plain(self.duration(d))
                };
                let action = match q.next()?.as_str() {
                    "escalate" => SlaAction::Escalate,
                    _ => SlaAction::Reassign,
                };
                HandoffItemKind::Sla {
                    kind,
                    within,
                    action,
                }
            }
            Rule::h_reasons => HandoffItemKind::Reasons(
                q.map(|r| {
                    let mut rq = r.into_inner();
                    let name = rq
                        .next()
                        .map(|n| self.ident(n))
                        .unwrap_or_else(|| missing_ident(span));
                    let label = rq.next().map(|t| self.text(t));
                    Reason { name, label }
                })
                .collect(),
            ),
            Rule::h_on => {
                let outcome = match q.next()?.as_str() {
                    "accept" => Outcome::Accept,
                    "reject" => Outcome::Reject,
                    _ => Outcome::Complete,
                };
                let actions = self.actions(q.next()?);
                HandoffItemKind::On { outcome, actions }
            }
            _ => return None,
        };
        Some(HandoffItem { kind, span })
    }

    // ------------------------------------------------------------ tests

    fn test_stmt(&mut self, pair: Pair<'_, Rule>) -> Option<TestStmt> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter();
        let kind = match rule {
            Rule::t_start => {
                let date = self.date(q.next()?);
                let clock = q.next().map(|c| self.clock(c));
                TestStmtKind::Start { date, clock }
            }
            Rule::t_lead => {
                let lead = self.ident(q.next()?);
                let fields = self.field_values(q.next()?);
                TestStmtKind::Lead { lead, fields }
            }
            Rule::t_event => {
                let lead = self.ident(q.next()?);
                let event = self.ident(q.next()?);
                let props = q.next().map(|fv| self.field_values(fv)).unwrap_or_default();
                TestStmtKind::Event { lead, event, props }
            }
            Rule::t_update => {
                let lead = self.ident(q.next()?);
                let fields = self.field_values(q.next()?);
                TestStmtKind::Update { lead, fields }
            }
            Rule::t_advance => TestStmtKind::Advance(self.duration(q.next()?)),
            Rule::t_task => {
                let lead = self.ident(q.next()?);
                let handoff = self.ident(q.next()?);
                let outcome_pair = q.next()?.into_inner().next()?;
                let outcome = match outcome_pair.as_rule() {
                    Rule::t_accept => TaskOutcome::Accept,
                    Rule::t_complete => TaskOutcome::Complete,
                    _ => TaskOutcome::Reject(self.ident(parts(outcome_pair).into_iter().next()?)),
                };
                TestStmtKind::Task {
                    lead,
                    handoff,
                    outcome,
                }
            }
            Rule::t_expect => {
                let lead = self.ident(q.next()?);
                let e = q.next()?;
                let erule = e.as_rule();
                let mut eq = parts(e).into_iter();
                let expectation = match erule {
                    Rule::e_sent => Expectation::Sent(self.ident(eq.next()?)),
                    Rule::e_not_sent => Expectation::NotSent(self.ident(eq.next()?)),
                    Rule::e_in => Expectation::In(self.ident(eq.next()?)),
                    Rule::e_not_in => Expectation::NotIn(self.ident(eq.next()?)),
                    Rule::e_task_assigned => {
                        let handoff = self.ident(eq.next()?);
                        let assignee = self.text(eq.next()?);
                        Expectation::TaskAssigned { handoff, assignee }
                    }
                    Rule::e_no_task => Expectation::NoTask(self.ident(eq.next()?)),
                    _ => Expectation::Expr(self.expr(eq.next()?)),
                };
                TestStmtKind::Expect { lead, expectation }
            }
            _ => return None,
        };
        Some(TestStmt { kind, span })
    }

    // ------------------------------------------------------------ actions and steps

    fn actions(&mut self, block: Pair<'_, Rule>) -> Vec<Action> {
        block.into_inner().filter_map(|a| self.action(a)).collect()
    }

    fn action(&mut self, pair: Pair<'_, Rule>) -> Option<Action> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut q = parts(pair).into_iter();
        let kind = match rule {
            Rule::a_set => {
                let field = self.ident(q.next()?);
                let value = self.expr(q.next()?);
                ActionKind::Set { field, value }
            }
            Rule::a_tag => ActionKind::Tag(self.text(q.next()?)),
            Rule::a_untag => ActionKind::Untag(self.text(q.next()?)),
            Rule::a_send => ActionKind::Send(self.ident(q.next()?)),
            Rule::a_enroll => ActionKind::Enroll(self.ident(q.next()?)),
            Rule::a_notify => {
                let target_pair = q.next()?.into_inner().next()?;
                let target = match target_pair.as_rule() {
                    Rule::notify_team => {
                        NotifyTarget::Team(self.ident(parts(target_pair).into_iter().next()?))
                    }
                    Rule::notify_owner => NotifyTarget::Owner(self.span(&target_pair)),
                    _ => NotifyTarget::Address(self.text(target_pair)),
                };
                let text = self.text(q.next()?);
                ActionKind::Notify { target, text }
            }
            Rule::a_handoff => ActionKind::Handoff(self.ident(q.next()?)),
            Rule::a_webhook => ActionKind::Webhook(self.ident(q.next()?)),
            Rule::a_exit => ActionKind::Exit,
            _ => return None,
        };
        Some(Action { kind, span })
    }

    fn steps(&mut self, block: Pair<'_, Rule>) -> Vec<Step> {
        block.into_inner().filter_map(|s| self.step(s)).collect()
    }

    fn step(&mut self, pair: Pair<'_, Rule>) -> Option<Step> {
        let span = self.span(&pair);
        // `wait …` forms: the span starts at `wait`, the kind comes from the inner rule.
        let pair = if pair.as_rule() == Rule::s_wait {
            parts(pair).into_iter().next()?
        } else {
            pair
        };
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::wait_duration => StepKind::Wait(self.duration(pair.into_inner().next()?)),
            Rule::wait_clock => {
                let mut q = parts(pair).into_iter().peekable();
                let days = if q.peek().is_some_and(|p| p.as_rule() == Rule::day_spec) {
                    q.next().map(|d| self.day_spec(d))
                } else {
                    None
                };
                let clock = self.clock(q.next()?);
                StepKind::WaitClock { days, clock }
            }
            Rule::wait_for | Rule::wait_cond => {
                let mut q = parts(pair).into_iter().peekable();
                let head = q.next()?;
                let (event, cond) = if rule == Rule::wait_for {
                    let event = self.ident(head);
                    let filter = if q.peek().is_some_and(|p| p.as_rule() == Rule::expr) {
                        q.next().map(|e| self.expr(e))
                    } else {
                        None
                    };
                    (Some(event), filter)
                } else {
                    (None, Some(self.expr(head)))
                };
                let mut up_to = None;
                let mut body = None;
                let mut timeout = None;
                for rest in q {
                    match rest.as_rule() {
                        Rule::up_to => {
                            up_to = parts(rest).into_iter().next().map(|d| self.duration(d))
                        }
                        Rule::steps_block => body = Some(self.steps(rest)),
                        Rule::timeout_block => {
                            timeout = parts(rest).into_iter().next().map(|b| self.steps(b))
                        }
                        _ => {}
                    }
                }
                match event {
                    Some(event) => StepKind::WaitFor {
                        event,
                        filter: cond,
                        up_to,
                        body,
                        timeout,
                    },
                    None => StepKind::WaitUntil {
                        cond: cond.unwrap_or(Expr {
                            kind: ExprKind::Error,
                            span,
                        }),
                        up_to,
                        body,
                        timeout,
                    },
                }
            }
            Rule::s_if => {
                let mut q = parts(pair).into_iter();
                let cond = self.expr(q.next()?);
                let then = self.steps(q.next()?);
                let mut branches = vec![(cond, then)];
                let mut otherwise = None;
                for rest in q {
                    match rest.as_rule() {
                        Rule::else_if => {
                            let mut r = parts(rest).into_iter();
                            let c = self.expr(r.next()?);
                            let b = self.steps(r.next()?);
                            branches.push((c, b));
                        }
                        _ => otherwise = parts(rest).into_iter().next().map(|b| self.steps(b)),
                    }
                }
                StepKind::If {
                    branches,
                    otherwise,
                }
            }
            Rule::s_split => {
                let arms = parts(pair)
                    .into_iter()
                    .filter_map(|arm| {
                        let aspan = self.span(&arm);
                        let mut r = arm.into_inner();
                        let percent = self.percent(r.next()?);
                        let steps = self.steps(r.next()?);
                        Some(SplitArm {
                            percent,
                            steps,
                            span: aspan,
                        })
                    })
                    .collect();
                StepKind::Split(arms)
            }
            _ => StepKind::Action(self.action(pair)?),
        };
        Some(Step { kind, span })
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        match self.expr_inner(pair) {
            Some((e, _)) => e,
            None => Expr {
                kind: ExprKind::Error,
                span,
            },
        }
    }

    fn too_deep(&mut self, span: Span) -> Option<(Expr, usize)> {
        self.error(
            "E0002",
            span,
            format!("this expression is nested more than {MAX_EXPR_DEPTH} levels deep; split it into segments"),
        );
        None
    }

    /// Builds an expression and returns it with its depth, so that runaway
    /// operator chains are refused before they can overflow any later pass.
    fn expr_inner(&mut self, pair: Pair<'_, Rule>) -> Option<(Expr, usize)> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => self.expr_inner(pair.into_inner().next()?),
            Rule::or_expr | Rule::and_expr => {
                let op = if pair.as_rule() == Rule::or_expr {
                    BinaryOp::Or
                } else {
                    BinaryOp::And
                };
                self.fold_chain(pair, |_| Some(op))
            }
            Rule::sum | Rule::product => self.fold_chain(pair, |p| match p.as_str() {
                "+" => Some(BinaryOp::Add),
                "-" => Some(BinaryOp::Sub),
                "*" => Some(BinaryOp::Mul),
                "/" => Some(BinaryOp::Div),
                _ => None,
            }),
            Rule::not_expr => {
                let inner: Vec<_> = pair.into_inner().collect();
                let nots = inner.iter().filter(|p| p.as_rule() == Rule::kw_not).count();
                let last = inner.into_iter().last()?;
                let (mut e, mut depth) = self.expr_inner(last)?;
                for _ in 0..nots {
                    depth += 1;
                    if depth > MAX_EXPR_DEPTH {
                        return self.too_deep(span);
                    }
                    e = Expr {
                        kind: ExprKind::Not(Box::new(e)),
                        span,
                    };
                }
                Some((e, depth))
            }
            Rule::unary => {
                let inner: Vec<_> = pair.into_inner().collect();
                let negs = inner.iter().filter(|p| p.as_rule() == Rule::neg).count();
                let last = inner.into_iter().last()?;
                let (mut e, mut depth) = self.expr_inner(last)?;
                for _ in 0..negs {
                    depth += 1;
                    if depth > MAX_EXPR_DEPTH {
                        return self.too_deep(span);
                    }
                    e = Expr {
                        kind: ExprKind::Neg(Box::new(e)),
                        span,
                    };
                }
                Some((e, depth))
            }
            Rule::cmp_expr => {
                let mut q = pair.into_inner();
                let (lhs, ld) = self.expr_inner(q.next()?)?;
                let Some(tail) = q.next() else {
                    return Some((lhs, ld));
                };
                self.comparison(span, lhs, ld, tail)
            }
            Rule::paren => {
                let (e, d) = self.expr_inner(pair.into_inner().next()?)?;
                Some((
                    Expr {
                        kind: ExprKind::Paren(Box::new(e)),
                        span,
                    },
                    d + 1,
                ))
            }
            Rule::list_lit => {
                let mut items = Vec::new();
                let mut depth = 0;
                for p in pair.into_inner() {
                    let (e, d) = self.expr_inner(p)?;
                    depth = depth.max(d);
                    items.push(e);
                }
                Some((
                    Expr {
                        kind: ExprKind::List(items),
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::date_in_expr => {
                self.error(
                    "E0005",
                    span,
                    "a date is not a value in a condition; compare with `now()` or a time field instead",
                );
                None
            }
            Rule::duration => Some((
                Expr {
                    kind: ExprKind::Duration(self.duration(pair)),
                    span,
                },
                1,
            )),
            Rule::number => Some((
                Expr {
                    kind: ExprKind::Number {
                        value: self.number(&pair),
                        raw: pair.as_str().to_owned(),
                    },
                    span,
                },
                1,
            )),
            Rule::string => Some((
                Expr {
                    kind: ExprKind::Text(self.text(pair)),
                    span,
                },
                1,
            )),
            Rule::bool_lit => Some((
                Expr {
                    kind: ExprKind::Bool(pair.as_str() == "true"),
                    span,
                },
                1,
            )),
            Rule::count_call => {
                let mut q = parts(pair).into_iter();
                let event = self.ident(q.next()?);
                let next = q.next()?;
                let (filter, within_pair, depth) = if next.as_rule() == Rule::expr {
                    let (f, d) = self.expr_inner(next)?;
                    (Some(Box::new(f)), q.next()?, d)
                } else {
                    (None, next, 0)
                };
                let within = self.duration(within_pair);
                Some((
                    Expr {
                        kind: ExprKind::Count {
                            event,
                            filter,
                            within,
                        },
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::call => {
                let mut q = pair.into_inner();
                let func = self.ident(q.next()?);
                let mut args = Vec::new();
                let mut depth = 0;
                for a in q {
                    let (e, d) = self.expr_inner(a)?;
                    depth = depth.max(d);
                    args.push(e);
                }
                Some((
                    Expr {
                        kind: ExprKind::Call { func, args },
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::path => {
                let mut q = pair.into_inner();
                let head = self.ident(q.next()?);
                let kind = match q.next() {
                    Some(m) => ExprKind::Member {
                        head,
                        member: self.ident(m),
                    },
                    None => ExprKind::Name(head),
                };
                Some((Expr { kind, span }, 1))
            }
            _ => None,
        }
    }

    /// Folds `a op b op c` to the left, refusing chains deeper than the limit.
    fn fold_chain(
        &mut self,
        pair: Pair<'_, Rule>,
        op_of: impl Fn(&Pair<'_, Rule>) -> Option<BinaryOp>,
    ) -> Option<(Expr, usize)> {
        let span = self.span(&pair);
        let mut q = pair.into_inner();
        let (mut acc, mut depth) = self.expr_inner(q.next()?)?;
        let mut pending: Option<BinaryOp> = None;
        for p in q {
            if let Some(op) = op_of(&p).filter(|_| {
                matches!(
                    p.as_rule(),
                    Rule::kw_or | Rule::kw_and | Rule::sum_op | Rule::product_op
                )
            }) {
                pending = Some(op);
                continue;
            }
            let (rhs, rd) = self.expr_inner(p)?;
            depth = depth.max(rd) + 1;
            if depth > MAX_EXPR_DEPTH {
                return self.too_deep(span);
            }
            let op = pending.take().unwrap_or(BinaryOp::And);
            let s = acc.span.to(rhs.span);
            acc = Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(acc),
                    rhs: Box::new(rhs),
                },
                span: s,
            };
        }
        Some((acc, depth))
    }

    fn comparison(
        &mut self,
        span: Span,
        lhs: Expr,
        ld: usize,
        tail: Pair<'_, Rule>,
    ) -> Option<(Expr, usize)> {
        let rule = tail.as_rule();
        let tail_text = tail.as_str().to_owned();
        let mut q = parts(tail).into_iter();
        let lhs = Box::new(lhs);
        let mut depth = ld;
        let mut operand = |b: &mut Builder, p: Pair<'_, Rule>| -> Option<Box<Expr>> {
            let (e, d) = b.expr_inner(p)?;
            depth = depth.max(d);
            Some(Box::new(e))
        };
        let kind = match rule {
            Rule::cmp_binary => {
                let op_pair = q.next()?;
                let op = match op_pair.as_str() {
                    "==" => CompareOp::Eq,
                    "!=" => CompareOp::Ne,
                    "<" => CompareOp::Lt,
                    "<=" => CompareOp::Le,
                    ">" => CompareOp::Gt,
                    _ => CompareOp::Ge,
                };
                let rhs = operand(self, q.next()?)?;
                ExprKind::Compare { op, lhs, rhs }
            }
            Rule::cmp_not_in | Rule::cmp_in => {
                let list = operand(self, q.next()?)?;
                ExprKind::In {
                    negated: rule == Rule::cmp_not_in,
                    item: lhs,
                    list,
                }
            }
            Rule::cmp_contains | Rule::cmp_starts | Rule::cmp_ends => {
                let op = match rule {
                    Rule::cmp_contains => TextOp::Contains,
                    Rule::cmp_starts => TextOp::StartsWith,
                    _ => TextOp::EndsWith,
                };
                let rhs = operand(self, q.next()?)?;
                ExprKind::TextCompare { op, lhs, rhs }
            }
            Rule::cmp_matches => {
                let regex = self.text_with(q.next()?, true);
                ExprKind::Matches {
                    subject: lhs,
                    regex,
                }
            }
            Rule::cmp_between => {
                let low = operand(self, q.next()?)?;
                let high = operand(self, q.next()?)?;
                ExprKind::Between {
                    subject: lhs,
                    low,
                    high,
                }
            }
            Rule::cmp_is_set | Rule::cmp_is_missing => ExprKind::IsSet {
                subject: lhs,
                missing: tail_text.ends_with("missing"),
            },
            _ => return None,
        };
        Some((Expr { kind, span }, depth + 1))
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

fn day_bits(name: &str) -> u8 {
    match name {
        "monday" | "mon" => 1,
        "tuesday" | "tue" => 1 << 1,
        "wednesday" | "wed" => 1 << 2,
        "thursday" | "thu" => 1 << 3,
        "friday" | "fri" => 1 << 4,
        "saturday" | "sat" => 1 << 5,
        "sunday" | "sun" => 1 << 6,
        "weekday" => 0b001_1111,
        "weekend" => 0b110_0000,
        _ => 0,
    }
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

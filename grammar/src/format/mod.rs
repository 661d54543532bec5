//! `tandem fmt`: prints a syntax tree in the one canonical layout, putting every comment back.
//!
//! Layout: two-space indentation, one statement per line, a blank line kept
//! where the source had one (never more than one), conditions on one line
//! unless they pass [`WIDTH`] columns, then broken before each top-level
//! `and` / `or`. Comments stay before the statement they preceded; a comment
//! at the end of a statement's line stays there. Printing a formatted file
//! again gives the same bytes.

use crate::ast::*;
use crate::parser::parse;

mod steps;
mod text;

pub use text::expr;
use text::*;

/// The column past which long conditions and lists are broken.
pub const WIDTH: usize = 100;

/// Formats one file. `Err(n)` when the file has `n` syntax errors (it is then left alone).
pub fn format_source(src: &str) -> Result<String, usize> {
    let parsed = parse(0, src);
    if !parsed.diagnostics.is_empty() {
        return Err(parsed.diagnostics.len());
    }
    let mut p = Printer {
        src,
        out: String::new(),
        comments: parsed.file.comments,
        next_comment: 0,
        indent: 0,
    };
    p.file(&parsed.file.decls);
    Ok(p.out)
}

struct Printer<'s> {
    src: &'s str,
    out: String,
    comments: Vec<Comment>,
    next_comment: usize,
    indent: usize,
}

impl Printer<'_> {
    fn pad(&self) -> String {
        "  ".repeat(self.indent)
    }

    fn line(&mut self, text: &str) {
        let pad = self.pad();
        self.out.push_str(&pad);
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Writes the comments that start before `offset` on their own lines.
    fn comments_before(&mut self, offset: u32) {
        while let Some(c) = self.comments.get(self.next_comment) {
            if c.span.start >= offset {
                break;
            }
            let text = c.text.trim_end().to_owned();
            let blank = self.blank_line_before(c.span.start);
            if blank
                && !self.out.is_empty()
                && !self.out.ends_with("{\n")
                && !self.out.ends_with("\n\n")
            {
                self.out.push('\n');
            }
            self.line(&text);
            self.next_comment += 1;
        }
    }

    /// Where a node's code ends: pest spans may run on over white space and comments.
    fn code_end(&self, mut end: u32) -> u32 {
        loop {
            let text = self.src.get(..end as usize).unwrap_or("");
            let trimmed = text.trim_end_matches([' ', '\t', '\r', '\n', ';']);
            end = trimmed.len() as u32;
            match self.comments.iter().find(|c| c.span.end == end) {
                Some(c) => end = c.span.start,
                None => return end,
            }
        }
    }

    /// Appends a comment that sits on the same source line right after `end`.
    fn trailing_comment(&mut self, end: u32) {
        let end = self.code_end(end);
        if let Some(c) = self.comments.get(self.next_comment) {
            let gap = self
                .src
                .get(end as usize..c.span.start as usize)
                .unwrap_or("\n");
            if c.trailing && c.span.start >= end && !gap.contains('\n') {
                if self.out.ends_with('\n') {
                    self.out.pop();
                }
                self.out.push_str("  ");
                self.out.push_str(c.text.trim_end());
                self.out.push('\n');
                self.next_comment += 1;
            }
        }
    }

    /// True when the source has an empty line just before `offset` (ignoring the line's indentation).
    fn blank_line_before(&self, offset: u32) -> bool {
        let before = self.src.get(..offset as usize).unwrap_or("");
        let trimmed = before.trim_end_matches([' ', '\t']);
        let Some(rest) = trimmed.strip_suffix('\n') else {
            return false;
        };
        let rest = rest.strip_suffix('\r').unwrap_or(rest);
        rest.trim_end_matches([' ', '\t']).ends_with('\n')
    }

    /// Starts an item of a block or the file: comments first, then a blank line if the source had one.
    fn begin_item(&mut self, span: crate::span::Span, first: bool) {
        let had_comment_before = self.next_comment;
        self.comments_before(span.start);
        let wrote_comments = self.next_comment != had_comment_before;
        if !first
            && !wrote_comments
            && self.blank_line_before(span.start)
            && !self.out.ends_with("\n\n")
        {
            self.out.push('\n');
        }
    }

    fn end_block(&mut self, end: u32) {
        // Comments inside the block after its last item.
        self.comments_before(end);
    }

    // ------------------------------------------------------------------ file

    fn file(&mut self, decls: &[Decl]) {
        let mut prev_multi = false;
        for (i, d) in decls.iter().enumerate() {
            let multi = is_block(&d.kind);
            let before_len = self.out.len();
            self.comments_before(d.span.start);
            let comments = self.out.split_off(before_len);
            let source_blank = comments.starts_with('\n') || self.blank_line_before(d.span.start);
            if i > 0 && (multi || prev_multi || source_blank) && !self.out.ends_with("\n\n") {
                self.out.push('\n');
            }
            self.out.push_str(comments.trim_start_matches('\n'));
            if !comments.is_empty() && self.blank_line_before(d.span.start) {
                self.out.push('\n');
            }
            self.decl(d);
            self.trailing_comment(d.span.end);
            prev_multi = multi;
        }
        self.comments_before(u32::MAX);
        while self.out.ends_with("\n\n") {
            self.out.pop();
        }
    }

    fn decl(&mut self, d: &Decl) {
        match &d.kind {
            DeclKind::Timezone(t) => self.line(&format!("timezone \"{}\"", t.raw)),
            DeclKind::Lead(l) => {
                self.line("lead {");
                self.trailing_comment(d.span.start + 4);
                self.indent += 1;
                for (i, f) in l.fields.iter().enumerate() {
                    self.begin_item(f.span, i == 0);
                    let mut s = format!("{}: {}", f.name.name, f.ty.name);
                    if let Some(def) = &f.default {
                        s.push_str(" = ");
                        s.push_str(&literal(def));
                    }
                    self.line(&s);
                    self.trailing_comment(f.span.end);
                }
                self.end_block(d.span.end);
                self.indent -= 1;
                self.line("}");
            }
            DeclKind::Stages(s) => {
                let mut t = format!("stages {{ {}", names(&s.funnel));
                if !s.outside.is_empty() {
                    t.push_str(&format!(" | {}", names(&s.outside)));
                }
                t.push_str(" }");
                self.line(&t);
            }
            DeclKind::Event(e) => {
                if e.props.is_empty() {
                    self.line(&format!("event {}", e.name.name));
                } else {
                    let props: Vec<String> = e
                        .props
                        .iter()
                        .map(|p| format!("{}: {}", p.name.name, p.ty.name))
                        .collect();
                    self.line(&format!("event {} {{ {} }}", e.name.name, props.join(", ")));
                }
            }
            DeclKind::Const(c) => {
                self.line(&format!("const {} = {}", c.name.name, literal(&c.value)))
            }
            DeclKind::Segment(s) => {
                let head = format!("segment {} = ", s.name.name);
                self.condition_line(&head, &s.expr, "");
            }
            DeclKind::Score(s) => {
                self.line(&format!("score {} {{", s.name.name));
                self.trailing_comment(s.name.span.end);
                self.indent += 1;
                for (i, item) in s.items.iter().enumerate() {
                    self.begin_item(item.span, i == 0);
                    match &item.kind {
                        ScoreItemKind::If { points, cond } => {
                            self.condition_line(&format!("{} if ", points.raw), cond, "")
                        }
                        ScoreItemKind::On {
                            points,
                            event,
                            filter,
                        } => match filter {
                            Some(f) => self.condition_line(
                                &format!("{} on {} where ", points.raw, event.name),
                                f,
                                "",
                            ),
                            None => self.line(&format!("{} on {}", points.raw, event.name)),
                        },
                        ScoreItemKind::Min(p) => self.line(&format!("min {}", p.raw)),
                        ScoreItemKind::Max(p) => self.line(&format!("max {}", p.raw)),
                        ScoreItemKind::Decay { percent, every } => self.line(&format!(
                            "decay {}% every {}",
                            percent.value,
                            duration(every)
                        )),
                    }
                    self.trailing_comment(item.span.end);
                }
                self.end_block(d.span.end);
                self.indent -= 1;
                self.line("}");
            }
            DeclKind::Rule(r) => {
                self.line(&format!("rule {} {{", r.name.name));
                self.trailing_comment(r.name.span.end);
                self.indent += 1;
                self.comments_before(r.when.span.start);
                self.condition_line("when ", &r.when, "");
                self.trailing_comment(r.when.span.end);
                if r.then_block {
                    self.line("then {");
                    self.indent += 1;
                    self.actions(&r.then, d.span.end);
                    self.indent -= 1;
                    self.line("}");
                } else if let Some(a) = r.then.first() {
                    self.comments_before(a.span.start);
                    let text = format!("then {}", self.action_text(a));
                    self.line(&text);
                    self.trailing_comment(a.span.end);
                }
                self.end_block(d.span.end);
                self.indent -= 1;
                self.line("}");
            }
            DeclKind::Journey(j) => {
                self.line(&format!("journey {} {{", j.name.name));
                self.trailing_comment(j.name.span.end);
                self.indent += 1;
                let mut first = true;
                for h in &j.header {
                    self.begin_item(h.span, first);
                    first = false;
                    match &h.kind {
                        JourneyHeaderKind::EnterOn {
                            event,
                            filter,
                            then,
                            then_block,
                        } => {
                            let tail = if *then_block {
                                " then {".to_owned()
                            } else {
                                match then.first() {
                                    Some(a) => format!(" then {}", self.action_text(a)),
                                    None => String::new(),
                                }
                            };
                            match filter {
                                Some(f) => self.condition_line(
                                    &format!("enter on {} where ", event.name),
                                    f,
                                    &tail,
                                ),
                                None => self.line(&format!("enter on {}{tail}", event.name)),
                            }
                            if *then_block {
                                self.indent += 1;
                                self.actions(then, h.span.end);
                                self.indent -= 1;
                                self.line("}");
                            }
                        }
                        JourneyHeaderKind::ExitOn { event, filter } => match filter {
                            Some(f) => self.condition_line(
                                &format!("exit on {} where ", event.name),
                                f,
                                "",
                            ),
                            None => self.line(&format!("exit on {}", event.name)),
                        },
                        JourneyHeaderKind::EnterWhen(e) => {
                            self.condition_line("enter when ", e, "")
                        }
                        JourneyHeaderKind::ExitWhen(e) => self.condition_line("exit when ", e, ""),
                        JourneyHeaderKind::Goal(e) => self.condition_line("goal ", e, ""),
                        JourneyHeaderKind::ReenterAfter(dur) => {
                            self.line(&format!("reenter after {}", duration(dur)))
                        }
                        JourneyHeaderKind::ReenterNever => self.line("reenter never"),
                    }
                    self.trailing_comment(h.span.end);
                }
                for s in &j.steps {
                    self.begin_item(s.span, first);
                    first = false;
                    self.step(s);
                }
                self.end_block(d.span.end);
                self.indent -= 1;
                self.line("}");
            }
            DeclKind::Team(t) => {
                self.line(&format!("team {} {{", t.name.name));
                self.trailing_comment(t.name.span.end);
                self.indent += 1;
                for (i, item) in t.items.iter().enumerate() {
                    self.begin_item(item.span, i == 0);
                    let text = match &item.kind {
                        TeamItemKind::Members(m) => format!("members {}", texts(m)),
                        TeamItemKind::Manager(m) => format!("manager \"{}\"", m.raw),
                        TeamItemKind::Hours { days, range } => {
                            format!("hours {} {}", days.items.join(","), clock_range(range))
                        }
                        TeamItemKind::Timezone(tz) => format!("timezone \"{}\"", tz.raw),
                        TeamItemKind::Closed(dates) => {
                            let items: Vec<String> = dates
                                .iter()
                                .map(|(a, b)| match b {
                                    Some(b) => format!("{} to {}", date(a), date(b)),
                                    None => date(a),
                                })
                                .collect();
                            format!("closed {}", items.join(", "))
                        }
                        TeamItemKind::Open { date: dt, range } => match range {
                            Some(r) => format!("open {} {}", date(dt), clock_range(r)),
                            None => format!("open {}", date(dt)),
                        },
                        TeamItemKind::Holidays(country) => format!("holidays {}", country.name),
                    };
                    self.line(&text);
                    self.trailing_comment(item.span.end);
                }
                self.end_block(d.span.end);
                self.indent -= 1;
                self.line("}");
            }
            DeclKind::Handoff(h) => {
                self.line(&format!("handoff {} {{", h.name.name));
                self.trailing_comment(h.name.span.end);
                self.indent += 1;
                for (i, item) in h.items.iter().enumerate() {
                    self.begin_item(item.span, i == 0);
                    match &item.kind {
                        HandoffItemKind::When(e) => self.condition_line("when ", e, ""),
                        HandoffItemKind::Assign {
                            owner_first,
                            team,
                            strategy,
                        } => {
                            let s = match strategy {
                                AssignStrategy::RoundRobin => "round_robin",
                                AssignStrategy::LeastOpen => "least_open",
                            };
                            let owner = if *owner_first { "owner else " } else { "" };
                            self.line(&format!("assign {owner}team {} by {s}", team.name));
                        }
                        HandoffItemKind::Task(t) => self.line(&format!("task \"{}\"", t.raw)),
                        HandoffItemKind::Sla {
                            kind,
                            within,
                            action,
                        } => {
                            let k = match kind {
                                SlaKind::Accept => "accept",
                                SlaKind::Complete => "complete",
                            };
                            let a = match action {
                                SlaAction::Escalate => "escalate",
                                SlaAction::Reassign => "reassign",
                            };
                            self.line(&format!("{k} within {} else {a}", sla_duration(within)));
                        }
                        HandoffItemKind::Reasons(reasons) => {
                            let items: Vec<String> = reasons
                                .iter()
                                .map(|r| match &r.label {
                                    Some(l) => format!("{} \"{}\"", r.name.name, l.raw),
                                    None => r.name.name.clone(),
                                })
                                .collect();
                            self.wrapped_list("reasons ", &items);
                        }
                        HandoffItemKind::On { outcome, actions } => {
                            let head = format!("on {}", outcome.word());
                            self.action_block(&head, actions, item.span.end);
                        }
                    }
                    self.trailing_comment(item.span.end);
                }
                self.end_block(d.span.end);
                self.indent -= 1;
                self.line("}");
            }
            DeclKind::Schedule(s) => {
                let mut head = format!("schedule {} every \"{}\"", s.name.name, s.cron.raw);
                if let Some(tz) = &s.timezone {
                    head.push_str(&format!(" in \"{}\"", tz.raw));
                }
                head.push_str(" {");
                self.line(&head);
                self.trailing_comment(s.timezone.as_ref().unwrap_or(&s.cron).span.end);
                self.indent += 1;
                for (i, item) in s.items.iter().enumerate() {
                    self.begin_item(item.span, i == 0);
                    match &item.kind {
                        ScheduleItemKind::ForLeads { filter, actions } => {
                            self.condition_line("for leads where ", filter, " {");
                            self.trailing_comment(filter.span.end);
                            self.indent += 1;
                            self.actions(actions, item.span.end);
                            self.indent -= 1;
                            self.line("}");
                        }
                        ScheduleItemKind::Report(to) => {
                            self.line(&format!("report to {}", texts(to)))
                        }
                        ScheduleItemKind::Action(a) => {
                            let t = self.action_text(a);
                            self.line(&t);
                        }
                    }
                    self.trailing_comment(item.span.end);
                }
                self.end_block(d.span.end);
                self.indent -= 1;
                self.line("}");
            }
            DeclKind::Sending(s) => {
                self.line("sending {");
                self.trailing_comment(d.span.start + 7);
                self.indent += 1;
                for (i, item) in s.items.iter().enumerate() {
                    self.begin_item(item.span, i == 0);
                    let text = match &item.kind {
                        SendingItemKind::From(f) => format!("from \"{}\"", f.raw),
                        SendingItemKind::QuietHours { start, end } => {
                            format!("quiet hours {} to {}", clock(start), clock(end))
                        }
                        SendingItemKind::Cap { count, per, .. } => {
                            format!("at most {count} emails per {}", duration(per))
                        }
                    };
                    self.line(&text);
                    self.trailing_comment(item.span.end);
                }
                self.end_block(d.span.end);
                self.indent -= 1;
                self.line("}");
            }
            DeclKind::Test(t) => {
                self.line(&format!("test \"{}\" {{", t.name.raw));
                self.trailing_comment(t.name.span.end);
                self.indent += 1;
                for (i, s) in t.stmts.iter().enumerate() {
                    self.begin_item(s.span, i == 0);
                    self.test_stmt(s);
                    self.trailing_comment(s.span.end);
                }
                self.end_block(d.span.end);
                self.indent -= 1;
                self.line("}");
            }
        }
    }

    /// `head + items joined by ", "`, broken after commas when too long.
    fn wrapped_list(&mut self, head: &str, items: &[String]) {
        let one = format!("{head}{}", items.join(", "));
        if self.pad().len() + one.len() <= WIDTH {
            self.line(&one);
            return;
        }
        let mut current = head.to_owned();
        let mut first_line = true;
        for (i, item) in items.iter().enumerate() {
            let piece = if i + 1 < items.len() {
                format!("{item},")
            } else {
                item.clone()
            };
            let extra = if first_line { 0 } else { 2 };
            let candidate_len = self.pad().len() + extra + current.len() + 1 + piece.len();
            let at_start = current == head || current.is_empty();
            if !at_start && candidate_len > WIDTH {
                if first_line {
                    self.line(current.trim_end());
                    first_line = false;
                } else {
                    self.indent += 1;
                    self.line(current.trim_end());
                    self.indent -= 1;
                }
                current = String::new();
            }
            if !current.is_empty() && current != head {
                current.push(' ');
            }
            current.push_str(&piece);
        }
        if first_line {
            self.line(&current);
        } else {
            self.indent += 1;
            self.line(&current);
            self.indent -= 1;
        }
    }

    /// Prints `head EXPR tail`, breaking before top-level `and`/`or` when too long.
    fn condition_line(&mut self, head: &str, e: &Expr, tail: &str) {
        let flat = format!("{head}{}{tail}", expr(e));
        if self.pad().len() + flat.len() <= WIDTH {
            self.line(&flat);
            return;
        }
        let (op, parts) = chain(e);
        let Some(op) = op else {
            self.line(&flat);
            return;
        };
        let mut iter = parts.into_iter();
        let first = iter.next().map(expr).unwrap_or_default();
        let rest: Vec<String> = iter.map(expr).collect();
        if rest.is_empty() {
            self.line(&flat);
            return;
        }
        self.line(&format!("{head}{first}"));
        self.indent += 1;
        let last = rest.len() - 1;
        for (i, r) in rest.iter().enumerate() {
            let t = if i == last { tail } else { "" };
            self.line(&format!("{} {r}{t}", op.symbol()));
        }
        self.indent -= 1;
    }
}

fn is_block(k: &DeclKind) -> bool {
    matches!(
        k,
        DeclKind::Lead(_)
            | DeclKind::Score(_)
            | DeclKind::Rule(_)
            | DeclKind::Journey(_)
            | DeclKind::Team(_)
            | DeclKind::Handoff(_)
            | DeclKind::Schedule(_)
            | DeclKind::Sending(_)
            | DeclKind::Test(_)
    )
}

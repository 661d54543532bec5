//! `tandem explain`: why a lead stands where it does at an instant of a scenario — its scores line by line and event by event, tags, segments, each rule's, handoff's and journey's (enter when, exit when, goal) condition part by part, and where it waits.

use super::*;

use compiler::explain::{Part, PartKind, Read, Value};
use runtime::engine::{ConditionExplanation, EventPoints, Explanation, ScoreExplanation};
use runtime::timeline::format_instant;
use serde_json::{json, Value as Json};

/// How `tandem explain` prints.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ExplainFormat {
    /// lines for a reader
    Human,
    /// one JSON document
    Json,
}

pub(crate) fn explain(
    dir: &std::path::Path,
    scenario: &std::path::Path,
    lead: &str,
    at: Option<&str>,
    format: ExplainFormat,
    tz: Option<tandem::local_time::Zone>,
) -> ExitCode {
    let program = match prepare(dir) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // The human lines write instants in `--tz` (default: the program's zone); JSON keeps UTC.
    let zone = tandem::local_time::Zone::or_program(tz, &program.lowered().timezone);
    let text = match std::fs::read_to_string(scenario) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", scenario.display())),
    };
    let parsed = match runtime::scenario::parse_scenario(&text, program.workspace().symbols()) {
        Ok(s) => s,
        Err(e) => return fail(format!("{}: {e}", scenario.display())),
    };
    let until = match at.map(runtime::scenario::parse_instant) {
        None => parsed.until,
        Some(Ok(t)) => t,
        Some(Err(e)) => return fail(format!("--at: {e}")),
    };
    let mut world = match program.world(compiler::evaluator::EvaluatorKind::Interp) {
        Ok(w) => w,
        Err(e) => return fail(e.0),
    };
    // The engine keeps only each score's sum; the points of each event are kept for this lead.
    world.engine().trace_scores(lead);
    world.start(parsed.start);
    for input in parsed.inputs.iter().filter(|i| i.at <= until) {
        world.input(input);
    }
    world.advance_to(until);
    let Some(index) = world.engine().lead(lead) else {
        return fail(format!(
            "the scenario has no lead `{lead}` by {}",
            zone.instant(until)
        ));
    };
    let x = world.engine().explain(index);
    let source = Source {
        program: &program,
        dir,
    };
    let out = match format {
        ExplainFormat::Human => zone.localise(&human(&source, lead, until, &x)),
        ExplainFormat::Json => {
            let mut s = serde_json::to_string_pretty(&document(&source, lead, until, &x))
                .unwrap_or_default();
            s.push('\n');
            s
        }
    };
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// The program's source, for the text and place of a span.
struct Source<'a> {
    program: &'a runtime::embed::Program,
    dir: &'a std::path::Path,
}

impl Source<'_> {
    /// The text at a span, on one line.
    fn text(&self, span: compiler::Span) -> String {
        self.program
            .workspace()
            .file(span.file)
            .and_then(|f| f.text.get(span.range()))
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `path:line` of a span.
    fn place(&self, span: compiler::Span) -> String {
        match self.program.workspace().file(span.file) {
            Some(f) => {
                let (line, _) = render::line_col(&f.text, span.start as usize);
                format!("{}:{line}", self.dir.join(&f.path).display())
            }
            None => String::new(),
        }
    }

    /// Where a compiled function is written.
    fn func_span(&self, f: compiler::ir::FuncId) -> compiler::Span {
        let lowered = self.program.lowered();
        lowered
            .origins
            .iter()
            .find(|o| o.func == f)
            .map(|o| o.span)
            .or_else(|| lowered.exprs.funcs.get(f).map(|x| x.body.span))
            .unwrap_or_default()
    }

    /// The segment whose declaration holds a part's span (the innermost).
    fn segment(&self, span: compiler::Span) -> String {
        self.program
            .lowered()
            .origins
            .iter()
            .filter(|o| {
                o.span.file == span.file && o.span.start <= span.start && span.end <= o.span.end
            })
            .filter_map(|o| Some((o.what.strip_prefix("segment ")?, o.span.end - o.span.start)))
            .min_by_key(|(_, len)| *len)
            .map(|(name, _)| name.to_owned())
            .unwrap_or_default()
    }
}

fn num(v: f64) -> String {
    let mut b = ryu_js::Buffer::new();
    b.format(v).to_owned()
}

/// A number for JSON: `-0` (an empty sum) as `0`.
fn z(v: f64) -> f64 {
    v + 0.0
}

/// A number rounded to two decimals, for what decay leaves.
fn short(v: f64) -> String {
    num((v * 100.0).round() / 100.0)
}

fn signed(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", num(v))
    } else {
        num(v)
    }
}

/// The factor a decay of `pct` % applies per step.
fn keep(pct: u64) -> f64 {
    (100.0 - pct as f64) / 100.0
}

/// What `points` became after the decay steps, as a factor (0 once decayed to zero).
fn factor(s: &ScoreExplanation, p: &EventPoints) -> f64 {
    if p.decayed_to_zero {
        return 0.0;
    }
    match s.decay {
        Some((pct, _)) => keep(pct).powi(i32::try_from(p.decay_steps).unwrap_or(i32::MAX)),
        None => 1.0,
    }
}

/// The bounds of a score, as words (`min 0, max 100`).
fn bounds(s: &ScoreExplanation) -> Vec<String> {
    let mut b = Vec::new();
    if let Some(m) = s.min {
        b.push(format!("min {}", num(m)));
    }
    if let Some(m) = s.max {
        b.push(format!("max {}", num(m)));
    }
    b
}

/// The bound a value was clamped to, as words (`max 100`).
fn bound_name(s: &ScoreExplanation, v: f64) -> String {
    if s.max == Some(v) {
        format!("max {}", num(v))
    } else {
        format!("min {}", num(v))
    }
}

fn value_text(r: &Read) -> String {
    match &r.value {
        Value::Number(x) => num(*x),
        Value::Bool(b) => b.to_string(),
        Value::Time(t) => format_instant(*t),
        Value::Stage(s) => s.clone(),
        Value::Text(t) => format!("\"{t}\""),
        Value::Tags(t) => format!(
            "[{}]",
            t.iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn value_json(r: &Read) -> Json {
    match &r.value {
        Value::Number(x) => json!(z(*x)),
        Value::Bool(b) => json!(b),
        Value::Time(t) => json!(format_instant(*t)),
        Value::Stage(s) | Value::Text(s) => json!(s),
        Value::Tags(t) => json!(t),
    }
}

fn read_name(src: &Source<'_>, r: &Read) -> String {
    r.span.map_or_else(|| "tags".to_owned(), |s| src.text(s))
}

fn reads_text(src: &Source<'_>, reads: &[Read]) -> String {
    if reads.is_empty() {
        return String::new();
    }
    let items: Vec<String> = reads
        .iter()
        .map(|r| {
            let unset = if r.set { "" } else { ", not set" };
            format!("{} = {}{unset}", read_name(src, r), value_text(r))
        })
        .collect();
    format!("   ({})", items.join("; "))
}

fn part_lines(src: &Source<'_>, p: &Part, depth: usize, out: &mut String) {
    let mark = if p.holds { "✓" } else { "✗" };
    let what = match p.kind {
        PartKind::All => "all of:".to_owned(),
        PartKind::Any => "any of:".to_owned(),
        PartKind::Not => "not:".to_owned(),
        PartKind::Test => src.text(p.span),
    };
    let what = if p.segment {
        format!("segment {}: {what}", src.segment(p.span))
    } else {
        what
    };
    out.push_str(&format!(
        "  {}{mark} {what}{}\n",
        "    ".repeat(depth),
        reads_text(src, &p.reads)
    ));
    for q in &p.parts {
        part_lines(src, q, depth + 1, out);
    }
}

fn part_json(src: &Source<'_>, p: &Part) -> Json {
    let kind = match p.kind {
        PartKind::All => "all",
        PartKind::Any => "any",
        PartKind::Not => "not",
        PartKind::Test => "test",
    };
    let reads: Vec<Json> = p
        .reads
        .iter()
        .map(|r| json!({"expr": read_name(src, r), "value": value_json(r), "set": r.set}))
        .collect();
    json!({
        "kind": kind,
        "text": src.text(p.span),
        "holds": p.holds,
        "segment": p.segment.then(|| src.segment(p.span)),
        "reads": reads,
        "parts": p.parts.iter().map(|q| part_json(src, q)).collect::<Vec<_>>(),
    })
}

fn event_line(src: &Source<'_>, s: &ScoreExplanation, p: &EventPoints) -> String {
    let filter = p
        .filter
        .map(|f| format!(" where {}", src.text(src.func_span(f))))
        .unwrap_or_default();
    let mut line = format!(
        "  event {:>6}  on {}{filter} at {}",
        signed(p.points),
        p.event,
        format_instant(p.at)
    );
    if s.decay.is_some() {
        let left = if p.decayed_to_zero {
            "0 left (the event part decayed under 0.5, to 0)".to_owned()
        } else if p.decay_steps == 0 {
            format!("{} left (no decay step yet)", short(p.left))
        } else {
            format!(
                "{} left after {} decay step{} (× {})",
                short(p.left),
                p.decay_steps,
                if p.decay_steps == 1 { "" } else { "s" },
                num((factor(s, p) * 10_000.0).round() / 10_000.0)
            )
        };
        line.push_str(&format!(": {left}"));
    }
    if let Some(b) = p.clamped_to {
        line.push_str(&format!(
            "; the event part was held at {}",
            bound_name(s, b)
        ));
    }
    line.push('\n');
    line
}

/// The sum of what is left of the event points, when the clamps made the event part
/// something else.
fn clamped_sum(s: &ScoreExplanation) -> Option<f64> {
    let sum: f64 = s.event_points.iter().map(|p| p.left).sum();
    let clamped = s.event_points.iter().any(|p| p.clamped_to.is_some());
    (clamped && (sum - s.event_part).abs() > 1e-9).then_some(sum)
}

fn human(src: &Source<'_>, lead: &str, until: i64, x: &Explanation) -> String {
    let lowered = src.program.lowered();
    let mut out = format!("lead {lead} at {}\n", format_instant(until));
    out.push_str(&format!(
        "stage: {} (last changed by {})\n",
        x.stage, x.stage_cause
    ));
    out.push_str(&format!(
        "tags: {}\n",
        if x.tags.is_empty() {
            "none".to_owned()
        } else {
            x.tags.join(", ")
        }
    ));
    if x.segments.is_empty() {
        out.push_str("segments: none declared\n");
    } else {
        out.push_str("segments:\n");
        for (name, holds) in &x.segments {
            let mark = if *holds { "✓ in    " } else { "✗ not in" };
            out.push_str(&format!("  {mark} {name}\n"));
        }
    }
    for s in &x.scores {
        let mut b = bounds(s);
        if let Some((pct, secs)) = s.decay {
            b.push(format!(
                "event part decays {pct}% every {} days",
                num(secs as f64 / 86_400.0)
            ));
        }
        out.push_str(&format!(
            "score {} = {}: attribute part {} + event part {}{}\n",
            s.name,
            num(s.value),
            num(s.attribute_part),
            num(s.event_part),
            if b.is_empty() {
                String::new()
            } else {
                format!(" ({})", b.join(", "))
            }
        ));
        for (points, f, holds) in &s.if_lines {
            let span = lowered
                .origins
                .iter()
                .find(|o| o.func == *f)
                .map(|o| o.span)
                .unwrap_or_default();
            let mark = if *holds { "counts" } else { "no    " };
            out.push_str(&format!(
                "  {mark} {:>5}  if {}  ({})\n",
                signed(*points),
                src.text(span),
                src.place(span)
            ));
        }
        for p in &s.event_points {
            out.push_str(&event_line(src, s, p));
        }
        if let Some(sum) = clamped_sum(s) {
            out.push_str(&format!(
                "  the event part is {}, not the {} left above: it was held within {} when points were added\n",
                short(s.event_part),
                short(sum),
                bounds(s).join(", ")
            ));
        }
        let total = s.attribute_part + s.event_part;
        let clamp = if total != s.value {
            format!(", clamped to {}", bound_name(s, s.value))
        } else if bounds(s).is_empty() {
            String::new()
        } else {
            format!(" (within {})", bounds(s).join(", "))
        };
        out.push_str(&format!(
            "  total: {} + {} = {}{clamp}\n",
            short(s.attribute_part),
            short(s.event_part),
            short(total)
        ));
    }
    let conditions = |what: &str, list: &[ConditionExplanation], out: &mut String| {
        for c in list {
            out.push_str(&format!(
                "{what} {} is {} now  ({})\n",
                c.name,
                c.why.holds,
                src.place(c.span)
            ));
            part_lines(src, &c.why, 0, out);
        }
    };
    conditions("rule", &x.rules, &mut out);
    conditions("handoff", &x.handoffs, &mut out);
    conditions("journey", &x.journey_conditions, &mut out);
    if x.journeys.is_empty() {
        out.push_str("journeys: none\n");
    }
    for (name, span, waiting) in &x.journeys {
        out.push_str(&format!(
            "journey {name}: {waiting} at {}\n",
            src.place(*span)
        ));
    }
    out
}

fn document(src: &Source<'_>, lead: &str, until: i64, x: &Explanation) -> Json {
    let scores: Vec<Json> = x
        .scores
        .iter()
        .map(|s| {
            let if_lines: Vec<Json> = s
                .if_lines
                .iter()
                .map(|(points, f, holds)| {
                    let span = src.func_span(*f);
                    json!({"points": z(*points), "if": src.text(span), "holds": holds, "place": src.place(span)})
                })
                .collect();
            let event_points: Vec<Json> = s
                .event_points
                .iter()
                .map(|p| {
                    json!({
                        "event": p.event,
                        "where": p.filter.map(|f| src.text(src.func_span(f))),
                        "at": format_instant(p.at),
                        "points": z(p.points),
                        "decay_steps": p.decay_steps,
                        "decay_factor": z(factor(s, p)),
                        "decayed_to_zero": p.decayed_to_zero,
                        "left": z(p.left),
                        "clamped_to": p.clamped_to,
                    })
                })
                .collect();
            json!({
                "name": s.name,
                "value": z(s.value),
                "attribute_part": z(s.attribute_part),
                "event_part": z(s.event_part),
                "min": s.min,
                "max": s.max,
                "decay": s.decay.map(|(pct, secs)| json!({"percent": pct, "every_seconds": secs})),
                "if_lines": if_lines,
                "event_points": event_points,
                "unclamped": z(s.attribute_part + s.event_part),
                "clamped": s.attribute_part + s.event_part != s.value,
            })
        })
        .collect();
    let conditions = |list: &[ConditionExplanation]| -> Vec<Json> {
        list.iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "when": src.text(c.span),
                    "place": src.place(c.span),
                    "holds": c.why.holds,
                    "why": part_json(src, &c.why),
                })
            })
            .collect()
    };
    let segments: Vec<Json> = x
        .segments
        .iter()
        .map(|(name, holds)| json!({"name": name, "holds": holds}))
        .collect();
    let journeys: Vec<Json> = x
        .journeys
        .iter()
        .map(|(name, span, waiting)| {
            json!({"journey": name, "step": src.text(*span), "place": src.place(*span), "state": waiting})
        })
        .collect();
    json!({
        "lead": lead,
        "at": format_instant(until),
        "stage": x.stage,
        "stage_cause": x.stage_cause,
        "tags": x.tags,
        "segments": segments,
        "scores": scores,
        "rules": conditions(&x.rules),
        "handoffs": conditions(&x.handoffs),
        "journey_conditions": conditions(&x.journey_conditions),
        "journeys": journeys,
    })
}

//! Journey diagrams: a lowered journey's step graph as boxes and labelled arrows, written as Graphviz DOT, Mermaid or SVG (laid out by layout-rs), optionally with live counts (leads waiting at each step, share of leads taking each branch). Used by `tandem graph` and the dashboard.

use std::fmt::Write as _;

use rustc_hash::FxHashMap;

use crate::graph::{ActionIr, NodeKind};
use crate::program::LoweredProgram;
use crate::workspace::Workspace;

/// One box of a diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct Box {
    /// The step as written (its first source line), or `end`.
    pub label: String,
    /// A waiting step (`wait …`), a decision (`if`, `split`, `wait for … timeout`) or an action.
    pub shape: Shape,
}

/// How a box is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Action,
    Wait,
    Decision,
    End,
}

/// One arrow: from a box to a box, with a label (`else`, `timeout`, `50%`, a condition).
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub from: usize,
    pub to: usize,
    pub label: String,
    /// A split arm's configured weight in per cent (drawn apart from the share observed).
    pub weight: Option<u64>,
}

/// A journey as boxes (indexed like the graph's nodes) and arrows.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    pub journey: String,
    pub boxes: Vec<Box>,
    pub arrows: Vec<Arrow>,
}

/// Live figures drawn on a diagram.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Leads at each step now (indexed like the boxes).
    pub waiting: Vec<u64>,
    /// How many times each step ran (indexed like the boxes); a branch arrow's share is
    /// its target's runs over the decision's runs.
    pub visits: FxHashMap<usize, u64>,
    /// The word after a waiting count (`waiting` when empty; `đang chờ` in Vietnamese).
    pub waiting_word: String,
    /// The words before a split arm's configured weight and its observed share
    /// (`weight` and `observed` when empty).
    pub weight_words: (String, String),
}

/// The first line of a span's source, without a trailing `{`, at most 60 characters.
fn source_line(ws: &Workspace, span: grammar::Span) -> String {
    let text = ws
        .file(span.file)
        .and_then(|f| f.text.get(span.range()))
        .unwrap_or_default();
    let line = text.lines().next().unwrap_or_default().trim();
    let line = line.strip_suffix('{').unwrap_or(line).trim_end();
    if line.chars().count() > 60 {
        let cut: String = line.chars().take(59).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

/// The diagram of the `j`-th journey of a lowered program.
pub fn journey(program: &LoweredProgram, ws: &Workspace, j: usize) -> Option<Diagram> {
    let journey = program.journeys.get(j)?;
    let condition = |f: crate::ir::FuncId| {
        program
            .exprs
            .funcs
            .get(f)
            .map(|func| source_line(ws, func.body.span))
            .unwrap_or_default()
    };
    let mut boxes = Vec::with_capacity(journey.graph.nodes.len());
    let mut arrows = Vec::new();
    for (i, node) in journey.graph.nodes.iter().enumerate() {
        let mut weighted = |to: usize, label: String, weight: Option<u64>| {
            arrows.push(Arrow {
                from: i,
                to,
                label,
                weight,
            })
        };
        let mut arrow = |to: usize, label: String| weighted(to, label, None);
        let shape = match &node.kind {
            NodeKind::Action(ActionIr::Exit) => Shape::End,
            NodeKind::Action(_) => {
                arrow(node.next, String::new());
                Shape::Action
            }
            NodeKind::Wait { .. } | NodeKind::WaitClock { .. } | NodeKind::WaitDate { .. } => {
                arrow(node.next, String::new());
                Shape::Wait
            }
            NodeKind::WaitFor { event, timeout, .. } => {
                arrow(node.next, event.clone());
                arrow(*timeout, "timeout".into());
                Shape::Decision
            }
            NodeKind::WaitUntil { timeout, .. } => {
                arrow(node.next, "holds".into());
                arrow(*timeout, "timeout".into());
                Shape::Decision
            }
            NodeKind::Branch { arms } => {
                for (f, to) in arms {
                    arrow(*to, condition(*f));
                }
                arrow(node.next, "else".into());
                Shape::Decision
            }
            NodeKind::Split { arms, .. } => {
                for (percent, to) in arms {
                    weighted(*to, format!("{percent}%"), Some(*percent));
                }
                Shape::Decision
            }
            NodeKind::End => Shape::End,
        };
        let label = match (&node.kind, shape) {
            (NodeKind::End, _) => "end".to_owned(),
            _ if i == 0 => "start".to_owned(),
            (NodeKind::Branch { arms }, _) => {
                let first = arms.first().map(|(f, _)| condition(*f)).unwrap_or_default();
                format!("if {first}")
            }
            (NodeKind::Split { .. }, _) => "split".to_owned(),
            _ => source_line(ws, node.span),
        };
        boxes.push(Box { label, shape });
    }
    Some(Diagram {
        journey: journey.name.clone(),
        boxes,
        arrows,
    })
}

/// The label of a box with its live count.
fn box_label(d: &Diagram, i: usize, counts: Option<&Counts>) -> String {
    let label = d.boxes[i].label.clone();
    match counts.and_then(|c| c.waiting.get(i).map(|n| (n, c.waiting_word.as_str()))) {
        Some((n, word)) if *n > 0 => {
            let word = if word.is_empty() { "waiting" } else { word };
            format!("{label}\n{n} {word}")
        }
        _ => label,
    }
}

/// The label of an arrow with its share of the decision's runs.
fn arrow_label(d: &Diagram, a: &Arrow, counts: Option<&Counts>) -> String {
    let decision = d.boxes[a.from].shape == Shape::Decision;
    let share = counts.filter(|_| decision).and_then(|c| {
        let total = *c.visits.get(&a.from)?;
        let took = c.visits.get(&a.to).copied().unwrap_or(0);
        (total > 0).then(|| (took as f64 * 100.0 / total as f64).round())
    });
    if let (Some(w), Some(c)) = (a.weight, counts) {
        let or = |s: &str, default: &str| {
            if s.is_empty() {
                default.to_owned()
            } else {
                s.to_owned()
            }
        };
        let (weight, seen) = (
            or(&c.weight_words.0, "weight"),
            or(&c.weight_words.1, "observed"),
        );
        return match share {
            Some(p) => format!("{weight} {w}% · {seen} {p}%"),
            None => format!("{weight} {w}% · {seen} –"),
        };
    }
    match share {
        Some(p) if a.label.is_empty() => format!("{p}%"),
        Some(p) => format!("{} ({p}%)", a.label),
        None => a.label.clone(),
    }
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Graphviz DOT.
pub fn to_dot(d: &Diagram, counts: Option<&Counts>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(&d.journey));
    let _ = writeln!(out, "  rankdir=TB;");
    let _ = writeln!(out, "  node [fontname=\"sans-serif\", fontsize=11];");
    for i in 0..d.boxes.len() {
        let shape = match d.boxes[i].shape {
            Shape::Action => "box",
            Shape::Wait => "ellipse",
            Shape::Decision => "diamond",
            Shape::End => "doublecircle",
        };
        let _ = writeln!(
            out,
            "  n{i} [shape={shape}, label=\"{}\"];",
            dot_escape(&box_label(d, i, counts))
        );
    }
    for a in &d.arrows {
        let label = arrow_label(d, a, counts);
        if label.is_empty() {
            let _ = writeln!(out, "  n{} -> n{};", a.from, a.to);
        } else {
            let _ = writeln!(
                out,
                "  n{} -> n{} [label=\"{}\"];",
                a.from,
                a.to,
                dot_escape(&label)
            );
        }
    }
    out.push_str("}\n");
    out
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;").replace('\n', "<br/>")
}

/// Mermaid (`flowchart TD`), for Markdown in pull requests.
pub fn to_mermaid(d: &Diagram, counts: Option<&Counts>) -> String {
    let mut out = String::from("flowchart TD\n");
    for i in 0..d.boxes.len() {
        let label = mermaid_escape(&box_label(d, i, counts));
        let _ = match d.boxes[i].shape {
            Shape::Action => writeln!(out, "  n{i}[\"{label}\"]"),
            Shape::Wait => writeln!(out, "  n{i}([\"{label}\"])"),
            Shape::Decision => writeln!(out, "  n{i}{{\"{label}\"}}"),
            Shape::End => writeln!(out, "  n{i}((\"{label}\"))"),
        };
    }
    for a in &d.arrows {
        let label = arrow_label(d, a, counts);
        if label.is_empty() {
            let _ = writeln!(out, "  n{} --> n{}", a.from, a.to);
        } else {
            let _ = writeln!(
                out,
                "  n{} -->|\"{}\"| n{}",
                a.from,
                mermaid_escape(&label),
                a.to
            );
        }
    }
    out
}

/// SVG, laid out by layout-rs from the DOT text. `Err` names what the layout refused.
pub fn to_svg(d: &Diagram, counts: Option<&Counts>) -> Result<String, String> {
    let dot = to_dot(d, counts);
    let mut parser = layout::gv::DotParser::new(&dot);
    let graph = parser.process().map_err(|e| format!("layout: {e}"))?;
    let mut builder = layout::gv::GraphBuilder::new();
    builder.visit_graph(&graph);
    let mut visual = builder.get();
    let mut svg = layout::backends::svg::SVGWriter::new();
    visual.do_it(false, false, false, &mut svg);
    Ok(svg.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProgramSource;

    const PROGRAM: &str = "timezone \"Asia/Ho_Chi_Minh\"\nlead { n: number }\nevent signup { plan: text }\n\njourney welcome {\n  enter on signup\n  send hello\n  wait 2 days\n  if n > 5 {\n    send big\n  } else {\n    send small\n  }\n  split {\n    30% { tag \"a\" }\n    70% { tag \"b\" }\n  }\n}\n";

    fn diagram() -> Diagram {
        let mut source = ProgramSource::single("main.journey", PROGRAM);
        for t in ["hello", "big", "small"] {
            source.templates.push(crate::SourceText {
                path: format!("templates/{t}.md"),
                text: "+++\nsubject = \"x\"\n+++\nbody {{ unsubscribe_url }}\n".into(),
            });
        }
        let mut ws = crate::Workspace::new(source);
        ws.check();
        assert!(!ws.has_errors(), "{:?}", ws.diagnostics());
        let lowered = crate::program::lower_program(&ws).expect("lowers");
        journey(&lowered, &ws, 0).expect("a journey")
    }

    #[test]
    fn boxes_are_the_steps_as_written_and_arrows_carry_their_conditions() {
        let d = diagram();
        let labels: Vec<&str> = d.boxes.iter().map(|b| b.label.as_str()).collect();
        assert!(labels.contains(&"send hello"), "{labels:?}");
        assert!(labels.contains(&"wait 2 days"), "{labels:?}");
        assert!(labels.contains(&"if n > 5"), "{labels:?}");
        let arrow_labels: Vec<&str> = d.arrows.iter().map(|a| a.label.as_str()).collect();
        for want in ["n > 5", "else", "30%", "70%"] {
            assert!(arrow_labels.contains(&want), "{want} in {arrow_labels:?}");
        }
    }

    #[test]
    fn counts_show_waiting_leads_and_branch_shares() {
        let d = diagram();
        let wait = d
            .boxes
            .iter()
            .position(|b| b.label == "wait 2 days")
            .expect("wait");
        let branch = d
            .boxes
            .iter()
            .position(|b| b.label.starts_with("if "))
            .expect("if");
        let big = d
            .arrows
            .iter()
            .find(|a| a.label == "n > 5")
            .expect("arm")
            .to;
        let mut counts = Counts {
            waiting: vec![0; d.boxes.len()],
            ..Counts::default()
        };
        counts.waiting[wait] = 12;
        counts.visits.insert(branch, 4);
        counts.visits.insert(big, 1);
        let dot = to_dot(&d, Some(&counts));
        assert!(dot.contains("wait 2 days\\n12 waiting"), "{dot}");
        assert!(dot.contains("n > 5 (25%)"), "{dot}");
        let mermaid = to_mermaid(&d, Some(&counts));
        assert!(mermaid.starts_with("flowchart TD\n"));
        assert!(mermaid.contains("wait 2 days<br/>12 waiting"), "{mermaid}");
        let svg = to_svg(&d, Some(&counts)).expect("svg");
        assert!(svg.contains("<svg") && svg.contains("12 waiting"), "{svg}");

        // A split arm: its configured weight and the share observed, apart.
        let split = d
            .boxes
            .iter()
            .position(|b| b.label == "split")
            .expect("split");
        let thirty = d
            .arrows
            .iter()
            .find(|a| a.weight == Some(30))
            .expect("30% arm")
            .to;
        assert!(to_dot(&d, Some(&counts)).contains("weight 30% · observed –"));
        counts.visits.insert(split, 10);
        counts.visits.insert(thirty, 5);
        counts.weight_words = ("cấu hình".into(), "thực tế".into());
        let dot = to_dot(&d, Some(&counts));
        assert!(dot.contains("cấu hình 30% · thực tế 50%"), "{dot}");
        assert!(dot.contains("cấu hình 70% · thực tế 0%"), "{dot}");
        // Without live counts (tandem graph) a split arm is its weight alone.
        assert!(to_dot(&d, None).contains("\"30%\""), "{}", to_dot(&d, None));
    }
}

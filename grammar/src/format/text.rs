//! The formatter's leaves: names, texts, clocks, dates, durations, literals and expressions printed on one line.

use crate::ast::*;

pub(super) fn names(ids: &[Ident]) -> String {
    ids.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn texts(ts: &[TextLit]) -> String {
    ts.iter()
        .map(|t| format!("\"{}\"", t.raw))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn clock(c: &Clock) -> String {
    format!("{}:{:02}", c.hour, c.minute)
}

pub(super) fn clock_range(r: &ClockRange) -> String {
    format!("{}-{}", clock(&r.start), clock(&r.end))
}

pub(super) fn date(d: &Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

pub(super) fn duration(d: &DurationLit) -> String {
    d.parts
        .iter()
        .map(|(amount, raw, unit)| format!("{raw} {}", unit.word(*amount != 1.0)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn sla_duration(d: &SlaDuration) -> String {
    match d {
        SlaDuration::Plain(p) => duration(p),
        SlaDuration::BusinessHours { amount, raw, .. } => {
            format!(
                "{raw} business {}",
                if *amount == 1.0 { "hour" } else { "hours" }
            )
        }
        SlaDuration::BusinessDays { amount, raw, .. } => {
            format!(
                "{raw} business {}",
                if *amount == 1.0 { "day" } else { "days" }
            )
        }
    }
}

pub(super) fn literal(l: &Literal) -> String {
    match &l.kind {
        LiteralKind::Number { raw, .. } => raw.clone(),
        LiteralKind::Text(t) => format!("\"{}\"", t.raw),
        LiteralKind::Bool(b) => b.to_string(),
        LiteralKind::List(items) => {
            format!(
                "[{}]",
                items.iter().map(literal).collect::<Vec<_>>().join(", ")
            )
        }
        LiteralKind::Name(n) => n.name.clone(),
    }
}

/// The operands of a top-level `and`/`or` chain (left-folded), or the expression alone.
pub(super) fn chain(e: &Expr) -> (Option<BinaryOp>, Vec<&Expr>) {
    let op = match &e.kind {
        ExprKind::Binary {
            op: op @ (BinaryOp::And | BinaryOp::Or),
            ..
        } => *op,
        _ => return (None, vec![e]),
    };
    let mut parts = Vec::new();
    let mut cur = e;
    loop {
        match &cur.kind {
            ExprKind::Binary { op: o, lhs, rhs } if *o == op => {
                parts.push(&**rhs);
                cur = lhs;
            }
            _ => {
                parts.push(cur);
                break;
            }
        }
    }
    parts.reverse();
    (Some(op), parts)
}

/// An expression on one line, parentheses as written.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number { raw, .. } => raw.clone(),
        ExprKind::Text(t) => format!("\"{}\"", t.raw),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Duration(d) => duration(d),
        ExprKind::List(items) => format!(
            "[{}]",
            items.iter().map(expr).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Name(n) => n.name.clone(),
        ExprKind::Member { head, member } => format!("{}.{}", head.name, member.name),
        ExprKind::Call { func, args } => {
            format!(
                "{}({})",
                func.name,
                args.iter().map(expr).collect::<Vec<_>>().join(", ")
            )
        }
        ExprKind::Count {
            event,
            filter,
            within,
        } => match filter {
            Some(f) => format!(
                "count({} where {} within {})",
                event.name,
                expr(f),
                duration(within)
            ),
            None => format!("count({} within {})", event.name, duration(within)),
        },
        ExprKind::Neg(inner) => format!("-{}", expr(inner)),
        ExprKind::Not(inner) => format!("not {}", expr(inner)),
        ExprKind::Binary { op, lhs, rhs } => format!("{} {} {}", expr(lhs), op.symbol(), expr(rhs)),
        ExprKind::Compare { op, lhs, rhs } => {
            format!("{} {} {}", expr(lhs), op.symbol(), expr(rhs))
        }
        ExprKind::In {
            negated,
            item,
            list,
        } => {
            let op = if *negated { "not in" } else { "in" };
            format!("{} {op} {}", expr(item), expr(list))
        }
        ExprKind::TextCompare { op, lhs, rhs } => {
            format!("{} {} {}", expr(lhs), op.words(), expr(rhs))
        }
        ExprKind::Matches { subject, regex } => {
            format!("{} matches \"{}\"", expr(subject), regex.raw)
        }
        ExprKind::Between { subject, low, high } => {
            format!("{} between {} and {}", expr(subject), expr(low), expr(high))
        }
        ExprKind::IsSet { subject, missing } => {
            format!(
                "{} is {}",
                expr(subject),
                if *missing { "missing" } else { "set" }
            )
        }
        ExprKind::Paren(inner) => format!("({})", expr(inner)),
        ExprKind::Error => String::new(),
    }
}

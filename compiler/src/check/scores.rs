//! Scores: their rules, decay and the event filters they count.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn score(&mut self, score: &ScoreDecl) {
        let mut min: Option<(f64, Span)> = None;
        let mut max: Option<(f64, Span)> = None;
        let mut decay = false;
        for item in &score.items {
            match &item.kind {
                ScoreItemKind::If { cond, .. } => self.condition(cond, NO_EVENT),
                ScoreItemKind::On { event, filter, .. } => {
                    self.event_filter(event, filter.as_ref())
                }
                ScoreItemKind::Min(p) => {
                    if min.replace((p.value, item.span)).is_some() {
                        self.err(codes::CLAUSE, item.span, "a score has at most one `min`");
                    }
                }
                ScoreItemKind::Max(p) => {
                    if max.replace((p.value, item.span)).is_some() {
                        self.err(codes::CLAUSE, item.span, "a score has at most one `max`");
                    }
                }
                ScoreItemKind::Decay { .. } => {
                    if decay {
                        self.err(codes::CLAUSE, item.span, "a score has at most one `decay`");
                    }
                    decay = true;
                }
            }
        }
        if let (Some((lo, lo_span)), Some((hi, hi_span))) = (min, max) {
            if lo > hi {
                self.diags.push(
                    Diagnostic::error(
                        codes::CLAUSE,
                        lo_span,
                        format!("the score's `min` ({lo}) is above its `max` ({hi})"),
                    )
                    .with_related(hi_span, "the `max`"),
                );
            }
        }
    }

    /// `on EVENT where F` / `enter on EVENT where F`: the event must exist; F sees its properties.
    pub(super) fn event_filter(&mut self, event: &Ident, filter: Option<&Expr>) {
        if self.event_exists(event) {
            if let Some(f) = filter {
                let scope = Scope {
                    event: Some(&event.name),
                    in_journey: false,
                };
                self.condition(f, scope);
            }
        }
    }
}

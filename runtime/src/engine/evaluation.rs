//! Evaluation: compiled conditions (JIT or interpreter) run against one lead, with the event being handled and the lead history they read.

use super::*;

/// The evaluation room's state: the evaluator of conditions and what it keeps between evaluations.
pub(super) struct Evaluation<'p> {
    pub(super) eval: Box<dyn Evaluator + 'p>,
    pub(super) memo: std::cell::RefCell<compiler::eval::TextMemo>,
    /// Scratch space of evaluations, kept between them (see `EvalCtx::with_scratch`).
    pub(super) scratch: Vec<std::rc::Rc<str>>,
    /// Buffers of `settle` and `eval_many`, kept between calls.
    pub(super) funcs_buffer: Vec<FuncId>,
    pub(super) words_buffer: Vec<u64>,
}

impl<'p> Engine<'p> {
    pub(super) fn eval(&mut self, lead: usize, f: FuncId, event: Option<&EventRecord>) -> u64 {
        let mut words = [0u64; 1];
        self.eval_many(lead, &[f], event, &mut words);
        words[0]
    }

    /// Evaluates `funcs` against one snapshot of the lead (one context for all of them),
    /// writing each result to `out` at the same position.
    pub(super) fn eval_many(
        &mut self,
        lead: usize,
        funcs: &[FuncId],
        event: Option<&EventRecord>,
        out: &mut [u64],
    ) {
        let mut buffer = std::mem::take(&mut self.evaluation.scratch);
        let l = &self.leads[lead];
        let filter = |g: FuncId, c: &mut EvalCtx<'_>| self.evaluation.eval.call(g, c) != 0;
        match EvalCtx::new(
            &self.exprs,
            &l.record,
            event,
            &l.score_value,
            self.clock.now,
            &l.history,
            &filter,
        ) {
            Ok(mut ctx) => {
                ctx.memo = Some(&self.evaluation.memo);
                buffer.clear();
                ctx.scratch = buffer;
                // One batch: the JIT checks the layout once for all of them (texts made
                // on the way live until the batch ends).
                self.evaluation.eval.call_many(funcs, &mut ctx, out);
                buffer = ctx.into_scratch();
            }
            Err(_) => out.iter_mut().for_each(|o| *o = 0),
        }
        self.evaluation.scratch = buffer;
    }

    pub(super) fn holds(&mut self, lead: usize, f: FuncId, event: Option<&EventRecord>) -> bool {
        self.eval(lead, f, event) != 0
    }

    pub(super) fn slot(&self, field: &str) -> Option<usize> {
        self.exprs.layout.slot(field)
    }

    pub(super) fn word_of(&mut self, v: &InputValue) -> u64 {
        match v {
            InputValue::Text(s) => u64::from(self.exprs.interner.intern(s)),
            InputValue::Number(x) => x.to_bits(),
            InputValue::Bool(b) => u64::from(*b),
            InputValue::Time(t) => *t as u64,
            InputValue::Stage(s) => self.exprs.stages.code(s).unwrap_or(0),
            InputValue::Tags(_) => 0,
        }
    }

    pub(super) fn field_value(&self, lead: usize, slot: usize) -> FieldValue {
        let w = self.leads[lead].record.words[slot];
        match self.exprs.layout.slots[slot].1 {
            SlotKind::Number => FieldValue::Number(f64::from_bits(w)),
            SlotKind::Bool => FieldValue::Bool(w != 0),
            SlotKind::Time => FieldValue::Time(w as i64),
            SlotKind::Stage => FieldValue::Stage(self.exprs.stages.name(w).to_owned()),
            SlotKind::Text => FieldValue::Text(self.exprs.interner.get(w as u32).to_owned()),
            SlotKind::Tags => {
                let mut tags: Vec<String> = self.leads[lead]
                    .record
                    .tags
                    .iter()
                    .map(|t| self.exprs.interner.get(*t).to_owned())
                    .collect();
                tags.sort();
                FieldValue::Tags(tags)
            }
        }
    }

    pub(super) fn text_field(&self, lead: usize, field: &str) -> String {
        match self.slot(field) {
            Some(s) => self
                .exprs
                .interner
                .get(self.leads[lead].record.words[s] as u32)
                .to_owned(),
            None => String::new(),
        }
    }

    pub(super) fn lead_tz(&self, lead: usize) -> jiff::tz::TimeZone {
        let name = self.text_field(lead, "timezone");
        if name.is_empty() {
            return self.tz.clone();
        }
        jiff::tz::TimeZone::get(&name).unwrap_or_else(|_| self.tz.clone())
    }
}

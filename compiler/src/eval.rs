//! What an evaluation reads (the lead record, the event in scope, scores, the clock, the lead's history) and the helpers both engines call for text, regex and history.
//!
//! Every helper is total: an unknown symbol reads as `""`, a bad index as
//! zero or false. The JIT calls the `extern "C"` helpers by address; the
//! interpreter calls the same Rust functions, so both engines agree bit for bit.

use stdlib::{BuiltinId, Implementation, Reads};

use crate::ir::{CompiledExprs, FuncId, TextHandle, OUTSIDE_STAGE_BASE, SCRATCH_BIT};

/// A lead's fields as words, in [`Layout`](crate::ir::Layout) order, with their "is set" bits and tags.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LeadRecord {
    /// The fields' words, in layout order, then their "is set" bits (one allocation a
    /// lead instead of two: see [`LeadRecord::set_bits`]).
    pub words: Box<[u64]>,
    pub tags: TagSet,
}

/// How many words of "is set" bits follow `n` fields' words: one bit per field, at least
/// one word. From the total length `L = n + k` alone: `k = max(1, ceil(L / 65))`.
fn set_words_in(len: usize) -> usize {
    len.div_ceil(65).max(1)
}

/// A lead's tags (interned symbols): few per lead, so a thin vector (one word, nothing
/// allocated while empty) searched in order rather than a hash set.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TagSet(thin_vec::ThinVec<u32>);

impl TagSet {
    pub fn contains(&self, tag: &u32) -> bool {
        self.0.contains(tag)
    }

    /// Adds a tag; false if it was there already.
    pub fn insert(&mut self, tag: u32) -> bool {
        if self.0.contains(&tag) {
            return false;
        }
        self.0.push(tag);
        true
    }

    /// Removes a tag; false if it was not there.
    pub fn remove(&mut self, tag: &u32) -> bool {
        let before = self.0.len();
        self.0.retain(|t| t != tag);
        self.0.len() != before
    }

    pub fn iter(&self) -> impl Iterator<Item = &u32> {
        self.0.iter()
    }
}

impl FromIterator<u32> for TagSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> TagSet {
        let mut set = TagSet::default();
        for tag in iter {
            set.insert(tag);
        }
        set
    }
}

impl LeadRecord {
    /// A record of zero values for this program's layout.
    pub fn new(exprs: &CompiledExprs) -> LeadRecord {
        LeadRecord {
            words: vec![0; exprs.layout.slots.len() + exprs.layout.set_words().max(1)]
                .into_boxed_slice(),
            tags: TagSet::default(),
        }
    }

    /// How many fields the record holds.
    pub fn fields(&self) -> usize {
        self.words.len() - set_words_in(self.words.len())
    }

    /// The "is set" bits, field `i` at bit `i % 64` of word `i / 64`.
    pub fn set_bits(&self) -> &[u64] {
        &self.words[self.fields()..]
    }

    pub fn set_word(&mut self, slot: usize, word: u64) {
        let fields = self.fields();
        if slot < fields {
            self.words[slot] = word;
            if let Some(bits) = self.words.get_mut(fields + slot / 64) {
                *bits |= 1 << (slot % 64);
            }
        }
    }

    pub fn is_set(&self, slot: usize) -> bool {
        slot < self.fields()
            && self
                .set_bits()
                .get(slot / 64)
                .is_some_and(|b| b & (1 << (slot % 64)) != 0)
    }
}

/// One event: its id, its instant, its properties as words and their "is set" bits.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventRecord {
    pub event: u32,
    pub at: i64,
    pub words: Vec<u64>,
    pub set_bits: u64,
}

impl EventRecord {
    /// An event with every property at its zero value (the layout's widest event fits).
    pub fn new(exprs: &CompiledExprs, event: u32, at: i64) -> EventRecord {
        EventRecord {
            event,
            at,
            words: vec![0; exprs.layout.max_event_props.max(1)],
            set_bits: 0,
        }
    }

    pub fn set_word(&mut self, prop: usize, word: u64) {
        if prop < self.words.len() && prop < 64 {
            self.words[prop] = word;
            self.set_bits |= 1 << prop;
        }
    }
}

/// What one `count(…)` counts: every event of a kind (no `where`), or the events its
/// `where` function accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CountSite {
    /// `count(EVENT within D)`.
    Event(u32),
    /// `count(EVENT where F within D)`: the filter function.
    Filter(FuncId),
}

/// The lead's past, which `count`, `opened` and `clicked` read.
pub trait History {
    /// The lead's events of kind `event` with `from < at <= to`, in any order.
    fn events(&self, event: u32, from: i64, to: i64) -> Vec<&EventRecord>;
    /// Whether the lead ever opened (`clicked` false) or clicked an email of this template.
    fn engaged(&self, template: &str, clicked: bool) -> bool;
    /// For a count whose filter reads nothing but the event (decided once, when the event
    /// arrived): the instants of the matching events, ascending. `None` when the history
    /// keeps whole events for this count instead.
    fn hits(&self, _site: CountSite) -> Option<&[i64]> {
        None
    }
}

/// Whether a `where` filter reads only the event being counted (and constants): then its
/// answer for an event never changes, and it can be decided when the event arrives.
pub fn reads_only_the_event(body: &crate::ir::IrExpr) -> bool {
    use crate::ir::IrKind;
    let mut pure = true;
    body.walk(&mut |x| {
        if matches!(
            x.kind,
            IrKind::Field(_)
                | IrKind::FieldIsSet(_)
                | IrKind::Score(_)
                | IrKind::Now
                | IrKind::InTags { .. }
                | IrKind::Engaged(..)
                | IrKind::Count { .. }
        ) || matches!(&x.kind, IrKind::Call(id, _) if id.builtin().reads != Reads::Arguments)
        {
            pure = false;
        }
    });
    pure
}

/// A history with nothing in it.
pub struct NoHistory;

impl History for NoHistory {
    fn events(&self, _: u32, _: i64, _: i64) -> Vec<&EventRecord> {
        Vec::new()
    }
    fn engaged(&self, _: &str, _: bool) -> bool {
        false
    }
}

/// The state one evaluation runs against. `#[repr(C)]`: the JIT reads the first
/// fields at fixed offsets and hands the whole context to the helpers.
#[repr(C)]
pub struct EvalCtx<'a> {
    pub lead_words: *const u64,
    pub lead_set: *const u64,
    pub event_words: *const u64,
    pub event_set: u64,
    pub scores: *const f64,
    pub now: i64,
    /// Everything below is read only through helpers.
    pub exprs: &'a CompiledExprs,
    pub lead: &'a LeadRecord,
    pub event: Option<&'a EventRecord>,
    pub score_values: &'a [f64],
    pub history: &'a dyn History,
    /// Texts made during this evaluation (`lower(x)`): handles with [`SCRATCH_BIT`].
    /// Shared pointers, so a memoized result is handed out without copying it.
    pub scratch: Vec<std::rc::Rc<str>>,
    /// Evaluates a `count` filter (set by the engine running this context).
    pub filter: &'a dyn Fn(FuncId, &mut EvalCtx<'_>) -> bool,
    /// Optional memo of text-function results (see [`EvalCtx::with_memo`]).
    pub memo: Option<&'a std::cell::RefCell<TextMemo>>,
}

/// Results of text functions on interned texts, kept across evaluations (the texts never change).
#[derive(Debug, Default)]
pub struct TextMemo {
    /// Keyed by operation ([`MemoOp`]) and interned symbol.
    results: rustc_hash::FxHashMap<(u32, u32), Memoized>,
    /// The same for texts made during an evaluation (`unaccent(lower(x))`), by content.
    made: rustc_hash::FxHashMap<Box<str>, Vec<(u32, Memoized)>>,
}

/// What a memo entry is the result of: a built-in text function (its
/// [`BuiltinId::code`]) or `matches` with regex `i` (`MATCHES_BASE + i`).
type MemoOp = u32;
/// The most results a [`TextMemo`] keeps of each kind before it starts again.
const MEMO_LIMIT: usize = 1 << 16;
const MATCHES_BASE: MemoOp = 1000;

#[derive(Debug, Clone)]
enum Memoized {
    Symbol(u64),
    Text(std::rc::Rc<str>),
    Flag(bool),
}

impl TextMemo {
    /// The remembered result of `op` on the text behind `h`, if any.
    fn get(&self, ctx: &EvalCtx<'_>, op: MemoOp, h: TextHandle) -> Option<Memoized> {
        if h & SCRATCH_BIT != 0 {
            self.made
                .get(ctx.text(h))
                .and_then(|ops| ops.iter().find(|(o, _)| *o == op).map(|(_, m)| m.clone()))
        } else {
            self.results.get(&(op, h as u32)).cloned()
        }
    }

    fn put(&mut self, ctx: &EvalCtx<'_>, op: MemoOp, h: TextHandle, value: Memoized) {
        // A cache, not a record: most texts are one lead's own (an email, a name), so an
        // unbounded memo would grow with the number of leads. Forgetting everything now and
        // then costs a recomputation; the results are the same.
        if self.results.len() >= MEMO_LIMIT {
            self.results = rustc_hash::FxHashMap::default();
        }
        if self.made.len() >= MEMO_LIMIT {
            self.made = rustc_hash::FxHashMap::default();
        }
        if h & SCRATCH_BIT != 0 {
            let ops = self.made.entry(ctx.text(h).into()).or_default();
            if !ops.iter().any(|(o, _)| *o == op) {
                ops.push((op, value));
            }
        } else {
            self.results.insert((op, h as u32), value);
        }
    }
}

/// Why a context could not be built: the record does not match the program's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutMismatch(pub String);

impl<'a> EvalCtx<'a> {
    /// Builds a context, checking every record against the layout so that compiled
    /// code, which reads fixed offsets, never reads outside them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        exprs: &'a CompiledExprs,
        lead: &'a LeadRecord,
        event: Option<&'a EventRecord>,
        scores: &'a [f64],
        now: i64,
        history: &'a dyn History,
        filter: &'a dyn Fn(FuncId, &mut EvalCtx<'_>) -> bool,
    ) -> Result<EvalCtx<'a>, LayoutMismatch> {
        if lead.fields() != exprs.layout.slots.len()
            || lead.set_bits().len() < exprs.layout.set_words()
        {
            return Err(LayoutMismatch(format!(
                "the lead record has {} fields, the program {}",
                lead.fields(),
                exprs.layout.slots.len()
            )));
        }
        if scores.len() != exprs.scores.len() {
            return Err(LayoutMismatch(format!(
                "{} score values given, the program has {} scores",
                scores.len(),
                exprs.scores.len()
            )));
        }
        if let Some(ev) = event {
            if ev.words.len() < exprs.layout.max_event_props {
                return Err(LayoutMismatch("the event record is too short".into()));
            }
        }
        if exprs.zero_event.len() < exprs.layout.max_event_props.max(1) {
            return Err(LayoutMismatch(
                "the program's empty event is too short".into(),
            ));
        }
        Ok(EvalCtx {
            lead_words: lead.words.as_ptr(),
            lead_set: lead.set_bits().as_ptr(),
            event_words: event
                .map(|e| e.words.as_ptr())
                .unwrap_or(exprs.zero_event.as_ptr()),
            event_set: event.map(|e| e.set_bits).unwrap_or(0),
            scores: scores.as_ptr(),
            now,
            exprs,
            lead,
            event,
            score_values: scores,
            history,
            scratch: Vec::new(),
            filter,
            memo: None,
        })
    }

    /// The same context for another lead of the same program: only the new record is
    /// checked against the layout (the rest was checked when the context was built), so
    /// a loop over many leads builds one context, not one per lead.
    pub fn rebind(&mut self, lead: &'a LeadRecord) -> Result<(), LayoutMismatch> {
        if lead.fields() != self.exprs.layout.slots.len()
            || lead.set_bits().len() < self.exprs.layout.set_words()
        {
            return Err(LayoutMismatch(format!(
                "the lead record has {} fields, the program {}",
                lead.fields(),
                self.exprs.layout.slots.len()
            )));
        }
        self.lead_words = lead.words.as_ptr();
        self.lead_set = lead.set_bits().as_ptr();
        self.lead = lead;
        self.scratch.clear();
        Ok(())
    }

    /// Remembers text-function results on interned texts in `memo` (shared across evaluations
    /// of one program; the interner only grows, so a symbol's text never changes).
    pub fn with_memo(mut self, memo: &'a std::cell::RefCell<TextMemo>) -> EvalCtx<'a> {
        self.memo = Some(memo);
        self
    }

    /// The same lead and clock with another event in scope (for `count` filters).
    pub fn with_event<'b>(&'b self, event: &'b EventRecord) -> EvalCtx<'b> {
        EvalCtx {
            lead_words: self.lead_words,
            lead_set: self.lead_set,
            event_words: event.words.as_ptr(),
            event_set: event.set_bits,
            scores: self.scores,
            now: self.now,
            exprs: self.exprs,
            lead: self.lead,
            event: Some(event),
            score_values: self.score_values,
            history: self.history,
            scratch: Vec::new(),
            filter: self.filter,
            memo: self.memo,
        }
    }

    /// The string behind a text handle.
    pub fn text(&self, h: TextHandle) -> &str {
        if h & SCRATCH_BIT != 0 {
            self.scratch
                .get((h & !SCRATCH_BIT) as usize)
                .map(|s| &**s)
                .unwrap_or("")
        } else {
            self.exprs
                .interner
                .get(u32::try_from(h).unwrap_or(u32::MAX))
        }
    }

    /// Stores a made string; returns its handle (an interned symbol when the text is known).
    pub fn make_text(&mut self, s: String) -> TextHandle {
        if let Some(sym) = self.exprs.interner.lookup(&s) {
            return u64::from(sym);
        }
        self.push_scratch(s.into())
    }

    fn push_scratch(&mut self, s: std::rc::Rc<str>) -> TextHandle {
        self.scratch.push(s);
        (self.scratch.len() as u64 - 1) | SCRATCH_BIT
    }

    /// The scratch buffer, emptied, so a caller evaluating many times can hand it to the next context.
    pub fn into_scratch(mut self) -> Vec<std::rc::Rc<str>> {
        self.scratch.clear();
        std::mem::take(&mut self.scratch)
    }
}

// ------------------------------------------------------------------ shared semantics

/// Numbers stay finite: NaN and ±∞ become 0 (spec 5).
pub fn finite(x: f64) -> f64 {
    stdlib::functions::finite(x)
}

/// Whether two stage codes are ordered by `op` (both must be in the funnel).
pub fn stage_order_ok(a: u64, b: u64) -> bool {
    a < OUTSIDE_STAGE_BASE && b < OUTSIDE_STAGE_BASE
}

pub fn text_eq(ctx: &EvalCtx<'_>, a: TextHandle, b: TextHandle) -> bool {
    if (a | b) & SCRATCH_BIT == 0 {
        return a == b;
    }
    ctx.text(a) == ctx.text(b)
}

/// A `text -> text` built-in (`lower`, `unaccent`, …) on a text, memoized for interned texts.
pub fn text_fn(ctx: &mut EvalCtx<'_>, f: BuiltinId, h: TextHandle) -> TextHandle {
    let Implementation::TextToText(implementation) = f.builtin().implementation else {
        // The lowering only makes text calls of text functions.
        return h;
    };
    let op = f.code() as MemoOp;
    if let Some(m) = ctx.memo {
        let found = m.borrow().get(ctx, op, h);
        match found {
            Some(Memoized::Symbol(sym)) => return sym,
            Some(Memoized::Text(t)) => return ctx.push_scratch(t),
            _ => {}
        }
    }
    let input = ctx.text(h);
    let out = implementation(input);
    let handle = ctx.make_text(out);
    if let Some(m) = ctx.memo {
        let value = if handle & SCRATCH_BIT == 0 {
            Memoized::Symbol(handle)
        } else {
            match ctx.scratch.get((handle & !SCRATCH_BIT) as usize) {
                Some(t) => Memoized::Text(t.clone()),
                None => return handle,
            }
        };
        m.borrow_mut().put(ctx, op, h, value);
    }
    handle
}

// ------------------------------------------------------------------ helpers for the JIT

/// # Safety
/// `ctx` must point at a live [`EvalCtx`] (the JIT passes the one it was called with).
unsafe fn ctx_mut<'c>(ctx: *mut EvalCtx<'_>) -> &'c mut EvalCtx<'c> {
    // SAFETY: the caller passes the context it received, which outlives the call.
    unsafe { &mut *ctx.cast::<EvalCtx<'c>>() }
}

/// # Safety
/// `ctx` must be the live context compiled code was called with.
pub(crate) unsafe extern "C" fn h_text_eq(ctx: *mut EvalCtx<'_>, a: u64, b: u64) -> u64 {
    // SAFETY: called only by compiled code with its own context.
    let ctx = unsafe { ctx_mut(ctx) };
    u64::from(text_eq(ctx, a, b))
}

/// # Safety
/// `ctx` must be the live context compiled code was called with.
pub(crate) unsafe extern "C" fn h_text_fn(ctx: *mut EvalCtx<'_>, f: u64, h: u64) -> u64 {
    // SAFETY: as above.
    let ctx = unsafe { ctx_mut(ctx) };
    match BuiltinId::from_code(f) {
        Some(f) => text_fn(ctx, f, h),
        None => h,
    }
}

pub fn text_test(ctx: &EvalCtx<'_>, op: u64, a: TextHandle, b: TextHandle) -> bool {
    let (a, b) = (ctx.text(a), ctx.text(b));
    match op {
        0 => a.contains(b),
        1 => a.starts_with(b),
        _ => a.ends_with(b),
    }
}

/// # Safety
/// `ctx` must be the live context compiled code was called with.
pub(crate) unsafe extern "C" fn h_text_test(ctx: *mut EvalCtx<'_>, op: u64, a: u64, b: u64) -> u64 {
    // SAFETY: as above.
    let ctx = unsafe { ctx_mut(ctx) };
    u64::from(text_test(ctx, op, a, b))
}

pub fn matches(ctx: &EvalCtx<'_>, h: TextHandle, regex: usize) -> bool {
    let op = MATCHES_BASE.saturating_add(u32::try_from(regex).unwrap_or(u32::MAX - MATCHES_BASE));
    if let Some(m) = ctx.memo {
        if let Some(Memoized::Flag(b)) = m.borrow().get(ctx, op, h) {
            return b;
        }
    }
    let b = ctx
        .exprs
        .regexes
        .get(regex)
        .is_some_and(|re| re.is_match(ctx.text(h)));
    if let Some(m) = ctx.memo {
        m.borrow_mut().put(ctx, op, h, Memoized::Flag(b));
    }
    b
}

/// # Safety
/// `ctx` must be the live context compiled code was called with.
pub(crate) unsafe extern "C" fn h_matches(ctx: *mut EvalCtx<'_>, h: u64, regex: u64) -> u64 {
    // SAFETY: as above.
    let ctx = unsafe { ctx_mut(ctx) };
    u64::from(matches(ctx, h, regex as usize))
}

pub fn in_text_list(ctx: &EvalCtx<'_>, h: TextHandle, list: &[u64]) -> bool {
    list.iter().any(|&w| text_eq(ctx, h, w))
}

pub fn has_tag(ctx: &EvalCtx<'_>, h: TextHandle) -> bool {
    if h & SCRATCH_BIT == 0 {
        return ctx.lead.tags.contains(&(h as u32));
    }
    match ctx.exprs.interner.lookup(ctx.text(h)) {
        Some(sym) => ctx.lead.tags.contains(&sym),
        None => false,
    }
}

/// # Safety
/// `ctx` must be the live context compiled code was called with.
pub(crate) unsafe extern "C" fn h_has_tag(ctx: *mut EvalCtx<'_>, h: u64) -> u64 {
    // SAFETY: as above.
    let ctx = unsafe { ctx_mut(ctx) };
    u64::from(has_tag(ctx, h))
}

/// A `text -> number` built-in (`length`) on a text.
pub fn text_number(ctx: &EvalCtx<'_>, f: BuiltinId, h: TextHandle) -> f64 {
    match f.builtin().implementation {
        Implementation::TextToNumber(implementation) => implementation(ctx.text(h)),
        _ => 0.0,
    }
}

/// # Safety
/// `ctx` must be the live context compiled code was called with.
pub(crate) unsafe extern "C" fn h_text_number(ctx: *mut EvalCtx<'_>, f: u64, h: u64) -> f64 {
    // SAFETY: as above.
    let ctx = unsafe { ctx_mut(ctx) };
    BuiltinId::from_code(f).map_or(0.0, |f| text_number(ctx, f, h))
}

/// A `text -> bool` built-in (`free_email`) on a text, memoized for interned texts.
pub fn text_flag(ctx: &EvalCtx<'_>, f: BuiltinId, h: TextHandle) -> bool {
    let Implementation::TextToBool(implementation) = f.builtin().implementation else {
        return false;
    };
    let op = f.code() as MemoOp;
    if let Some(m) = ctx.memo {
        if let Some(Memoized::Flag(b)) = m.borrow().get(ctx, op, h) {
            return b;
        }
    }
    let b = implementation(ctx.text(h));
    if let Some(m) = ctx.memo {
        m.borrow_mut().put(ctx, op, h, Memoized::Flag(b));
    }
    b
}

/// # Safety
/// `ctx` must be the live context compiled code was called with.
pub(crate) unsafe extern "C" fn h_text_flag(ctx: *mut EvalCtx<'_>, f: u64, h: u64) -> u64 {
    // SAFETY: as above.
    let ctx = unsafe { ctx_mut(ctx) };
    u64::from(BuiltinId::from_code(f).is_some_and(|f| text_flag(ctx, f, h)))
}

pub fn engaged(ctx: &EvalCtx<'_>, template: u32, clicked: bool) -> bool {
    match ctx.exprs.templates.get(template as usize) {
        Some(t) => ctx.history.engaged(t, clicked),
        None => false,
    }
}

/// # Safety
/// `ctx` must be the live context compiled code was called with.
pub(crate) unsafe extern "C" fn h_engaged(
    ctx: *mut EvalCtx<'_>,
    template: u64,
    clicked: u64,
) -> u64 {
    // SAFETY: as above.
    let ctx = unsafe { ctx_mut(ctx) };
    u64::from(engaged(ctx, template as u32, clicked != 0))
}

/// `count(EVENT [where F] within W)`: events in (now − W, now].
pub fn count(ctx: &mut EvalCtx<'_>, event: u32, filter: Option<FuncId>, window: i64) -> f64 {
    let from = ctx.now.saturating_sub(window);
    let site = filter.map_or(CountSite::Event(event), CountSite::Filter);
    if let Some(hits) = ctx.history.hits(site) {
        // Same window as below: `from < at <= now`.
        let first = hits.partition_point(|&t| t <= from);
        let last = hits.partition_point(|&t| t <= ctx.now);
        return last.saturating_sub(first) as f64;
    }
    let events = ctx.history.events(event, from, ctx.now);
    let mut n = 0u32;
    for ev in events {
        let keep = match filter {
            None => true,
            Some(f) => {
                let mut inner = ctx.with_event(ev);
                (ctx.filter)(f, &mut inner)
            }
        };
        if keep {
            n += 1;
        }
    }
    f64::from(n)
}

/// # Safety
/// `ctx` must be the live context compiled code was called with.
pub(crate) unsafe extern "C" fn h_count(
    ctx: *mut EvalCtx<'_>,
    event: u64,
    filter: u64,
    window: i64,
) -> f64 {
    // SAFETY: as above.
    let ctx = unsafe { ctx_mut(ctx) };
    let filter = (filter != u64::MAX).then_some(filter as usize);
    count(ctx, event as u32, filter, window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_bits_start_is_found_from_the_record_length_alone() {
        for fields in 0..2_000usize {
            let set_words = fields.div_ceil(64).max(1);
            let record = LeadRecord {
                words: vec![0; fields + set_words].into_boxed_slice(),
                tags: TagSet::default(),
            };
            assert_eq!(record.fields(), fields);
            assert_eq!(record.set_bits().len(), set_words);
        }
    }

    #[test]
    fn setting_a_field_marks_it_set_and_no_other() {
        let mut record = LeadRecord {
            words: vec![0; 130 + 3].into_boxed_slice(),
            tags: TagSet::default(),
        };
        record.set_word(129, 7);
        assert!(record.is_set(129));
        assert!(!record.is_set(128) && !record.is_set(1));
        assert_eq!(record.words[129], 7);
        record.set_word(500, 1); // past the fields: ignored
        assert!(!record.is_set(500));
    }
}

//! The reference interpreter: walks the IR and defines what every expression means; the JIT must agree with it bit for bit.

use grammar::ast::{CompareOp, TextOp};

use stdlib::{BuiltinId, Implementation};

use crate::eval::{self, EvalCtx};
use crate::ir::{ArithOp, CmpKind, CompiledExprs, FuncId, IrExpr, IrKind};

/// Evaluates function `f` of the program; the result is a word (see [`crate::ir`]).
pub fn eval_func(exprs: &CompiledExprs, f: FuncId, ctx: &mut EvalCtx<'_>) -> u64 {
    match exprs.funcs.get(f) {
        Some(func) => eval(&func.body, ctx),
        None => 0,
    }
}

fn num(w: u64) -> f64 {
    f64::from_bits(w)
}

fn word(x: f64) -> u64 {
    x.to_bits()
}

fn bool_word(b: bool) -> u64 {
    u64::from(b)
}

fn lead_word(ctx: &EvalCtx<'_>, slot: usize) -> u64 {
    ctx.lead.words.get(slot).copied().unwrap_or(0)
}

fn event_word(ctx: &EvalCtx<'_>, i: usize) -> u64 {
    ctx.event.and_then(|e| e.words.get(i).copied()).unwrap_or(0)
}

/// Compares two words of one kind.
pub fn compare(ctx: &EvalCtx<'_>, op: CompareOp, kind: CmpKind, a: u64, b: u64) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match kind {
        CmpKind::Number => num(a).partial_cmp(&num(b)),
        CmpKind::Time => Some((a as i64).cmp(&(b as i64))),
        CmpKind::Bool => Some(a.cmp(&b)),
        CmpKind::Stage => {
            if matches!(op, CompareOp::Eq | CompareOp::Ne) || eval::stage_order_ok(a, b) {
                Some(a.cmp(&b))
            } else {
                return false;
            }
        }
        CmpKind::Text => {
            let eq = eval::text_eq(ctx, a, b);
            return match op {
                CompareOp::Eq => eq,
                CompareOp::Ne => !eq,
                // The checker allows only `==`/`!=` on texts.
                _ => false,
            };
        }
    };
    ord.is_some_and(|o| op.holds(o))
}

/// A built-in computed from its argument words, by the shape of its implementation.
fn call(ctx: &mut EvalCtx<'_>, f: BuiltinId, a: u64, b: u64) -> u64 {
    match f.builtin().implementation {
        Implementation::TextToText(_) => eval::text_fn(ctx, f, a),
        Implementation::TextToNumber(_) => word(eval::text_number(ctx, f, a)),
        Implementation::TextToBool(_) => bool_word(eval::text_flag(ctx, f, a)),
        Implementation::Number(implementation) => word(implementation(num(a))),
        Implementation::Number2(implementation) => word(implementation(num(a), num(b))),
        Implementation::Since(implementation) => word(implementation(a as i64, ctx.now)),
        // Lowered to their own nodes, never to a call.
        Implementation::Now | Implementation::Engaged { .. } => 0,
    }
}

pub fn eval(e: &IrExpr, ctx: &mut EvalCtx<'_>) -> u64 {
    match &e.kind {
        IrKind::Number(n) => word(*n),
        IrKind::Bool(b) => bool_word(*b),
        IrKind::Text(s) => u64::from(*s),
        IrKind::Stage(c) => *c,
        IrKind::Field(slot) => lead_word(ctx, *slot),
        IrKind::FieldIsSet(slot) => bool_word(ctx.lead.is_set(*slot)),
        IrKind::EventProp(i) => event_word(ctx, *i),
        IrKind::EventPropIsSet(i) => {
            bool_word(*i < 64 && ctx.event.is_some_and(|e| e.set_bits & (1 << i) != 0))
        }
        IrKind::Score(i) => word(ctx.score_values.get(*i).copied().unwrap_or(0.0)),
        IrKind::Now => ctx.now as u64,
        IrKind::Not(x) => bool_word(eval(x, ctx) == 0),
        IrKind::Neg(x) => word(eval::finite(-num(eval(x, ctx)))),
        IrKind::And(a, b) => bool_word(eval(a, ctx) != 0 && eval(b, ctx) != 0),
        IrKind::Or(a, b) => bool_word(eval(a, ctx) != 0 || eval(b, ctx) != 0),
        IrKind::Arith(op, a, b) => {
            let (x, y) = (num(eval(a, ctx)), num(eval(b, ctx)));
            let r = match op {
                ArithOp::Add => x + y,
                ArithOp::Sub => x - y,
                ArithOp::Mul => x * y,
                ArithOp::Div => x / y,
            };
            word(eval::finite(r))
        }
        IrKind::TimeShift(t, secs) => (eval(t, ctx) as i64).wrapping_add(*secs) as u64,
        IrKind::Compare(op, kind, a, b) => {
            let (x, y) = (eval(a, ctx), eval(b, ctx));
            bool_word(compare(ctx, *op, *kind, x, y))
        }
        IrKind::InList {
            item,
            kind,
            list,
            negated,
        } => {
            let x = eval(item, ctx);
            let found = match kind {
                CmpKind::Text => eval::in_text_list(ctx, x, list),
                CmpKind::Number => list.iter().any(|w| num(*w) == num(x)),
                _ => list.contains(&x),
            };
            bool_word(found != *negated)
        }
        IrKind::InTags { item, negated } => {
            let x = eval(item, ctx);
            bool_word(eval::has_tag(ctx, x) != *negated)
        }
        IrKind::TextTest(op, a, b) => {
            let (x, y) = (eval(a, ctx), eval(b, ctx));
            let code = match op {
                TextOp::Contains => 0,
                TextOp::StartsWith => 1,
                TextOp::EndsWith => 2,
            };
            bool_word(eval::text_test(ctx, code, x, y))
        }
        IrKind::Matches(s, re) => {
            let x = eval(s, ctx);
            bool_word(eval::matches(ctx, x, *re))
        }
        IrKind::Between(kind, s, lo, hi) => {
            let (x, l, h) = (eval(s, ctx), eval(lo, ctx), eval(hi, ctx));
            bool_word(
                compare(ctx, CompareOp::Ge, *kind, x, l)
                    && compare(ctx, CompareOp::Le, *kind, x, h),
            )
        }
        IrKind::Call(f, args) => {
            // Built-ins take at most two arguments (the lowering checked the count).
            let a = args.first().map(|x| eval(x, ctx)).unwrap_or(0);
            let b = args.get(1).map(|x| eval(x, ctx)).unwrap_or(0);
            call(ctx, *f, a, b)
        }
        IrKind::Engaged(f, t) => {
            let clicked = matches!(
                f.builtin().implementation,
                Implementation::Engaged { clicked: true }
            );
            bool_word(eval::engaged(ctx, *t, clicked))
        }
        IrKind::Count {
            event,
            filter,
            window_secs,
        } => word(eval::count(ctx, *event, *filter, *window_secs)),
    }
}

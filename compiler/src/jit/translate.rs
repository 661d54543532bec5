//! One IR function's body as Cranelift instructions: a [`FunctionTranslator`] with one `translate_*` per kind of node, after cranelift-jit-demo.

use std::mem::offset_of;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use cranelift_jit::JITModule;
use cranelift_module::{FuncId as ClifFuncId, Module};
use grammar::ast::{CompareOp, TextOp};

use super::{builtin_symbol, jit_err, JitError, F, I};
use crate::eval::EvalCtx;
use stdlib::{BuiltinId, Implementation};

use crate::ir::{ArithOp, CmpKind, CompiledExprs, IrExpr, IrKind, OUTSIDE_STAGE_BASE, SCRATCH_BIT};
use grammar::Span;

/// Emits one IR function into a Cranelift function.
pub(super) struct FunctionTranslator<'a> {
    pub(super) b: FunctionBuilder<'a>,
    pub(super) module: &'a mut JITModule,
    pub(super) helpers: &'a [(String, ClifFuncId)],
    pub(super) exprs: &'a CompiledExprs,
    pub(super) ctx: Value,
}

fn ctx_offset(field: usize) -> i32 {
    i32::try_from(field).unwrap_or(0)
}

impl FunctionTranslator<'_> {
    pub(super) fn translate(&mut self, e: &IrExpr) -> Result<Value, JitError> {
        match &e.kind {
            IrKind::Number(n) => Ok(self.iconst(n.to_bits())),
            IrKind::Bool(v) => Ok(self.iconst(u64::from(*v))),
            IrKind::Text(s) => Ok(self.iconst(u64::from(*s))),
            IrKind::Stage(c) => Ok(self.iconst(*c)),
            IrKind::Field(slot) => self.translate_field(*slot, e.span),
            IrKind::FieldIsSet(slot) => self.translate_field_is_set(*slot, e.span),
            IrKind::EventProp(i) => self.translate_event_prop(*i, e.span),
            IrKind::EventPropIsSet(i) => Ok(self.translate_event_prop_is_set(*i)),
            IrKind::Score(i) => self.translate_score(*i, e.span),
            IrKind::Now => Ok(self.load_ctx(offset_of!(EvalCtx<'static>, now))),
            IrKind::Not(x) => {
                let v = self.translate(x)?;
                Ok(self.bool_not(v))
            }
            IrKind::Neg(x) => {
                let v = self.translate(x)?;
                let f = self.as_float(v);
                let n = self.b.ins().fneg(f);
                Ok(self.finite_word(n))
            }
            IrKind::And(a, c) | IrKind::Or(a, c) => {
                self.translate_logic(matches!(e.kind, IrKind::And(..)), a, c)
            }
            IrKind::Arith(op, a, c) => self.translate_arith(*op, a, c),
            IrKind::TimeShift(t, secs) => {
                let v = self.translate(t)?;
                Ok(self.b.ins().iadd_imm_s(v, *secs))
            }
            IrKind::Compare(op, kind, a, c) => {
                let x = self.translate(a)?;
                let y = self.translate(c)?;
                Ok(self.translate_compare(*op, *kind, x, y))
            }
            IrKind::InList {
                item,
                kind,
                list,
                negated,
            } => self.translate_in_list(item, *kind, list, *negated),
            IrKind::InTags { item, negated } => {
                let h = self.translate(item)?;
                let r = self.call_helper("tandem_has_tag", &[self.ctx, h]);
                Ok(if *negated { self.bool_not(r) } else { r })
            }
            IrKind::TextTest(op, a, c) => {
                let x = self.translate(a)?;
                let y = self.translate(c)?;
                let code = self.iconst(match op {
                    TextOp::Contains => 0,
                    TextOp::StartsWith => 1,
                    TextOp::EndsWith => 2,
                });
                Ok(self.call_helper("tandem_text_test", &[self.ctx, code, x, y]))
            }
            IrKind::Matches(s, re) => {
                let h = self.translate(s)?;
                let idx = self.iconst(*re as u64);
                Ok(self.call_helper("tandem_matches", &[self.ctx, h, idx]))
            }
            IrKind::Between(kind, s, lo, hi) => {
                let x = self.translate(s)?;
                let l = self.translate(lo)?;
                let h = self.translate(hi)?;
                let ge = self.translate_compare(CompareOp::Ge, *kind, x, l);
                let le = self.translate_compare(CompareOp::Le, *kind, x, h);
                Ok(self.b.ins().band(ge, le))
            }
            IrKind::Call(f, args) => self.translate_call(*f, args),
            IrKind::Engaged(f, t) => {
                let idx = self.iconst(u64::from(*t));
                let clicked = matches!(
                    f.builtin().implementation,
                    Implementation::Engaged { clicked: true }
                );
                let clicked = self.iconst(u64::from(clicked));
                Ok(self.call_helper("tandem_engaged", &[self.ctx, idx, clicked]))
            }
            IrKind::Count {
                event,
                filter,
                window_secs,
            } => {
                let ev = self.iconst(u64::from(*event));
                let f = self.iconst(filter.map(|f| f as u64).unwrap_or(u64::MAX));
                let w = self.iconst(*window_secs as u64);
                let n = self.call_helper("tandem_count", &[self.ctx, ev, f, w]);
                Ok(self.as_word(n))
            }
        }
    }

    // ---------------------------------------------------------------- small pieces

    fn iconst(&mut self, w: u64) -> Value {
        self.b.ins().iconst(I, w as i64)
    }

    fn load_ctx(&mut self, offset: usize) -> Value {
        self.b
            .ins()
            .load(I, MemFlagsData::trusted(), self.ctx, ctx_offset(offset))
    }

    fn load_at(&mut self, base: Value, index: usize) -> Value {
        let off = i32::try_from(index * 8).unwrap_or(0);
        self.b.ins().load(I, MemFlagsData::trusted(), base, off)
    }

    fn as_float(&mut self, w: Value) -> Value {
        self.b.ins().bitcast(F, MemFlagsData::new(), w)
    }

    fn as_word(&mut self, f: Value) -> Value {
        self.b.ins().bitcast(I, MemFlagsData::new(), f)
    }

    /// 0/1 from a comparison result.
    fn widen(&mut self, c: Value) -> Value {
        self.b.ins().uextend(I, c)
    }

    fn bool_not(&mut self, v: Value) -> Value {
        self.b.ins().bxor_imm_s(v, 1)
    }

    /// NaN and ±∞ become 0: `x - x` is 0 exactly when `x` is finite.
    fn finite_word(&mut self, f: Value) -> Value {
        let diff = self.b.ins().fsub(f, f);
        let zero = self.b.ins().f64const(0.0);
        let ok = self.b.ins().fcmp(FloatCC::Equal, diff, zero);
        let r = self.b.ins().select(ok, f, zero);
        self.as_word(r)
    }

    fn call_helper(&mut self, name: &str, args: &[Value]) -> Value {
        let id = self
            .helpers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| *id);
        let Some(id) = id else {
            // Every name used above is in `helpers()`; a miss is a bug, answered with 0.
            return self.iconst(0);
        };
        let fref = self.module.declare_func_in_func(id, self.b.func);
        let call = self.b.ins().call(fref, args);
        self.b.inst_results(call)[0]
    }

    // ---------------------------------------------------------------- reads

    fn translate_field(&mut self, slot: usize, span: Span) -> Result<Value, JitError> {
        if slot >= self.exprs.layout.slots.len() {
            return Err(jit_err(Some(span), "field slot outside the lead layout"));
        }
        let base = self.load_ctx(offset_of!(EvalCtx<'static>, lead_words));
        Ok(self.load_at(base, slot))
    }

    fn translate_field_is_set(&mut self, slot: usize, span: Span) -> Result<Value, JitError> {
        if slot >= self.exprs.layout.slots.len() {
            return Err(jit_err(Some(span), "field slot outside the lead layout"));
        }
        let base = self.load_ctx(offset_of!(EvalCtx<'static>, lead_set));
        let w = self.load_at(base, slot / 64);
        let shifted = self.b.ins().ushr_imm_s(w, (slot % 64) as i64);
        Ok(self.b.ins().band_imm_s(shifted, 1))
    }

    fn translate_event_prop(&mut self, i: usize, span: Span) -> Result<Value, JitError> {
        if i >= self.exprs.layout.max_event_props {
            return Err(jit_err(
                Some(span),
                "event property outside the event layout",
            ));
        }
        let base = self.load_ctx(offset_of!(EvalCtx<'static>, event_words));
        Ok(self.load_at(base, i))
    }

    fn translate_event_prop_is_set(&mut self, i: usize) -> Value {
        if i >= 64 {
            return self.iconst(0);
        }
        let bits = self.load_ctx(offset_of!(EvalCtx<'static>, event_set));
        let shifted = self.b.ins().ushr_imm_s(bits, i as i64);
        self.b.ins().band_imm_s(shifted, 1)
    }

    fn translate_score(&mut self, i: usize, span: Span) -> Result<Value, JitError> {
        if i >= self.exprs.scores.len() {
            return Err(jit_err(Some(span), "score outside the score table"));
        }
        let base = self.load_ctx(offset_of!(EvalCtx<'static>, scores));
        Ok(self.load_at(base, i))
    }

    // ---------------------------------------------------------------- logic and arithmetic

    /// `and`/`or`: branch-free when the right side is cheap, short-circuit when it calls out.
    fn translate_logic(&mut self, is_and: bool, a: &IrExpr, c: &IrExpr) -> Result<Value, JitError> {
        let x = self.translate(a)?;
        if is_cheap(c) {
            let y = self.translate(c)?;
            return Ok(if is_and {
                self.b.ins().band(x, y)
            } else {
                self.b.ins().bor(x, y)
            });
        }
        let rhs_block = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, I);
        if is_and {
            self.b.ins().brif(x, rhs_block, &[], done, &[x.into()]);
        } else {
            self.b.ins().brif(x, done, &[x.into()], rhs_block, &[]);
        }
        self.b.switch_to_block(rhs_block);
        self.b.seal_block(rhs_block);
        let y = self.translate(c)?;
        self.b.ins().jump(done, &[y.into()]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        Ok(self.b.block_params(done)[0])
    }

    fn translate_arith(&mut self, op: ArithOp, a: &IrExpr, c: &IrExpr) -> Result<Value, JitError> {
        let x = self.translate(a)?;
        let y = self.translate(c)?;
        let (fx, fy) = (self.as_float(x), self.as_float(y));
        let r = match op {
            ArithOp::Add => self.b.ins().fadd(fx, fy),
            ArithOp::Sub => self.b.ins().fsub(fx, fy),
            ArithOp::Mul => self.b.ins().fmul(fx, fy),
            ArithOp::Div => self.b.ins().fdiv(fx, fy),
        };
        Ok(self.finite_word(r))
    }

    /// A built-in call, by the shape of its implementation in `stdlib`: text functions
    /// go through the context's helpers (they read and make texts), the others are
    /// called directly.
    fn translate_call(&mut self, f: BuiltinId, args: &[IrExpr]) -> Result<Value, JitError> {
        let mut words = Vec::with_capacity(args.len());
        for a in args {
            words.push(self.translate(a)?);
        }
        // The lowering checked the count; a missing argument reads as 0 all the same.
        let arg = |me: &mut Self, i: usize| words.get(i).copied().unwrap_or_else(|| me.iconst(0));
        let code = self.iconst(f.code());
        Ok(match f.builtin().implementation {
            Implementation::TextToText(_) => {
                let h = arg(self, 0);
                self.call_helper("tandem_text_fn", &[self.ctx, code, h])
            }
            Implementation::TextToNumber(_) => {
                let h = arg(self, 0);
                let n = self.call_helper("tandem_text_number", &[self.ctx, code, h]);
                self.as_word(n)
            }
            Implementation::TextToBool(_) => {
                let h = arg(self, 0);
                self.call_helper("tandem_text_flag", &[self.ctx, code, h])
            }
            Implementation::Number(_) => {
                let a = arg(self, 0);
                let a = self.as_float(a);
                let r = self.call_helper(&builtin_symbol(f), &[a]);
                self.as_word(r)
            }
            Implementation::Number2(_) => {
                let (a, b) = (arg(self, 0), arg(self, 1));
                let (a, b) = (self.as_float(a), self.as_float(b));
                let r = self.call_helper(&builtin_symbol(f), &[a, b]);
                self.as_word(r)
            }
            Implementation::Since(_) => {
                let then = arg(self, 0);
                let now = self.load_ctx(offset_of!(EvalCtx<'static>, now));
                let r = self.call_helper(&builtin_symbol(f), &[then, now]);
                self.as_word(r)
            }
            Implementation::Now => self.load_ctx(offset_of!(EvalCtx<'static>, now)),
            Implementation::Engaged { .. } => {
                return Err(jit_err(None, "engagement lowered as a call"))
            }
        })
    }

    // ---------------------------------------------------------------- comparisons

    fn translate_compare(&mut self, op: CompareOp, kind: CmpKind, x: Value, y: Value) -> Value {
        match kind {
            CmpKind::Number => {
                let (fx, fy) = (self.as_float(x), self.as_float(y));
                let cc = match op {
                    CompareOp::Eq => FloatCC::Equal,
                    CompareOp::Ne => FloatCC::OrderedNotEqual,
                    CompareOp::Lt => FloatCC::LessThan,
                    CompareOp::Le => FloatCC::LessThanOrEqual,
                    CompareOp::Gt => FloatCC::GreaterThan,
                    CompareOp::Ge => FloatCC::GreaterThanOrEqual,
                };
                let c = self.b.ins().fcmp(cc, fx, fy);
                self.widen(c)
            }
            CmpKind::Time => {
                let cc = match op {
                    CompareOp::Eq => IntCC::Equal,
                    CompareOp::Ne => IntCC::NotEqual,
                    CompareOp::Lt => IntCC::SignedLessThan,
                    CompareOp::Le => IntCC::SignedLessThanOrEqual,
                    CompareOp::Gt => IntCC::SignedGreaterThan,
                    CompareOp::Ge => IntCC::SignedGreaterThanOrEqual,
                };
                let c = self.b.ins().icmp(cc, x, y);
                self.widen(c)
            }
            CmpKind::Bool | CmpKind::Stage => {
                let cc = match op {
                    CompareOp::Eq => IntCC::Equal,
                    CompareOp::Ne => IntCC::NotEqual,
                    CompareOp::Lt => IntCC::UnsignedLessThan,
                    CompareOp::Le => IntCC::UnsignedLessThanOrEqual,
                    CompareOp::Gt => IntCC::UnsignedGreaterThan,
                    CompareOp::Ge => IntCC::UnsignedGreaterThanOrEqual,
                };
                let c = self.b.ins().icmp(cc, x, y);
                let c = self.widen(c);
                if kind == CmpKind::Stage && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    // Ordering holds only inside the funnel.
                    let both = self.b.ins().bor(x, y);
                    let inside = self.b.ins().icmp_imm_s(
                        IntCC::UnsignedLessThan,
                        both,
                        OUTSIDE_STAGE_BASE as i64,
                    );
                    let inside = self.widen(inside);
                    self.b.ins().band(c, inside)
                } else {
                    c
                }
            }
            CmpKind::Text => {
                let eq = self.translate_text_eq(x, y);
                match op {
                    CompareOp::Eq => eq,
                    CompareOp::Ne => self.bool_not(eq),
                    _ => self.iconst(0),
                }
            }
        }
    }

    /// Text equality: symbols compare as integers; a made text never equals a symbol
    /// (made texts are looked up in the interner first), so only two made texts need the helper.
    fn translate_text_eq(&mut self, x: Value, y: Value) -> Value {
        let both = self.b.ins().band(x, y);
        let both_scratch = self.b.ins().band_imm_s(both, SCRATCH_BIT as i64);
        let slow = self.b.create_block();
        let fast = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, I);
        self.b.ins().brif(both_scratch, slow, &[], fast, &[]);
        self.b.switch_to_block(fast);
        self.b.seal_block(fast);
        let c = self.b.ins().icmp(IntCC::Equal, x, y);
        let c = self.widen(c);
        self.b.ins().jump(done, &[c.into()]);
        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        let r = self.call_helper("tandem_text_eq", &[self.ctx, x, y]);
        self.b.ins().jump(done, &[r.into()]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        self.b.block_params(done)[0]
    }

    fn translate_in_list(
        &mut self,
        item: &IrExpr,
        kind: CmpKind,
        list: &[u64],
        negated: bool,
    ) -> Result<Value, JitError> {
        let x = self.translate(item)?;
        let mut acc = self.iconst(0);
        for &w in list {
            let c = match kind {
                CmpKind::Number => {
                    let fx = self.as_float(x);
                    let fw = self.b.ins().f64const(f64::from_bits(w));
                    let c = self.b.ins().fcmp(FloatCC::Equal, fx, fw);
                    self.widen(c)
                }
                // List texts are interned symbols; a made text is never one of them.
                _ => {
                    let c = self.b.ins().icmp_imm_s(IntCC::Equal, x, w as i64);
                    self.widen(c)
                }
            };
            acc = self.b.ins().bor(acc, c);
        }
        Ok(if negated { self.bool_not(acc) } else { acc })
    }
}

/// True when an expression calls no helper (so evaluating it eagerly is cheaper than a branch).
fn is_cheap(e: &IrExpr) -> bool {
    match &e.kind {
        IrKind::Number(_)
        | IrKind::Bool(_)
        | IrKind::Text(_)
        | IrKind::Stage(_)
        | IrKind::Field(_)
        | IrKind::FieldIsSet(_)
        | IrKind::EventProp(_)
        | IrKind::EventPropIsSet(_)
        | IrKind::Score(_)
        | IrKind::Now => true,
        IrKind::Not(x) | IrKind::Neg(x) | IrKind::TimeShift(x, _) => is_cheap(x),
        IrKind::And(a, b) | IrKind::Or(a, b) | IrKind::Arith(_, a, b) => is_cheap(a) && is_cheap(b),
        IrKind::Compare(_, kind, a, b) => *kind != CmpKind::Text && is_cheap(a) && is_cheap(b),
        IrKind::InList { item, .. } => is_cheap(item),
        IrKind::Between(_, a, b, c) => is_cheap(a) && is_cheap(b) && is_cheap(c),
        _ => false,
    }
}

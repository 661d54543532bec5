//! The two evaluators of conditions behind one trait: the reference interpreter and the Cranelift JIT, chosen once per run (`--engine interp|jit`; "engine" in the docs and the flag, [`Evaluator`] in the code, where the engine is `runtime::Engine`).

use crate::eval::{EvalCtx, EventRecord, History, LayoutMismatch, LeadRecord};
use crate::interp;
use crate::ir::{CompiledExprs, FuncId};
use crate::jit::{Jit, JitError};

/// Which evaluator evaluates conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvaluatorKind {
    #[default]
    Jit,
    Interp,
}

impl std::str::FromStr for EvaluatorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<EvaluatorKind, String> {
        match s {
            "jit" => Ok(EvaluatorKind::Jit),
            "interp" => Ok(EvaluatorKind::Interp),
            other => Err(format!("unknown engine `{other}` (use `jit` or `interp`)")),
        }
    }
}

/// Evaluates the compiled functions of one program.
pub trait Evaluator {
    /// Runs function `f` in `ctx`; the result is a word (see [`crate::ir`]).
    fn call(&self, f: FuncId, ctx: &mut EvalCtx<'_>) -> u64;

    /// Runs each of `fs` in one context, each result into `out` at the same position.
    fn call_many(&self, fs: &[FuncId], ctx: &mut EvalCtx<'_>, out: &mut [u64]) {
        for (f, o) in fs.iter().zip(out.iter_mut()) {
            *o = self.call(*f, ctx);
        }
    }

    /// Builds a context for one evaluation and runs `f` in it.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        exprs: &CompiledExprs,
        f: FuncId,
        lead: &LeadRecord,
        event: Option<&EventRecord>,
        scores: &[f64],
        now: i64,
        history: &dyn History,
    ) -> Result<u64, LayoutMismatch> {
        let filter = |g: FuncId, inner: &mut EvalCtx<'_>| self.call(g, inner) != 0;
        let mut ctx = EvalCtx::new(exprs, lead, event, scores, now, history, &filter)?;
        Ok(self.call(f, &mut ctx))
    }
}

/// The reference interpreter.
pub struct Interpreter<'a> {
    pub exprs: &'a CompiledExprs,
}

impl Evaluator for Interpreter<'_> {
    fn call(&self, f: FuncId, ctx: &mut EvalCtx<'_>) -> u64 {
        interp::eval_func(self.exprs, f, ctx)
    }
}

/// Native code from Cranelift.
pub struct JitEvaluator {
    pub jit: Jit,
}

impl JitEvaluator {
    pub fn new(exprs: &CompiledExprs) -> Result<JitEvaluator, JitError> {
        Ok(JitEvaluator {
            jit: Jit::compile(exprs)?,
        })
    }

    /// Also fuses each list of `batches` into one native function: `call_many` with
    /// exactly that list runs it in one call.
    pub fn with_batches(
        exprs: &CompiledExprs,
        batches: &[Vec<FuncId>],
    ) -> Result<JitEvaluator, JitError> {
        Ok(JitEvaluator {
            jit: Jit::compile_with_batches(exprs, batches)?,
        })
    }
}

impl Evaluator for JitEvaluator {
    fn call(&self, f: FuncId, ctx: &mut EvalCtx<'_>) -> u64 {
        self.jit.call(f, ctx)
    }

    fn call_many(&self, fs: &[FuncId], ctx: &mut EvalCtx<'_>, out: &mut [u64]) {
        self.jit.call_many(fs, ctx, out)
    }
}

//! The Cranelift JIT: every IR function becomes native code `fn(*mut EvalCtx) -> u64`, with one `translate_*` per kind of node.
//!
//! The shape follows cranelift-jit-demo: a [`FunctionTranslator`] walks the IR
//! and emits instructions into one Cranelift function. Values are 64-bit
//! words everywhere (numbers are bit-cast to `f64` only for arithmetic and
//! comparison), so the translator has one value type to carry around.
//!
//! Safety rests on the compiler, not on luck: a field slot, score index or
//! event property index is checked against the layout here, before any load
//! is emitted, and [`EvalCtx::new`] refuses records that do not have that
//! layout. Text, regex and history work goes through the `extern "C"`
//! helpers in [`crate::eval`], the same functions the interpreter calls.

use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, Signature};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};
use grammar::Span;

use crate::eval::{self, EvalCtx};
use stdlib::{BuiltinId, Implementation};

use crate::ir::{CompiledExprs, FuncId};

/// Why the JIT could not compile a program.
#[derive(Debug, Clone, PartialEq)]
pub struct JitError {
    pub span: Option<Span>,
    pub message: String,
}

fn jit_err(span: Option<Span>, message: impl Into<String>) -> JitError {
    JitError {
        span,
        message: message.into(),
    }
}

mod translate;

use translate::FunctionTranslator;

type Compiled = unsafe extern "C" fn(*mut EvalCtx<'_>) -> u64;
/// A batch: several functions' bodies in one native function, each result stored at
/// its position in the output array.
type CompiledBatch = unsafe extern "C" fn(*mut EvalCtx<'_>, *mut u64);

/// Native code for every function of a [`CompiledExprs`].
pub struct Jit {
    module: Option<JITModule>,
    funcs: Vec<Compiled>,
    /// Fused batches, by the functions they run (in order).
    batches: Vec<(Vec<FuncId>, CompiledBatch)>,
    /// The layout the code was compiled for: (slots, scores, event props).
    shape: (usize, usize, usize),
}

impl Drop for Jit {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: the function pointers die with `self`; nothing calls them afterwards.
            unsafe { m.free_memory() };
        }
    }
}

/// The helpers compiled code may call: name, address, parameter types, result type.
struct HelperSpec {
    name: String,
    addr: *const u8,
    params: &'static [types::Type],
    ret: types::Type,
}

const P: types::Type = types::I64; // pointers are 64-bit on every target we build for
const I: types::Type = types::I64;
const F: types::Type = types::F64;

fn helpers() -> Vec<HelperSpec> {
    let mut specs = vec![
        HelperSpec {
            name: "tandem_text_eq".into(),
            addr: eval::h_text_eq as *const u8,
            params: &[P, I, I],
            ret: I,
        },
        HelperSpec {
            name: "tandem_text_fn".into(),
            addr: eval::h_text_fn as *const u8,
            params: &[P, I, I],
            ret: I,
        },
        HelperSpec {
            name: "tandem_text_test".into(),
            addr: eval::h_text_test as *const u8,
            params: &[P, I, I, I],
            ret: I,
        },
        HelperSpec {
            name: "tandem_matches".into(),
            addr: eval::h_matches as *const u8,
            params: &[P, I, I],
            ret: I,
        },
        HelperSpec {
            name: "tandem_has_tag".into(),
            addr: eval::h_has_tag as *const u8,
            params: &[P, I],
            ret: I,
        },
        HelperSpec {
            name: "tandem_text_number".into(),
            addr: eval::h_text_number as *const u8,
            params: &[P, I, I],
            ret: F,
        },
        HelperSpec {
            name: "tandem_text_flag".into(),
            addr: eval::h_text_flag as *const u8,
            params: &[P, I, I],
            ret: I,
        },
        HelperSpec {
            name: "tandem_engaged".into(),
            addr: eval::h_engaged as *const u8,
            params: &[P, I, I],
            ret: I,
        },
        HelperSpec {
            name: "tandem_count".into(),
            addr: eval::h_count as *const u8,
            params: &[P, I, I, I],
            ret: F,
        },
    ];
    // Numeric and clock built-ins are called directly: their implementations in
    // `stdlib` use the C calling convention.
    for b in stdlib::BUILTINS {
        let (addr, params, ret): (*const u8, &'static [types::Type], _) = match b.implementation {
            Implementation::Number(f) => (f as *const u8, &[F], F),
            Implementation::Number2(f) => (f as *const u8, &[F, F], F),
            Implementation::Since(f) => (f as *const u8, &[I, I], F),
            _ => continue,
        };
        specs.push(HelperSpec {
            name: builtin_symbol(b.id),
            addr,
            params,
            ret,
        });
    }
    specs
}

/// The symbol compiled code calls a built-in's implementation by.
fn builtin_symbol(f: BuiltinId) -> String {
    format!("tandem_builtin_{}", f.name())
}

/// The host's instruction set, configured once per process (building it is most of
/// the cost of compiling a single small predicate).
fn native_isa() -> Result<cranelift_codegen::isa::OwnedTargetIsa, JitError> {
    static ISA: std::sync::OnceLock<Result<cranelift_codegen::isa::OwnedTargetIsa, String>> =
        std::sync::OnceLock::new();
    let made = ISA.get_or_init(|| {
        let mut flags = settings::builder();
        // The IR verifier re-checks Cranelift's own invariants; tests (debug builds) keep it on.
        let verify = if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        };
        for (k, v) in [
            ("use_colocated_libcalls", "false"),
            ("is_pic", "false"),
            ("opt_level", "speed"),
            ("enable_verifier", verify),
        ] {
            flags.set(k, v).map_err(|e| e.to_string())?;
        }
        let isa = cranelift_native::builder()
            .map_err(|e| format!("this machine is not supported by the JIT: {e}"))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| e.to_string())?;
        if isa.pointer_type() != types::I64 {
            return Err("the JIT needs a 64-bit machine".to_owned());
        }
        Ok(isa)
    });
    made.clone().map_err(|m| jit_err(None, m))
}

impl Jit {
    /// Compiles every function of `exprs` to native code.
    pub fn compile(exprs: &CompiledExprs) -> Result<Jit, JitError> {
        Jit::compile_with_batches(exprs, &[])
    }

    /// Also compiles each list of `batches` into one native function that runs those
    /// functions' bodies one after the other and stores each result: a host that always
    /// evaluates the same set together (a score's `if` lines, a round of rules) pays one
    /// call instead of one per function, and loads shared by the bodies (the record's
    /// address) are made once.
    pub fn compile_with_batches(
        exprs: &CompiledExprs,
        batches: &[Vec<FuncId>],
    ) -> Result<Jit, JitError> {
        let isa = native_isa()?;
        let mut builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
        let specs = helpers();
        for h in &specs {
            builder.symbol(h.name.clone(), h.addr);
        }
        let mut module = JITModule::new(builder);
        let call_conv = module.isa().default_call_conv();
        let mut helper_ids = Vec::new();
        for h in &specs {
            let mut sig = Signature::new(call_conv);
            for p in h.params {
                sig.params.push(AbiParam::new(*p));
            }
            sig.returns.push(AbiParam::new(h.ret));
            let id = module
                .declare_function(&h.name, Linkage::Import, &sig)
                .map_err(|e| jit_err(None, e.to_string()))?;
            helper_ids.push((h.name.clone(), id));
        }

        let frontend_config = module.isa().frontend_config();
        let mut ids = Vec::with_capacity(exprs.funcs.len());
        let mut ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        for (i, func) in exprs.funcs.iter().enumerate() {
            ctx.func.signature.params.push(AbiParam::new(P));
            ctx.func.signature.returns.push(AbiParam::new(I));
            let id = module
                .declare_function(
                    &format!("tandem_fn_{i}"),
                    Linkage::Local,
                    &ctx.func.signature,
                )
                .map_err(|e| jit_err(Some(func.body.span), e.to_string()))?;
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let entry = b.create_block();
                b.append_block_params_for_function_params(entry);
                b.switch_to_block(entry);
                b.seal_block(entry);
                let ctx_ptr = b.block_params(entry)[0];
                let mut t = FunctionTranslator {
                    b,
                    module: &mut module,
                    helpers: &helper_ids,
                    exprs,
                    ctx: ctx_ptr,
                };
                let v = t.translate(&func.body)?;
                t.b.ins().return_(&[v]);
                t.b.finalize(frontend_config);
            }
            module
                .define_function(id, &mut ctx)
                .map_err(|e| jit_err(Some(func.body.span), format!("{e:?}")))?;
            module.clear_context(&mut ctx);
            ids.push(id);
        }
        let mut batch_ids = Vec::with_capacity(batches.len());
        for (k, batch) in batches.iter().enumerate() {
            ctx.func.signature.params.push(AbiParam::new(P));
            ctx.func.signature.params.push(AbiParam::new(P));
            let id = module
                .declare_function(
                    &format!("tandem_batch_{k}"),
                    Linkage::Local,
                    &ctx.func.signature,
                )
                .map_err(|e| jit_err(None, e.to_string()))?;
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let entry = b.create_block();
                b.append_block_params_for_function_params(entry);
                b.switch_to_block(entry);
                b.seal_block(entry);
                let ctx_ptr = b.block_params(entry)[0];
                let out_ptr = b.block_params(entry)[1];
                let mut t = FunctionTranslator {
                    b,
                    module: &mut module,
                    helpers: &helper_ids,
                    exprs,
                    ctx: ctx_ptr,
                };
                for (i, f) in batch.iter().enumerate() {
                    let func = exprs
                        .funcs
                        .get(*f)
                        .ok_or_else(|| jit_err(None, format!("batch {k}: no function {f}")))?;
                    let v = t.translate(&func.body)?;
                    let off = i32::try_from(i * 8)
                        .map_err(|_| jit_err(None, format!("batch {k} is too long")))?;
                    t.b.ins().store(MemFlagsData::trusted(), v, out_ptr, off);
                }
                t.b.ins().return_(&[]);
                t.b.finalize(frontend_config);
            }
            module
                .define_function(id, &mut ctx)
                .map_err(|e| jit_err(None, format!("{e:?}")))?;
            module.clear_context(&mut ctx);
            batch_ids.push((batch.clone(), id));
        }
        module
            .finalize_definitions()
            .map_err(|e| jit_err(None, e.to_string()))?;
        let batches = batch_ids
            .into_iter()
            .map(|(funcs, id)| {
                let ptr = module.get_finalized_function(id);
                // SAFETY: the function was declared with exactly this signature.
                (funcs, unsafe {
                    std::mem::transmute::<*const u8, CompiledBatch>(ptr)
                })
            })
            .collect();
        let funcs = ids
            .into_iter()
            .map(|id| {
                let ptr = module.get_finalized_function(id);
                // SAFETY: the function was declared with exactly this signature.
                unsafe { std::mem::transmute::<*const u8, Compiled>(ptr) }
            })
            .collect();
        Ok(Jit {
            module: Some(module),
            funcs,
            batches,
            shape: shape(exprs),
        })
    }

    /// Runs function `f`. The context must have been built for the program this was compiled from.
    pub fn call(&self, f: FuncId, ctx: &mut EvalCtx<'_>) -> u64 {
        if shape(ctx.exprs) != self.shape {
            return 0;
        }
        match self.funcs.get(f) {
            // SAFETY: `EvalCtx::new` checked the records against the layout, and the
            // layout matches the one this code was compiled for (checked above).
            Some(code) => unsafe { code(ctx) },
            None => 0,
        }
    }

    /// Runs each of `fs` in one context, each result into `out` at the same position.
    /// The layout is checked once for the batch instead of once per call: the checks
    /// that make compiled code safe stay, off the per-function path.
    pub fn call_many(&self, fs: &[FuncId], ctx: &mut EvalCtx<'_>, out: &mut [u64]) {
        if shape(ctx.exprs) != self.shape {
            out.iter_mut().for_each(|o| *o = 0);
            return;
        }
        if out.len() >= fs.len() {
            // Compared in line (a few words; a `memcmp` call per lead costs more).
            let same =
                |ids: &[FuncId]| ids.len() == fs.len() && ids.iter().zip(fs).all(|(a, b)| a == b);
            if let Some((_, code)) = self.batches.iter().find(|(ids, _)| same(ids)) {
                // SAFETY: as in `call`; and `out` has room for every result the batch
                // stores (checked above).
                unsafe { code(ctx, out.as_mut_ptr()) };
                return;
            }
        }
        for (f, o) in fs.iter().zip(out.iter_mut()) {
            *o = match self.funcs.get(*f) {
                // SAFETY: as in `call`: the context's records were checked against the
                // layout, and the layout is the one this code was compiled for.
                Some(code) => unsafe { code(ctx) },
                None => 0,
            };
        }
    }

    pub fn len(&self) -> usize {
        self.funcs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.funcs.is_empty()
    }
}

fn shape(exprs: &CompiledExprs) -> (usize, usize, usize) {
    (
        exprs.layout.slots.len(),
        exprs.scores.len(),
        exprs.layout.max_event_props,
    )
}

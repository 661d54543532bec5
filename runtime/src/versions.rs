//! Journey versions (docs/language.md, "Deploying a new version"): at a deploy, every journey version that leads are still inside is kept — compiled into the new program under a name of its own, with no entry — so those leads finish the version they entered with while new entries use the newest.
//!
//! How a deploy is put together ([`compose`]):
//!
//! 1. The new program is checked on its own (a broken one is refused as it is).
//! 2. It is compared with the running one by meaning (`compiler::diff`). A journey that
//!    leads are inside and whose meaning changed or that the new program removes is
//!    *kept*: its declaration's text, exactly as it was, becomes a journey file of the
//!    new program (`<kept>/NAME__HASH.journey`), renamed `NAME__HASH` (HASH: FNV-1a of
//!    the text, so the same version always gets the same name) and without its `enter`
//!    clauses. A version kept by an earlier deploy stays kept while leads are inside.
//! 3. The whole is checked. The kept text is checked against the *new* declarations, so a
//!    kept version that uses a field, event, template, segment or journey the new program
//!    removes is an error in its file: the deploy is refused, naming the journey, how many
//!    leads are inside, and what it refers to.
//!
//! [`Program::from_checked`](crate::embed::Program::from_checked) then gives kept
//! journeys back their own name (timeline lines, dashboards and `split` choices use it)
//! and lists them after the program's own journeys; the engine never enters them and
//! treats a lead inside any version of a journey as inside that journey.

use compiler::{ProgramSource, SourceText};
use grammar::ast::{DeclKind, JourneyHeaderKind};

use crate::embed::Program;

/// Where kept journey versions live in a composed program (no program folder can hold
/// such a path: it is not read from disk).
pub const KEPT_PREFIX: &str = "<kept>/";

/// Why a deploy was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq)]
pub enum DeployError {
    /// The new program does not check: its errors as `path:line: CODE message`.
    Check(Vec<String>),
    /// A journey version that leads are still in refers to something the new program
    /// removes.
    KeptVersion {
        /// The journey's name.
        journey: String,
        /// Leads inside that version.
        leads: u64,
        /// The checker's message about the kept version (what it refers to).
        message: String,
    },
    /// The engine cannot carry the state over (a removed handoff with open tasks, …).
    State(String),
}

impl std::fmt::Display for DeployError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeployError::Check(errors) => write!(f, "the program has errors: {}", errors.join("; ")),
            DeployError::KeptVersion {
                journey,
                leads,
                message,
            } => write!(
                f,
                "journey `{journey}`: {leads} lead(s) are still inside the running version, which the new program would break: {message}; keep what it uses, or let those leads finish first"
            ),
            DeployError::State(m) => f.write_str(m),
        }
    }
}

/// The errors of a checked workspace as `path:line: CODE message`.
pub fn error_lines(ws: &compiler::Workspace) -> Vec<String> {
    ws.diagnostics()
        .iter()
        .filter(|d| d.severity == compiler::Severity::Error)
        .map(|d| {
            let (path, line) = ws
                .file(d.span.file)
                .map(|f| {
                    let (line, _) = grammar::span::line_col(&f.text, d.span.start as usize);
                    (f.path.clone(), line)
                })
                .unwrap_or_default();
            format!("{path}:{line}: {} {}", d.code, d.message)
        })
        .collect()
}

/// Compiles a program its caller has checked into `ws`; the errors as `CODE message`.
fn compile_checked(
    ws: compiler::Workspace,
    source: &ProgramSource,
) -> Result<Program, Vec<String>> {
    Program::from_checked(ws, source).map_err(|diags| {
        diags
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect()
    })
}

/// Checks and compiles a program; the errors as [`error_lines`] writes them.
pub fn compile(source: &ProgramSource) -> Result<Program, Vec<String>> {
    let ws = compiler::check_program(source);
    if ws.has_errors() {
        return Err(error_lines(&ws));
    }
    compile_checked(ws, source)
}

/// Puts together the program to deploy: `new` plus every journey version of `old` that
/// leads are still inside (`waiting`: leads per journey and step of `old`, from
/// `Engine::journey_positions`) and that `new` changes or removes. Checks it and
/// compiles it; also gives what `new` changes in meaning (`compiler::diff`).
pub fn compose(
    old: &Program,
    waiting: &[Vec<u64>],
    new: &ProgramSource,
) -> Result<(Program, Vec<compiler::diff::DeclChange>), DeployError> {
    let alone = compile(new).map_err(DeployError::Check)?;
    let changes = compiler::diff::diff_programs(
        (old.lowered(), old.workspace()),
        (alone.lowered(), alone.workspace()),
    );
    let changed: Vec<&String> = changes
        .iter()
        .filter(|c| c.kind == compiler::diff::DeclKind::Journey)
        .map(|c| &c.name)
        .collect();
    let taken: Vec<&str> = alone
        .lowered()
        .journeys
        .iter()
        .map(|j| j.name.as_str())
        .collect();
    let mut composed = new.clone();
    let mut kept: Vec<(String, String, u64)> = Vec::new(); // (journey, file, leads)
    for (j, journey) in old.lowered().journeys.iter().enumerate() {
        let leads: u64 = waiting.get(j).map(|n| n.iter().sum()).unwrap_or(0);
        if leads == 0 || (journey.kept_as.is_none() && !changed.contains(&&journey.name)) {
            continue;
        }
        let Some(text) = kept_text(old, j, &taken) else {
            return Err(DeployError::State(format!(
                "cannot find the source of journey `{}`",
                journey.name
            )));
        };
        let (name, text) = text;
        let path = format!("{KEPT_PREFIX}{name}.journey");
        if composed.journeys.iter().any(|f| f.path == path) {
            continue;
        }
        composed.journeys.push(SourceText {
            path: path.clone(),
            text,
        });
        kept.push((journey.name.clone(), path, leads));
    }
    let ws = compiler::check_program(&composed);
    if ws.has_errors() {
        for d in ws.diagnostics() {
            if d.severity != compiler::Severity::Error {
                continue;
            }
            let path = ws.file(d.span.file).map(|f| f.path.as_str()).unwrap_or("");
            if let Some((journey, _, leads)) = kept.iter().find(|(_, p, _)| p == path) {
                return Err(DeployError::KeptVersion {
                    journey: journey.clone(),
                    leads: *leads,
                    message: d.message.clone(),
                });
            }
        }
        return Err(DeployError::Check(error_lines(&ws)));
    }
    let program = compile_checked(ws, &composed).map_err(DeployError::Check)?;
    Ok((program, changes))
}

/// The text of journey `j` of `program` as a kept version: its declaration renamed
/// `NAME__HASH` (unless it is a kept version already) and without `enter` clauses.
/// Returns the kept name and the text.
fn kept_text(program: &Program, j: usize, taken: &[&str]) -> Option<(String, String)> {
    let journey = program.lowered().journeys.get(j)?;
    let file = program.workspace().file(journey.span.file)?;
    let ast = file.ast()?;
    let decl = ast.decls.iter().find_map(|d| match &d.kind {
        DeclKind::Journey(jd) if jd.name.span == journey.span => Some((d, jd)),
        _ => None,
    })?;
    let (decl, jd) = decl;
    let start = decl.span.start as usize;
    let text = file.text.get(start..decl.span.end as usize)?;
    let name = match &journey.kept_as {
        Some(kept) => kept.clone(),
        None => {
            let mut name = format!("{}__{:08x}", journey.name, fnv1a32(text));
            while taken.contains(&name.as_str()) {
                name.push('_');
            }
            name
        }
    };
    // Cut the `enter` clauses and put the new name in, back to front so offsets hold.
    let mut cuts: Vec<(usize, usize, &str)> = jd
        .header
        .iter()
        .filter(|h| {
            matches!(
                h.kind,
                JourneyHeaderKind::EnterOn { .. } | JourneyHeaderKind::EnterWhen(_)
            )
        })
        .map(|h| {
            (
                h.span.start as usize - start,
                h.span.end as usize - start,
                "",
            )
        })
        .collect();
    cuts.push((
        jd.name.span.start as usize - start,
        jd.name.span.end as usize - start,
        name.as_str(),
    ));
    cuts.sort_by_key(|c| std::cmp::Reverse(c.0));
    let mut out = text.to_owned();
    for (a, b, with) in cuts {
        if a <= b && b <= out.len() && out.is_char_boundary(a) && out.is_char_boundary(b) {
            out.replace_range(a..b, with);
        }
    }
    out.push('\n');
    Some((name, out))
}

fn fnv1a32(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Marks the kept versions of a freshly lowered program: journeys declared in
/// [`KEPT_PREFIX`] files get their own name back (`kept_as` keeps the compiled one) and
/// go after the program's own journeys, so a lookup by name finds the newest version.
pub fn mark_kept(lowered: &mut compiler::program::LoweredProgram, ws: &compiler::Workspace) {
    let mut any = false;
    for j in &mut lowered.journeys {
        let kept = ws
            .file(j.span.file)
            .is_some_and(|f| f.path.starts_with(KEPT_PREFIX));
        if !kept {
            continue;
        }
        any = true;
        let own = j
            .name
            .rsplit_once("__")
            .map(|(n, _)| n.to_owned())
            .unwrap_or_else(|| j.name.clone());
        j.kept_as = Some(std::mem::replace(&mut j.name, own.clone()));
        j.graph.name = own;
    }
    if any {
        lowered.journeys.sort_by_key(|j| j.kept_as.is_some());
    }
}

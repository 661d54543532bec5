//! Rebuilding the world at start or after a reload: the newest valid snapshot and the inputs after it, or the whole log, replayed through the engine with the dashboard fed.

use std::borrow::Borrow;

use super::*;

/// Applies the next `count` logged inputs (all that are left when `None`) to a world
/// being rebuilt, counting and showing their lines.
fn replay<I: Borrow<Input>>(
    running: &mut Running,
    inputs: &mut impl Iterator<Item = I>,
    count: Option<usize>,
    lines: &mut u64,
    observe: &mut impl FnMut(&Program, &[Line], &runtime::engine::Engine<'_>),
) {
    running.with(|program, world| {
        for input in inputs.take(count.unwrap_or(usize::MAX)) {
            let new = world.input(input.borrow());
            *lines += new.len() as u64;
            observe(program, &new, world.engine_ref());
        }
    });
}

/// Rebuilds the world from a store's input log, version by version: each stored program
/// version runs from the input where it was installed, deployed there as it was live.
/// `versions` is [`Store::programs`] (at least one); `observe` sees every line the replay
/// produces, with the program running then (first with no lines, before the first
/// input, when the rebuild starts from nothing). No effects: they were produced the
/// first time. With `from`, the rebuild starts from that world and `inputs` are the
/// log's inputs after its position.
pub fn rebuild(
    versions: Vec<crate::store::StoredVersion>,
    inputs: &[Input],
    start: i64,
    kind: EvaluatorKind,
    from: Option<StartFrom>,
    observe: impl FnMut(&Program, &[Line], &runtime::engine::Engine<'_>),
) -> Result<Rebuilt, String> {
    rebuild_streaming(versions, inputs.iter(), start, kind, from, observe)
}

/// [`rebuild`] with the inputs read as the replay goes (a store's log page by page, for
/// a host that must not hold the whole log: `tandem backtest`).
pub fn rebuild_streaming<I: Borrow<Input>>(
    mut versions: Vec<crate::store::StoredVersion>,
    inputs: impl Iterator<Item = I>,
    start: i64,
    kind: EvaluatorKind,
    from: Option<StartFrom>,
    mut observe: impl FnMut(&Program, &[Line], &runtime::engine::Engine<'_>),
) -> Result<Rebuilt, String> {
    let mut inputs = inputs;
    let sorted = |v: &crate::store::StoredVersion| {
        let mut files = v.files.clone();
        files.sort();
        files
    };
    let (mut running, mut version, mut files, offset, mut lines) = match from {
        Some(f) => {
            versions.retain(|v| v.version > f.version);
            (f.running, f.version, f.files, f.position, f.lines)
        }
        None => {
            // Versions stored before journey versions existed were each replayed over
            // the whole log: the latest of them is where the replay starts.
            if let Some(legacy) = versions.iter().rposition(|v| v.inputs_before.is_none()) {
                versions.drain(..legacy);
            }
            let first = versions
                .first()
                .ok_or("the store holds no program version")?;
            let files = sorted(first);
            let program = check(&files).map_err(|e| {
                format!(
                    "stored program version {} does not check: {}",
                    first.version,
                    e.join("; ")
                )
            })?;
            let mut running = Running::start(program, |p| p.world_without_log(kind))
                .map_err(|e| format!("the engine cannot run this program: {}", e.0))?;
            running.with(|program, world| {
                world.start(start);
                observe(program, &[], world.engine_ref());
            });
            let version = first.version;
            versions.remove(0);
            (running, version, files, 0, 0u64)
        }
    };
    let mut done = 0usize;
    for v in &versions {
        let until = usize::try_from(v.inputs_before.unwrap_or(0).saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .max(done);
        replay(
            &mut running,
            &mut inputs,
            Some(until - done),
            &mut lines,
            &mut observe,
        );
        done = until;
        let waiting = running.with(|program, world| {
            let new = world.advance_to(v.at);
            lines += new.len() as u64;
            observe(program, &new, world.engine_ref());
            world.engine_ref().journey_positions()
        });
        let next_files = sorted(v);
        let (next, _) = runtime::versions::compose(
            running.program(),
            &waiting,
            &ProgramSource::from_files(&next_files),
        )
        .map_err(|e| format!("stored program version {}: {e}", v.version))?;
        running = running
            .deploy(next, kind)
            .map_err(|e| format!("stored program version {}: {}", v.version, e.0))?;
        version = v.version;
        files = next_files;
    }
    replay(&mut running, &mut inputs, None, &mut lines, &mut observe);
    Ok(Rebuilt {
        running,
        version,
        files,
        lines,
    })
}

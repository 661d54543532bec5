//! `tandem simulate`: a scenario through the engine, the timeline's exact bytes out.
//!
//! The whole scenario is validated before the first line is written: a first read
//! keeps nothing. Then three stages run at once, joined by short bounded queues, so
//! memory follows the leads, not the inputs or the lines: a reader thread reads the
//! scenario again and hands typed inputs over in batches, this thread runs them through
//! the engine, and a writer thread writes each batch's lines through one buffered
//! writer as they come.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::*;
use runtime::scenario::{Input, Window};
use runtime::timeline::Line;

/// Inputs per batch handed from the reader to the engine.
const BATCH: usize = 256;
/// Batches in flight between two stages.
const QUEUE: usize = 8;

pub(crate) fn simulate(
    dir: &std::path::Path,
    scenario: &std::path::Path,
    engine: compiler::evaluator::EvaluatorKind,
    trace: bool,
) -> ExitCode {
    let ready = match prepare(dir) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let text = match std::fs::read_to_string(scenario) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", scenario.display())),
    };
    let symbols = ready.workspace().symbols();
    let window = match runtime::scenario::read_scenario(&text, symbols, &mut |_| {}) {
        Ok(w) => w,
        Err(e) => return fail(format!("{}: {e}", scenario.display())),
    };
    // No input log: a simulation never takes a snapshot.
    let mut world = match ready.world_without_log(engine) {
        Ok(w) => w,
        Err(e) => return fail(e.0),
    };
    world.set_trace(trace);
    world.start(window.start);
    let (inputs_tx, inputs_rx) = sync_channel::<Vec<Input>>(QUEUE);
    let (lines_tx, lines_rx) = sync_channel::<Vec<Line>>(QUEUE);
    let (again, written) = std::thread::scope(|s| {
        let reader = s.spawn(|| read_again(&text, symbols, inputs_tx));
        let writer = s.spawn(|| write_lines(lines_rx));
        run(&mut world, window, inputs_rx, lines_tx);
        (reader.join(), writer.join())
    });
    match again {
        Ok(Ok(w)) if w == window => {}
        _ => {
            return fail(format!(
                "{}: the scenario read differently the second time",
                scenario.display()
            ))
        }
    }
    match written {
        Ok(Ok(())) => ExitCode::SUCCESS,
        _ => ExitCode::from(2),
    }
}

/// The reader: the validated scenario again, its inputs in batches.
fn read_again(
    text: &str,
    symbols: &compiler::symbols::Symbols,
    to_engine: SyncSender<Vec<Input>>,
) -> Result<Window, runtime::scenario::ScenarioError> {
    let mut batch = Vec::with_capacity(BATCH);
    let window = runtime::scenario::read_scenario(text, symbols, &mut |input| {
        batch.push(input);
        if batch.len() == BATCH {
            // A closed queue means the engine stopped (the writer failed): the rest
            // is read for nothing.
            let _ = to_engine.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
        }
    })?;
    let _ = to_engine.send(batch);
    Ok(window)
}

/// The engine: every input, then the clock to the scenario's end; each batch's lines
/// to the writer.
fn run(
    world: &mut runtime::embed::World<'_>,
    window: Window,
    from_reader: Receiver<Vec<Input>>,
    to_writer: SyncSender<Vec<Line>>,
) {
    for batch in from_reader {
        let mut lines = Vec::new();
        for input in &batch {
            lines.append(&mut world.input(input));
        }
        if to_writer.send(lines).is_err() {
            return;
        }
    }
    let _ = to_writer.send(world.advance_to(window.until));
}

/// The writer: lines to standard output, one buffered writer.
fn write_lines(from_engine: Receiver<Vec<Line>>) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    for lines in from_engine {
        for line in &lines {
            line.write_json(&mut out)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

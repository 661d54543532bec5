//! Journey step graphs: a journey's steps flattened into numbered nodes with explicit successors, the data the runtime walks (waits, branches, splits, actions).

use grammar::ast::*;
use grammar::Span;

use crate::ir::FuncId;

/// A node index in [`JourneyGraph::nodes`].
pub type NodeId = usize;

/// An action with its expressions compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionIr {
    /// `set FIELD = EXPR`: the field's name and the function computing the value.
    Set {
        field: String,
        value: FuncId,
    },
    Tag(String),
    Untag(String),
    Send(String),
    Enroll(String),
    /// `notify team T`, `notify owner`, `notify "a@b"`: the target and the text template.
    Notify {
        target: NotifyTo,
        text: String,
    },
    Handoff(String),
    Webhook(String),
    Exit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTo {
    Team(String),
    Owner,
    Address(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Action(ActionIr),
    /// `wait D`.
    Wait {
        secs: i64,
    },
    /// `wait until [DAYS] H:MM`: weekday mask (bit 0 = Monday) and minutes after midnight.
    WaitClock {
        days: u8,
        minute: u32,
    },
    /// `wait until [D before|after] FIELD [at H:MM]`: the instant in the time field
    /// `field`, moved by `offset_secs` (negative: before), then put at `minute` after
    /// midnight of that day in the lead's zone when `at` is given.
    WaitDate {
        field: String,
        offset_secs: i64,
        minute: Option<u32>,
    },
    /// `wait for EVENT [where F] up to D`: `next` on the event, `timeout` after D.
    WaitFor {
        event: String,
        filter: Option<FuncId>,
        up_to_secs: i64,
        timeout: NodeId,
    },
    /// `wait until COND up to D`: `next` when the condition holds, `timeout` after D.
    WaitUntil {
        cond: FuncId,
        up_to_secs: i64,
        timeout: NodeId,
    },
    /// `if … else if … else`: the first condition that holds picks its node, else `next`.
    Branch {
        arms: Vec<(FuncId, NodeId)>,
    },
    /// `split`: the k-th split of the journey (for the FNV-1a choice) and its arms.
    Split {
        index: usize,
        arms: Vec<(u64, NodeId)>,
    },
    /// The end of the journey (reason `completed`).
    End,
}

/// One step: what it does, where it is in the source, and what comes after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
    /// The node after this one (for `Branch`, the `else` path; unused for `End`).
    pub next: NodeId,
}

/// A journey's steps as a graph; node 0 is the entry.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyGraph {
    pub name: String,
    pub nodes: Vec<Node>,
}

/// Compiles a condition (with the event in scope, if any) to a function.
pub type LowerFn<'f> = dyn FnMut(&Expr, Option<&str>) -> Result<FuncId, crate::ir::LowerError> + 'f;

/// Builds graphs; `lower` compiles a condition (with the event in scope, if any) to a function.
pub struct GraphBuilder<'f> {
    nodes: Vec<Node>,
    lower: &'f mut LowerFn<'f>,
}

impl<'f> GraphBuilder<'f> {
    pub fn new(lower: &'f mut LowerFn<'f>) -> GraphBuilder<'f> {
        GraphBuilder {
            nodes: Vec::new(),
            lower,
        }
    }

    /// Flattens a journey: node 0 is its first step (or the end).
    pub fn journey(mut self, j: &JourneyDecl) -> Result<JourneyGraph, crate::ir::LowerError> {
        let entry = self.push(NodeKind::End, j.name.span);
        let end = self.push(NodeKind::End, j.name.span);
        let first = self.block(&j.steps, None, end)?;
        // Node 0 jumps straight to the first step: an `End` would finish the journey,
        // so make the entry a zero wait that the runtime passes through at once.
        self.nodes[entry] = Node {
            kind: NodeKind::Wait { secs: 0 },
            span: j.name.span,
            next: first,
        };
        let mut graph = JourneyGraph {
            name: j.name.name.clone(),
            nodes: self.nodes,
        };
        number_splits(&mut graph);
        Ok(graph)
    }

    fn push(&mut self, kind: NodeKind, span: Span) -> NodeId {
        self.nodes.push(Node {
            kind,
            span,
            next: 0,
        });
        self.nodes.len() - 1
    }

    /// Lowers a block whose last step continues at `after`; returns its first node.
    fn block(
        &mut self,
        steps: &[Step],
        event: Option<&str>,
        after: NodeId,
    ) -> Result<NodeId, crate::ir::LowerError> {
        let mut next = after;
        // Build back to front so every node knows its successor.
        for s in steps.iter().rev() {
            next = self.step(s, event, next)?;
        }
        Ok(next)
    }

    fn action(
        &mut self,
        a: &Action,
        event: Option<&str>,
    ) -> Result<ActionIr, crate::ir::LowerError> {
        lower_action(a, event, &mut *self.lower)
    }

    fn step(
        &mut self,
        s: &Step,
        event: Option<&str>,
        after: NodeId,
    ) -> Result<NodeId, crate::ir::LowerError> {
        let secs =
            |d: &Option<DurationLit>| d.as_ref().map(|d| d.seconds.round() as i64).unwrap_or(0);
        let (kind, next) = match &s.kind {
            StepKind::Action(a) => (NodeKind::Action(self.action(a, event)?), after),
            StepKind::Wait(d) => (
                NodeKind::Wait {
                    secs: d.seconds.round() as i64,
                },
                after,
            ),
            StepKind::WaitClock { days, clock } => (
                NodeKind::WaitClock {
                    days: days.as_ref().map(|d| d.mask).unwrap_or(0x7f),
                    minute: clock.hour * 60 + clock.minute,
                },
                after,
            ),
            StepKind::WaitDate { offset, field, at } => (
                NodeKind::WaitDate {
                    field: field.name.clone(),
                    offset_secs: offset
                        .as_ref()
                        .map(|(d, before)| {
                            let s = d.seconds.round() as i64;
                            if *before {
                                -s
                            } else {
                                s
                            }
                        })
                        .unwrap_or(0),
                    minute: at.as_ref().map(|c| c.hour * 60 + c.minute),
                },
                after,
            ),
            StepKind::WaitFor {
                event: ev,
                filter,
                up_to,
                body,
                timeout,
            } => {
                let filter = match filter {
                    Some(f) => Some((self.lower)(f, Some(&ev.name))?),
                    None => None,
                };
                let on_event = match body {
                    Some(b) => self.block(b, Some(&ev.name), after)?,
                    None => after,
                };
                let on_timeout = match timeout {
                    Some(t) => self.block(t, event, after)?,
                    None => after,
                };
                (
                    NodeKind::WaitFor {
                        event: ev.name.clone(),
                        filter,
                        up_to_secs: secs(up_to),
                        timeout: on_timeout,
                    },
                    on_event,
                )
            }
            StepKind::WaitUntil {
                cond,
                up_to,
                body,
                timeout,
            } => {
                let cond = (self.lower)(cond, event)?;
                let on_true = match body {
                    Some(b) => self.block(b, event, after)?,
                    None => after,
                };
                let on_timeout = match timeout {
                    Some(t) => self.block(t, event, after)?,
                    None => after,
                };
                (
                    NodeKind::WaitUntil {
                        cond,
                        up_to_secs: secs(up_to),
                        timeout: on_timeout,
                    },
                    on_true,
                )
            }
            StepKind::If {
                branches,
                otherwise,
            } => {
                let mut arms = Vec::new();
                for (c, b) in branches {
                    let f = (self.lower)(c, event)?;
                    let target = self.block(b, event, after)?;
                    arms.push((f, target));
                }
                let other = match otherwise {
                    Some(o) => self.block(o, event, after)?,
                    None => after,
                };
                (NodeKind::Branch { arms }, other)
            }
            StepKind::Split(arms) => {
                // The graph is built back to front; `number_splits` gives the
                // source-order index once the whole journey is built.
                let index = 0;
                let mut out = Vec::new();
                for a in arms {
                    let target = self.block(&a.steps, event, after)?;
                    out.push((a.percent.value, target));
                }
                (NodeKind::Split { index, arms: out }, after)
            }
        };
        let id = self.push(kind, s.span);
        self.nodes[id].next = next;
        Ok(id)
    }
}

/// Lowers an action; `lower` compiles a `set` value (with the event in scope, if any).
pub fn lower_action(
    a: &Action,
    event: Option<&str>,
    lower: &mut LowerFn<'_>,
) -> Result<ActionIr, crate::ir::LowerError> {
    Ok(match &a.kind {
        ActionKind::Set { field, value } => ActionIr::Set {
            field: field.name.clone(),
            value: lower(value, event)?,
        },
        ActionKind::Tag(t) => ActionIr::Tag(t.value.clone()),
        ActionKind::Untag(t) => ActionIr::Untag(t.value.clone()),
        ActionKind::Send(t) => ActionIr::Send(t.name.clone()),
        ActionKind::Enroll(j) => ActionIr::Enroll(j.name.clone()),
        ActionKind::Notify { target, text } => ActionIr::Notify {
            target: match target {
                NotifyTarget::Team(t) => NotifyTo::Team(t.name.clone()),
                NotifyTarget::Owner(_) => NotifyTo::Owner,
                NotifyTarget::Address(a) => NotifyTo::Address(a.value.clone()),
            },
            text: text.value.clone(),
        },
        ActionKind::Handoff(h) => ActionIr::Handoff(h.name.clone()),
        ActionKind::Webhook(w) => ActionIr::Webhook(w.name.clone()),
        ActionKind::Exit => ActionIr::Exit,
    })
}

/// Numbers a journey's splits in source order (0-based), as the FNV-1a choice needs.
fn number_splits(graph: &mut JourneyGraph) {
    let mut splits: Vec<(u32, usize)> = graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n.kind, NodeKind::Split { .. }))
        .map(|(i, n)| (n.span.start, i))
        .collect();
    splits.sort();
    for (k, (_, i)) in splits.into_iter().enumerate() {
        if let NodeKind::Split { index, .. } = &mut graph.nodes[i].kind {
            *index = k;
        }
    }
}

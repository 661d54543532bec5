//! Sales handoff figures: the tasks as they stand now (open, and open after an SLA escalated them, per rep) and, by day, the tasks each rep accepted and rejected, how long each accepted one waited, and why rejected ones were (with the lead's source and journey).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Day;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum TaskState {
    Open,
    Accepted,
    Rejected,
    Completed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TaskStat {
    team: String,
    assignee: String,
    created: i64,
    escalated: bool,
    state: TaskState,
}

/// (team, assignee) → open now, open and escalated now.
pub type RepNow = ((String, String), [u64; 2]);
/// (day, team, assignee) → accepted, rejected that day.
pub type RepDay = ((Day, String, String), [u64; 2]);
/// (day, reason, source, journey) → rejections that day.
pub type ReasonDay = ((Day, String, String, String), u64);

/// The handoff counters (see the module's comment).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HandoffBook {
    tasks: BTreeMap<String, TaskStat>,
    decided: BTreeMap<(Day, String, String), [u64; 2]>,
    /// (accept day, team) → seconds from creation to acceptance.
    accept_secs: BTreeMap<(Day, String), Vec<i64>>,
    reasons: BTreeMap<(Day, String, String, String), u64>,
}

impl HandoffBook {
    pub fn created(&mut self, task: &str, team: &str, assignee: &str, at: i64) {
        self.tasks.insert(
            task.to_owned(),
            TaskStat {
                team: team.to_owned(),
                assignee: assignee.to_owned(),
                created: at,
                escalated: false,
                state: TaskState::Open,
            },
        );
    }

    pub fn escalated(&mut self, task: &str) {
        if let Some(t) = self.tasks.get_mut(task) {
            t.escalated = true;
        }
    }

    pub fn reassigned(&mut self, task: &str, to: &str) {
        if let Some(t) = self.tasks.get_mut(task) {
            t.assignee = to.to_owned();
        }
    }

    fn decide(&mut self, task: &str, day: Day, state: TaskState) -> Option<&TaskStat> {
        let t = self.tasks.get_mut(task)?;
        t.state = state;
        let column = if state == TaskState::Accepted { 0 } else { 1 };
        let c = self
            .decided
            .entry((day, t.team.clone(), t.assignee.clone()))
            .or_insert([0; 2]);
        c[column] = c[column].saturating_add(1);
        Some(t)
    }

    pub fn accepted(&mut self, task: &str, day: Day, at: i64) {
        if let Some(t) = self.decide(task, day, TaskState::Accepted) {
            let (team, took) = (t.team.clone(), at - t.created);
            self.accept_secs.entry((day, team)).or_default().push(took);
        }
    }

    pub fn completed(&mut self, task: &str) {
        if let Some(t) = self.tasks.get_mut(task) {
            t.state = TaskState::Completed;
        }
    }

    /// A rejection, with the lead's source and journey then.
    pub fn rejected(&mut self, task: &str, day: Day, reason: &str, source: &str, journey: &str) {
        self.decide(task, day, TaskState::Rejected);
        let n = self
            .reasons
            .entry((
                day,
                reason.to_owned(),
                source.to_owned(),
                journey.to_owned(),
            ))
            .or_insert(0);
        *n = n.saturating_add(1);
    }

    /// Open and open-and-escalated tasks per rep, now.
    pub fn reps_now(&self) -> Vec<RepNow> {
        let mut reps: BTreeMap<(String, String), [u64; 2]> = BTreeMap::new();
        for t in self.tasks.values().filter(|t| t.state == TaskState::Open) {
            let r = reps
                .entry((t.team.clone(), t.assignee.clone()))
                .or_insert([0; 2]);
            r[0] += 1;
            if t.escalated {
                r[1] += 1;
            }
        }
        reps.into_iter().collect()
    }

    pub fn decided(&self) -> Vec<RepDay> {
        self.decided.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    pub fn accept_secs(&self) -> Vec<((Day, String), Vec<i64>)> {
        self.accept_secs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn reasons(&self) -> Vec<ReasonDay> {
        self.reasons.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

//! The kinds of timeline lines, named once: what a webhook may subscribe to (`events = [...]` in `tandem.toml`), checked by the checker and used by the service.

/// Every `kind` a timeline line can have, in the order the language lists them.
pub const TIMELINE_KINDS: &[&str] = &[
    "lead_created",
    "lead_updated",
    "event",
    "score_changed",
    "stage_changed",
    "tag_added",
    "tag_removed",
    "rule_fired",
    "journey_entered",
    "journey_exited",
    "email_sent",
    "email_suppressed",
    "email_deferred",
    "notified",
    "webhook_called",
    "task_created",
    "task_escalated",
    "task_reassigned",
    "task_accepted",
    "task_completed",
    "task_rejected",
    "report_sent",
    "error",
];

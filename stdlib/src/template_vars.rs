//! The variables a message template can read, defined once: the checker accepts exactly these and the renderer builds exactly these.

/// Where a template is written, which decides the variables it can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// An email template file (`templates/NAME.md|html`): subject and body.
    Email,
    /// A `notify` text or task title written inside a journey.
    InlineInJourney,
    /// A `notify` text or task title written in a rule, handoff or schedule.
    Inline,
}

/// One variable of the template context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateVar {
    /// Its name at the top of the context.
    pub name: &'static str,
    /// What it holds (for hovers and the language reference).
    pub doc: &'static str,
    /// Whether inline texts (`notify`, task titles) can read it too.
    pub inline: bool,
    /// Whether only texts inside a journey can read it.
    pub journey_only: bool,
}

/// Every variable a template can read.
pub const TEMPLATE_VARS: &[TemplateVar] = &[
    TemplateVar {
        name: "lead",
        doc: "the lead: every field by name (`lead.name`, `lead.stage`, `lead.tags`), \
              and `lead.score.NAME` for each score; whole numbers as integers, times as \
              `YYYY-MM-DD HH:MM` in the lead's time zone",
        inline: true,
        journey_only: false,
    },
    TemplateVar {
        name: "journey",
        doc: "the name of the journey the message is sent from (empty outside one)",
        inline: true,
        journey_only: true,
    },
    TemplateVar {
        name: "unsubscribe_url",
        doc: "the lead's signed one-click unsubscribe link (email templates only)",
        inline: false,
        journey_only: false,
    },
];

/// The names a template of this kind can read, in context order.
pub fn template_vars(kind: TemplateKind) -> Vec<&'static str> {
    TEMPLATE_VARS
        .iter()
        .filter(|v| match kind {
            TemplateKind::Email => true,
            TemplateKind::InlineInJourney => v.inline,
            TemplateKind::Inline => v.inline && !v.journey_only,
        })
        .map(|v| v.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_its_own_variables() {
        assert_eq!(
            template_vars(TemplateKind::Email),
            ["lead", "journey", "unsubscribe_url"]
        );
        assert_eq!(
            template_vars(TemplateKind::InlineInJourney),
            ["lead", "journey"]
        );
        assert_eq!(template_vars(TemplateKind::Inline), ["lead"]);
    }
}

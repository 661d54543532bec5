//! Templates: rendering an email or a task title for a lead, and the lead as a webhook payload shows it.

use super::*;

/// The templates room's state: each template's parts and the one renderer.
pub(super) struct Templates {
    pub(super) templates: FxHashMap<String, TemplateParts>,
    /// The one renderer (plain texts here; email bodies for the service), with every
    /// template met so far compiled once.
    pub(super) renderer: crate::render::Renderer,
}

impl<'p> Engine<'p> {
    /// The `lead` variable of the template context, with only the fields `reads` names
    /// (`score` stands for every score).
    pub(super) fn lead_context(&self, lead: usize, reads: &[String]) -> minijinja::Value {
        let tz = self.lead_tz(lead);
        let fields = reads.iter().filter_map(|name| {
            let slot = self.exprs.layout.slot(name)?;
            Some((
                name.clone(),
                crate::render::field(self.field_value(lead, slot), &tz),
            ))
        });
        let scores = reads.iter().any(|r| r == "score").then(|| {
            self.exprs
                .scores
                .iter()
                .enumerate()
                .map(|(i, name)| (name.clone(), self.leads[lead].score_value[i]))
                .collect()
        });
        crate::render::lead_value(fields, scores)
    }

    /// Renders a plain-text template (a subject, a `notify` text, a task title) for the
    /// timeline: CR and LF removed. A template that fails to render reads as its source
    /// here (the checker refuses the ones it can see); the service never mails one
    /// (see [`Engine::render_email`]).
    pub(super) fn render(&self, lead: usize, source: &str, journey: Option<usize>) -> String {
        let reads = self.mail.renderer.fields_read(&[source], None);
        let ctx = crate::render::context(
            self.lead_context(lead, &reads),
            journey.map(|j| self.p.journeys[j].name.as_str()),
            &format!("https://tandem.invalid/u/{}", self.lead_id(lead)),
        );
        self.mail
            .renderer
            .plain(source, &ctx)
            .unwrap_or_else(|_| crate::render::escape::one_line(source))
    }

    /// Renders the email `template` for a lead as it is now, with the caller's
    /// unsubscribe link — the same renderer and context as the subject on the timeline.
    /// `None` for an unknown lead or template.
    pub fn render_email(
        &self,
        lead_id: &str,
        template: &str,
        journey: Option<&str>,
        unsubscribe_url: &str,
    ) -> Option<Result<crate::render::RenderedEmail, crate::render::RenderError>> {
        let lead = self.lead(lead_id)?;
        let parts = self.mail.templates.get(template)?;
        let reads = self.mail.renderer.fields_read(&[], Some(parts));
        let ctx = crate::render::context(self.lead_context(lead, &reads), journey, unsubscribe_url);
        Some(self.mail.renderer.email(parts, &ctx))
    }

    /// The lead as a webhook payload shows it: every field and score.
    pub fn lead_snapshot(&self, lead_id: &str) -> Option<crate::render::payload::LeadSnapshot> {
        let lead = self.lead(lead_id)?;
        Some(crate::render::payload::LeadSnapshot {
            id: lead_id.to_owned(),
            fields: self.lead_fields(lead),
            scores: self.lead_scores(lead),
        })
    }

    /// The program's templates by name.
    pub fn templates(&self) -> &FxHashMap<String, TemplateParts> {
        &self.mail.templates
    }
}

//! The lead view (`GET /api/leads/{id}`): fields, scores explained, stage, journeys and the recent timeline, from the engine and the store.

use super::*;

impl Core {
    pub(super) fn lead_view(&mut self, id: &str) -> Result<Option<Value>, String> {
        let Some(index) = self.running.world().engine_ref().lead(id) else {
            return Ok(None);
        };
        let explanation = self.running.with(|_, world| world.engine().explain(index));
        let engine = self.running.world().engine_ref();
        // A time never given a value is `null`, not 1970-01-01.
        let fields: Map<String, Value> = engine
            .lead_fields(index)
            .into_iter()
            .map(|(k, v)| {
                let unset_time = matches!(v, runtime::timeline::FieldValue::Time(0))
                    && !engine.lead_field_is_set(index, &k);
                let json = if unset_time {
                    Value::Null
                } else {
                    runtime::render::payload::field_json(&v)
                };
                (k, json)
            })
            .collect();
        let program = self.running.program();
        let text_of = |span: grammar::Span| -> String {
            program
                .workspace()
                .file(span.file)
                .and_then(|f| f.text.get(span.start as usize..span.end as usize))
                .unwrap_or("")
                .to_owned()
        };
        let scores: Vec<Value> = explanation
            .scores
            .iter()
            .map(|s| {
                let lines: Vec<Value> = s
                    .if_lines
                    .iter()
                    .map(|(points, f, holds)| {
                        let span = program.lowered().exprs.funcs[*f].body.span;
                        json!({"points": points, "if": text_of(span), "counted": holds})
                    })
                    .collect();
                json!({
                    "name": s.name, "value": s.value, "attribute_part": s.attribute_part,
                    "event_part": s.event_part, "lines": lines,
                })
            })
            .collect();
        let journeys: Vec<Value> = explanation
            .journeys
            .iter()
            .map(|(name, span, waiting)| json!({"journey": name, "step": text_of(*span), "state": waiting}))
            .collect();
        let timeline: Vec<Value> = self
            .store
            .recent_lines(id, 50)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect();
        let tasks = self.store.lead_tasks(id).map_err(|e| e.to_string())?;
        Ok(Some(json!({
            "id": id,
            "tasks": tasks,
            "fields": fields,
            "stage": explanation.stage,
            "stage_cause": explanation.stage_cause,
            "scores": scores,
            "journeys": journeys,
            "timeline": timeline,
        })))
    }
}

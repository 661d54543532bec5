//! Webhook payloads: one JSON shape for a `webhook` action and for a timeline line a webhook subscribes to, in the envelope Standard Webhooks recommends (`type`, `timestamp`, `data`).

use serde_json::{json, Map, Value};

use crate::timeline::{format_instant, FieldValue};

/// The lead as a webhook receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadSnapshot {
    /// The lead's id.
    pub id: String,
    /// Every field, by name (times as RFC 3339 in UTC, tags as a sorted list).
    pub fields: Vec<(String, FieldValue)>,
    /// Every score, by name.
    pub scores: Vec<(String, f64)>,
}

/// What a delivery is about.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadInput<'a> {
    /// `webhook_called` for a `webhook` action, else the subscribed line's kind.
    pub kind: &'a str,
    /// The webhook's name in `tandem.toml`.
    pub webhook: &'a str,
    /// The idempotency key (also the `webhook-id` header): the same on every retry.
    pub key: &'a str,
    /// The instant of the line that caused it.
    pub at: i64,
    /// The journey the action ran in, if any.
    pub journey: Option<&'a str>,
    /// The lead, once the input that caused the line was applied (`None` for a line
    /// about no lead, such as `report_sent`).
    pub lead: Option<&'a LeadSnapshot>,
    /// The timeline line itself (its JSON), for subscriptions.
    pub line: Option<Value>,
}

/// The JSON body of one webhook delivery.
pub fn payload(p: &PayloadInput<'_>) -> Value {
    let lead = p.lead.map(|l| {
        let fields: Map<String, Value> = l
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), field_json(v)))
            .collect();
        let scores: Map<String, Value> = l
            .scores
            .iter()
            .map(|(k, v)| (k.clone(), number(*v)))
            .collect();
        let stage = l.fields.iter().find_map(|(k, v)| match v {
            FieldValue::Stage(s) if k == "stage" => Some(s.clone()),
            _ => None,
        });
        let tags = l.fields.iter().find_map(|(k, v)| match v {
            FieldValue::Tags(t) if k == "tags" => Some(t.clone()),
            _ => None,
        });
        json!({
            "id": l.id,
            "stage": stage,
            "tags": tags.unwrap_or_default(),
            "scores": scores,
            "fields": fields,
        })
    });
    let mut data = Map::new();
    data.insert("webhook".into(), json!(p.webhook));
    data.insert("idempotency_key".into(), json!(p.key));
    data.insert("at".into(), json!(format_instant(p.at)));
    data.insert("journey".into(), json!(p.journey));
    data.insert("lead".into(), lead.unwrap_or(Value::Null));
    if let Some(line) = &p.line {
        data.insert("line".into(), line.clone());
    }
    json!({
        "type": format!("tandem.{}", p.kind),
        "timestamp": format_instant(p.at),
        "data": data,
    })
}

/// A field as the API and webhooks show it: like the timeline (times as RFC 3339 in UTC,
/// tags sorted), whole numbers as integers (`350`, not `350.0`).
pub fn field_json(v: &FieldValue) -> Value {
    match v {
        FieldValue::Number(x) => number(*x),
        other => other.to_json(),
    }
}

/// Whole numbers as integers, others as they are; a non-finite score as `null`.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_names_the_lead_its_scores_and_the_key() {
        let lead = LeadSnapshot {
            id: "an".into(),
            fields: vec![
                ("name".into(), FieldValue::Text("Nguyễn An".into())),
                ("stage".into(), FieldValue::Stage("mql".into())),
                ("tags".into(), FieldValue::Tags(vec!["hot".into()])),
                ("company_size".into(), FieldValue::Number(350.0)),
            ],
            scores: vec![("fit".into(), 45.0)],
        };
        let v = payload(&PayloadInput {
            kind: "webhook_called",
            webhook: "crm",
            key: "k1",
            at: 0,
            journey: Some("ebook"),
            lead: Some(&lead),
            line: None,
        });
        assert_eq!(v["type"], "tandem.webhook_called");
        assert_eq!(v["timestamp"], "1970-01-01T00:00:00Z");
        assert_eq!(v["data"]["idempotency_key"], "k1");
        assert_eq!(v["data"]["lead"]["stage"], "mql");
        assert_eq!(v["data"]["lead"]["scores"]["fit"], 45);
        assert_eq!(v["data"]["lead"]["fields"]["name"], "Nguyễn An");
        assert_eq!(v["data"]["journey"], "ebook");
        assert_eq!(
            v["data"]["lead"]["fields"]["company_size"].to_string(),
            "350"
        );
    }
}

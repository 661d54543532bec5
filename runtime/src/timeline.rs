//! Timeline lines and their exact bytes (docs/simulation.md): compact JSON, keys in the documented order, raw UTF-8, numbers as ECMAScript writes them.
//!
//! A line is a serde-tagged enum: `at`, `lead`, then `kind` (the variant's name in
//! snake case) and the variant's keys in declaration order. The few keys that are
//! not written as they are stored say how with an attribute: instants as RFC 3339
//! text, `fields`/`props` as objects with sorted keys, numbers made finite, an
//! absent journey left out, and two facts the service needs kept out of the line.

use std::io;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

/// A value inside `fields` / `props` (and given by inputs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FieldValue {
    /// A text value.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// Seconds since 1970, written like `at`.
    Time(i64),
    /// A stage name.
    Stage(String),
    /// Written as a sorted list.
    Tags(Vec<String>),
}

/// What happened (the `kind` and its keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// The lead was created (`lead_created`).
    LeadCreated,
    /// Lead fields were set (`lead_updated`).
    LeadUpdated {
        /// The new values, by field name.
        #[serde(serialize_with = "sorted_object")]
        fields: Vec<(String, FieldValue)>,
    },
    /// An outside event arrived (`event`).
    Event {
        /// The event's name.
        event: String,
        /// Its properties, by name.
        #[serde(serialize_with = "sorted_object")]
        props: Vec<(String, FieldValue)>,
    },
    /// A score's value changed (`score_changed`).
    ScoreChanged {
        /// The score's name.
        score: String,
        /// Its new value.
        #[serde(serialize_with = "finite")]
        value: f64,
    },
    /// The lead's stage changed (`stage_changed`).
    StageChanged {
        /// The previous stage.
        from: String,
        /// The new stage.
        to: String,
    },
    /// A tag was added to the lead's tag set (`tag_added`).
    TagAdded {
        /// The tag.
        tag: String,
    },
    /// A tag was removed from the lead's tag set (`tag_removed`).
    TagRemoved {
        /// The tag.
        tag: String,
    },
    /// A rule fired (`rule_fired`).
    RuleFired {
        /// The rule's name.
        rule: String,
    },
    /// The lead entered a journey (`journey_entered`).
    JourneyEntered {
        /// The journey's name.
        journey: String,
    },
    /// The lead left a journey (`journey_exited`).
    JourneyExited {
        /// The journey's name.
        journey: String,
        /// Why: `completed`, `exit` or `goal`.
        reason: String,
    },
    /// An email was sent (`email_sent`).
    EmailSent {
        /// The template's name.
        template: String,
        /// The rendered subject.
        subject: String,
        /// The journey it was sent from, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        journey: Option<String>,
    },
    /// An email was not sent (`email_suppressed`).
    EmailSuppressed {
        /// The template's name.
        template: String,
        /// Why: `unsubscribed`, `bounced`, `no_email`, `left_journey` or `frequency_cap`.
        reason: String,
        /// The journey it was sent from, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        journey: Option<String>,
    },
    /// An email was put off until quiet hours end (`email_deferred`).
    EmailDeferred {
        /// The template's name.
        template: String,
        /// When it will be sent, in seconds since 1970.
        #[serde(serialize_with = "instant")]
        until: i64,
        /// The journey it was sent from, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        journey: Option<String>,
    },
    /// A notification was sent (`notified`).
    Notified {
        /// The recipients' addresses.
        to: Vec<String>,
        /// The rendered text (for task emails, the task title).
        text: String,
        /// Whether this is a Sales task's notice (created, escalated, reassigned), which
        /// the service mails with the task's accept/reject links, rather than a `notify`
        /// action. Not written in the line.
        #[serde(skip)]
        task: bool,
    },
    /// A webhook was called (`webhook_called`).
    WebhookCalled {
        /// The webhook's name.
        webhook: String,
        /// The journey the action ran in, if any (in the payload; not written in the line).
        #[serde(skip)]
        journey: Option<String>,
    },
    /// A handoff created a task (`task_created`).
    TaskCreated {
        /// The handoff's name.
        handoff: String,
        /// The task id (`LEAD:HANDOFF:N`).
        task: String,
        /// The team the task went to.
        team: String,
        /// The assignee's address.
        assignee: String,
    },
    /// A task was escalated to a manager (`task_escalated`).
    TaskEscalated {
        /// The handoff's name.
        handoff: String,
        /// The task id.
        task: String,
        /// The manager it went to.
        to: String,
    },
    /// A task was reassigned (`task_reassigned`).
    TaskReassigned {
        /// The handoff's name.
        handoff: String,
        /// The task id.
        task: String,
        /// The previous assignee.
        from: String,
        /// The new assignee.
        to: String,
    },
    /// A task was accepted (`task_accepted`).
    TaskAccepted {
        /// The handoff's name.
        handoff: String,
        /// The task id.
        task: String,
        /// Who accepted it.
        by: String,
    },
    /// A task was completed (`task_completed`).
    TaskCompleted {
        /// The handoff's name.
        handoff: String,
        /// The task id.
        task: String,
        /// Who completed it.
        by: String,
    },
    /// A task was rejected (`task_rejected`).
    TaskRejected {
        /// The handoff's name.
        handoff: String,
        /// The task id.
        task: String,
        /// Who rejected it.
        by: String,
        /// The rejection reason.
        reason: String,
    },
    /// A scheduled report was sent (`report_sent`).
    ReportSent {
        /// The schedule's name.
        schedule: String,
        /// The recipients' addresses.
        to: Vec<String>,
    },
    /// Something went wrong at run time (`error`).
    Error {
        /// The error code (`cascade_limit`, `no_open_task`, …).
        code: String,
        /// A free-text description.
        message: String,
    },
    /// Why something did not happen (`trace`): only with `tandem simulate --trace`.
    Trace {
        /// What: `enroll_ignored`, `rule_held`, `wait_skipped`, `effect_repeated`.
        what: String,
        /// The explanation, in words.
        message: String,
    },
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// Seconds since 1970 (UTC).
    #[serde(serialize_with = "instant")]
    pub at: i64,
    /// The lead's id, or `None` (written `null`) for program-wide lines.
    pub lead: Option<std::sync::Arc<str>>,
    /// What happened.
    #[serde(flatten)]
    pub entry: Entry,
}

/// `2026-01-05T02:00:00Z`.
pub fn format_instant(secs: i64) -> String {
    let mut buf = [0; 20];
    match utc_text(secs, &mut buf) {
        Some(text) => text.to_owned(),
        None => match jiff::Timestamp::from_second(secs) {
            Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Err(_) => "1970-01-01T00:00:00Z".to_owned(),
        },
    }
}

/// The instant as `YYYY-MM-DDTHH:MM:SSZ` in `buf`, from year 0000 to jiff's last
/// instant (`None` otherwise): every timeline line has one, so it is written without allocating. The
/// civil date comes from the day count by the usual era arithmetic (400-year cycles
/// of 146,097 days); `format_instant`'s test checks it against jiff.
fn utc_text(secs: i64, buf: &mut [u8; 20]) -> Option<&str> {
    const YEAR_0: i64 = -62_167_219_200;
    if secs < YEAR_0 || secs > jiff::Timestamp::MAX.as_second() {
        return None;
    }
    let days = secs.div_euclid(86_400);
    let second_of_day = secs.rem_euclid(86_400);
    // Days since 0000-03-01, so that a leap day is the last day of its year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let mut put = |at: usize, value: i64, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, second_of_day / 3600, 2);
    put(14, second_of_day / 60 % 60, 2);
    put(17, second_of_day % 60, 2);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ] {
        buf[at] = sep;
    }
    std::str::from_utf8(buf).ok()
}

/// A number as the timeline writes it: non-finite numbers never reach a timeline
/// (evaluation is total), and one that did would be written 0.
fn finite<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(if x.is_finite() { *x } else { 0.0 })
}

/// An instant as RFC 3339 text in UTC.
fn instant<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0; 20];
    match utc_text(*t, &mut buf) {
        Some(text) => s.serialize_str(text),
        None => s.serialize_str(&format_instant(*t)),
    }
}

/// `fields` and `props`: an object with its keys sorted.
fn sorted_object<S: Serializer>(items: &[(String, FieldValue)], s: S) -> Result<S::Ok, S::Error> {
    let mut sorted: Vec<&(String, FieldValue)> = items.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    // A name given twice keeps its last value, as a JSON object would.
    sorted.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            std::mem::swap(later, earlier);
            true
        } else {
            false
        }
    });
    let mut m = s.serialize_map(Some(sorted.len()))?;
    for (k, v) in sorted {
        m.serialize_entry(k, &Written(v))?;
    }
    m.end()
}

/// A [`FieldValue`] as the timeline writes it: instants as RFC 3339 text, tags sorted.
/// (The derived `Serialize` of `FieldValue` is its stored form.)
struct Written<'a>(&'a FieldValue);

impl Serialize for Written<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            FieldValue::Text(t) | FieldValue::Stage(t) => s.serialize_str(t),
            FieldValue::Number(x) => finite(x, s),
            FieldValue::Bool(b) => s.serialize_bool(*b),
            FieldValue::Time(t) => instant(t, s),
            FieldValue::Tags(tags) => {
                let mut sorted: Vec<&String> = tags.iter().collect();
                sorted.sort();
                s.collect_seq(sorted)
            }
        }
    }
}

impl FieldValue {
    /// The value as the timeline writes it: instants as RFC 3339 text, tags sorted.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(Written(self)).unwrap_or(Value::Null)
    }
}

impl Entry {
    /// The line's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::LeadCreated => "lead_created",
            Entry::LeadUpdated { .. } => "lead_updated",
            Entry::Event { .. } => "event",
            Entry::ScoreChanged { .. } => "score_changed",
            Entry::StageChanged { .. } => "stage_changed",
            Entry::TagAdded { .. } => "tag_added",
            Entry::TagRemoved { .. } => "tag_removed",
            Entry::RuleFired { .. } => "rule_fired",
            Entry::JourneyEntered { .. } => "journey_entered",
            Entry::JourneyExited { .. } => "journey_exited",
            Entry::EmailSent { .. } => "email_sent",
            Entry::EmailSuppressed { .. } => "email_suppressed",
            Entry::EmailDeferred { .. } => "email_deferred",
            Entry::Notified { .. } => "notified",
            Entry::WebhookCalled { .. } => "webhook_called",
            Entry::TaskCreated { .. } => "task_created",
            Entry::TaskEscalated { .. } => "task_escalated",
            Entry::TaskReassigned { .. } => "task_reassigned",
            Entry::TaskAccepted { .. } => "task_accepted",
            Entry::TaskCompleted { .. } => "task_completed",
            Entry::TaskRejected { .. } => "task_rejected",
            Entry::ReportSent { .. } => "report_sent",
            Entry::Error { .. } => "error",
            Entry::Trace { .. } => "trace",
        }
    }
}

/// serde_json's compact output, with numbers written as ECMAScript's `Number.prototype.toString`.
struct JsNumbers;

impl serde_json::ser::Formatter for JsNumbers {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        let mut buf = ryu_js::Buffer::new();
        writer.write_all(buf.format(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }
}

impl Line {
    /// The line's bytes, without the newline.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        if self.write_json(&mut out).is_err() {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// Writes the line's bytes, without the newline, straight into `w` (no string of its
    /// own: `tandem simulate` streams its output through one buffered writer).
    pub fn write_json<W: io::Write>(&self, w: &mut W) -> io::Result<()> {
        let mut ser = serde_json::Serializer::with_formatter(w, JsNumbers);
        self.serialize(&mut ser).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// The allocation-free instant text is jiff's, over the whole range jiff knows
        /// (and the years around the edges of the fast path).
        #[test]
        fn instants_are_written_as_jiff_writes_them(
            secs in proptest::prop_oneof![
                -377_705_116_800i64..=253_402_207_999,
                -62_167_219_300i64..-62_167_219_100,
                253_402_300_700i64..253_402_300_900,
                -1_000_000i64..1_000_000,
            ]
        ) {
            let want = match jiff::Timestamp::from_second(secs) {
                Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                Err(_) => "1970-01-01T00:00:00Z".to_owned(),
            };
            proptest::prop_assert_eq!(format_instant(secs), want);
        }
    }

    fn line(entry: Entry) -> Line {
        Line {
            at: 1_767_578_400, // 2026-01-05T02:00:00Z = 09:00 in Ho Chi Minh City
            lead: Some("an".into()),
            entry,
        }
    }

    #[test]
    fn keys_in_order_and_compact() {
        let l = line(Entry::ScoreChanged {
            score: "fit".into(),
            value: 40.0,
        });
        assert_eq!(
            l.to_json(),
            r#"{"at":"2026-01-05T02:00:00Z","lead":"an","kind":"score_changed","score":"fit","value":40}"#
        );
    }

    #[test]
    fn numbers_are_written_as_javascript_does() {
        for (x, want) in [
            (12.5, "12.5"),
            (0.125, "0.125"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (-0.0, "0"),
            (45.0, "45"),
            (-3.0, "-3"),
        ] {
            let l = line(Entry::ScoreChanged {
                score: "s".into(),
                value: x,
            });
            assert!(
                l.to_json().ends_with(&format!(r#""value":{want}}}"#)),
                "{x}: {}",
                l.to_json()
            );
        }
    }

    #[test]
    fn raw_utf8_escaped_controls_sorted_objects_and_null_lead() {
        let l = Line {
            at: 0,
            lead: None,
            entry: Entry::ReportSent {
                schedule: "weekly".into(),
                to: vec!["growth@acme.vn".into()],
            },
        };
        assert_eq!(
            l.to_json(),
            r#"{"at":"1970-01-01T00:00:00Z","lead":null,"kind":"report_sent","schedule":"weekly","to":["growth@acme.vn"]}"#
        );
        let l = line(Entry::LeadUpdated {
            fields: vec![
                ("title".into(), FieldValue::Text("Giám đốc\n\u{1}".into())),
                ("company_size".into(), FieldValue::Number(300.0)),
                (
                    "tags".into(),
                    FieldValue::Tags(vec!["vip".into(), "hot".into()]),
                ),
                ("demo_at".into(), FieldValue::Time(1_767_578_400)),
            ],
        });
        assert_eq!(
            l.to_json(),
            r#"{"at":"2026-01-05T02:00:00Z","lead":"an","kind":"lead_updated","fields":{"company_size":300,"demo_at":"2026-01-05T02:00:00Z","tags":["hot","vip"],"title":"Giám đốc\n\u0001"}}"#
        );
    }

    #[test]
    fn optional_journey_key() {
        let with = line(Entry::EmailSent {
            template: "t".into(),
            subject: "S".into(),
            journey: Some("j".into()),
        });
        assert!(with
            .to_json()
            .ends_with(r#""template":"t","subject":"S","journey":"j"}"#));
        let without = line(Entry::EmailDeferred {
            template: "t".into(),
            until: 3_600,
            journey: None,
        });
        assert!(without
            .to_json()
            .ends_with(r#""template":"t","until":"1970-01-01T01:00:00Z"}"#));
    }

    /// The writer the serde derive replaced, kept as the reference the property test
    /// holds today's bytes to: a `serde_json::Value` built key by key.
    mod reference {
        use super::super::{format_instant, Entry, FieldValue, JsNumbers, Line};
        use serde_json::{Map, Value};

        fn text(s: &str) -> Value {
            Value::String(s.to_owned())
        }

        fn number(x: f64) -> Value {
            serde_json::Number::from_f64(if x.is_finite() { x } else { 0.0 })
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }

        fn value(v: &FieldValue) -> Value {
            match v {
                FieldValue::Text(s) | FieldValue::Stage(s) => text(s),
                FieldValue::Number(x) => number(*x),
                FieldValue::Bool(b) => Value::Bool(*b),
                FieldValue::Time(t) => text(&format_instant(*t)),
                FieldValue::Tags(tags) => {
                    let mut sorted = tags.clone();
                    sorted.sort();
                    Value::Array(sorted.into_iter().map(Value::String).collect())
                }
            }
        }

        fn sorted_object(items: &[(String, FieldValue)]) -> Value {
            let mut sorted: Vec<&(String, FieldValue)> = items.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let mut m = Map::new();
            for (k, v) in sorted {
                m.insert(k.clone(), value(v));
            }
            Value::Object(m)
        }

        /// The kind-specific keys, in the documented order.
        fn keys(entry: &Entry, m: &mut Map<String, Value>) {
            let mut put = |k: &str, v: Value| {
                m.insert(k.to_owned(), v);
            };
            let journey = |put: &mut dyn FnMut(&str, Value), j: &Option<String>| {
                if let Some(j) = j {
                    put("journey", text(j));
                }
            };
            match entry {
                Entry::LeadCreated => {}
                Entry::LeadUpdated { fields } => put("fields", sorted_object(fields)),
                Entry::Event { event, props } => {
                    put("event", text(event));
                    put("props", sorted_object(props));
                }
                Entry::ScoreChanged { score, value } => {
                    put("score", text(score));
                    put("value", number(*value));
                }
                Entry::StageChanged { from, to } => {
                    put("from", text(from));
                    put("to", text(to));
                }
                Entry::TagAdded { tag } | Entry::TagRemoved { tag } => put("tag", text(tag)),
                Entry::RuleFired { rule } => put("rule", text(rule)),
                Entry::JourneyEntered { journey } => put("journey", text(journey)),
                Entry::JourneyExited { journey, reason } => {
                    put("journey", text(journey));
                    put("reason", text(reason));
                }
                Entry::EmailSent {
                    template,
                    subject,
                    journey: j,
                } => {
                    put("template", text(template));
                    put("subject", text(subject));
                    journey(&mut put, j);
                }
                Entry::EmailSuppressed {
                    template,
                    reason,
                    journey: j,
                } => {
                    put("template", text(template));
                    put("reason", text(reason));
                    journey(&mut put, j);
                }
                Entry::EmailDeferred {
                    template,
                    until,
                    journey: j,
                } => {
                    put("template", text(template));
                    put("until", text(&format_instant(*until)));
                    journey(&mut put, j);
                }
                Entry::Notified { to, text: t, .. } => {
                    put("to", Value::Array(to.iter().map(|s| text(s)).collect()));
                    put("text", text(t));
                }
                Entry::WebhookCalled { webhook, .. } => put("webhook", text(webhook)),
                Entry::TaskCreated {
                    handoff,
                    task,
                    team,
                    assignee,
                } => {
                    put("handoff", text(handoff));
                    put("task", text(task));
                    put("team", text(team));
                    put("assignee", text(assignee));
                }
                Entry::TaskEscalated { handoff, task, to } => {
                    put("handoff", text(handoff));
                    put("task", text(task));
                    put("to", text(to));
                }
                Entry::TaskReassigned {
                    handoff,
                    task,
                    from,
                    to,
                } => {
                    put("handoff", text(handoff));
                    put("task", text(task));
                    put("from", text(from));
                    put("to", text(to));
                }
                Entry::TaskAccepted { handoff, task, by }
                | Entry::TaskCompleted { handoff, task, by } => {
                    put("handoff", text(handoff));
                    put("task", text(task));
                    put("by", text(by));
                }
                Entry::TaskRejected {
                    handoff,
                    task,
                    by,
                    reason,
                } => {
                    put("handoff", text(handoff));
                    put("task", text(task));
                    put("by", text(by));
                    put("reason", text(reason));
                }
                Entry::ReportSent { schedule, to } => {
                    put("schedule", text(schedule));
                    put("to", Value::Array(to.iter().map(|s| text(s)).collect()));
                }
                Entry::Error { code, message } => {
                    put("code", text(code));
                    put("message", text(message));
                }
                Entry::Trace { what, message } => {
                    put("what", text(what));
                    put("message", text(message));
                }
            }
        }

        pub fn to_json(line: &Line) -> String {
            let mut m = Map::new();
            m.insert("at".into(), text(&format_instant(line.at)));
            m.insert(
                "lead".into(),
                line.lead.as_deref().map(text).unwrap_or(Value::Null),
            );
            m.insert("kind".into(), text(line.entry.kind()));
            keys(&line.entry, &mut m);
            let mut out = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(&mut out, JsNumbers);
            serde::Serialize::serialize(&Value::Object(m), &mut ser).expect("serializes");
            String::from_utf8(out).expect("UTF-8")
        }
    }

    mod same_bytes {
        use super::super::{Entry, FieldValue, Line};
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[a-z_]{0,8}",
                Just("Giám đốc \"Đà Nẵng\"\n\t\u{1}\u{7f}\u{2028}</script>".to_owned()),
            ]
        }

        fn number() -> impl Strategy<Value = f64> {
            prop_oneof![
                any::<f64>(),
                (-1e6..1e6f64).prop_map(f64::round),
                prop::sample::select(vec![
                    0.0,
                    -0.0,
                    1e21,
                    -1e21,
                    1e-7,
                    123e-20,
                    0.1,
                    0.3,
                    5e-324,
                    f64::MAX,
                    f64::MIN,
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    9007199254740993.0,
                    40.0,
                    -3.0,
                ]),
            ]
        }

        fn instant() -> impl Strategy<Value = i64> {
            prop_oneof![any::<i64>(), 0..4_102_444_800i64]
        }

        fn value() -> impl Strategy<Value = FieldValue> {
            prop_oneof![
                text().prop_map(FieldValue::Text),
                number().prop_map(FieldValue::Number),
                any::<bool>().prop_map(FieldValue::Bool),
                instant().prop_map(FieldValue::Time),
                text().prop_map(FieldValue::Stage),
                prop::collection::vec(text(), 0..4).prop_map(FieldValue::Tags),
            ]
        }

        fn object() -> impl Strategy<Value = Vec<(String, FieldValue)>> {
            // Few distinct names, so a name given twice is tried too.
            prop::collection::vec((prop_oneof![text(), "[abc]"], value()), 0..5)
        }

        fn entry() -> impl Strategy<Value = Entry> {
            let (t, o) = (text, || prop::option::of(text()));
            let names = || prop::collection::vec(text(), 0..3);
            prop_oneof![
                Just(Entry::LeadCreated),
                object().prop_map(|fields| Entry::LeadUpdated { fields }),
                (t(), object()).prop_map(|(event, props)| Entry::Event { event, props }),
                (t(), number()).prop_map(|(score, value)| Entry::ScoreChanged { score, value }),
                (t(), t()).prop_map(|(from, to)| Entry::StageChanged { from, to }),
                t().prop_map(|tag| Entry::TagAdded { tag }),
                t().prop_map(|tag| Entry::TagRemoved { tag }),
                t().prop_map(|rule| Entry::RuleFired { rule }),
                t().prop_map(|journey| Entry::JourneyEntered { journey }),
                (t(), t()).prop_map(|(journey, reason)| Entry::JourneyExited { journey, reason }),
                (t(), t(), o()).prop_map(|(template, subject, journey)| Entry::EmailSent {
                    template,
                    subject,
                    journey
                }),
                (t(), t(), o()).prop_map(|(template, reason, journey)| Entry::EmailSuppressed {
                    template,
                    reason,
                    journey
                }),
                (t(), instant(), o()).prop_map(|(template, until, journey)| Entry::EmailDeferred {
                    template,
                    until,
                    journey
                }),
                (names(), t(), any::<bool>()).prop_map(|(to, text, task)| Entry::Notified {
                    to,
                    text,
                    task
                }),
                (t(), o()).prop_map(|(webhook, journey)| Entry::WebhookCalled { webhook, journey }),
                (t(), t(), t(), t()).prop_map(|(handoff, task, team, assignee)| {
                    Entry::TaskCreated {
                        handoff,
                        task,
                        team,
                        assignee,
                    }
                }),
                (t(), t(), t()).prop_map(|(handoff, task, to)| Entry::TaskEscalated {
                    handoff,
                    task,
                    to
                }),
                (t(), t(), t(), t()).prop_map(|(handoff, task, from, to)| Entry::TaskReassigned {
                    handoff,
                    task,
                    from,
                    to
                }),
                (t(), t(), t()).prop_map(|(handoff, task, by)| Entry::TaskAccepted {
                    handoff,
                    task,
                    by
                }),
                (t(), t(), t()).prop_map(|(handoff, task, by)| Entry::TaskCompleted {
                    handoff,
                    task,
                    by
                }),
                (t(), t(), t(), t()).prop_map(|(handoff, task, by, reason)| Entry::TaskRejected {
                    handoff,
                    task,
                    by,
                    reason
                }),
                (t(), names()).prop_map(|(schedule, to)| Entry::ReportSent { schedule, to }),
                (t(), t()).prop_map(|(code, message)| Entry::Error { code, message }),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4_000))]
            #[test]
            fn the_derived_writer_gives_the_reference_bytes(
                at in instant(),
                lead in prop::option::of(text()),
                entry in entry(),
            ) {
                let line = Line { at, lead: lead.map(Into::into), entry };
                prop_assert_eq!(line.to_json(), super::reference::to_json(&line));
            }
        }
    }
}

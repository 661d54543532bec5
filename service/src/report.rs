//! The `report to` email: the dashboard summary (last 30 days) as a self-contained HTML email with a plain-text part, in Vietnamese with English labels, for the schedule's recipients.

use serde_json::Value;

use crate::mail::escape;

fn n(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 => group(x as i64),
        Some(x) => format!("{x:.1}"),
        None => "—".into(),
    }
}

/// 12345 → `12.345` (Vietnamese grouping, by num-format's `vi` locale).
fn group(x: i64) -> String {
    use num_format::{Locale, ToFormattedString};
    x.to_formatted_string(&Locale::vi)
}

fn table(title: &str, head: &[&str], rows: &[Vec<String>]) -> (String, String) {
    let mut html = format!(
        "<h2 style=\"font-size:16px;margin:20px 0 6px\">{}</h2><table style=\"border-collapse:collapse;font-size:13px\"><tr>",
        escape(title)
    );
    for h in head {
        html.push_str(&format!(
            "<th style=\"text-align:left;border-bottom:1px solid #ccc;padding:4px 8px\">{}</th>",
            escape(h)
        ));
    }
    html.push_str("</tr>");
    let mut text = format!("\n{title}\n{}\n", head.join(" | "));
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!(
                "<td style=\"padding:4px 8px;border-bottom:1px solid #eee\">{}</td>",
                escape(cell)
            ));
        }
        html.push_str("</tr>");
        text.push_str(&row.join(" | "));
        text.push('\n');
    }
    if rows.is_empty() {
        html.push_str("<tr><td>—</td></tr>");
        text.push_str("—\n");
    }
    html.push_str("</table>");
    (html, text)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Table rows from a list of objects: the given keys, texts as they are, numbers grouped.
fn rows(items: &[Value], keys: &[&str]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|item| {
            keys.iter()
                .map(|k| {
                    item[*k]
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| n(&item[*k]))
                })
                .collect()
        })
        .collect()
}

/// Subject, HTML and text of the report of `schedule` from a dashboard summary.
pub fn render(schedule: &str, summary: &Value, base_url: &str) -> (String, String, String) {
    let period = format!(
        "{} → {}",
        summary["period"]["from"].as_str().unwrap_or(""),
        summary["period"]["to"].as_str().unwrap_or("")
    );
    let subject = format!("[Tandem] Báo cáo {schedule} / Report {period}");
    let funnel = &summary["funnel"];
    let stages: Vec<&str> = list(funnel, "stages")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let funnel_rows: Vec<Vec<String>> = stages
        .iter()
        .map(|s| {
            vec![
                (*s).to_owned(),
                n(&funnel["current"][s]),
                n(&funnel["reached"][s]),
            ]
        })
        .collect();
    let email_rows = rows(
        list(summary, "email"),
        &[
            "template",
            "sent",
            "opened",
            "clicked",
            "bounced",
            "suppressed",
        ],
    );
    let rep_rows = rows(
        list(&summary["handoff"], "reps"),
        &[
            "team", "assignee", "open", "accepted", "rejected", "overdue",
        ],
    );
    let reason_rows = rows(
        list(&summary["handoff"], "reasons"),
        &["reason", "source", "journey", "count"],
    );
    let parts = [
        table(
            "Phễu / Funnel",
            &[
                "Giai đoạn / Stage",
                "Hiện tại / Now",
                "Đạt được trong kỳ / Reached",
            ],
            &funnel_rows,
        ),
        table(
            "Email theo mẫu / Email by template",
            &[
                "Mẫu / Template",
                "Gửi / Sent",
                "Mở / Opened",
                "Nhấp / Clicked",
                "Trả về / Bounced",
                "Chặn / Suppressed",
            ],
            &email_rows,
        ),
        table(
            "Bàn giao cho Sales / Handoff",
            &[
                "Đội / Team",
                "Người nhận / Rep",
                "Mở / Open",
                "Nhận / Accepted",
                "Từ chối / Rejected",
                "Quá hạn / Overdue",
            ],
            &rep_rows,
        ),
        table(
            "Lý do Sales từ chối / Why Sales rejected",
            &[
                "Lý do / Reason",
                "Nguồn / Source",
                "Hành trình / Journey",
                "Số lead / Leads",
            ],
            &reason_rows,
        ),
    ];
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:Arial,sans-serif;color:#222\"><h1 style=\"font-size:20px\">Báo cáo {} / Report</h1><p>{}</p>",
        escape(schedule),
        escape(&period)
    );
    let mut text = format!("Báo cáo {schedule} / Report\n{period}\n");
    for (h, t) in parts {
        html.push_str(&h);
        text.push_str(&t);
    }
    html.push_str(&format!(
        "<p style=\"margin-top:20px\"><a href=\"{0}/\">{0}/</a></p></body></html>",
        escape(base_url)
    ));
    text.push_str(&format!("\n{base_url}/\n"));
    (subject, html, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_report_has_every_section_with_the_summary_numbers() {
        let summary = json!({
            "period": {"from": "2026-01-01", "to": "2026-01-30"},
            "funnel": {"stages": ["lead", "mql"], "current": {"lead": 12345, "mql": 3}, "reached": {"lead": 20, "mql": 4}},
            "email": [{"template": "ebook", "sent": 10, "opened": 4, "clicked": 1, "bounced": 0, "suppressed": 2}],
            "handoff": {"reps": [{"team": "hcm", "assignee": "an@x.vn", "open": 1, "accepted": 2, "rejected": 1, "overdue": 0}],
                        "reasons": [{"reason": "no_budget", "source": "ebook", "journey": "j", "count": 1}]}
        });
        let (subject, html, text) = render("weekly", &summary, "https://t.acme.vn");
        assert_eq!(
            subject,
            "[Tandem] Báo cáo weekly / Report 2026-01-01 → 2026-01-30"
        );
        assert!(
            html.contains("<td style=\"padding:4px 8px;border-bottom:1px solid #eee\">12.345</td>"),
            "{html}"
        );
        assert!(text.contains("ebook | 10 | 4 | 1 | 0 | 2"), "{text}");
        assert!(text.contains("no_budget | ebook | j | 1"), "{text}");
        assert!(html.contains("https://t.acme.vn/"));
    }
}

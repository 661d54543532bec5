//! `tandem backtest --format html`: the report as one self-contained page — inline styles and SVG charts, no script and nothing fetched, so it opens offline and can be attached to a review.
//!
//! Every text from the history (lead ids, stage, template and journey names, timeline
//! lines) is escaped, and the page's Content-Security-Policy allows no script at all.

use std::fmt::Write as _;

use runtime::backtest::{Report, Row};
use runtime::render::escape::html;

use super::backtest::History;

const RECORDED: &str = "#8a94a6";
const NEW: &str = "#1f6feb";

/// The whole page.
pub(crate) fn page(r: &Report, h: &History) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(concat!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<title>Tandem backtest</title>\n<style>\n",
        "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:62rem;padding:0 1rem;color:#1d2430}\n",
        "h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}\n",
        "table{border-collapse:collapse;width:100%}th,td{padding:.25rem .5rem;border-bottom:1px solid #e3e6eb;text-align:left;vertical-align:top}\n",
        "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.up{color:#116329}.down{color:#a40e26}\n",
        "code{font-size:.8rem;word-break:break-all}.key span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}\n",
        "svg text{font:12px system-ui,sans-serif;fill:#1d2430}\n",
        "</style>\n</head>\n<body>\n<h1>What the new program would have done</h1>\n",
    ));
    summary(&mut out, h);
    let _ = writeln!(
        out,
        "<p class=\"key\"><span style=\"background:{RECORDED}\"></span>recorded<span style=\"background:{NEW}\"></span>new program</p>"
    );
    let group = |prefix: &str| -> Vec<&Row> {
        r.rows
            .iter()
            .filter(|row| row.what.starts_with(prefix))
            .collect()
    };
    chart(
        &mut out,
        "Leads in each stage at the end",
        &group("leads now in "),
        "leads now in ",
    );
    chart(
        &mut out,
        "Stage changes (MQL, SQL, …)",
        &group("reached "),
        "reached ",
    );
    chart(
        &mut out,
        "Emails sent, by template",
        &group("emails "),
        "emails ",
    );
    chart(
        &mut out,
        "Sales tasks, by team",
        &group("tasks for "),
        "tasks for ",
    );
    outcomes(&mut out, r);
    table(&mut out, r);
    leads(&mut out, r);
    out.push_str("</body>\n</html>\n");
    out
}

fn summary(out: &mut String, h: &History) {
    let source = match h.source {
        "store" => "a running service's store".to_owned(),
        _ => "leads and events from CSV files".to_owned(),
    };
    let _ = writeln!(
        out,
        "<p>{} inputs of {} leads from {}, {} → {}, replayed on a virtual clock under <strong>{}</strong> and under the new program. Nothing was sent.</p>",
        h.inputs,
        h.leads,
        html(&source),
        html(&h.from),
        html(&h.until),
        html(&h.baseline),
    );
    if let Some(from) = &h.counted_from {
        let _ = writeln!(
            out,
            "<p>Counted from {} on; earlier history only sets each lead's state.</p>",
            html(from)
        );
    }
    if let Some(p) = h.sample_percent {
        let _ = writeln!(
            out,
            "<p>A {p} % sample of the leads (chosen by a hash of the lead id).</p>"
        );
    }
}

/// Paired horizontal bars, one pair per row; nothing when every figure is 0.
fn chart(out: &mut String, title: &str, rows: &[&Row], strip: &str) {
    let rows: Vec<&&Row> = rows.iter().filter(|r| r.recorded + r.new > 0).collect();
    if rows.is_empty() {
        return;
    }
    let max = rows
        .iter()
        .map(|r| r.recorded.max(r.new))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (label_w, bar_w, pair_h) = (200.0, 520.0, 34.0);
    let height = pair_h * rows.len() as f64 + 8.0;
    let _ = writeln!(out, "<h2>{}</h2>", html(title));
    let _ = writeln!(
        out,
        "<svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {} {height}\" width=\"100%\">",
        html(title),
        label_w + bar_w + 70.0
    );
    for (i, row) in rows.iter().enumerate() {
        let y = 4.0 + pair_h * i as f64;
        let label = row.what.strip_prefix(strip).unwrap_or(&row.what);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + 19.0,
            html(label)
        );
        for (k, (value, colour)) in [(row.recorded, RECORDED), (row.new, NEW)]
            .into_iter()
            .enumerate()
        {
            let by = y + 2.0 + 14.0 * k as f64;
            let w = bar_w * value as f64 / max;
            let _ = writeln!(
                out,
                "<rect x=\"{label_w}\" y=\"{by}\" width=\"{w:.1}\" height=\"12\" fill=\"{colour}\"><title>{value}</title></rect><text x=\"{:.1}\" y=\"{}\">{value}</text>",
                label_w + w + 4.0,
                by + 10.5
            );
        }
    }
    out.push_str("</svg>\n");
}

fn outcomes(out: &mut String, r: &Report) {
    out.push_str("<h2>MQL against what really happened</h2>\n");
    let Some(o) = &r.outcomes else {
        out.push_str("<p>The funnel has no <code>mql</code> and <code>sql</code> stages: MQL is not scored against outcomes.</p>\n");
        return;
    };
    let _ = writeln!(
        out,
        "<p>{} leads have a known outcome; {} of them later became SQL or better. Precision: of the leads a program made MQL, the share that became SQL or better. Recall: of those that became SQL or better, the share it had made MQL.</p>",
        o.known, o.positives
    );
    let pct = |x: Option<f64>| x.map_or("—".to_owned(), |x| format!("{:.0} %", x * 100.0));
    let days = |x: Option<f64>| x.map_or("—".to_owned(), |x| format!("{x:.1}"));
    out.push_str("<table><tr><th></th><th class=\"n\">made MQL</th><th class=\"n\">precision</th><th class=\"n\">recall</th><th class=\"n\">median days early</th></tr>\n");
    for (name, s) in [("recorded", &o.recorded), ("new program", &o.new)] {
        let _ = writeln!(
            out,
            "<tr><td>{name}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            s.made_mql,
            pct(s.precision),
            pct(s.recall),
            days(s.median_days_early)
        );
    }
    out.push_str("</table>\n");
    // Precision and recall as bars out of 100 %.
    let as_row = |what: &str, a: Option<f64>, b: Option<f64>| Row {
        what: what.to_owned(),
        recorded: (a.unwrap_or(0.0) * 100.0).round() as u64,
        new: (b.unwrap_or(0.0) * 100.0).round() as u64,
    };
    let p = as_row("precision %", o.recorded.precision, o.new.precision);
    let rc = as_row("recall %", o.recorded.recall, o.new.recall);
    chart(out, "Precision and recall (%)", &[&p, &rc], "");
}

fn table(out: &mut String, r: &Report) {
    out.push_str("<h2>Every figure</h2>\n<table><tr><th></th><th class=\"n\">recorded</th><th class=\"n\">new</th><th class=\"n\">change</th></tr>\n");
    for row in r.rows.iter().filter(|r| r.recorded + r.new > 0) {
        let change = i128::from(row.new) - i128::from(row.recorded);
        let (class, text) = match change {
            0 => ("", "=".to_owned()),
            c if c > 0 => ("up", format!("{c:+}")),
            c => ("down", format!("{c:+}")),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n {class}\">{text}</td></tr>",
            html(&row.what),
            row.recorded,
            row.new
        );
    }
    out.push_str("</table>\n");
}

fn leads(out: &mut String, r: &Report) {
    let _ = writeln!(
        out,
        "<h2>Leads whose story differs: {}</h2>",
        r.leads_differing
    );
    if r.leads.is_empty() {
        return;
    }
    out.push_str(
        "<table><tr><th>lead</th><th>stage at the end</th><th>first line that differs</th></tr>\n",
    );
    for l in &r.leads {
        let stage = |s: &str| {
            if s.is_empty() {
                "(none)".to_owned()
            } else {
                html(s)
            }
        };
        let line = |s: &Option<String>| {
            s.as_deref().map_or("(nothing more)".to_owned(), |s| {
                format!("<code>{}</code>", html(s))
            })
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{} → {}</td><td>recorded: {}<br>new: {}</td></tr>",
            html(&l.lead),
            stage(&l.stage_recorded),
            stage(&l.stage_new),
            line(&l.first_recorded),
            line(&l.first_new)
        );
    }
    out.push_str("</table>\n");
    if r.leads_differing > r.leads.len() as u64 {
        let _ = writeln!(
            out,
            "<p>… and {} more (<code>--leads N</code> lists more).</p>",
            r.leads_differing - r.leads.len() as u64
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::backtest::LeadDelta;

    #[test]
    fn hostile_names_are_escaped_and_the_page_runs_no_script() {
        let report = Report {
            rows: vec![Row {
                what: "emails <script>alert(1)</script>".into(),
                recorded: 1,
                new: 3,
            }],
            outcomes: None,
            leads_differing: 1,
            leads: vec![LeadDelta {
                lead: "\"><img src=x onerror=alert(1)>".into(),
                stage_recorded: "lead".into(),
                stage_new: "mql".into(),
                first_recorded: Some("{\"lead\":\"<b>\"}".into()),
                first_new: None,
            }],
        };
        let history = History {
            source: "csv",
            baseline: "old</p><script>".into(),
            inputs: 1,
            leads: 1,
            from: "2026-01-01T00:00:00Z".into(),
            until: "2026-02-01T00:00:00Z".into(),
            counted_from: None,
            sample_percent: None,
            versions: 0,
        };
        let page = page(&report, &history);
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("default-src 'none'"));
        // The chart drew both bars of the email row, scaled to the larger one.
        assert!(page.contains("<title>1</title>") && page.contains("<title>3</title>"));
    }
}

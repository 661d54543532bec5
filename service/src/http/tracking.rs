//! The tracking and consent endpoints a lead's email links to — the open pixel, the signed click redirect, one-click unsubscribe, the one-click task page — and the inverse for display: a stored email with its tracking taken out.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Map, Value};

use super::*;

/// The query of `url` when it is this service's `path` (`/t/o` or `/t/c`), decoded.
fn tracking_query(url: &str, path: &str) -> Option<HashMap<String, String>> {
    let (_, query) = url.split_once(&format!("{path}?"))?;
    Some(url_form(query.replace("&amp;", "&").as_bytes()))
}

/// A sent email's HTML as the dashboard shows it: without the open pixel, and with each
/// click redirect replaced by the address it leads to, so looking at the email records
/// no open and no click. Only pixels and redirects signed by this service are touched.
pub(super) fn untracked(html: &str, signer: &Signer) -> String {
    // The open pixel: the whole `<img …>` tag goes.
    let mut no_pixel = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(pos) = rest.find("<img src=\"") {
        let (before, tag) = rest.split_at(pos);
        no_pixel.push_str(before);
        let src = &tag[10..];
        let is_pixel = src
            .find('"')
            .and_then(|end| tracking_query(&src[..end], "/t/o"));
        let signed = is_pixel.is_some_and(|q| {
            let p = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
            signer.verify(&["o", p("l"), p("t")], p("s"))
        });
        match tag.find('>') {
            Some(end) if signed => rest = &tag[end + 1..],
            _ => {
                no_pixel.push_str(&tag[..10]);
                rest = &tag[10..];
            }
        }
    }
    no_pixel.push_str(rest);
    // Click redirects: back to the address the template's author wrote.
    let mut out = String::with_capacity(no_pixel.len());
    let mut rest = no_pixel.as_str();
    while let Some(pos) = rest.find("href=\"") {
        let (before, after) = rest.split_at(pos + 6);
        out.push_str(before);
        let Some(end) = after.find('"') else {
            rest = after;
            break;
        };
        let url = &after[..end];
        let target = tracking_query(url, "/t/c").and_then(|q| {
            let p = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
            signer
                .verify(&["c", p("l"), p("t"), p("u")], p("s"))
                .then(|| p("u").to_owned())
        });
        match target {
            Some(u) => out.push_str(&crate::mail::escape(&u)),
            None => out.push_str(url),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// A 1×1 transparent GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> &'a str {
    q.get(k).map(String::as_str).unwrap_or("")
}

fn event_item(lead: &str, event: &str, props: Vec<(&str, &str)>) -> Item {
    let mut body = Map::new();
    body.insert("event".into(), Value::String(event.into()));
    let p: Map<String, Value> = props
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    body.insert("props".into(), Value::Object(p));
    Item {
        lead: lead.to_owned(),
        action: "event".into(),
        body,
    }
}

/// `GET /t/o?l=&t=&s=`: the open pixel (always answers the image).
pub(super) async fn open_pixel(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (l, t) = (param(&q, "l"), param(&q, "t"));
    if state.signer.verify(&["o", l, t], param(&q, "s")) {
        let _ = ingest(
            &state,
            vec![event_item(l, "email_opened", vec![("template", t)])],
        )
        .await;
    }
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PIXEL,
    )
        .into_response()
}

/// `GET /t/c?l=&t=&u=&s=`: records the click and redirects — only to a URL signed for
/// this lead and template, so it is not an open redirect.
pub(super) async fn click(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (l, t, u) = (param(&q, "l"), param(&q, "t"), param(&q, "u"));
    if !state.signer.verify(&["c", l, t, u], param(&q, "s")) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    let _ = ingest(
        &state,
        vec![event_item(
            l,
            "email_clicked",
            vec![("template", t), ("url", u)],
        )],
    )
    .await;
    Redirect::to(u).into_response()
}

/// `GET /u?l=&s=`: the unsubscribe page (a button, so link scanners unsubscribe no one).
pub(super) async fn unsubscribe_page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (l, s) = (param(&q, "l"), param(&q, "s"));
    if !state.signer.verify(&["u", l], s) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Hủy đăng ký</title>\
         <form method=post action=\"/u?l={}&amp;s={}\"><p>Bạn sẽ không nhận email từ chúng tôi nữa. / You will get no more email from us.</p>\
         <button>Hủy đăng ký / Unsubscribe</button></form>",
        crate::sign::encode(l),
        crate::mail::escape(s)
    ))
    .into_response()
}

/// `POST /u?l=&s=`: one-click unsubscribe (RFC 8058) and the page's button.
pub(super) async fn unsubscribe(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (l, s) = (param(&q, "l"), param(&q, "s"));
    if !state.signer.verify(&["u", l], s) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    let r = ingest(&state, vec![event_item(l, "unsubscribed", vec![])]).await;
    if r.status().is_success() {
        Html("<!doctype html><meta charset=utf-8><p>Đã hủy đăng ký. / You are unsubscribed.</p>")
            .into_response()
    } else {
        r
    }
}

/// `GET /act?task=&do=&s=`: the one-click task page from a Sales email.
pub(super) async fn act_page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (task, action, s) = (param(&q, "task"), param(&q, "do"), param(&q, "s"));
    if !state.signer.verify(&["act", task, action], s) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    let reason = if action == "reject" {
        "<p><label>Lý do / Reason: <input name=reason required></label></p>"
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Task {t}</title>\
         <form method=post action=\"/act?task={te}&amp;do={a}&amp;s={s}\">{reason}\
         <button>{a} {t}</button></form>",
        t = crate::mail::escape(task),
        te = crate::sign::encode(task),
        a = crate::mail::escape(action),
        s = crate::mail::escape(s),
    ))
    .into_response()
}

/// `POST /act?task=&do=&s=` (form field `reason` for a rejection).
pub(super) async fn act(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let (task, action, s) = (param(&q, "task"), param(&q, "do"), param(&q, "s"));
    if !state.signer.verify(&["act", task, action], s) {
        return error(StatusCode::FORBIDDEN, "this link is not signed", None);
    }
    let form: HashMap<String, String> = url_form(&body);
    let reason = form.get("reason").cloned().filter(|r| !r.is_empty());
    task_outcome(&state, task, action, None, reason).await
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn url_form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_email_records_no_open_and_no_click() {
        let signer = Signer::new(b"the service's secret");
        let written = vec!["https://acme.vn/x?a=1&b=2".to_owned()];
        let body = "<p><a href=\"https://acme.vn/x?a=1&amp;b=2\">x</a> <a href=\"https://other.vn/\">o</a> <img src=\"https://acme.vn/logo.png\" alt=\"\"></p>";
        let tracked = crate::mail::track_links(body, "http://me", &signer, "l1", "ebook", &written);
        assert!(tracked.contains("http://me/t/c?l=l1"), "{tracked}");
        let pixel = format!(
            "<img src=\"http://me/t/o?l=l1&amp;t=ebook&amp;s={}\" width=\"1\" height=\"1\" alt=\"\">",
            signer.sign(&["o", "l1", "ebook"])
        );
        // Look-alikes not signed by this service stay as they are.
        let forged = "<img src=\"http://me/t/o?l=l1&amp;t=ebook&amp;s=00\" alt=\"\"><a href=\"http://me/t/c?l=l1&amp;t=ebook&amp;u=https%3A%2F%2Fevil.vn&amp;s=00\">e</a>";
        let shown = untracked(&format!("{tracked}{forged}\n{pixel}"), &signer);
        assert_eq!(shown, format!("{body}{forged}\n"));
        assert_eq!(untracked("<img src=\"", &signer), "<img src=\"");
        assert_eq!(untracked("<a href=\"x", &signer), "<a href=\"x");
    }
}

//! A property test over HTTP request bodies against the real `tandem run`: whatever arrives — broken JSON, wrong shapes, hostile texts, huge numbers, NUL characters — every endpoint answers with a status below 500 and a JSON error, and the service keeps serving.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

mod support;
use support::free_port;
use support::service::*;

/// JSON-shaped and not-quite-JSON bodies built from the pieces the API reads.
fn body() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("id"),
        Just("lead"),
        Just("fields"),
        Just("event"),
        Just("props"),
        Just("name"),
        Just("email"),
        Just("n"),
        Just("signed_at"),
        Just("plan"),
        Just("files"),
        Just("reason"),
        Just("by"),
        Just("stage"),
        Just("tags"),
        Just("\u{0}"),
        Just(""),
        Just("__proto__"),
    ];
    let leaf = prop_oneof![
        Just(serde_json::json!(null)),
        Just(serde_json::json!(true)),
        Just(serde_json::json!(1e308)),
        Just(serde_json::json!(-0.0)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!("signup")),
        Just(serde_json::json!("an")),
        Just(serde_json::json!("2026-01-05T09:00:00+07:00")),
        Just(serde_json::json!("<script>alert(1)</script>")),
        Just(serde_json::json!("\u{0}")),
        Just(serde_json::json!("a\r\nBcc: x@y")),
        ".{0,20}".prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|x| serde_json::json!(x)),
    ];
    let value = leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    });
    prop_oneof![
        4 => value.prop_map(|v| v.to_string()),
        1 => ".{0,40}",
        1 => Just("{\"id\": \"an\", \"fields\": {\"n\": 1".to_owned()),
        1 => Just("[".repeat(10_000)),
    ]
}

#[test]
fn no_request_body_gets_a_5xx_or_stops_the_service() {
    let dir = temp_dir("bodies");
    let http = free_port();
    let s = start(&dir, &file_outbox_config(&dir, http), http);
    let paths = [
        "/api/leads",
        "/api/events",
        "/api/tasks/an:review:1/accept",
        "/api/tasks/an:review:1/reject",
        "/api/program",
        "/api/webhooks/recover?since=2026-01-01T00:00:00Z",
        "/api/webhooks/deliveries/x/redeliver",
        "/u?l=an&s=00",
        "/act?task=an:review:1&do=accept&s=00",
    ];
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(0..paths.len(), body()), |(p, b)| {
            let (status, answer) = post(&s, paths[p], &b);
            prop_assert!(status < 500, "{} {} -> {status} {answer}", paths[p], b);
            Ok(())
        })
        .expect("every body answered below 500");
    let (status, _) = get(&s, "/healthz");
    assert_eq!(status, 200, "still serving");
}

/// A client that sends its headers and a piece of its body, then stalls, is answered (and
/// its connection closed) once the body read times out, instead of holding the connection
/// for ever; the service keeps serving meanwhile.
#[test]
fn a_stalled_body_is_given_up_on() {
    use std::io::{Read, Write};
    let dir = temp_dir("stalled");
    let http = free_port();
    let s = start(&dir, &file_outbox_config(&dir, http), http);
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).expect("connects");
    write!(
        conn,
        "POST /api/leads HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"id\": ",
        s.token
    )
    .expect("writes");
    conn.flush().expect("flushes");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    // Meanwhile others are served.
    assert_eq!(get(&s, "/healthz").0, 200);
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(45),
        "given up on within the body timeout: {answer}"
    );
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "408 Request Timeout: {answer}"
    );
    assert!(
        answer.contains(r#"{"error":{"message":"the body did not arrive within 15 s"}}"#),
        "the JSON error: {answer}"
    );
    assert_eq!(get(&s, "/healthz").0, 200, "still serving");
    // A body over the 8 MiB limit: 413 with the same JSON error shape.
    let big = format!(
        r#"{{"id": "an", "fields": {{"name": "{}"}}}}"#,
        "x".repeat(9 << 20)
    );
    let (status, body) = post(&s, "/api/leads", &big);
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains(r#""message":"the body is larger than 8388608 bytes""#),
        "{body}"
    );
}

//! End-to-end tests of `tandem lsp`: the real binary driven over stdio by a JSON-RPC client (lsp-server's framing), against the `journeys/` program: open, change, diagnostics, completion, hover, definition, references, rename, symbols, formatting, shutdown.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use lsp_server::{Message, Notification, Request, RequestId};
use serde_json::{json, Value};

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i32,
    /// Notifications received while waiting for responses.
    notifications: Vec<Notification>,
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn journeys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("journeys")
}

fn uri(file: &str) -> String {
    format!("file://{}", journeys().join(file).display())
}

fn text(file: &str) -> String {
    std::fs::read_to_string(journeys().join(file)).expect("journey file")
}

/// The (line, UTF-16 column) of the `nth` occurrence of `needle` in `text`, plus `shift` characters.
fn pos(text: &str, needle: &str, nth: usize, shift: usize) -> Value {
    let (at, _) = text
        .match_indices(needle)
        .nth(nth)
        .expect("needle in the text");
    let before = &text[..at];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col: usize = before[line_start..].chars().map(char::len_utf16).sum();
    json!({ "line": line, "character": col + shift })
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tandem lsp starts");
        // A hung server must fail the test, not the CI run: kill it after two minutes.
        let pid = child.id().to_string();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(120));
            let _ = Command::new("kill").args(["-9", &pid]).status();
        });
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut c = Client {
            child,
            stdin,
            stdout,
            next_id: 0,
            notifications: Vec::new(),
        };
        let init = c.request(
            "initialize",
            json!({ "processId": null, "rootUri": format!("file://{}", journeys().display()), "capabilities": {} }),
        );
        assert_eq!(init["serverInfo"]["name"], "tandem", "{init}");
        c.notify("initialized", json!({}));
        c
    }

    fn notify(&mut self, method: &str, params: Value) {
        Message::Notification(Notification::new(method.into(), params))
            .write(&mut self.stdin)
            .expect("write");
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        Message::Request(Request::new(id.clone(), method.into(), params))
            .write(&mut self.stdin)
            .expect("write");
        loop {
            match Message::read(&mut self.stdout)
                .expect("read")
                .expect("a message")
            {
                Message::Response(r) if r.id == id => {
                    return match r.response_result {
                        Ok(v) => v,
                        Err(e) => json!({ "error": e.message }),
                    };
                }
                Message::Notification(n) => self.notifications.push(n),
                _ => {}
            }
        }
    }

    /// Waits for the diagnostics of `uri` published after the last call.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            if let Some(i) = self.notifications.iter().position(|n| {
                n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri
            }) {
                let n = self.notifications.remove(i);
                return n.params["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            match Message::read(&mut self.stdout)
                .expect("read")
                .expect("a message")
            {
                Message::Notification(n) => self.notifications.push(n),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn open(&mut self, file: &str) -> String {
        let t = text(file);
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri(file), "languageId": "tandem", "version": 1, "text": t } }),
        );
        t
    }

    fn at(&mut self, method: &str, file: &str, position: Value, extra: Value) -> Value {
        let mut params = json!({ "textDocument": { "uri": uri(file) }, "position": position });
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.request(method, params)
    }
}

fn labels(completion: &Value) -> Vec<String> {
    completion
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["label"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn diagnostics_follow_edits_and_point_at_the_mistake() {
    let mut c = Client::start();
    let rules = c.open("rules.journey");
    assert!(
        c.diagnostics(&uri("rules.journey"))
            .iter()
            .all(|d| d["severity"] != 1),
        "the example program has no errors"
    );
    let broken = rules.replacen("business_email", "busines_email", 1);
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri("rules.journey"), "version": 2 },
                "contentChanges": [{ "text": broken }] }),
    );
    let diags = c.diagnostics(&uri("rules.journey"));
    let error = diags
        .iter()
        .find(|d| d["severity"] == 1)
        .expect("an error for the misspelt segment");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("busines_email"),
        "{error}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("business_email"),
        "a suggestion: {error}"
    );
    assert_eq!(
        error["range"]["start"],
        pos(&broken, "busines_email", 0, 0),
        "{error}"
    );
    // Fixing it clears the file's diagnostics.
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri("rules.journey"), "version": 3 },
                "contentChanges": [{ "text": rules }] }),
    );
    let diags = c.diagnostics(&uri("rules.journey"));
    assert!(diags.iter().all(|d| d["severity"] != 1), "{diags:?}");
    assert_eq!(c.request("shutdown", Value::Null), Value::Null);
    c.notify("exit", Value::Null);
    let status = c.child.wait().expect("exits");
    assert!(status.success());
}

#[test]
fn completion_hover_definition_references_and_rename_answer_about_the_program() {
    let mut c = Client::start();
    let scores = c.open("scores.journey");
    c.diagnostics(&uri("scores.journey"));

    // After `event.` the properties of the event the clause names; elsewhere names,
    // built-ins, keywords.
    let after_dot = pos(&scores, "event.url", 0, "event.".len());
    let props = labels(&c.at(
        "textDocument/completion",
        "scores.journey",
        after_dot,
        json!({}),
    ));
    assert_eq!(props, ["url"], "page_viewed has one property");
    let after_dot = pos(&scores, "event.minutes", 0, "event.".len());
    let props = labels(&c.at(
        "textDocument/completion",
        "scores.journey",
        after_dot,
        json!({}),
    ));
    assert!(
        props.contains(&"minutes".to_owned()) && !props.contains(&"url".to_owned()),
        "{props:?}"
    );
    let anywhere = c.at(
        "textDocument/completion",
        "scores.journey",
        pos(&scores, "lower(", 0, 0),
        json!({}),
    );
    let names = labels(&anywhere);
    for want in [
        "company_size",
        "business_email",
        "target_industries",
        "fit",
        "ebook_nurture",
        "lower",
        "count",
        "journey",
    ] {
        assert!(
            names.contains(&want.to_owned()),
            "{want} missing from completion"
        );
    }
    let lower = anywhere
        .as_array()
        .and_then(|a| a.iter().find(|c| c["label"] == "lower"))
        .expect("lower");
    assert_eq!(lower["detail"], "lower(text) -> text");

    // Hover: a built-in's doc from stdlib; a const's definition from another file.
    let h = c.at(
        "textDocument/hover",
        "scores.journey",
        pos(&scores, "lower(", 0, 2),
        json!({}),
    );
    let doc = h["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        doc.contains("lower(text) -> text") && doc.contains("lower case"),
        "{doc}"
    );
    let h = c.at(
        "textDocument/hover",
        "scores.journey",
        pos(&scores, "target_industries", 0, 3),
        json!({}),
    );
    let doc = h["contents"]["value"].as_str().unwrap_or_default();
    assert!(doc.contains("const target_industries = [\"saas\""), "{doc}");

    // Definition: across files, at the name in its declaration.
    let def = c.at(
        "textDocument/definition",
        "scores.journey",
        pos(&scores, "target_industries", 0, 1),
        json!({}),
    );
    let program = text("program.journey");
    assert_eq!(def[0]["uri"], uri("program.journey"), "{def}");
    assert_eq!(
        def[0]["range"]["start"],
        pos(&program, "target_industries", 0, 0),
        "{def}"
    );

    // References of a segment: its declaration and uses in several files.
    let rules = text("rules.journey");
    let refs = c.at(
        "textDocument/references",
        "scores.journey",
        pos(&scores, "business_email", 0, 1),
        json!({ "context": { "includeDeclaration": true } }),
    );
    let refs = refs.as_array().cloned().unwrap_or_default();
    let expected = [
        "program.journey",
        "rules.journey",
        "scores.journey",
        "nurtures.journey",
        "sales.journey",
        "tests.journey",
    ]
    .iter()
    .map(|f| text(f).matches("business_email").count())
    .sum::<usize>();
    assert_eq!(refs.len(), expected, "{refs:?}");
    assert!(refs.iter().any(|r| r["uri"] == uri("rules.journey")));
    assert!(rules.contains("business_email"));

    // Rename: every occurrence, and nothing else; bad names are refused.
    let edit = c.at(
        "textDocument/rename",
        "scores.journey",
        pos(&scores, "business_email", 0, 1),
        json!({ "newName": "work_email" }),
    );
    let changes = edit["changes"].as_object().cloned().unwrap_or_default();
    let edits: usize = changes
        .values()
        .map(|v| v.as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(edits, expected, "{edit}");
    assert!(changes
        .values()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .all(|e| e["newText"] == "work_email"));
    let refused = c.at(
        "textDocument/rename",
        "scores.journey",
        pos(&scores, "business_email", 0, 1),
        json!({ "newName": "not" }),
    );
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or_default()
            .contains("reserved"),
        "{refused}"
    );
}

#[test]
fn symbols_and_formatting() {
    let mut c = Client::start();
    let scores = c.open("scores.journey");
    c.diagnostics(&uri("scores.journey"));
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri("scores.journey") } }),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["fit", "engagement"], "{symbols}");
    let formatting = json!({ "textDocument": { "uri": uri("scores.journey") }, "options": { "tabSize": 2, "insertSpaces": true } });
    assert_eq!(
        c.request("textDocument/formatting", formatting.clone()),
        json!([]),
        "journeys/ is formatted"
    );
    let messy = scores.replacen("score fit {", "score   fit   {", 1);
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri("scores.journey"), "version": 2 }, "contentChanges": [{ "text": messy }] }),
    );
    c.diagnostics(&uri("scores.journey"));
    let edits = c.request("textDocument/formatting", formatting);
    assert_eq!(edits[0]["newText"], scores, "{edits}");
}

#[test]
fn without_an_editor_it_says_what_it_is_for() {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("lsp")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("standard input closed before an editor sent `initialize`"),
        "{err}"
    );
    assert!(!err.contains("disconnected channel"), "{err}");
}

//! `tandem run --demo`: a steady stream of synthetic Vietnamese B2B leads and their events, so the dashboard and the outbox move on a fresh install.

use crate::engine_thread::{Item, Request};
use serde_json::{json, Map, Value};

const FIRST: &[&str] = &[
    "An", "Bình", "Chi", "Dũng", "Hà", "Hùng", "Lan", "Minh", "Ngọc", "Phương", "Quân", "Thảo",
    "Trang", "Tuấn", "Vy",
];
const LAST: &[&str] = &["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi"];
const COMPANIES: &[&str] = &[
    "Sao Việt Logistics",
    "Minh Phát Retail",
    "Hòa Bình Fintech",
    "Đại Dương Edu",
    "Phú Gia SaaS",
    "Tân Cảng Freight",
];
const INDUSTRIES: &[&str] = &["logistics", "retail", "fintech", "edu", "saas"];
const SOURCES: &[&str] = &["website", "webinar", "referral", "ads"];
const FORMS: &[&str] = &["ebook_chuyen_doi_so", "demo_request", "lien_he"];
const URLS: &[&str] = &["/bang-gia", "/blog", "/tinh-nang"];
const TITLES: &[&str] = &[
    "Giám đốc",
    "Trưởng phòng IT",
    "Nhân viên",
    "CEO",
    "Kế toán trưởng",
];

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The templates `lead` was sent (from its page's timeline), each once.
async fn sent_templates(core: &std::sync::mpsc::Sender<Request>, lead: &str) -> Vec<String> {
    let (reply, rx) = tokio::sync::oneshot::channel();
    if core
        .send(Request::Lead {
            id: lead.to_owned(),
            reply,
        })
        .is_err()
    {
        return Vec::new();
    }
    let Ok(Ok(Some(view))) = rx.await else {
        return Vec::new();
    };
    let mut out: Vec<String> = view["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["kind"] == "email_sent")
        .filter_map(|l| l["template"].as_str().map(str::to_owned))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Feeds the engine: a new lead every second, and events for recent leads in between.
/// Items the running program does not know are refused by the engine and skipped.
pub async fn feed(core: std::sync::mpsc::Sender<Request>) {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ jiff::Timestamp::now().as_second() as u64;
    let mut rnd = move |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m.max(1) as u64) as usize
    };
    let run = jiff::Timestamp::now().as_second();
    let mut n = 0usize;
    loop {
        n += 1;
        let id = format!("demo-{run}-{n}");
        let name = format!("{} {}", LAST[rnd(LAST.len())], FIRST[rnd(FIRST.len())]);
        let company = COMPANIES[rnd(COMPANIES.len())];
        let domain = if rnd(4) == 0 {
            "gmail.com".to_owned()
        } else {
            format!("cty{}.vn", rnd(97))
        };
        let mut items = vec![Item {
            lead: id.clone(),
            action: "upsert".into(),
            body: obj(json!({"fields": {
                "name": name,
                "email": format!("lead{n}@{domain}"),
                "company": company,
                "company_size": 10 + rnd(3000),
                "industry": INDUSTRIES[rnd(INDUSTRIES.len())],
                "title": TITLES[rnd(TITLES.len())],
                "source": SOURCES[rnd(SOURCES.len())],
            }})),
        }];
        for _ in 0..rnd(4) {
            let lead = format!("demo-{run}-{}", 1 + rnd(n));
            let kind = rnd(4);
            // Opens and clicks only for an email the lead was sent.
            let sent = if kind >= 2 {
                sent_templates(&core, &lead).await
            } else {
                Vec::new()
            };
            let body = match (kind, sent.is_empty()) {
                (0, _) => {
                    json!({"event": "form_submitted", "props": {"form": FORMS[rnd(FORMS.len())]}})
                }
                (1, _) | (_, true) => {
                    json!({"event": "page_viewed", "props": {"url": URLS[rnd(URLS.len())]}})
                }
                (2, false) => {
                    json!({"event": "email_opened", "props": {"template": sent[rnd(sent.len())]}})
                }
                _ => json!({"event": "email_clicked", "props": {
                    "template": sent[rnd(sent.len())], "url": "https://acme.vn/khach-hang"
                }}),
            };
            items.push(Item {
                lead,
                action: "event".into(),
                body: obj(body),
            });
        }
        // Each item alone, so one the program does not know does not hold back the rest.
        for item in items {
            let (reply, rx) = tokio::sync::oneshot::channel();
            if core
                .send(Request::Ingest {
                    items: vec![item],
                    reply,
                })
                .is_err()
            {
                return;
            }
            if let Ok(Err(r)) = rx.await {
                tracing::debug!(message = %r.message, "demo: an item was refused");
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    }
}

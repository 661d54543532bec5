//! A synthetic program generator for benchmarks: N journey files of realistic shape (about 5 KB each) plus a shared header and template.

use compiler::{ProgramSource, SourceText};

pub const HEADER: &str = r#"timezone "Asia/Ho_Chi_Minh"

lead {
  name: text
  title: text
  company: text
  company_size: number
  industry: text
  country: text = "VN"
  source: text
  budget_usd: number
}

event form_submitted { form: text, page: text }
"#;

pub const TEMPLATE: &str = "+++\nsubject = \"Chào {{ lead.name }}\"\n+++\nXin chào {{ lead.name }} ({{ lead.company }}).\n\n[Hủy đăng ký]({{ unsubscribe_url }})\n";

/// One generated journey file; every name carries the suffix `i` so files do not clash.
pub fn file(i: usize) -> String {
    let mut s = String::with_capacity(6_000);
    s.push_str(&format!(
        r#"# Generated file {i}: one product line's scores, rules, journeys, team and handoff.
event visit{i} {{ url: text, seconds: number }}
const list{i} = ["saas", "fintech", "logistics", "retail", "edu{i}"]
segment seg{i} = company_size between 50 and 2000
  and lower(industry) in list{i}
  and country == "VN"

score fit{i} {{
  +25 if company_size >= 200
  +15 if company_size between 50 and 199
  +20 if lower(industry) in list{i}
  +10 if unaccent(lower(title)) matches "giam doc|director|head|ceo"
  -30 if free_email(email)
  +5 if budget_usd > 10_000
  +5 if source == "webinar"
  min 0
  max 100
}}

score eng{i} {{
  +3 on email_opened
  +8 on email_clicked
  +15 on visit{i} where event.url contains "/pricing"
  +40 on form_submitted where event.form == "demo_request"
  decay 25% every 30 days
  max 100
}}

rule mql{i} {{
  when stage == lead and seg{i} and "recycled" not in tags
    and score.fit{i} >= 40 and score.eng{i} >= 30
  then set stage = mql
}}

rule hot{i} {{
  when count(visit{i} where event.url contains "/pricing" within 7 days) >= 3
  then {{
    tag "hot"
    notify team team{i} "{{{{ lead.name }}}} ({{{{ lead.company }}}}) xem trang giá 3 lần"
  }}
}}

team team{i} {{
  members "an{i}@acme.vn", "binh{i}@acme.vn", "chi{i}@acme.vn"
  manager "dung{i}@acme.vn"
  hours mon-fri 8:30-17:30
  closed 2027-02-05 to 2027-02-11
  open 2027-02-13
}}

handoff handoff{i} {{
  when stage == mql and seg{i}
  assign owner else team team{i} by round_robin
  task "Gọi cho {{{{ lead.name }}}} – {{{{ lead.company }}}}"
  accept within 4 business hours else escalate
  complete within 5 business days else reassign
  reasons not_icp "Không đúng ICP", no_budget "Chưa có ngân sách", bad_timing "Chưa đúng thời điểm"
  on accept {{ set stage = sql }}
  on reject {{
    set stage = lead
    tag "recycled"
    enroll recycle{i}
  }}
}}

journey recycle{i} {{
  exit when stage >= mql
  reenter after 90 days
  wait 30 days
  send tpl
  untag "recycled"
}}
"#
    ));
    for k in 0..6 {
        s.push_str(&format!(
            r#"
journey nurture{i}_{k} {{
  enter on form_submitted where event.form == "ebook{k}"
  exit when stage >= sql or unsubscribed
  goal stage == mql
  reenter after 90 days

  send tpl
  wait 2 days
  if opened(tpl) {{
    send tpl
  }} else if score.eng{i} > 10 {{
    tag "warm"
  }} else {{
    send tpl
  }}
  wait for email_clicked where event.template == "tpl" up to 5 days {{
    tag "engaged"
  }} timeout {{
    send tpl
  }}
  wait until weekday 9:00
  split {{
    50% {{ send tpl }}
    50% {{ tag "b{k}" }}
  }}
}}
"#
        ));
    }
    s.push_str(&format!(
        r#"
test "lead {i} qualifies" {{
  lead an {{ email: "an@techviet.vn", name: "An", company_size: 120, industry: "SaaS" }}
  event an visit{i} {{ url: "/pricing", seconds: 30 }}
  expect an stage == lead
  expect an not in nurture{i}_0
}}
"#
    ));
    s
}

/// A program of `n` generated files, the header and one template.
pub fn program(n: usize) -> ProgramSource {
    let mut journeys = vec![SourceText {
        path: "00_header.journey".into(),
        text: HEADER.into(),
    }];
    for i in 0..n {
        journeys.push(SourceText {
            path: format!("gen/{i:04}.journey"),
            text: file(i),
        });
    }
    ProgramSource {
        journeys,
        templates: vec![SourceText {
            path: "templates/tpl.md".into(),
            text: TEMPLATE.into(),
        }],
        config: None,
    }
}

//! The example program (`journeys/`) compiled into the binary: what `tandem run` runs when given no folder and none is found.

/// `(path, text)` of every program file in `journeys/`, checked against the folder by a test.
pub const EMBEDDED_PROGRAM: &[(&str, &str)] = &[
    (
        "nurtures.journey",
        include_str!("../journeys/nurtures.journey"),
    ),
    (
        "program.journey",
        include_str!("../journeys/program.journey"),
    ),
    ("rules.journey", include_str!("../journeys/rules.journey")),
    ("sales.journey", include_str!("../journeys/sales.journey")),
    (
        "schedules.journey",
        include_str!("../journeys/schedules.journey"),
    ),
    ("scores.journey", include_str!("../journeys/scores.journey")),
    (
        "sending.journey",
        include_str!("../journeys/sending.journey"),
    ),
    (
        "templates/case_study.md",
        include_str!("../journeys/templates/case_study.md"),
    ),
    (
        "templates/customer_checkin.md",
        include_str!("../journeys/templates/customer_checkin.md"),
    ),
    (
        "templates/customer_welcome.md",
        include_str!("../journeys/templates/customer_welcome.md"),
    ),
    (
        "templates/ebook_delivery.md",
        include_str!("../journeys/templates/ebook_delivery.md"),
    ),
    (
        "templates/ebook_last_chance.md",
        include_str!("../journeys/templates/ebook_last_chance.md"),
    ),
    (
        "templates/ebook_reminder.md",
        include_str!("../journeys/templates/ebook_reminder.md"),
    ),
    (
        "templates/recycle_checkin.md",
        include_str!("../journeys/templates/recycle_checkin.md"),
    ),
    (
        "templates/trial_consultation.md",
        include_str!("../journeys/templates/trial_consultation.md"),
    ),
    (
        "templates/trial_ending.md",
        include_str!("../journeys/templates/trial_ending.md"),
    ),
    (
        "templates/trial_help.md",
        include_str!("../journeys/templates/trial_help.md"),
    ),
    (
        "templates/trial_invite.md",
        include_str!("../journeys/templates/trial_invite.md"),
    ),
    (
        "templates/trial_tips.md",
        include_str!("../journeys/templates/trial_tips.md"),
    ),
    (
        "templates/trial_welcome.md",
        include_str!("../journeys/templates/trial_welcome.md"),
    ),
    (
        "templates/we_miss_you.md",
        include_str!("../journeys/templates/we_miss_you.md"),
    ),
    (
        "templates/webinar_invite_a.html",
        include_str!("../journeys/templates/webinar_invite_a.html"),
    ),
    (
        "templates/webinar_invite_b.md",
        include_str!("../journeys/templates/webinar_invite_b.md"),
    ),
    (
        "templates/webinar_recording.md",
        include_str!("../journeys/templates/webinar_recording.md"),
    ),
    ("tests.journey", include_str!("../journeys/tests.journey")),
];

/// The embedded program as `(path, text)` pairs, sorted by path.
pub fn files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = EMBEDDED_PROGRAM
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    files.sort();
    files
}

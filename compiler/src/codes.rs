//! The stable diagnostic codes of the compiler phase (the parser's are E0001–E0005), one constant each; `docs/diagnostics.md` explains every one.

/// A name is declared twice in one namespace, or redeclares a built-in.
pub const DUPLICATE: &str = "E0010";
/// A bare name that is no lead field, segment, const or stage.
pub const UNKNOWN_NAME: &str = "E0011";
pub const UNKNOWN_EVENT: &str = "E0012";
pub const UNKNOWN_TEMPLATE: &str = "E0013";
pub const UNKNOWN_TEAM: &str = "E0014";
pub const UNKNOWN_JOURNEY: &str = "E0015";
pub const UNKNOWN_HANDOFF: &str = "E0016";
pub const UNKNOWN_SCORE: &str = "E0017";
pub const UNKNOWN_REASON: &str = "E0018";
/// `event.PROP` names a property the event does not have.
pub const UNKNOWN_PROPERTY: &str = "E0019";
/// `event.PROP` where no event is in scope.
pub const NO_EVENT_IN_SCOPE: &str = "E0020";
/// `x.y` where `x` is neither `score` nor `event`.
pub const UNKNOWN_MEMBER: &str = "E0021";
/// A test uses a lead it has not created, or creates one twice.
pub const UNKNOWN_LEAD: &str = "E0022";
/// An unknown function, or the wrong number of arguments.
pub const UNKNOWN_FUNCTION: &str = "E0023";
/// A field or property type other than text, number, bool, time.
pub const UNKNOWN_TYPE: &str = "E0024";
pub const UNKNOWN_WEBHOOK: &str = "E0025";
/// An operand or value of the wrong type.
pub const TYPE_MISMATCH: &str = "E0030";
/// `set` on a read-only field, or on something that is not a field.
pub const READ_ONLY: &str = "E0032";
/// `is set` / `is missing` on something that is not a field or event property.
pub const NOT_A_FIELD: &str = "E0033";
/// `in` whose right side is not a list of the left side's type.
pub const NOT_A_LIST: &str = "E0034";
/// `wait for` / `wait until EXPR` without `up to`.
pub const UNBOUNDED_WAIT: &str = "E0040";
/// `split` percentages that do not add up to 100.
pub const SPLIT_PERCENT: &str = "E0041";
pub const INVALID_CRON: &str = "E0042";
pub const INVALID_REGEX: &str = "E0043";
/// Unknown IANA time zone, or a program without exactly one `timezone`.
pub const TIMEZONE: &str = "E0044";
pub const SEGMENT_CYCLE: &str = "E0045";
pub const SCORE_CYCLE: &str = "E0046";
/// A business-time SLA on a team that has no `hours`.
pub const NO_BUSINESS_HOURS: &str = "E0047";
/// `send` of a template without `{{ unsubscribe_url }}`.
pub const NO_UNSUBSCRIBE: &str = "E0048";
/// A template's front matter, syntax or variables are wrong.
pub const TEMPLATE: &str = "E0049";
/// A program-wide declaration missing or repeated (`lead`, `stages`, `sending`).
pub const SINGLETON: &str = "E0050";
/// A clause missing, repeated, or in the wrong place (handoff without `assign`, …).
pub const CLAUSE: &str = "E0053";
/// `exit` outside a journey, or an action a schedule cannot run without a lead.
pub const MISPLACED_ACTION: &str = "E0055";
/// A `const` list mixing types, or a list inside a list.
pub const BAD_CONST: &str = "E0056";
/// A test sends an event only the runtime may raise, or gives a value a lead cannot hold.
pub const BAD_TEST_INPUT: &str = "E0060";
/// Not an email address where one is needed.
pub const BAD_ADDRESS: &str = "E0061";
/// A webhook of `tandem.toml` written wrong (not a URL or a table, an unknown key, a bad
/// `url`, an unknown timeline kind in `events`, a limit out of range).
pub const WEBHOOK_CONFIG: &str = "E0062";

/// A condition that can only become true as time passes (spec 6.2).
pub const W_CLOCK: &str = "W-CLOCK";
/// A journey that no `enter` clause and no `enroll` action can start.
pub const W_NO_ENTRY: &str = "W-NO-ENTRY";
/// A handoff whose `on reject` lets the same handoff trigger again at once.
pub const W_REJECT_LOOP: &str = "W-REJECT-LOOP";

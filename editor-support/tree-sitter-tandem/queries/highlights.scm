; Highlights for Tandem (.journey). Later patterns win in editors that use
; "last match wins" (Neovim); the specific captures come after the general ones.

(comment) @comment

; ---------------------------------------------------------------- literals

(string) @string
(escape_sequence) @string.escape
(number) @number
(signed_number) @number
(percent) @number
(duration) @number
(business_duration) @number
(date) @string.special
(clock) @string.special
(boolean) @boolean
(day_name) @constant.builtin
(assign_strategy) @constant.builtin
(sla_kind) @keyword
(sla_action) @constant.builtin
(outcome_kind) @keyword
(type) @type

(is_expression
  state: _ @constant.builtin)

; ---------------------------------------------------------------- names

(identifier) @variable

; Declaration names
(timezone_declaration zone: (string) @string.special)
(event_declaration name: (identifier) @type)
(const_declaration name: (identifier) @constant)
(segment_declaration name: (identifier) @function)
(score_declaration name: (identifier) @function)
(rule_declaration name: (identifier) @function)
(journey_declaration name: (identifier) @function)
(team_declaration name: (identifier) @namespace)
(handoff_declaration name: (identifier) @function)
(schedule_declaration name: (identifier) @function)
(test_declaration name: (string) @string.special)

; Stage names
(stage_list (identifier) @constant)

; Fields and properties
(field_declaration name: (identifier) @property)
(property_declaration name: (identifier) @property)
(field_value name: (identifier) @property)
(set_action field: (identifier) @property)
(member_expression property: (property_identifier) @property)
(member_expression
  object: (identifier) @variable.builtin
  (#any-of? @variable.builtin "event" "score"))

; References to events, templates, journeys, teams, handoffs
(score_on event: (identifier) @type)
(enter_on event: (identifier) @type)
(exit_on event: (identifier) @type)
(wait_for event: (identifier) @type)
(count_expression event: (identifier) @type)
(test_event event: (identifier) @type)
(send_action template: (identifier) @label)
(expect_sent template: (identifier) @label)
(expect_sent_at template: (identifier) @label)
(expect_not_sent template: (identifier) @label)
(enroll_action journey: (identifier) @function)
(expect_in journey: (identifier) @function)
(expect_not_in journey: (identifier) @function)
(notify_team team: (identifier) @namespace)
(assign_clause team: (identifier) @namespace)
(handoff_action handoff: (identifier) @function)
(test_task handoff: (identifier) @function)
(expect_task_assigned handoff: (identifier) @function)
(expect_no_task handoff: (identifier) @function)
(expect_task_escalated handoff: (identifier) @function)
(expect_task_reassigned handoff: (identifier) @function)
(webhook_action webhook: (identifier) @label)
(expect_webhook webhook: (identifier) @label)
(expect_not_webhook webhook: (identifier) @label)
(wait_date field: (identifier) @property)
(team_holidays country: (identifier) @constant.builtin)
(reason name: (identifier) @constant)
(task_outcome reason: (identifier) @constant)

; Function calls: the built-ins of the stdlib, then any other call
(call_expression function: (identifier) @function.call)
(call_expression
  function: (identifier) @function.builtin
  (#any-of? @function.builtin
    "lower" "upper" "trim" "unaccent" "length" "domain" "free_email" "now"
    "days_since" "hours_since" "opened" "clicked" "round" "abs" "min" "max"))
(count_expression "count" @function.builtin)

; ---------------------------------------------------------------- keywords

[
  "timezone" "stages" "event" "const" "segment" "score" "rule" "journey"
  "team" "handoff" "schedule" "sending" "test"
] @keyword

[
  "when" "then" "enter" "on" "exit" "goal" "reenter" "after" "never" "where"
  "wait" "until" "for" "up" "to" "timeout" "split" "every" "decay"
  "members" "manager" "hours" "closed" "open" "assign" "owner" "by" "task"
  "within" "reasons" "leads" "report" "from" "quiet" "at" "most" "emails" "per"
  "start" "lead" "update" "advance" "expect" "sent" "assigned" "no" "set" "missing"
  "before" "holidays" "escalated" "reassigned" "notified"
] @keyword

(score_min "min" @keyword)
(score_max "max" @keyword)
(exit_action) @keyword
(notify_owner) @keyword
(task_outcome) @keyword
(not_flag) @keyword.operator

[
  "set" "tag" "untag" "send" "enroll" "notify" "webhook"
] @keyword.function

[ "if" "else" ] @keyword.conditional

[
  "and" "or" "not" "in" "is" "between" "contains" "matches" "starts" "ends" "with"
] @keyword.operator

; ---------------------------------------------------------------- operators and punctuation

[ "==" "!=" "<" "<=" ">" ">=" "+" "-" "*" "/" "=" "|" ] @operator

[ "(" ")" "[" "]" "{" "}" ] @punctuation.bracket
[ "," ";" ":" "." ] @punctuation.delimiter

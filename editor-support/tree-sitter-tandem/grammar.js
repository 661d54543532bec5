/**
 * @file Tree-sitter grammar for Tandem, the journey language (`.journey` files).
 *
 * Mirrors the project's pest grammar (grammar/src/tandem.pest) rule for rule;
 * the comments name the pest rule each tree-sitter rule stands for.
 *
 * Line structure (spec section 2): a statement ends at a line break, at `;`,
 * or before `}`. Line breaks are significant only where pest writes `sep`;
 * the external scanner (src/scanner.c) emits a `_newline` token only when the
 * parser can accept one there, and never when the next word is `and`, `or`,
 * `then`, `else` or `timeout {` (pest's `nl*` before those). Everywhere else a
 * line break is plain whitespace: inside `( )` and `[ ]`, after `,` and after
 * binary operators, as pest's pre-pass and `nl*` allow.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const PREC = {
  or: 1,
  and: 2,
  sum: 5,
  product: 6,
};

// `digits` in pest: 1_000, 3.5
const DIGITS = /[0-9](_?[0-9])*/.source;
const NUMBER = `${DIGITS}(\\.${DIGITS})?`;
const TIME_UNIT = '(minutes|minute|hours|hour|days|day|weeks|week)';
const DAY_NAMES = [
  'monday', 'mon', 'tuesday', 'tue', 'wednesday', 'wed', 'thursday', 'thu',
  'friday', 'fri', 'saturday', 'sat', 'sunday', 'sun', 'weekday', 'weekend',
];
const DURATION_PART = `${NUMBER}[ \\t]+${TIME_UNIT}`;

/**
 * `{ sep? (item (sep item)* sep?)? }` — a block of statements, as pest writes it.
 *
 * @param {GrammarSymbols<string>} $
 * @param {RuleOrLiteral} item
 * @param {RuleOrLiteral} [separator]
 */
function block($, item, separator) {
  const sep = separator || $._sep;
  return seq(
    '{',
    optional($._sep),
    optional(seq(item, repeat(seq(sep, item)), optional(sep))),
    '}',
  );
}

/**
 * `x ("," nl* x)*`
 *
 * @param {RuleOrLiteral} item
 */
function commaSep1(item) {
  return seq(item, repeat(seq(',', item)));
}

module.exports = grammar({
  name: 'tandem',

  externals: $ => [
    $._newline,
  ],

  extras: $ => [
    /[ \t\r\n\uFEFF]/,
    $.comment,
  ],

  word: $ => $.identifier,

  supertypes: $ => [
    $._declaration,
    $._expression,
    $._action,
  ],

  rules: {
    // file = { SOI ~ sep? ~ (decl ~ (sep ~ decl)* ~ sep?)? ~ EOI }
    source_file: $ => seq(
      optional($._sep),
      optional(seq(
        $._declaration,
        repeat(seq($._sep, $._declaration)),
        optional($._sep),
      )),
    ),

    // sep = (nl | ";")+
    _sep: $ => repeat1(choice($._newline, ';')),
    // item_sep = ("," ~ nl*) | sep
    _item_sep: $ => choice(',', $._sep),

    comment: _ => token(seq('#', /[^\n]*/)),

    // ------------------------------------------------------------ declarations

    _declaration: $ => choice(
      $.timezone_declaration,
      $.lead_declaration,
      $.stages_declaration,
      $.event_declaration,
      $.const_declaration,
      $.segment_declaration,
      $.score_declaration,
      $.rule_declaration,
      $.journey_declaration,
      $.team_declaration,
      $.handoff_declaration,
      $.schedule_declaration,
      $.sending_declaration,
      $.test_declaration,
    ),

    // d_timezone
    timezone_declaration: $ => seq('timezone', field('zone', $.string)),

    // d_lead
    lead_declaration: $ => seq('lead', block($, $.field_declaration, $._item_sep)),

    // field_decl
    field_declaration: $ => seq(
      field('name', $.identifier),
      ':',
      field('type', alias($.identifier, $.type)),
      optional(seq('=', field('default', $._literal))),
    ),

    // d_stages
    stages_declaration: $ => seq(
      'stages',
      '{',
      field('funnel', $.stage_list),
      optional(seq('|', field('outside', $.stage_list))),
      '}',
    ),

    // stage_list
    stage_list: $ => commaSep1($.identifier),

    // d_event
    event_declaration: $ => seq(
      'event',
      field('name', $.identifier),
      optional(block($, $.property_declaration, $._item_sep)),
    ),

    // prop_decl
    property_declaration: $ => seq(
      field('name', $.identifier),
      ':',
      field('type', alias($.identifier, $.type)),
    ),

    // d_const
    const_declaration: $ => seq(
      'const',
      field('name', $.identifier),
      '=',
      field('value', $._literal),
    ),

    // d_segment
    segment_declaration: $ => seq(
      'segment',
      field('name', $.identifier),
      '=',
      field('value', $._expression),
    ),

    // d_score
    score_declaration: $ => seq(
      'score',
      field('name', $.identifier),
      block($, $._score_item),
    ),

    _score_item: $ => choice(
      $.score_if,
      $.score_on,
      $.score_min,
      $.score_max,
      $.score_decay,
    ),

    // score_if
    score_if: $ => seq(
      field('points', $.signed_number),
      'if',
      field('condition', $._expression),
    ),

    // score_on
    score_on: $ => seq(
      field('points', $.signed_number),
      'on',
      field('event', $.identifier),
      optional($.where_clause),
    ),

    // score_min, score_max
    score_min: $ => seq('min', field('value', $.signed_number)),
    score_max: $ => seq('max', field('value', $.signed_number)),

    // score_decay
    score_decay: $ => seq(
      'decay',
      field('percent', $.percent),
      'every',
      field('period', $.duration),
    ),

    // d_rule = { kw_rule ~ name ~ "{" ~ sep? ~ rule_when ~ nl* ~ rule_then ~ sep? ~ "}" }
    rule_declaration: $ => seq(
      'rule',
      field('name', $.identifier),
      '{',
      optional($._sep),
      $.when_clause,
      $.then_clause,
      optional($._sep),
      '}',
    ),

    // rule_when, h_when
    when_clause: $ => seq('when', field('condition', $._expression)),

    // rule_then, enter_then
    then_clause: $ => seq('then', choice($.action_block, $._action)),

    // d_journey
    journey_declaration: $ => seq(
      'journey',
      field('name', $.identifier),
      block($, $._journey_item),
    ),

    // journey_item
    _journey_item: $ => choice(
      $.enter_on,
      $.enter_when,
      $.exit_on,
      $.exit_when,
      $.goal,
      $.reenter_after,
      $.reenter_never,
      $._step,
    ),

    // j_enter_on + enter_then: `then …` has the shape of rule_then (then_clause),
    // and a line break may come before it, as before a rule's `then`.
    enter_on: $ => seq(
      'enter',
      'on',
      field('event', $.identifier),
      optional($.where_clause),
      optional(field('then', $.then_clause)),
    ),

    // j_enter_when
    enter_when: $ => seq('enter', 'when', field('condition', $._expression)),

    // j_exit_on
    exit_on: $ => seq(
      'exit',
      'on',
      field('event', $.identifier),
      optional($.where_clause),
    ),

    // j_exit_when
    exit_when: $ => seq('exit', 'when', field('condition', $._expression)),

    // j_goal
    goal: $ => seq('goal', field('condition', $._expression)),

    // j_reenter_after
    reenter_after: $ => seq('reenter', 'after', field('delay', $.duration)),

    // j_reenter_never
    reenter_never: _ => seq('reenter', 'never'),

    // `where EXPR` after an event name
    where_clause: $ => seq('where', field('condition', $._expression)),

    // d_team
    team_declaration: $ => seq(
      'team',
      field('name', $.identifier),
      block($, $._team_item),
    ),

    _team_item: $ => choice(
      $.team_members,
      $.team_manager,
      $.team_hours,
      $.team_timezone,
      $.team_closed,
      $.team_open,
      $.team_holidays,
    ),

    // team_members
    team_members: $ => seq('members', commaSep1($.string)),

    // team_manager
    team_manager: $ => seq('manager', $.string),

    // team_hours
    team_hours: $ => seq('hours', field('days', $.day_spec), field('time', $.clock_range)),

    // team_timezone
    team_timezone: $ => seq('timezone', $.string),

    // team_closed
    team_closed: $ => seq('closed', commaSep1($.date_item)),

    // date_item
    date_item: $ => seq(
      field('from', $.date),
      optional(seq('to', field('to', $.date))),
    ),

    // team_open
    team_open: $ => seq(
      'open',
      field('date', $.date),
      optional(field('time', $.clock_range)),
    ),

    // team_holidays: `holidays vietnam`
    team_holidays: $ => seq('holidays', field('country', $.identifier)),

    // d_handoff
    handoff_declaration: $ => seq(
      'handoff',
      field('name', $.identifier),
      block($, $._handoff_item),
    ),

    _handoff_item: $ => choice(
      $.when_clause,
      $.assign_clause,
      $.task_clause,
      $.sla_clause,
      $.reasons_clause,
      $.outcome_clause,
    ),

    // h_assign
    assign_clause: $ => seq(
      'assign',
      optional($.assign_owner),
      'team',
      field('team', $.identifier),
      'by',
      field('strategy', $.assign_strategy),
    ),

    // assign_owner
    assign_owner: _ => seq('owner', 'else'),

    // assign_strategy
    assign_strategy: _ => choice('round_robin', 'least_open'),

    // h_task
    task_clause: $ => seq('task', field('title', $.string)),

    // h_sla
    sla_clause: $ => seq(
      field('kind', $.sla_kind),
      'within',
      field('deadline', choice($.business_duration, $.duration)),
      'else',
      field('action', $.sla_action),
    ),

    sla_kind: _ => choice('accept', 'complete'),
    sla_action: _ => choice('escalate', 'reassign'),

    // h_reasons
    reasons_clause: $ => seq('reasons', commaSep1($.reason)),

    // reason
    reason: $ => seq(field('name', $.identifier), optional(field('label', $.string))),

    // h_on
    outcome_clause: $ => seq(
      'on',
      field('outcome', $.outcome_kind),
      field('body', $.action_block),
    ),

    outcome_kind: _ => choice('accept', 'reject', 'complete'),

    // d_schedule
    schedule_declaration: $ => seq(
      'schedule',
      field('name', $.identifier),
      'every',
      field('cron', $.string),
      optional(seq('in', field('timezone', $.string))),
      block($, $._schedule_item),
    ),

    _schedule_item: $ => choice(
      $.for_leads,
      $.report_to,
      $._action,
    ),

    // sch_for
    for_leads: $ => seq(
      'for',
      'leads',
      'where',
      field('condition', $._expression),
      field('body', $.action_block),
    ),

    // sch_report
    report_to: $ => seq('report', 'to', commaSep1($.string)),

    // d_sending
    sending_declaration: $ => seq('sending', block($, $._sending_item)),

    _sending_item: $ => choice(
      $.sending_from,
      $.quiet_hours,
      $.frequency_cap,
    ),

    // snd_from
    sending_from: $ => seq('from', $.string),

    // snd_quiet
    quiet_hours: $ => seq(
      'quiet',
      'hours',
      field('start', $.clock),
      'to',
      field('end', $.clock),
    ),

    // snd_cap
    frequency_cap: $ => seq(
      'at',
      'most',
      field('count', $.number),
      'emails',
      'per',
      field('window', $.duration),
    ),

    // d_test
    test_declaration: $ => seq(
      'test',
      field('name', $.string),
      block($, $._test_statement),
    ),

    _test_statement: $ => choice(
      $.test_start,
      $.test_lead,
      $.test_event,
      $.test_update,
      $.test_advance,
      $.test_task,
      $.test_expect,
    ),

    // t_start
    test_start: $ => seq('start', field('date', $.date), optional(field('time', $.clock))),

    // t_lead
    test_lead: $ => seq('lead', field('lead', $.identifier), field('fields', $.field_values)),

    // t_event
    test_event: $ => seq(
      'event',
      field('lead', $.identifier),
      field('event', $.identifier),
      optional(field('fields', $.field_values)),
    ),

    // t_update
    test_update: $ => seq('update', field('lead', $.identifier), field('fields', $.field_values)),

    // t_advance
    test_advance: $ => seq('advance', field('duration', $.duration)),

    // t_task
    test_task: $ => seq(
      'task',
      field('lead', $.identifier),
      field('handoff', $.identifier),
      field('outcome', $.task_outcome),
    ),

    // task_outcome
    task_outcome: $ => choice(
      'accept',
      seq('reject', field('reason', $.identifier)),
      'complete',
    ),

    // field_values
    field_values: $ => block($, $.field_value, $._item_sep),

    // field_value
    field_value: $ => seq(field('name', $.identifier), ':', field('value', $._literal)),

    // t_expect
    test_expect: $ => seq(
      'expect',
      field('lead', $.identifier),
      field('expectation', $._expectation),
    ),

    _expectation: $ => choice(
      $.expect_sent_at,
      $.expect_sent,
      $.expect_not_sent,
      $.expect_in,
      $.expect_not_in,
      $.expect_task_assigned,
      $.expect_task_escalated,
      $.expect_task_reassigned,
      $.expect_no_task,
      $.expect_notified,
      $.expect_not_notified,
      $.expect_webhook,
      $.expect_not_webhook,
      $._expression,
    ),

    // e_sent_at
    expect_sent_at: $ => seq(
      'sent',
      field('template', $.identifier),
      'at',
      field('date', $.date),
      field('time', $.clock),
    ),

    // e_sent, e_not_sent
    expect_sent: $ => seq('sent', field('template', $.identifier)),
    expect_not_sent: $ => seq('not', 'sent', field('template', $.identifier)),

    // e_in, e_not_in
    expect_in: $ => seq('in', field('journey', $.identifier)),
    expect_not_in: $ => seq('not', 'in', field('journey', $.identifier)),

    // e_task_assigned
    expect_task_assigned: $ => seq(
      'task',
      field('handoff', $.identifier),
      'assigned',
      field('assignee', $.string),
    ),

    // e_task_escalated
    expect_task_escalated: $ => seq(
      'task',
      field('handoff', $.identifier),
      optional($.not_flag),
      'escalated',
      optional(seq('to', field('assignee', $.string))),
    ),

    // e_task_reassigned
    expect_task_reassigned: $ => seq(
      'task',
      field('handoff', $.identifier),
      optional($.not_flag),
      'reassigned',
      optional(seq('to', field('assignee', $.string))),
    ),

    // not_flag
    not_flag: _ => 'not',

    // e_no_task
    expect_no_task: $ => seq('no', 'task', field('handoff', $.identifier)),

    // e_notified, e_not_notified. At the end of the statement `notified` is this
    // expectation, not a field called `notified` (an expression), as in pest,
    // where e_notified is tried before e_expr.
    expect_notified: $ => prec(1, seq('notified', optional(field('address', $.string)))),
    expect_not_notified: $ => prec(1, seq(
      'not',
      'notified',
      optional(field('address', $.string)),
    )),

    // e_webhook, e_not_webhook
    expect_webhook: $ => seq('webhook', field('webhook', $.identifier)),
    expect_not_webhook: $ => seq('not', 'webhook', field('webhook', $.identifier)),

    // ------------------------------------------------------------ journey steps

    // step
    _step: $ => choice(
      $.wait_duration,
      $.wait_clock,
      $.wait_for,
      $.wait_date,
      $.wait_condition,
      $.if_step,
      $.split_step,
      $._action,
    ),

    // steps_block
    block: $ => block($, $._step),

    // s_wait + wait_duration
    wait_duration: $ => seq('wait', field('duration', $.duration)),

    // s_wait + wait_clock
    wait_clock: $ => seq(
      'wait',
      'until',
      optional(field('days', $.day_spec)),
      field('time', $.clock),
    ),

    // s_wait + wait_for
    wait_for: $ => seq(
      'wait',
      'for',
      field('event', $.identifier),
      optional($.where_clause),
      optional($.up_to),
      optional(field('body', $.block)),
      optional($.timeout_clause),
    ),

    // s_wait + wait_date: `wait until [DURATION before|after] FIELD [at H:MM]`.
    // Tried before wait_cond in pest: a lone name that ends the statement is
    // this form (`wait until x up to 3 days` is a condition).
    wait_date: $ => prec(1, seq(
      'wait',
      'until',
      optional(seq(field('offset', $.duration), field('side', $.date_side))),
      field('field', $.identifier),
      optional(seq('at', field('time', $.clock))),
    )),

    // date_side
    date_side: _ => choice('before', 'after'),

    // s_wait + wait_cond
    wait_condition: $ => seq(
      'wait',
      'until',
      field('condition', $._expression),
      optional($.up_to),
      optional(field('body', $.block)),
      optional($.timeout_clause),
    ),

    // up_to
    up_to: $ => seq('up', 'to', field('limit', $.duration)),

    // timeout_block
    timeout_clause: $ => seq('timeout', field('body', $.block)),

    // s_if
    if_step: $ => seq(
      'if',
      field('condition', $._expression),
      field('consequence', $.block),
      repeat(field('alternative', $.else_if_clause)),
      optional(field('alternative', $.else_clause)),
    ),

    // else_if
    else_if_clause: $ => seq(
      'else',
      'if',
      field('condition', $._expression),
      field('consequence', $.block),
    ),

    // else_block
    else_clause: $ => seq('else', field('body', $.block)),

    // s_split
    split_step: $ => seq('split', block($, $.split_arm)),

    // split_arm
    split_arm: $ => seq(field('percent', $.percent), field('body', $.block)),

    // ------------------------------------------------------------ actions

    _action: $ => choice(
      $.set_action,
      $.tag_action,
      $.untag_action,
      $.send_action,
      $.enroll_action,
      $.notify_action,
      $.handoff_action,
      $.webhook_action,
      // a_exit
      alias('exit', $.exit_action),
    ),

    // actions_block
    action_block: $ => block($, $._action),

    // a_set
    set_action: $ => seq(
      'set',
      field('field', $.identifier),
      '=',
      field('value', $._expression),
    ),

    // a_tag, a_untag
    tag_action: $ => seq('tag', field('tag', $.string)),
    untag_action: $ => seq('untag', field('tag', $.string)),

    // a_send
    send_action: $ => seq('send', field('template', $.identifier)),

    // a_enroll
    enroll_action: $ => seq('enroll', field('journey', $.identifier)),

    // a_notify + notify_target
    notify_action: $ => seq(
      'notify',
      field('target', choice($.notify_team, alias('owner', $.notify_owner), $.string)),
      field('message', $.string),
    ),

    // notify_team
    notify_team: $ => seq('team', field('team', $.identifier)),

    // a_handoff
    handoff_action: $ => seq('handoff', field('handoff', $.identifier)),

    // a_webhook
    webhook_action: $ => seq('webhook', field('webhook', $.identifier)),

    // ------------------------------------------------------------ expressions
    //
    // Precedence, lowest first (spec section 5): or · and · not ·
    // comparison (non-associative) · + - · * / · unary - · primary.

    // expr
    _expression: $ => choice(
      alias($._logical_expression, $.binary_expression),
      $._not_level,
    ),

    // or_expr, and_expr
    _logical_expression: $ => choice(
      prec.left(PREC.or, seq(
        field('left', $._expression),
        field('operator', 'or'),
        field('right', $._expression),
      )),
      prec.left(PREC.and, seq(
        field('left', $._expression),
        field('operator', 'and'),
        field('right', $._expression),
      )),
    ),

    // not_expr
    _not_level: $ => choice(
      alias($._not_expression, $.unary_expression),
      $._comparison_level,
    ),

    _not_expression: $ => seq(
      field('operator', 'not'),
      field('operand', $._not_level),
    ),

    // cmp_expr = { sum ~ cmp_tail? } — operands are sums, so `a < b < c` is an error.
    _comparison_level: $ => choice(
      $.comparison_expression,
      $.between_expression,
      $.is_expression,
      $._arithmetic_level,
    ),

    comparison_expression: $ => choice(
      seq(
        field('left', $._arithmetic_level),
        field('operator', choice(
          '==', '!=', '<=', '>=', '<', '>',
          'in', 'contains',
          seq('not', 'in'),
          seq('starts', 'with'),
          seq('ends', 'with'),
        )),
        field('right', $._arithmetic_level),
      ),
      // cmp_matches: the regex is a text literal
      seq(
        field('left', $._arithmetic_level),
        field('operator', 'matches'),
        field('right', $.string),
      ),
    ),

    // cmp_between
    between_expression: $ => seq(
      field('value', $._arithmetic_level),
      'between',
      field('low', $._arithmetic_level),
      'and',
      field('high', $._arithmetic_level),
    ),

    // cmp_is_set, cmp_is_missing
    is_expression: $ => seq(
      field('value', $._arithmetic_level),
      'is',
      field('state', choice('set', 'missing')),
    ),

    // sum, product
    _arithmetic_level: $ => choice(
      alias($._arithmetic_expression, $.binary_expression),
      $._unary_level,
    ),

    _arithmetic_expression: $ => choice(
      prec.left(PREC.sum, seq(
        field('left', $._arithmetic_level),
        field('operator', choice('+', '-')),
        field('right', $._arithmetic_level),
      )),
      prec.left(PREC.product, seq(
        field('left', $._arithmetic_level),
        field('operator', choice('*', '/')),
        field('right', $._arithmetic_level),
      )),
    ),

    // unary = { neg* ~ primary }
    _unary_level: $ => choice(
      alias($._negation, $.unary_expression),
      $._primary,
    ),

    _negation: $ => seq(
      field('operator', '-'),
      field('operand', $._unary_level),
    ),

    // primary
    _primary: $ => choice(
      $.date,
      $.parenthesized_expression,
      $.list,
      $.duration,
      $.number,
      $.string,
      $.boolean,
      $.count_expression,
      $.call_expression,
      $.member_expression,
      $.identifier,
      // Contextual keywords that may start something else where an expression
      // starts are still names here, as pest's backtracking makes them `path`s:
      // a field may be called `count` (count_call), `sent`, `task`, `no`,
      // `notified`, `webhook` (`expect L sent T`, ...) or like a day
      // (`wait until mon 9:00`).
      alias(choice('count', 'sent', 'task', 'no', 'notified', 'webhook', ...DAY_NAMES), $.identifier),
    ),

    // paren
    parenthesized_expression: $ => seq('(', $._expression, ')'),

    // list_lit
    list: $ => seq(
      '[',
      optional(seq(commaSep1($._expression), optional(','))),
      ']',
    ),

    // count_call
    count_expression: $ => seq(
      'count',
      '(',
      field('event', $.identifier),
      optional($.where_clause),
      'within',
      field('window', $.duration),
      ')',
    ),

    // call
    call_expression: $ => seq(
      field('function', $.identifier),
      field('arguments', $.arguments),
    ),

    arguments: $ => seq('(', optional(commaSep1($._expression)), ')'),

    // path = ${ name ~ ("." ~ ident)? }
    member_expression: $ => seq(
      field('object', $.identifier),
      token.immediate('.'),
      field('property', alias($._immediate_identifier, $.property_identifier)),
    ),

    _immediate_identifier: _ => token.immediate(/[A-Za-z_][A-Za-z0-9_]*/),

    // ------------------------------------------------------------ literals

    // literal (consts, lead defaults, test field values)
    _literal: $ => choice(
      alias($._signed_literal_number, $.number),
      $.number,
      $.string,
      $.boolean,
      alias($.literal_list, $.list),
      $.identifier,
    ),

    // neg_number
    _signed_literal_number: _ => token(seq('-', new RegExp(NUMBER))),

    // list_lit_const
    literal_list: $ => seq(
      '[',
      optional(seq(commaSep1($._literal), optional(','))),
      ']',
    ),

    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*/,

    // string = ${ "\"" ~ string_raw ~ "\"" }
    string: $ => seq(
      '"',
      repeat(choice(
        token.immediate(prec(1, /[^"\\\n\r]+/)),
        $.escape_sequence,
      )),
      token.immediate('"'),
    ),

    escape_sequence: _ => token.immediate(seq('\\', /[^\n\r]/)),

    number: _ => new RegExp(NUMBER),

    // signed_number (score points, min, max)
    signed_number: _ => new RegExp(`[+-]?${NUMBER}`),

    boolean: _ => choice('true', 'false'),

    // duration = ${ duration_part ~ (hspace ~ duration_part)* }
    duration: _ => token(new RegExp(`${DURATION_PART}([ \\t]+${DURATION_PART})*`)),

    // business_duration
    business_duration: _ => token(new RegExp(`${NUMBER}[ \\t]+business[ \\t]+(hours|hour|days|day)`)),

    // percent
    percent: _ => /[0-9]+%/,

    // clock
    clock: _ => /[0-9][0-9]?:[0-9][0-9]/,

    // clock_range = ${ clock ~ "-" ~ clock }
    clock_range: $ => seq(
      field('start', $.clock),
      token.immediate('-'),
      field('end', alias(token.immediate(/[0-9][0-9]?:[0-9][0-9]/), $.clock)),
    ),

    // date
    date: _ => /[0-9]{4}-[0-9]{2}-[0-9]{2}/,

    // day_spec = { day_item ~ ("," ~ day_item)* }
    day_spec: $ => commaSep1(choice($.day_range, $.day_name)),

    // day_range = ${ day_name ~ "-" ~ day_name }
    day_range: $ => seq(field('start', $.day_name), '-', field('end', $.day_name)),

    // Before `-`, a day name after `wait until` starts a day range, not a subtraction.
    day_name: _ => prec(1, choice(...DAY_NAMES)),
  },
});

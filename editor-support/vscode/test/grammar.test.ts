// The TextMate grammar, tokenized with vscode-textmate + vscode-oniguruma
// (the engine VS Code uses): on the repository's example program, on a
// fixture that uses every construct of the language, and on edge cases.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import * as oniguruma from 'vscode-oniguruma';
import type { IGrammar } from 'vscode-textmate';
import {
  EXTENSION_ROOT,
  GRAMMAR_PATH,
  REPO_ROOT,
  TokenizedFile,
  describeToken,
  grammarRegexes,
  journeyFiles,
  loadGrammar,
  loadOniguruma,
  tokenize,
} from './textmate';

const EXAMPLES_DIR = path.join(REPO_ROOT, 'journeys');
const PEST_GRAMMAR = path.join(REPO_ROOT, 'grammar', 'src', 'tandem.pest');
const FIXTURE = path.join(EXTENSION_ROOT, 'test', 'fixtures', 'all-constructs.journey');

let grammar: IGrammar;
let examplesCache: TokenizedFile[] | undefined;
let fixtureCache: TokenizedFile | undefined;

before(async () => {
  grammar = await loadGrammar();
});

// Tokenized on first use, inside a test, so that a broken regex fails the tests
// that reach it with its own message instead of cancelling the whole file.
function examples(): TokenizedFile[] {
  examplesCache ??= journeyFiles(EXAMPLES_DIR).map((file) => tokenize(grammar, fs.readFileSync(file, 'utf8'), file));
  return examplesCache;
}

function fixture(): TokenizedFile {
  fixtureCache ??= tokenize(grammar, fs.readFileSync(FIXTURE, 'utf8'), FIXTURE);
  return fixtureCache;
}

/** Invariants every valid Tandem file must satisfy under the grammar. */
function checkWellFormed(file: TokenizedFile): void {
  const name = path.relative(REPO_ROOT, file.file);
  assert.deepEqual(file.stoppedEarly, [], `${name}: tokenizing stopped early (time limit) on these lines`);
  assert.equal(file.finalDepth, 1, `${name}: a block, bracket or string is still open at the end of the file`);
  const problems: string[] = [];
  for (const line of file.lines) {
    for (const token of line.tokens) {
      if (token.text.trim() === '') {
        continue;
      }
      if (token.scopes.some((s) => s.startsWith('invalid.'))) {
        problems.push(`invalid: ${describeToken(file.file, line, token)}`);
      }
      // Each piece of text gets a scope of its own, not only the file's or a region's.
      if (!token.scopes.some((s) => !s.startsWith('source.') && !s.startsWith('meta.'))) {
        problems.push(`no scope: ${describeToken(file.file, line, token)}`);
      }
    }
  }
  assert.deepEqual(problems, [], `${name}: ${problems.length} token(s) without a proper scope`);
}

describe('grammar file', () => {
  test('is valid JSON for source.tandem, and every regex compiles with Oniguruma', async () => {
    const raw: unknown = JSON.parse(fs.readFileSync(GRAMMAR_PATH, 'utf8'));
    assert.equal((raw as { scopeName?: string }).scopeName, 'source.tandem');
    await loadOniguruma();
    const regexes = grammarRegexes(raw);
    assert.ok(regexes.length > 50, `only ${regexes.length} regexes found`);
    const failures: string[] = [];
    for (const { where, source } of regexes) {
      try {
        const scanner = new oniguruma.OnigScanner([source]);
        scanner.dispose();
      } catch (error) {
        failures.push(`${where}: ${source}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('every repository rule is used', () => {
    const raw = JSON.parse(fs.readFileSync(GRAMMAR_PATH, 'utf8')) as { repository: Record<string, unknown> };
    const text = fs.readFileSync(GRAMMAR_PATH, 'utf8');
    const unused = Object.keys(raw.repository).filter((name) => !text.includes(`"#${name}"`));
    assert.deepEqual(unused, []);
  });
});

describe('the example program in journeys/', () => {
  test('has .journey files to tokenize', () => {
    assert.ok(examples().length >= 1, `no .journey file under ${EXAMPLES_DIR}`);
  });

  test('every file tokenizes with no error, no invalid token and no unscoped text', () => {
    for (const file of examples()) {
      checkWellFormed(file);
    }
  });

  // [a line of some example file, the token (the regex's group 1), a scope the token must have]
  const expectations: Array<[RegExp, string]> = [
    [/^(journey)\s+\w+\s*\{/, 'keyword.declaration.journey.tandem'],
    [/^journey\s+(\w+)\s*\{/, 'entity.name.function.journey.tandem'],
    [/^(rule)\s+\w+\s*\{/, 'keyword.declaration.rule.tandem'],
    [/^score\s+(\w+)\s*\{/, 'entity.name.function.score.tandem'],
    [/^(timezone)\s+"/, 'keyword.declaration.timezone.tandem'],
    [/^timezone\s+("[^"]*")/, 'string.quoted.double.tandem'],
    [/^(#)/, 'punctuation.definition.comment.tandem'],
    [/^(#.*)$/, 'comment.line.number-sign.tandem'],
    [/\S\s+(#.*)$/, 'comment.line.number-sign.tandem'],
    [/^\s*(enter)\s+on\s/, 'keyword.control.enter.tandem'],
    [/^\s*enter\s+on\s+(\w+)/, 'entity.name.type.event.tandem'],
    [/^\s*enter\s+on\s+\w+\s+(where)\s/, 'keyword.other.where.tandem'],
    [/^[^"#]*\b(event)\.\w+/, 'variable.language.event.tandem'],
    [/^[^"#]*\bevent\.(\w+)/, 'variable.other.property.tandem'],
    [/^[^"#]*\b(score)\.\w+/, 'variable.language.score.tandem'],
    [/^[^"#]*\bscore\.(\w+)/, 'variable.other.property.score.tandem'],
    [/^\s*(send)\s+\w+/, 'keyword.control.action.send.tandem'],
    [/^\s*send\s+(\w+)/, 'entity.name.function.template.tandem'],
    [/^\s*(wait)\s+\d/, 'keyword.control.wait.tandem'],
    [/^\s*wait\s+(\d+)\s+(?:minutes?|hours?|days?|weeks?)\b/, 'constant.numeric.duration.tandem'],
    [/^\s*wait\s+\d+\s+(minutes?|hours?|days?|weeks?)\b/, 'keyword.other.unit.tandem'],
    [/^\s*reenter\s+after\s+(\d+\s+days?)/, 'meta.duration.tandem'],
    [/^\s*wait\s+until\s+(weekday)\s/, 'constant.language.day.tandem'],
    [/^\s*wait\s+until\s+(?:[a-z,-]+\s+)?(\d{1,2}:\d{2})\s*$/, 'constant.numeric.time.tandem'],
    [/\bup\s+(to)\s+\d/, 'keyword.other.to.tandem'],
    [/^\s*\}\s*(timeout)\s*\{/, 'keyword.control.timeout.tandem'],
    [/^\s*(split)\s*\{/, 'keyword.control.split.tandem'],
    [/^\s*(\d+)%\s*\{/, 'constant.numeric.percentage.tandem'],
    [/^\s*(if)\s/, 'keyword.control.conditional.tandem'],
    [/^\s*\}\s*(else)\b/, 'keyword.control.conditional.tandem'],
    [/\b(clicked|opened)\(/, 'support.function.builtin.tandem'],
    [/\b(?:clicked|opened)\((\w+)\)/, 'entity.name.function.template.tandem'],
    [/^\s*tag\s+("[^"]*")/, 'string.quoted.double.tandem'],
    [/"[^"]*(\{\{)/, 'punctuation.section.embedded.begin.tandem'],
    [/"[^"]*\{\{\s*(lead)\./, 'variable.language.template.tandem'],
    [/"[^"]*\{\{[^}]*(\}\})/, 'punctuation.section.embedded.end.tandem'],
    [/^\s+(and)\s/, 'keyword.operator.logical.tandem'],
    [/\s(>=)\s/, 'keyword.operator.comparison.tandem'],
    [/\b(not)\s+in\s/, 'keyword.operator.logical.tandem'],
    [/^\s*\w+:\s*(text|number|time)\b/, 'support.type.builtin.tandem'],
    [/^\s*(\w+):\s*(?:text|number|time)\b/, 'entity.name.variable.field.tandem'],
    [/^(stages)\s*\{/, 'keyword.declaration.stages.tandem'],
    [/^const\s+\w+\s*=\s*(\d+(?:_\d+)+)\s*$/, 'constant.numeric.tandem'],
    [/\bmatches\s+"([^"\\|(]+)/, 'string.regexp.tandem'],
    [/\bmatches\s+"[^"]*?(\\b)/, 'constant.character.escape.regexp.tandem'],
    [/\b(lower|unaccent|domain|days_since)\(/, 'support.function.builtin.tandem'],
    [/\b(count)\(/, 'support.function.builtin.count.tandem'],
    [/\bcount\((\w+)/, 'entity.name.type.event.tandem'],
    [/\bcount\(.*\b(within)\s+\d/, 'keyword.other.within.tandem'],
    [/^\s*(then)\s/, 'keyword.control.then.tandem'],
    [/^\s*(hours)\s+[a-z]+-[a-z]+/, 'keyword.other.team-item.tandem'],
    [/^\s*hours\s+([a-z]+)-/, 'constant.language.day.tandem'],
    [/^\s*hours\s+\S+\s+(\d{1,2}:\d{2})-/, 'constant.numeric.time.tandem'],
    [/^\s*closed\s+(\d{4}-\d{2}-\d{2})/, 'constant.numeric.date.tandem'],
    [/\bwithin\s+(\d+)\s+business\s/, 'constant.numeric.duration.tandem'],
    [/\bwithin\s+\d+\s+(business)\s/, 'keyword.other.unit.business.tandem'],
    [/\belse\s+(escalate|reassign)\b/, 'constant.language.sla-action.tandem'],
    [/\bby\s+(round_robin|least_open)\b/, 'constant.language.strategy.tandem'],
    [/^\s*assign\s+(?:owner\s+else\s+)?team\s+(\w+)/, 'entity.name.type.team.tandem'],
    [/^\s*reasons\s+(\w+)/, 'variable.other.enummember.reason.tandem'],
    [/^\s*(on)\s+(?:accept|reject|complete)\s*\{/, 'keyword.other.on.tandem'],
    [/^\s*([+-]\d+)\s+if\s/, 'constant.numeric.score.tandem'],
    [/^\s*[+-]\d+\s+on\s+(\w+)/, 'entity.name.type.event.tandem'],
    [/^\s*decay\s+(\d+)%/, 'constant.numeric.percentage.tandem'],
    [/^schedule\s+\w+\s+(every)\s+"/, 'keyword.other.every.tandem'],
    [/^\s*(for)\s+leads\s+where\b/, 'keyword.control.for.tandem'],
    [/^\s*(quiet)\s+hours\b/, 'keyword.other.quiet.tandem'],
    [/^\s*at\s+most\s+(\d+)\s+emails\b/, 'constant.numeric.tandem'],
    [/^(test)\s+"/, 'keyword.declaration.test.tandem'],
    [/^\s*(start)\s+\d{4}-/, 'keyword.other.start.tandem'],
    [/^\s*(advance)\s+\d/, 'keyword.other.advance.tandem'],
    [/^\s*expect\s+\w+\s+(sent)\s+\w+/, 'keyword.other.sent.tandem'],
    [/^\s*expect\s+(\w+)\s/, 'variable.other.lead.tandem'],
    [/^\s*event\s+\w+\s+\w+\s*\{\s*(\w+):/, 'variable.other.property.tandem'],
  ];

  for (const [lineRegex, scope] of expectations) {
    test(`${lineRegex.source} → ${scope}`, () => {
      const regex = new RegExp(lineRegex.source, 'd');
      for (const file of examples()) {
        for (const line of file.lines) {
          const match = regex.exec(line.text);
          const span = match?.indices?.[1];
          if (span === undefined) {
            continue;
          }
          const [start, end] = span;
          const covering = line.tokens.filter((t) => t.start < end && t.end > start);
          assert.ok(covering.length > 0, `no token at ${path.basename(file.file)}:${line.lineNumber}`);
          for (const token of covering) {
            assert.ok(token.scopes.includes(scope), `expected ${scope} on ${describeToken(file.file, line, token)}`);
          }
          return; // the first matching line of the program is enough
        }
      }
      assert.fail(`no line of the example program matches ${lineRegex}; update this expectation`);
    });
  }
});

describe('the all-constructs fixture', () => {
  test('tokenizes with no error, no invalid token and no unscoped text', () => {
    checkWellFormed(fixture());
  });

  test('every keyword of grammar/src/tandem.pest is highlighted somewhere', () => {
    const pest = fs.readFileSync(PEST_GRAMMAR, 'utf8');
    const words = (rule: string): string[] => {
      const body = new RegExp(String.raw`^${rule}\s*=\s*@?\{([\s\S]*?)\}\s*$`, 'm').exec(pest)?.[1];
      if (body === undefined) {
        assert.fail(`rule ${rule} not found in tandem.pest`);
      }
      return [...body.matchAll(/"([a-z_]+)"/g)].map((m) => m[1] ?? '');
    };
    const keywords = [...pest.matchAll(/^kw_\w+\s*=\s*@\{\s*"([a-z_]+)"/gm)].map((m) => m[1] ?? '');
    assert.ok(keywords.length > 50, `only ${keywords.length} kw_ rules found in tandem.pest`);

    // word → scope prefixes it may have
    const wanted = new Map<string, string[]>();
    const want = (list: string[], ...prefixes: string[]): void => {
      for (const w of list) {
        wanted.set(w, [...(wanted.get(w) ?? []), ...prefixes]);
      }
    };
    want(keywords, 'keyword.');
    want(['count'], 'support.function.builtin.count.tandem');
    want(words('reserved').filter((w) => w !== 'true' && w !== 'false'), 'keyword.');
    want(words('bool_lit'), 'constant.language.boolean.tandem');
    want(words('time_unit'), 'keyword.other.unit');
    want(words('business_unit'), 'keyword.other.unit');
    want(['business'], 'keyword.other.unit.business.tandem');
    want(words('day_name'), 'constant.language.day.tandem');
    want(words('assign_strategy'), 'constant.language.strategy.tandem');
    want(words('sla_action'), 'constant.language.sla-action.tandem');
    want(words('sla_kind'), 'keyword.');
    want(words('outcome_kind'), 'keyword.');

    const seen = new Map<string, Set<string>>();
    for (const file of [fixture(), ...examples()]) {
      for (const line of file.lines) {
        for (const token of line.tokens) {
          const set = seen.get(token.text) ?? new Set<string>();
          token.scopes.forEach((s) => set.add(s));
          seen.set(token.text, set);
        }
      }
    }
    const missing: string[] = [];
    for (const [word, prefixes] of wanted) {
      const scopes = [...(seen.get(word) ?? [])];
      if (!scopes.some((s) => prefixes.some((p) => s.startsWith(p)))) {
        missing.push(`${word} (wanted ${prefixes.join(' or ')}; got ${scopes.join(' ') || 'no token'})`);
      }
    }
    assert.deepEqual(missing, [], 'add the keyword to the TextMate grammar and a use of it to test/fixtures/all-constructs.journey');
  });

  test('all built-in functions of the spec are support.function', () => {
    const builtins = ['lower', 'upper', 'trim', 'unaccent', 'length', 'domain', 'free_email', 'now', 'days_since',
      'hours_since', 'opened', 'clicked', 'count', 'round', 'abs', 'min', 'max'];
    const seen = new Set<string>();
    for (const line of fixture().lines) {
      for (const token of line.tokens) {
        if (token.scopes.some((s) => s.startsWith('support.function.builtin'))) {
          seen.add(token.text);
        }
      }
    }
    assert.deepEqual(builtins.filter((b) => !seen.has(b)), []);
  });
});

describe('edge cases', () => {
  /** The scopes of the `occurrence`-th token whose text is `text`. */
  function scopesOf(source: string, text: string, occurrence = 1): string[] {
    const file = tokenize(grammar, source);
    let n = 0;
    for (const line of file.lines) {
      for (const token of line.tokens) {
        if (token.text === text && ++n === occurrence) {
          return token.scopes;
        }
      }
    }
    return assert.fail(`no token ${JSON.stringify(text)} (#${occurrence}) in ${JSON.stringify(source)}`);
  }

  test('contextual keywords are ordinary names in expressions', () => {
    const src = 'segment s = owner == "" and from == "x" and industry in target and event.from == "y"';
    assert.ok(scopesOf(src, 'owner').includes('support.variable.field.tandem'));
    assert.ok(scopesOf(src, 'from').includes('variable.other.tandem'));
    assert.ok(scopesOf(src, 'industry').includes('variable.other.tandem'));
    assert.ok(scopesOf(src, 'from', 2).includes('variable.other.property.tandem'));
    const rule = 'rule r {\n  when send_count > 3\n  then set owner = ""\n}';
    assert.ok(scopesOf(rule, 'send_count').includes('variable.other.tandem'));
    assert.ok(scopesOf(rule, 'set').includes('keyword.control.action.set.tandem'));
    assert.ok(scopesOf(rule, 'owner').includes('support.variable.field.tandem'));
  });

  test('a duration needs a space: 2days is not one', () => {
    assert.ok(scopesOf('journey j {\n  wait 2days\n}', '2days').includes('invalid.illegal.numeric.tandem'));
    assert.ok(scopesOf('journey j {\n  wait 1 day 12 hours\n}', 'hours').includes('keyword.other.unit.tandem'));
  });

  test('an unknown escape is marked outside a regex and kept inside one', () => {
    assert.ok(scopesOf('tag "a\\qb"', '\\q').includes('invalid.illegal.unknown-escape.tandem'));
    assert.ok(scopesOf('segment s = email matches "\\d+"', '\\d').includes('constant.character.escape.regexp.tandem'));
  });

  test('a string ends at the end of its line', () => {
    const file = tokenize(grammar, 'tag "unterminated\njourney j {\n}');
    assert.equal(file.finalDepth, 1);
    assert.ok(scopesOf('tag "unterminated\njourney j {\n}', 'journey').includes('keyword.declaration.journey.tandem'));
  });

  test('an unclosed block does not swallow the next declaration', () => {
    const src = 'journey j {\n  if icp {\n    send a\n\nrule r {\n  when icp\n  then tag "x"\n}\n';
    assert.ok(scopesOf(src, 'rule').includes('keyword.declaration.rule.tandem'));
    assert.ok(scopesOf(src, 'when').includes('keyword.control.when.tandem'));
    assert.equal(tokenize(grammar, src).finalDepth, 1);
    const list = 'const c = ["a",\n\nsegment s = icp\n';
    assert.ok(scopesOf(list, 'segment').includes('keyword.declaration.segment.tandem'));
  });

  test('`wait until` takes a clock time before an expression', () => {
    const src = 'journey j {\n  wait until 9:00\n  wait until icp up to 2 days\n}';
    assert.ok(scopesOf(src, '9:00').includes('constant.numeric.time.tandem'));
    assert.ok(scopesOf(src, 'icp').includes('variable.other.tandem'));
    assert.ok(scopesOf(src, 'up').includes('keyword.other.up.tandem'));
  });

  test('`wait until [D before|after] FIELD [at H:MM]` is a date wait', () => {
    const src = 'journey j {\n  wait until 1 day 2 hours before webinar_at at 9:00\n  wait until 2 hours after webinar_at\n}';
    assert.ok(scopesOf(src, 'wait').includes('keyword.control.wait.tandem'));
    assert.ok(scopesOf(src, '1').includes('constant.numeric.duration.tandem'));
    assert.ok(scopesOf(src, 'hours').includes('keyword.other.unit.tandem'));
    assert.ok(scopesOf(src, 'before').includes('keyword.other.date-side.tandem'));
    assert.ok(scopesOf(src, 'after').includes('keyword.other.date-side.tandem'));
    assert.ok(scopesOf(src, 'webinar_at').includes('variable.other.tandem'));
    assert.ok(scopesOf(src, 'at').includes('keyword.other.at.tandem'));
    assert.ok(scopesOf(src, '9:00').includes('constant.numeric.time.tandem'));
    // `before` and `at` are contextual: names elsewhere
    const names = 'segment s = before > 1 and at == ""';
    assert.ok(scopesOf(names, 'before').includes('variable.other.tandem'));
    assert.ok(scopesOf(names, 'at').includes('variable.other.tandem'));
  });

  test('`enter on … then ACTIONS` and `exit on` in a journey header', () => {
    const src = [
      'journey j {',
      '  enter on webinar_registered where event.topic != "" then set webinar_at = event.starts_at',
      '  enter on ping',
      '    then {',
      '      tag "x"',
      '    }',
      '  exit on demo_requested where event.page == "/demo"',
      '  exit',
      '}',
    ].join('\n');
    assert.ok(scopesOf(src, 'then').includes('keyword.control.then.tandem'));
    assert.ok(scopesOf(src, 'set').includes('keyword.control.action.set.tandem'));
    assert.ok(scopesOf(src, 'then', 2).includes('keyword.control.then.tandem'));
    assert.ok(scopesOf(src, 'tag').includes('keyword.control.action.tandem'));
    assert.ok(scopesOf(src, 'exit').includes('keyword.control.exit.tandem'));
    assert.ok(scopesOf(src, 'on', 3).includes('keyword.other.on.tandem'));
    assert.ok(scopesOf(src, 'demo_requested').includes('entity.name.type.event.tandem'));
    assert.ok(scopesOf(src, 'exit', 2).includes('keyword.control.exit.tandem'));
    // a field called `then` in a journey condition is a name
    assert.ok(scopesOf('journey j {\n  goal then > 1\n}', 'then').includes('variable.other.tandem'));
  });

  test('`holidays COUNTRY` in a team', () => {
    const src = 'team t {\n  holidays vietnam\n}';
    assert.ok(scopesOf(src, 'holidays').includes('keyword.other.team-item.tandem'));
    assert.ok(scopesOf(src, 'vietnam').includes('support.constant.country.tandem'));
  });

  test('test expectations: sent at, task escalated/reassigned, notified, webhook', () => {
    const src = [
      'test "t" {',
      '  expect a sent welcome at 2026-03-02 10:00',
      '  expect a task to_sales not escalated to "m@acme.vn"',
      '  expect a task to_sales reassigned',
      '  expect a not notified "m@acme.vn"',
      '  expect a not webhook crm_sync',
      '  expect a notified == true',
      '}',
    ].join('\n');
    assert.ok(scopesOf(src, 'at').includes('keyword.other.at.tandem'));
    assert.ok(scopesOf(src, '2026-03-02').includes('constant.numeric.date.tandem'));
    assert.ok(scopesOf(src, '10:00').includes('constant.numeric.time.tandem'));
    assert.ok(scopesOf(src, 'to_sales').includes('entity.name.function.handoff.tandem'));
    assert.ok(scopesOf(src, 'not').includes('keyword.operator.logical.tandem'));
    assert.ok(scopesOf(src, 'escalated').includes('keyword.other.task-outcome.tandem'));
    assert.ok(scopesOf(src, 'to').includes('keyword.other.to.tandem'));
    assert.ok(scopesOf(src, 'reassigned').includes('keyword.other.task-outcome.tandem'));
    assert.ok(scopesOf(src, 'notified').includes('keyword.other.notified.tandem'));
    assert.ok(scopesOf(src, 'webhook').includes('keyword.other.webhook.tandem'));
    assert.ok(scopesOf(src, 'crm_sync').includes('entity.name.function.webhook.tandem'));
    // followed by an operator, `notified` is a field of the lead
    assert.ok(scopesOf(src, 'notified', 2).includes('variable.other.tandem'));
  });

  test('a declaration still being typed is highlighted', () => {
    assert.ok(scopesOf('journey', 'journey').includes('keyword.declaration.tandem'));
    assert.ok(scopesOf('handoff to_sales', 'handoff').includes('keyword.declaration.tandem'));
  });

  test('CRLF line endings and a byte-order mark do not break tokenizing', () => {
    const file = tokenize(grammar, '\uFEFFtimezone "Asia/Ho_Chi_Minh"\r\njourney j {\r\n  wait 2 days\r\n}\r\n');
    assert.equal(file.finalDepth, 1);
    assert.ok(scopesOf('journey j {\r\n  wait 2 days\r\n}', 'days').includes('keyword.other.unit.tandem'));
  });
});

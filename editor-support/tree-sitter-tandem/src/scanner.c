// External scanner for Tandem: significant line breaks.
//
// A statement ends at a line break (spec section 2). The parser asks for a
// `_newline` token only where pest's grammar has `sep` (between statements,
// declarations and list items); everywhere else a line break is whitespace.
// Where a `_newline` could be accepted, it is still not produced when the
// next word after the line break(s) and comments is `and`, `or`, `then`,
// `else` or `timeout {`: pest's grammar lets a statement continue there
// (`nl* ~ kw_and`, `nl* ~ rule_then`, `nl* ~ kw_else`, `nl* ~ kw_timeout`).
//
// The scanner keeps no state.

#include "tree_sitter/parser.h"

#include <stdbool.h>
#include <stdint.h>

enum TokenType {
  NEWLINE,
};

void *tree_sitter_tandem_external_scanner_create(void) { return NULL; }

void tree_sitter_tandem_external_scanner_destroy(void *payload) { (void)payload; }

unsigned tree_sitter_tandem_external_scanner_serialize(void *payload, char *buffer) {
  (void)payload;
  (void)buffer;
  return 0;
}

void tree_sitter_tandem_external_scanner_deserialize(void *payload, const char *buffer,
                                                     unsigned length) {
  (void)payload;
  (void)buffer;
  (void)length;
}

static bool is_hspace(int32_t c) { return c == ' ' || c == '\t' || c == '\r' || c == 0xFEFF; }

static bool is_ident_start(int32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(int32_t c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

// Reads the word at the lexer's position (at most 15 characters are kept) and
// tells whether the line continues with it instead of ending before it.
static bool continues_line(TSLexer *lexer) {
  char word[16];
  unsigned len = 0;
  while (is_ident_char(lexer->lookahead)) {
    if (len < sizeof(word) - 1) {
      word[len] = (char)lexer->lookahead;
    }
    len++;
    lexer->advance(lexer, false);
  }
  if (len == 0 || len >= sizeof(word)) {
    return false;
  }
  word[len] = '\0';

#define IS(w) (len == sizeof(w) - 1 && __builtin_memcmp(word, w, len) == 0)
  if (IS("and") || IS("or") || IS("else")) {
    return true;
  }
  if (IS("then") || IS("timeout")) {
    while (is_hspace(lexer->lookahead)) {
      lexer->advance(lexer, false);
    }
    // `then` and `timeout` are contextual keywords: a field called `then`
    // (`then: text`) still starts a new line. `timeout` continues only as
    // `timeout {`.
    if (IS("timeout")) {
      return lexer->lookahead == '{';
    }
    return lexer->lookahead != ':';
  }
#undef IS
  return false;
}

bool tree_sitter_tandem_external_scanner_scan(void *payload, TSLexer *lexer,
                                              const bool *valid_symbols) {
  (void)payload;
  if (!valid_symbols[NEWLINE]) {
    return false;
  }

  while (is_hspace(lexer->lookahead)) {
    lexer->advance(lexer, true);
  }
  if (lexer->lookahead != '\n') {
    return false;
  }

  // One token for the run of line breaks and blank lines.
  lexer->advance(lexer, false);
  lexer->mark_end(lexer);
  lexer->result_symbol = NEWLINE;

  // Look past blank lines and comment lines for a word that continues the
  // statement. Only blank lines are part of the token; a comment is lexed
  // as an extra afterwards.
  bool in_comment = false;
  bool passed_comment = false;
  for (;;) {
    if (lexer->eof(lexer)) {
      return true;
    }
    int32_t c = lexer->lookahead;
    if (c == '\n') {
      lexer->advance(lexer, false);
      if (!passed_comment) {
        lexer->mark_end(lexer);
      }
      in_comment = false;
    } else if (in_comment || is_hspace(c)) {
      lexer->advance(lexer, false);
    } else if (c == '#') {
      in_comment = true;
      passed_comment = true;
      lexer->advance(lexer, false);
    } else {
      break;
    }
  }
  // Once a comment was passed, mark_end stopped moving: the line breaks after
  // it are lexed again as whitespace or as a following `_newline`.
  return !continues_line(lexer);
}

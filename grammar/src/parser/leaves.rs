//! Leaves: identifiers, literals, durations, clocks, days — the small parts every declaration is made of, each turned into its AST node with its span.

use super::*;

/// The longest duration a program may write: 100 years of 365 days.
const MAX_DURATION_SECONDS: f64 = 36_500.0 * 86_400.0;

impl Builder {
    pub(super) fn ident(&mut self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_owned(),
            span: self.span(&pair),
        }
    }

    pub(super) fn text(&mut self, pair: Pair<'_, Rule>) -> TextLit {
        self.text_with(pair, false)
    }

    /// Decodes a text literal. In a regex (`keep_unknown`), escapes other than
    /// `\"` `\n` `\t` `\u{…}` are kept as written; elsewhere they are errors.
    pub(super) fn text_with(&mut self, pair: Pair<'_, Rule>, keep_unknown: bool) -> TextLit {
        let span = self.span(&pair);
        let raw = pair
            .into_inner()
            .next()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default();
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            let Some((_, e)) = chars.next() else { break };
            match e {
                '"' => value.push('"'),
                '\\' if !keep_unknown => value.push('\\'),
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let rest = &raw[i + 2..];
                    let decoded = rest
                        .strip_prefix('{')
                        .and_then(|r| r.find('}').map(|end| &r[..end]))
                        .and_then(|hex| {
                            u32::from_str_radix(hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .map(|ch| (ch, hex.len() + 2))
                        });
                    match decoded {
                        Some((ch, len)) => {
                            value.push(ch);
                            for _ in 0..len {
                                chars.next();
                            }
                        }
                        None => {
                            let at = span.start as usize + 1 + i;
                            self.error(
                                "E0003",
                                Span::new(span.file, at, at + 2),
                                "a `\\u` escape must look like `\\u{1F600}` (a hexadecimal Unicode code point)",
                            );
                        }
                    }
                }
                other if keep_unknown => {
                    value.push('\\');
                    value.push(other);
                }
                other => {
                    let at = span.start as usize + 1 + i;
                    self.error(
                        "E0003",
                        Span::new(span.file, at, at + 1 + other.len_utf8()),
                        format!("`\\{other}` is not a known escape; write `\\\\` for a backslash (known: `\\\"` `\\\\` `\\n` `\\t` `\\u{{…}}`)"),
                    );
                }
            }
        }
        TextLit {
            value: value.nfc().collect(),
            raw,
            span,
        }
    }

    pub(super) fn number(&mut self, pair: &Pair<'_, Rule>) -> f64 {
        let raw: String = pair.as_str().chars().filter(|c| *c != '_').collect();
        raw.parse::<f64>().unwrap_or(0.0)
    }

    pub(super) fn points(&mut self, pair: Pair<'_, Rule>) -> Points {
        Points {
            value: self.number(&pair),
            raw: pair.as_str().to_owned(),
            span: self.span(&pair),
        }
    }

    pub(super) fn percent(&mut self, pair: Pair<'_, Rule>) -> Percent {
        let span = self.span(&pair);
        let digits = pair.as_str().trim_end_matches('%');
        let value = digits.parse::<u64>().unwrap_or(u64::MAX);
        if value > 100 {
            self.error(
                "E0051",
                span,
                "a percentage must be a whole number from 0% to 100%",
            );
        }
        Percent { value, span }
    }

    pub(super) fn duration(&mut self, pair: Pair<'_, Rule>) -> DurationLit {
        let span = self.span(&pair);
        let mut parts_out = Vec::new();
        let mut seconds = 0.0;
        for part in pair.into_inner() {
            let mut q = part.into_inner();
            let (Some(n), Some(u)) = (q.next(), q.next()) else {
                continue;
            };
            let amount = self.number(&n);
            let unit = match u.as_str() {
                "minute" | "minutes" => TimeUnit::Minute,
                "hour" | "hours" => TimeUnit::Hour,
                "day" | "days" => TimeUnit::Day,
                _ => TimeUnit::Week,
            };
            seconds += amount * unit.seconds();
            parts_out.push((amount, n.as_str().to_owned(), unit));
        }
        if seconds.is_nan() || seconds <= 0.0 {
            self.error("E0051", span, "a duration must be longer than zero");
        } else if seconds > MAX_DURATION_SECONDS {
            self.error(
                "E0051",
                span,
                "a duration is at most 100 years (36500 days): a longer one would never end",
            );
        }
        DurationLit {
            parts: parts_out,
            seconds,
            span,
        }
    }

    pub(super) fn clock(&mut self, pair: Pair<'_, Rule>) -> Clock {
        let span = self.span(&pair);
        let (h, m) = pair.as_str().split_once(':').unwrap_or(("0", "0"));
        let hour = h.parse().unwrap_or(99);
        let minute = m.parse().unwrap_or(99);
        if hour > 23 || minute > 59 {
            self.error(
                "E0004",
                span,
                format!(
                    "`{}` is not a clock time (use 0:00 to 23:59)",
                    pair.as_str()
                ),
            );
        }
        Clock { hour, minute, span }
    }

    pub(super) fn clock_range(&mut self, pair: Pair<'_, Rule>) -> ClockRange {
        let span = self.span(&pair);
        let mut q = pair.into_inner();
        let zero = Clock {
            hour: 0,
            minute: 0,
            span,
        };
        let start = q.next().map(|c| self.clock(c)).unwrap_or(zero);
        let end = q.next().map(|c| self.clock(c)).unwrap_or(zero);
        if (end.hour, end.minute) <= (start.hour, start.minute) {
            self.error(
                "E0004",
                span,
                "the closing time must be after the opening time",
            );
        }
        ClockRange { start, end, span }
    }

    pub(super) fn date(&mut self, pair: Pair<'_, Rule>) -> Date {
        let span = self.span(&pair);
        let mut it = pair.as_str().split('-');
        let year = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let month = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let day = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if !valid_date(year, month, day) {
            self.error(
                "E0004",
                span,
                format!("`{}` is not a date on the calendar", pair.as_str()),
            );
        } else if !(1900..=9998).contains(&year) {
            self.error(
                "E0004",
                span,
                format!(
                    "`{}` is outside the years Tandem handles (1900 to 9998)",
                    pair.as_str()
                ),
            );
        }
        Date {
            year,
            month,
            day,
            span,
        }
    }

    pub(super) fn day_spec(&mut self, pair: Pair<'_, Rule>) -> DaySpec {
        let span = self.span(&pair);
        let mut items = Vec::new();
        let mut mask = 0u8;
        for item in pair.into_inner() {
            items.push(item.as_str().to_owned());
            if item.as_rule() == Rule::day_range {
                let mut q = item.into_inner();
                let a = q.next().map(|d| day_bits(d.as_str())).unwrap_or(0);
                let b = q.next().map(|d| day_bits(d.as_str())).unwrap_or(0);
                let (from, to) = (a.trailing_zeros(), b.trailing_zeros());
                if a.count_ones() != 1 || b.count_ones() != 1 {
                    self.error(
                        "E0004",
                        span,
                        "a day range goes from one day name to another, like `mon-fri`",
                    );
                    continue;
                }
                let mut d = from;
                loop {
                    mask |= 1 << d;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            } else {
                mask |= day_bits(item.as_str());
            }
        }
        DaySpec { items, mask, span }
    }

    pub(super) fn literal(&mut self, pair: Pair<'_, Rule>) -> Literal {
        let span = self.span(&pair);
        let inner = match pair.into_inner().next() {
            Some(i) => i,
            None => {
                return Literal {
                    kind: LiteralKind::Bool(false),
                    span,
                }
            }
        };
        let kind = match inner.as_rule() {
            Rule::neg_number | Rule::number => LiteralKind::Number {
                value: self.number(&inner),
                raw: inner.as_str().to_owned(),
            },
            Rule::string => LiteralKind::Text(self.text(inner)),
            Rule::bool_lit => LiteralKind::Bool(inner.as_str() == "true"),
            Rule::list_lit_const => {
                LiteralKind::List(inner.into_inner().map(|l| self.literal(l)).collect())
            }
            _ => LiteralKind::Name(self.ident(inner)),
        };
        Literal { kind, span }
    }

    pub(super) fn field_decl(&mut self, pair: Pair<'_, Rule>) -> FieldDecl {
        let span = self.span(&pair);
        let mut q = parts(pair).into_iter();
        let name = q
            .next()
            .map(|n| self.ident(n))
            .unwrap_or_else(|| missing_ident(span));
        let ty = q
            .next()
            .map(|n| self.ident(n))
            .unwrap_or_else(|| missing_ident(span));
        let default = q.next().map(|l| self.literal(l));
        FieldDecl {
            name,
            ty,
            default,
            span,
        }
    }

    pub(super) fn field_values(&mut self, pair: Pair<'_, Rule>) -> Vec<FieldValue> {
        pair.into_inner()
            .filter_map(|fv| {
                let mut q = fv.into_inner();
                let name = self.ident(q.next()?);
                let value = self.literal(q.next()?);
                Some(FieldValue { name, value })
            })
            .collect()
    }
}

//! Expressions: precedence, operators, lists and calls into AST nodes, with the nesting limits.

use super::*;

impl Builder {
    pub(super) fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        match self.expr_inner(pair) {
            Some((e, _)) => e,
            None => Expr {
                kind: ExprKind::Error,
                span,
            },
        }
    }

    pub(super) fn too_deep(&mut self, span: Span) -> Option<(Expr, usize)> {
        self.error(
            "E0002",
            span,
            format!("this expression is nested more than {MAX_EXPR_DEPTH} levels deep; split it into segments"),
        );
        None
    }

    /// Builds an expression and returns it with its depth, so that runaway
    /// operator chains are refused before they can overflow any later pass.
    pub(super) fn expr_inner(&mut self, pair: Pair<'_, Rule>) -> Option<(Expr, usize)> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => self.expr_inner(pair.into_inner().next()?),
            Rule::or_expr | Rule::and_expr => {
                let op = if pair.as_rule() == Rule::or_expr {
                    BinaryOp::Or
                } else {
                    BinaryOp::And
                };
                self.fold_chain(pair, |_| Some(op))
            }
            Rule::sum | Rule::product => self.fold_chain(pair, |p| match p.as_str() {
                "+" => Some(BinaryOp::Add),
                "-" => Some(BinaryOp::Sub),
                "*" => Some(BinaryOp::Mul),
                "/" => Some(BinaryOp::Div),
                _ => None,
            }),
            Rule::not_expr => {
                let inner: Vec<_> = pair.into_inner().collect();
                let nots = inner.iter().filter(|p| p.as_rule() == Rule::kw_not).count();
                let last = inner.into_iter().last()?;
                let (mut e, mut depth) = self.expr_inner(last)?;
                for _ in 0..nots {
                    depth += 1;
                    if depth > MAX_EXPR_DEPTH {
                        return self.too_deep(span);
                    }
                    e = Expr {
                        kind: ExprKind::Not(Box::new(e)),
                        span,
                    };
                }
                Some((e, depth))
            }
            Rule::unary => {
                let inner: Vec<_> = pair.into_inner().collect();
                let negs = inner.iter().filter(|p| p.as_rule() == Rule::neg).count();
                let last = inner.into_iter().last()?;
                let (mut e, mut depth) = self.expr_inner(last)?;
                for _ in 0..negs {
                    depth += 1;
                    if depth > MAX_EXPR_DEPTH {
                        return self.too_deep(span);
                    }
                    e = Expr {
                        kind: ExprKind::Neg(Box::new(e)),
                        span,
                    };
                }
                Some((e, depth))
            }
            Rule::cmp_expr => {
                let mut q = pair.into_inner();
                let (lhs, ld) = self.expr_inner(q.next()?)?;
                let Some(tail) = q.next() else {
                    return Some((lhs, ld));
                };
                self.comparison(span, lhs, ld, tail)
            }
            Rule::paren => {
                let (e, d) = self.expr_inner(pair.into_inner().next()?)?;
                Some((
                    Expr {
                        kind: ExprKind::Paren(Box::new(e)),
                        span,
                    },
                    d + 1,
                ))
            }
            Rule::list_lit => {
                let mut items = Vec::new();
                let mut depth = 0;
                for p in pair.into_inner() {
                    let (e, d) = self.expr_inner(p)?;
                    depth = depth.max(d);
                    items.push(e);
                }
                Some((
                    Expr {
                        kind: ExprKind::List(items),
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::date_in_expr => {
                self.error(
                    "E0005",
                    span,
                    "a date is not a value in a condition; compare with `now()` or a time field instead",
                );
                None
            }
            Rule::duration => Some((
                Expr {
                    kind: ExprKind::Duration(self.duration(pair)),
                    span,
                },
                1,
            )),
            Rule::number => Some((
                Expr {
                    kind: ExprKind::Number {
                        value: self.number(&pair),
                        raw: pair.as_str().to_owned(),
                    },
                    span,
                },
                1,
            )),
            Rule::string => Some((
                Expr {
                    kind: ExprKind::Text(self.text(pair)),
                    span,
                },
                1,
            )),
            Rule::bool_lit => Some((
                Expr {
                    kind: ExprKind::Bool(pair.as_str() == "true"),
                    span,
                },
                1,
            )),
            Rule::count_call => {
                let mut q = parts(pair).into_iter();
                let event = self.ident(q.next()?);
                let next = q.next()?;
                let (filter, within_pair, depth) = if next.as_rule() == Rule::expr {
                    let (f, d) = self.expr_inner(next)?;
                    (Some(Box::new(f)), q.next()?, d)
                } else {
                    (None, next, 0)
                };
                let within = self.duration(within_pair);
                Some((
                    Expr {
                        kind: ExprKind::Count {
                            event,
                            filter,
                            within,
                        },
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::call => {
                let mut q = pair.into_inner();
                let func = self.ident(q.next()?);
                let mut args = Vec::new();
                let mut depth = 0;
                for a in q {
                    let (e, d) = self.expr_inner(a)?;
                    depth = depth.max(d);
                    args.push(e);
                }
                Some((
                    Expr {
                        kind: ExprKind::Call { func, args },
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::path => {
                let mut q = pair.into_inner();
                let head = self.ident(q.next()?);
                let kind = match q.next() {
                    Some(m) => ExprKind::Member {
                        head,
                        member: self.ident(m),
                    },
                    None => ExprKind::Name(head),
                };
                Some((Expr { kind, span }, 1))
            }
            _ => None,
        }
    }

    /// Folds `a op b op c` to the left, refusing chains deeper than the limit.
    pub(super) fn fold_chain(
        &mut self,
        pair: Pair<'_, Rule>,
        op_of: impl Fn(&Pair<'_, Rule>) -> Option<BinaryOp>,
    ) -> Option<(Expr, usize)> {
        let span = self.span(&pair);
        let mut q = pair.into_inner();
        let (mut acc, mut depth) = self.expr_inner(q.next()?)?;
        let mut pending: Option<BinaryOp> = None;
        for p in q {
            if let Some(op) = op_of(&p).filter(|_| {
                matches!(
                    p.as_rule(),
                    Rule::kw_or | Rule::kw_and | Rule::sum_op | Rule::product_op
                )
            }) {
                pending = Some(op);
                continue;
            }
            let (rhs, rd) = self.expr_inner(p)?;
            depth = depth.max(rd) + 1;
            if depth > MAX_EXPR_DEPTH {
                return self.too_deep(span);
            }
            let op = pending.take().unwrap_or(BinaryOp::And);
            let s = acc.span.to(rhs.span);
            acc = Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(acc),
                    rhs: Box::new(rhs),
                },
                span: s,
            };
        }
        Some((acc, depth))
    }

    pub(super) fn comparison(
        &mut self,
        span: Span,
        lhs: Expr,
        ld: usize,
        tail: Pair<'_, Rule>,
    ) -> Option<(Expr, usize)> {
        let rule = tail.as_rule();
        let tail_text = tail.as_str().to_owned();
        let mut q = parts(tail).into_iter();
        let lhs = Box::new(lhs);
        let mut depth = ld;
        let mut operand = |b: &mut Builder, p: Pair<'_, Rule>| -> Option<Box<Expr>> {
            let (e, d) = b.expr_inner(p)?;
            depth = depth.max(d);
            Some(Box::new(e))
        };
        let kind = match rule {
            Rule::cmp_binary => {
                let op_pair = q.next()?;
                let op = match op_pair.as_str() {
                    "==" => CompareOp::Eq,
                    "!=" => CompareOp::Ne,
                    "<" => CompareOp::Lt,
                    "<=" => CompareOp::Le,
                    ">" => CompareOp::Gt,
                    _ => CompareOp::Ge,
                };
                let rhs = operand(self, q.next()?)?;
                ExprKind::Compare { op, lhs, rhs }
            }
            Rule::cmp_not_in | Rule::cmp_in => {
                let list = operand(self, q.next()?)?;
                ExprKind::In {
                    negated: rule == Rule::cmp_not_in,
                    item: lhs,
                    list,
                }
            }
            Rule::cmp_contains | Rule::cmp_starts | Rule::cmp_ends => {
                let op = match rule {
                    Rule::cmp_contains => TextOp::Contains,
                    Rule::cmp_starts => TextOp::StartsWith,
                    _ => TextOp::EndsWith,
                };
                let rhs = operand(self, q.next()?)?;
                ExprKind::TextCompare { op, lhs, rhs }
            }
            Rule::cmp_matches => {
                let regex = self.text_with(q.next()?, true);
                ExprKind::Matches {
                    subject: lhs,
                    regex,
                }
            }
            Rule::cmp_between => {
                let low = operand(self, q.next()?)?;
                let high = operand(self, q.next()?)?;
                ExprKind::Between {
                    subject: lhs,
                    low,
                    high,
                }
            }
            Rule::cmp_is_set | Rule::cmp_is_missing => ExprKind::IsSet {
                subject: lhs,
                missing: tail_text.ends_with("missing"),
            },
            _ => return None,
        };
        Some((Expr { kind, span }, depth + 1))
    }
}

//! Expressions: names, operators, lists and built-in calls, each typed.

use super::*;

impl<'a> Checker<'a> {
    /// Checks an expression that must be a condition.
    pub(super) fn condition(&mut self, e: &Expr, scope: Scope<'_>) {
        if let Some(t) = self.expr(e, scope) {
            if t != Type::Bool {
                self.err(
                    codes::TYPE_MISMATCH,
                    e.span,
                    format!("a condition must be true or false, but this is a {t}"),
                );
            }
        }
    }

    pub(super) fn unknown_bare(&mut self, name: &Ident) {
        if self.sym.unreadable.contains(&name.name) {
            // Declared by a declaration that does not parse: its syntax error says it all.
            return;
        }
        let mut d = Diagnostic::error(
            codes::UNKNOWN_NAME,
            name.span,
            format!(
                "`{}` is not a lead field, segment, const or stage",
                name.name
            ),
        );
        if self.sym.events.contains_key(&name.name) {
            d = d.with_help(format!(
                "`{0}` is an event, not a value: to ask whether it happened, count it, like `count({0} within 30 days) >= 1`",
                name.name
            ));
        } else if let Some(s) = did_you_mean(&name.name, self.sym.bare_names()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else if self.sym.scores.contains_key(&name.name) {
            d = d.with_help(format!("to read the score, write `score.{}`", name.name));
        }
        self.diags.push(d);
    }

    pub(super) fn mismatch(&mut self, span: Span, msg: String) -> Option<Type> {
        self.err(codes::TYPE_MISMATCH, span, msg);
        None
    }

    pub(super) fn want(
        &mut self,
        e: &Expr,
        scope: Scope<'_>,
        want: Type,
        ctx: &str,
    ) -> Option<Type> {
        let t = self.expr(e, scope)?;
        if t == want {
            Some(t)
        } else {
            self.mismatch(e.span, format!("{ctx} needs a {want}, but this is a {t}"))
        }
    }

    /// The type of an expression, or `None` after reporting why it has none.
    pub(super) fn expr(&mut self, e: &Expr, scope: Scope<'_>) -> Option<Type> {
        match &e.kind {
            ExprKind::Number { .. } => Some(Type::Number),
            ExprKind::Text(_) => Some(Type::Text),
            ExprKind::Bool(_) => Some(Type::Bool),
            ExprKind::Duration(_) => Some(Type::Duration),
            ExprKind::Error => None,
            ExprKind::Paren(inner) => self.expr(inner, scope),
            ExprKind::List(items) => {
                let mut elem: Option<ElemType> = None;
                for item in items {
                    let t = self.expr(item, scope)?;
                    match t.elem() {
                        None => {
                            return self.mismatch(
                                item.span,
                                format!("a list holds text, numbers or stages, not a {t}"),
                            )
                        }
                        Some(el) => match elem {
                            None => elem = Some(el),
                            Some(prev) if prev != el => {
                                return self.mismatch(
                                    item.span,
                                    "all items of a list must have the same type".into(),
                                )
                            }
                            Some(_) => {}
                        },
                    }
                }
                Some(Type::List(elem.unwrap_or(ElemType::Text)))
            }
            ExprKind::Name(n) => match self.sym.bare.get(&n.name) {
                Some(Bare::Field(f)) => Some(f.ty),
                Some(Bare::Segment(_)) => {
                    self.reads.push((Node::Segment(n.name.clone()), n.span));
                    Some(Type::Bool)
                }
                Some(Bare::Const(c)) => Some(c.ty),
                Some(Bare::Stage(_)) => Some(Type::Stage),
                None => {
                    self.unknown_bare(n);
                    None
                }
            },
            ExprKind::Member { head, member } => {
                match head.name.as_str() {
                    "score" => {
                        if self.sym.scores.contains_key(&member.name) {
                            self.reads
                                .push((Node::Score(member.name.clone()), member.span));
                            Some(Type::Number)
                        } else {
                            self.unknown(
                                codes::UNKNOWN_SCORE,
                                "score",
                                member,
                                self.sym.scores.keys(),
                            );
                            None
                        }
                    }
                    "event" => {
                        let Some(ev) = scope.event else {
                            self.diags.push(
                            Diagnostic::error(
                                codes::NO_EVENT_IN_SCOPE,
                                e.span,
                                format!("`event.{}` is only available where an event is being handled", member.name),
                            )
                            .with_help("use it in `on EVENT where …`, `enter on EVENT where …`, `count(EVENT where …)`, `wait for EVENT where …` or a handoff's `on` blocks"),
                        );
                            return None;
                        };
                        let info = self.sym.events.get(ev)?;
                        match info.prop(&member.name) {
                            Some(t) => Some(t),
                            None if info.unreadable.contains(&member.name) => None,
                            None => {
                                let mut d = Diagnostic::error(
                                    codes::UNKNOWN_PROPERTY,
                                    member.span,
                                    format!("the event `{ev}` has no property `{}`", member.name),
                                );
                                if let Some(s) = did_you_mean(
                                    &member.name,
                                    info.props.iter().map(|(n, _)| n.as_str()),
                                ) {
                                    d = d.with_help(format!("did you mean `{s}`?"));
                                } else if info.props.is_empty() {
                                    d = d.with_help(format!("`{ev}` has no properties"));
                                }
                                self.diags.push(d);
                                None
                            }
                        }
                    }
                    "lead" => {
                        self.diags.push(
                        Diagnostic::error(
                            codes::UNKNOWN_MEMBER,
                            e.span,
                            format!("in a condition, lead fields are written bare: `{}`, not `lead.{}`", member.name, member.name),
                        )
                        .with_help(format!("write `{}`", member.name)),
                    );
                        None
                    }
                    other => {
                        self.err(
                        codes::UNKNOWN_MEMBER,
                        e.span,
                        format!("`{other}.{}` is not something a condition can read; only `score.NAME` and `event.PROP` have a dot", member.name),
                    );
                        None
                    }
                }
            }
            ExprKind::Call { func, args } => self.call(e, func, args, scope),
            ExprKind::Count {
                event,
                filter,
                within: _,
            } => {
                if self.event_exists(event) {
                    if let Some(f) = filter {
                        self.condition(
                            f,
                            Scope {
                                event: Some(&event.name),
                                in_journey: scope.in_journey,
                            },
                        );
                    }
                }
                Some(Type::Number)
            }
            ExprKind::Neg(inner) => self.want(inner, scope, Type::Number, "`-`"),
            ExprKind::Not(inner) => self
                .want(inner, scope, Type::Bool, "`not`")
                .map(|_| Type::Bool),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, scope),
            ExprKind::Compare { op, lhs, rhs } => {
                let l = self.expr(lhs, scope);
                let r = self.expr(rhs, scope);
                let (l, r) = (l?, r?);
                let ordering = !matches!(op, CompareOp::Eq | CompareOp::Ne);
                if l != r {
                    let mut d = Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        rhs.span,
                        format!("`{}` compares two values of one type, but this is a {r} and the left side is a {l}", op.symbol()),
                    );
                    if let Some(help) = compare_help(*op, lhs, l, rhs, r) {
                        d = d.with_help(help);
                    }
                    self.diags.push(d);
                    return None;
                }
                let ok = if ordering {
                    matches!(l, Type::Number | Type::Time | Type::Stage)
                } else {
                    matches!(
                        l,
                        Type::Number | Type::Time | Type::Stage | Type::Text | Type::Bool
                    )
                };
                if !ok {
                    let what = if ordering {
                        "numbers, times or stages"
                    } else {
                        "single values"
                    };
                    return self.mismatch(
                        lhs.span,
                        format!("`{}` works on {what}, not on a {l}", op.symbol()),
                    );
                }
                Some(Type::Bool)
            }
            ExprKind::In { item, list, .. } => {
                let it = self.expr(item, scope);
                let lt = self.list_operand(list, scope);
                let (it, lt) = (it?, lt?);
                match (it, lt) {
                    (Type::Text, Type::Tags) => Some(Type::Bool),
                    (t, Type::List(el)) if t.elem() == Some(el) => Some(Type::Bool),
                    (t, Type::List(el)) => self.mismatch(
                        item.span,
                        format!("this is a {t}, but the list holds {}s", Type::from(el)),
                    ),
                    _ => None,
                }
            }
            ExprKind::TextCompare { op, lhs, rhs } => {
                let l = self.want(lhs, scope, Type::Text, &format!("`{}`", op.words()));
                let r = self.want(rhs, scope, Type::Text, &format!("`{}`", op.words()));
                l.and(r).map(|_| Type::Bool)
            }
            ExprKind::Matches { subject, regex } => {
                let s = self.want(subject, scope, Type::Text, "`matches`");
                if let Err(err) = regex::Regex::new(&regex.value) {
                    let detail = match err {
                        regex::Error::Syntax(s) => {
                            let last = s.lines().last().unwrap_or("").trim();
                            last.strip_prefix("error: ").unwrap_or(last).to_owned()
                        }
                        regex::Error::CompiledTooBig(_) => "the pattern is too large".to_owned(),
                        _ => "the pattern is invalid".to_owned(),
                    };
                    self.err(
                        codes::INVALID_REGEX,
                        regex.span,
                        format!("this pattern is not a valid regular expression: {detail}"),
                    );
                }
                s.map(|_| Type::Bool)
            }
            ExprKind::Between { subject, low, high } => {
                let s = self.expr(subject, scope);
                let l = self.expr(low, scope);
                let h = self.expr(high, scope);
                let (s, l, h) = (s?, l?, h?);
                if !matches!(s, Type::Number | Type::Time) {
                    return self.mismatch(
                        subject.span,
                        format!("`between` works on numbers and times, not on a {s}"),
                    );
                }
                for (t, ex) in [(l, low), (h, high)] {
                    if t != s {
                        return self.mismatch(
                            ex.span,
                            format!("this bound is a {t}, but the value is a {s}"),
                        );
                    }
                }
                Some(Type::Bool)
            }
            ExprKind::IsSet { subject, missing } => {
                let word = if *missing { "is missing" } else { "is set" };
                match &subject.unparen().kind {
                    ExprKind::Name(n) => match self.sym.bare.get(&n.name) {
                        Some(Bare::Field(_)) => Some(Type::Bool),
                        Some(_) => {
                            self.err(
                                codes::NOT_A_FIELD,
                                subject.span,
                                format!(
                                    "`{word}` asks about a lead field, and `{}` is not one",
                                    n.name
                                ),
                            );
                            None
                        }
                        None => {
                            self.unknown_bare(n);
                            None
                        }
                    },
                    ExprKind::Member { head, .. } if head.name == "event" => {
                        self.expr(subject, scope).map(|_| Type::Bool)
                    }
                    _ => {
                        self.err(
                            codes::NOT_A_FIELD,
                            subject.span,
                            format!("`{word}` asks about a lead field or an event property"),
                        );
                        None
                    }
                }
            }
        }
    }

    pub(super) fn list_operand(&mut self, list: &Expr, scope: Scope<'_>) -> Option<Type> {
        match &list.unparen().kind {
            ExprKind::List(_) => self.expr(list, scope),
            ExprKind::Name(n) => {
                let t = self.expr(list, scope)?;
                match t {
                    Type::List(_) | Type::Tags => Some(t),
                    _ => self.list_error(list, Some(&n.name)),
                }
            }
            _ => {
                self.expr(list, scope)?;
                self.list_error(list, None)
            }
        }
    }

    pub(super) fn list_error(&mut self, list: &Expr, name: Option<&str>) -> Option<Type> {
        let msg = match name {
            Some(n) => format!("`in` needs a list, and `{n}` is not one"),
            None => "`in` needs a list: `[\"a\", \"b\"]`, a list const, or `tags`".to_owned(),
        };
        self.diags.push(
            Diagnostic::error(codes::NOT_A_LIST, list.span, msg)
                .with_help("for text inside text, use `contains`"),
        );
        None
    }

    pub(super) fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        scope: Scope<'_>,
    ) -> Option<Type> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.want(lhs, scope, Type::Bool, &format!("`{}`", op.symbol()));
                let r = self.want(rhs, scope, Type::Bool, &format!("`{}`", op.symbol()));
                l.and(r).map(|_| Type::Bool)
            }
            BinaryOp::Mul | BinaryOp::Div => {
                let l = self.want(lhs, scope, Type::Number, &format!("`{}`", op.symbol()));
                let r = self.want(rhs, scope, Type::Number, &format!("`{}`", op.symbol()));
                l.and(r).map(|_| Type::Number)
            }
            BinaryOp::Add | BinaryOp::Sub => {
                let l = self.expr(lhs, scope);
                let r = self.expr(rhs, scope);
                let (l, r) = (l?, r?);
                match (l, r) {
                    (Type::Number, Type::Number) => Some(Type::Number),
                    (Type::Time, Type::Duration) => Some(Type::Time),
                    (Type::Duration, Type::Time) if op == BinaryOp::Add => Some(Type::Time),
                    (Type::Time, Type::Number) | (Type::Number, Type::Time) => self.mismatch(
                        rhs.span.to(lhs.span),
                        format!(
                            "to move a time, `{}` a duration like `7 days`, not a number",
                            op.symbol()
                        ),
                    ),
                    (Type::Number, t) | (t, Type::Number) => self.mismatch(
                        if r == t { rhs.span } else { lhs.span },
                        format!(
                            "`{}` works on numbers (or a time and a duration), not on a {t}",
                            op.symbol()
                        ),
                    ),
                    (l, _) => self.mismatch(
                        lhs.span,
                        format!(
                            "`{}` works on numbers (or a time and a duration), not on a {l}",
                            op.symbol()
                        ),
                    ),
                }
            }
        }
    }

    pub(super) fn call(
        &mut self,
        e: &Expr,
        func: &Ident,
        args: &[Expr],
        scope: Scope<'_>,
    ) -> Option<Type> {
        let Some(b) = stdlib::builtin(&func.name) else {
            let mut d = Diagnostic::error(
                codes::UNKNOWN_FUNCTION,
                func.span,
                format!("there is no function `{}`", func.name),
            );
            let names = stdlib::BUILTINS.iter().map(|b| b.name).chain(["count"]);
            if let Some(s) = did_you_mean(&func.name, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            self.diags.push(d);
            for a in args {
                let _ = self.expr(a, scope);
            }
            return None;
        };
        if args.len() != b.params.len() {
            self.diags.push(
                Diagnostic::error(
                    codes::UNKNOWN_FUNCTION,
                    e.span,
                    format!(
                        "`{}` takes {} argument{}, but {} {} given",
                        b.name,
                        b.params.len(),
                        if b.params.len() == 1 { "" } else { "s" },
                        args.len(),
                        if args.len() == 1 { "is" } else { "are" }
                    ),
                )
                .with_help(format!("`{}`", b.signature())),
            );
            return None;
        }
        let mut ok = true;
        for (a, p) in args.iter().zip(b.params) {
            match p {
                Param::Template => match &a.unparen().kind {
                    ExprKind::Name(n) => {
                        if self.template(n).is_none() {
                            ok = false;
                        }
                    }
                    _ => {
                        self.err(
                            codes::TYPE_MISMATCH,
                            a.span,
                            format!(
                                "`{}` takes a template name, like `{}(ebook_delivery)`",
                                b.name, b.name
                            ),
                        );
                        ok = false;
                    }
                },
                Param::Value(t) => {
                    if self.want(a, scope, *t, &format!("`{}`", b.name)).is_none() {
                        ok = false;
                    }
                }
            }
        }
        ok.then_some(b.result)
    }
}

/// What to write instead of comparing a number with a text (`company_size == "200"`,
/// `industry > 3`): the value with or without quotes, as the other side needs.
fn compare_help(op: CompareOp, lhs: &Expr, l: Type, rhs: &Expr, r: Type) -> Option<String> {
    let ordering = !matches!(op, CompareOp::Eq | CompareOp::Ne);
    let sym = op.symbol();
    // The side that is a field (or any other value) and the side written as a literal.
    let (subject, literal, subject_ty) = match (&lhs.unparen().kind, &rhs.unparen().kind) {
        (_, ExprKind::Text(_) | ExprKind::Number { .. }) => (lhs, rhs, l),
        (ExprKind::Text(_) | ExprKind::Number { .. }, _) => (rhs, lhs, r),
        _ => (lhs, rhs, l),
    };
    let name = match &subject.unparen().kind {
        ExprKind::Name(n) => Some(n.name.as_str()),
        _ => None,
    };
    let it = name.map_or("the value".to_owned(), |n| format!("`{n}`"));
    let written = |value: &str| match name {
        Some(n) if literal.span.start > subject.span.start => format!("`{n} {sym} {value}`"),
        Some(n) => format!("`{value} {sym} {n}`"),
        None => format!("`{value}`"),
    };
    match (subject_ty, &literal.unparen().kind) {
        (Type::Number, ExprKind::Text(t)) => {
            let digits = t.value.trim().replace(['_', ','], "");
            let range = digits
                .split_once(['-', '–'])
                .filter(|(a, b)| a.trim().parse::<f64>().is_ok() && b.trim().parse::<f64>().is_ok());
            if digits.parse::<f64>().is_ok() {
                Some(format!(
                    "{it} is a number: write the number without quotes, {}",
                    written(&digits)
                ))
            } else if let (Some((low, high)), Some(n)) = (range, name) {
                Some(format!(
                    "{it} is a number: for a range write `{n} between {} and {}`",
                    low.trim(),
                    high.trim()
                ))
            } else {
                Some(format!("{it} is a number: compare it with a number, like {}", written("100")))
            }
        }
        (Type::Text, ExprKind::Number { raw, .. }) if ordering => Some(format!(
            "{it} is a text, and `{sym}` orders only numbers, times and stages: to compare texts write `==` or `!=` and the value in quotes, like `{}== \"{raw}\"`",
            name.map_or(String::new(), |n| format!("{n} "))
        )),
        (Type::Text, ExprKind::Number { raw, .. }) => Some(format!(
            "{it} is a text: put the value in quotes, {}",
            written(&format!("\"{raw}\""))
        )),
        _ => None,
    }
}

//! Literals and constants: a value of the declared type, stages, `const` declarations.

use super::*;

impl<'a> Checker<'a> {
    /// Checks a literal value against the type a field or property expects.
    pub(super) fn literal_of(&mut self, lit: &Literal, want: Type, what: &str) {
        match (&lit.kind, want) {
            (LiteralKind::Number { .. }, Type::Number)
            | (LiteralKind::Text(_), Type::Text)
            | (LiteralKind::Bool(_), Type::Bool) => {}
            (LiteralKind::Text(t), Type::Time) => {
                if t.value.parse::<jiff::Timestamp>().is_err() {
                    self.err(
                        codes::TYPE_MISMATCH,
                        lit.span,
                        format!("{what} must be a time like \"2026-01-05T09:00:00+07:00\""),
                    );
                }
            }
            (LiteralKind::Name(n), Type::Stage) => {
                if self.sym.stage_index(&n.name).is_none() {
                    self.unknown_stage(n);
                }
            }
            (LiteralKind::List(items), Type::Tags) => {
                for i in items {
                    self.literal_of(i, Type::Text, "a tag");
                }
            }
            _ => {
                let got = literal_type(lit)
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "a value".into());
                self.err(
                    codes::TYPE_MISMATCH,
                    lit.span,
                    format!("{what} must be a {want}, not a {got}"),
                );
            }
        }
    }

    pub(super) fn unknown_stage(&mut self, n: &Ident) {
        let names: Vec<&str> = self.sym.stages.iter().map(|s| s.name.as_str()).collect();
        let mut d = Diagnostic::error(
            codes::UNKNOWN_NAME,
            n.span,
            format!("`{}` is not a stage", n.name),
        );
        if let Some(s) = did_you_mean(&n.name, names.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
    }

    pub(super) fn const_decl(&mut self, c: &ConstDecl) {
        if let LiteralKind::List(items) = &c.value.kind {
            let want = items.first().and_then(literal_type);
            // One list written wrong is one mistake: each problem is reported at its first item.
            let (mut nested, mut bool_item, mut mixed) = (false, false, false);
            for item in items {
                match &item.kind {
                    LiteralKind::List(_) if !std::mem::replace(&mut nested, true) => self.err(
                        codes::BAD_CONST,
                        item.span,
                        "a list cannot contain another list",
                    ),
                    LiteralKind::Bool(_) if !std::mem::replace(&mut bool_item, true) => self.err(
                        codes::BAD_CONST,
                        item.span,
                        "a list holds text, numbers or stages, not true/false",
                    ),
                    LiteralKind::Name(n) if self.sym.stage_index(&n.name).is_none() => {
                        self.unknown_stage(n);
                    }
                    _ => {}
                }
                if literal_type(item) != want && !std::mem::replace(&mut mixed, true) {
                    self.err(
                        codes::BAD_CONST,
                        item.span,
                        "all items of a list must have the same type",
                    );
                }
            }
        } else if let LiteralKind::Name(n) = &c.value.kind {
            if self.sym.stage_index(&n.name).is_none() {
                self.unknown_stage(n);
            }
        }
    }
}

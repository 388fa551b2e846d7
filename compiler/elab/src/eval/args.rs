//! Evaluated call arguments and their binding to parameters (shared by
//! block calls and builtins).

use super::diag::suggest;
use super::Elab;
use crate::codes;
use crate::value::Value;
use nnc_diag::{Diagnostic, Span};
use nnc_syntax::ast::Ident;

/// An evaluated call argument.
pub(crate) struct ArgV<'a> {
    pub(crate) name: Option<&'a Ident>,
    pub(crate) value: Value,
    /// The span of the value expression.
    pub(crate) span: Span,
    /// The span of the whole argument (`key = value`).
    pub(crate) arg_span: Span,
}

/// Bound arguments: one slot per parameter, and the `name` argument.
pub(crate) type Bound<'a> = (Vec<Option<ArgV<'a>>>, Option<ArgV<'a>>);

impl<'a> Elab<'a> {
    /// Binds evaluated arguments to parameters: positional first, then
    /// keywords; `name` is taken apart when `allow_name`. Reports unknown,
    /// duplicate, missing and surplus arguments (with the definition as a
    /// secondary label when there is one). None if any error.
    pub(crate) fn bind(
        &mut self,
        callee: &Ident,
        params: &[&str],
        required: &[bool],
        args: Vec<ArgV<'a>>,
        allow_name: bool,
        def: Option<Span>,
    ) -> Option<Bound<'a>> {
        let mut slots: Vec<Option<ArgV<'a>>> = (0..params.len()).map(|_| None).collect();
        let mut name_arg: Option<ArgV<'a>> = None;
        let mut ok = true;
        let mut positional = 0usize;
        let with_def = |d: Diagnostic| match def {
            Some(s) => d.with_secondary(s, format!("`{}` is defined here", callee.name)),
            None => d,
        };
        for a in args {
            match a.name {
                None => {
                    if positional >= params.len() {
                        let d = Diagnostic::error(
                            codes::TOO_MANY_ARGS,
                            format!(
                                "`{}` takes at most {} positional argument{}",
                                callee.name,
                                params.len(),
                                if params.len() == 1 { "" } else { "s" }
                            ),
                        )
                        .with_primary(a.arg_span, "unexpected argument")
                        .with_note(format!("the parameters are: {}", params.join(", ")));
                        self.report(with_def(d));
                        ok = false;
                        continue;
                    }
                    slots[positional] = Some(a);
                    positional += 1;
                }
                Some(kw) => {
                    if kw.name == "name" && allow_name {
                        if let Some(prev) = &name_arg {
                            self.report(
                                Diagnostic::error(codes::DUPLICATE_ARG, "`name` is given twice")
                                    .with_primary(kw.span, "given again here")
                                    .with_secondary(prev.arg_span, "first given here"),
                            );
                            ok = false;
                        } else {
                            name_arg = Some(a);
                        }
                        continue;
                    }
                    match params.iter().position(|p| *p == kw.name) {
                        None => {
                            let mut d = Diagnostic::error(
                                codes::UNKNOWN_KEYWORD,
                                format!("`{}` has no parameter `{}`", callee.name, kw.name),
                            )
                            .with_primary(kw.span, "unknown keyword argument");
                            let mut cands: Vec<&str> = params.to_vec();
                            if allow_name {
                                cands.push("name");
                            }
                            d = match suggest(&kw.name, &cands) {
                                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                                None => d.with_help(format!(
                                    "the parameters are: {}",
                                    if cands.is_empty() {
                                        "(none)".to_string()
                                    } else {
                                        cands.join(", ")
                                    }
                                )),
                            };
                            self.report(with_def(d));
                            ok = false;
                        }
                        Some(i) => {
                            if let Some(prev) = &slots[i] {
                                self.report(
                                    Diagnostic::error(
                                        codes::DUPLICATE_ARG,
                                        format!("argument `{}` is given twice", kw.name),
                                    )
                                    .with_primary(kw.span, "given again here")
                                    .with_secondary(prev.arg_span, "first given here"),
                                );
                                ok = false;
                            } else {
                                slots[i] = Some(a);
                            }
                        }
                    }
                }
            }
        }
        if ok {
            let missing: Vec<&str> = params
                .iter()
                .zip(required)
                .zip(&slots)
                .filter(|((_, r), s)| **r && s.is_none())
                .map(|((p, _), _)| *p)
                .collect();
            if !missing.is_empty() {
                let list = missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let d = Diagnostic::error(
                    codes::MISSING_ARG,
                    format!(
                        "missing argument{} {list} in the call of `{}`",
                        if missing.len() == 1 { "" } else { "s" },
                        callee.name
                    ),
                )
                .with_primary(callee.span, format!("needs {list}"))
                .with_help(format!("pass it, e.g. `{} = ...`", missing[0]));
                self.report(with_def(d));
                ok = false;
            }
        }
        ok.then_some((slots, name_arg))
    }
}

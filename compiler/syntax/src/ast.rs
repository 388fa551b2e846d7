//! The abstract syntax tree of a `.nn` file. Every node carries its byte span.
//! The parser builds it (with error-recovery placeholders where the text is
//! broken: [`ExprKind::Error`], [`StmtKind::Error`]); the elaborator walks it.

use nnc_diag::Span;

/// An identifier with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole source file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Network(Network),
    Block(Block),
}

impl Item {
    pub fn name(&self) -> &Ident {
        match self {
            Item::Network(n) => &n.name,
            Item::Block(b) => &b.name,
        }
    }
}

/// `network NAME { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub name: Ident,
    pub body: Body,
    /// Attributes written before the item (`#[allow(lint)]`).
    pub attrs: Vec<Attr>,
    pub span: Span,
}

/// `block NAME(params) { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Body,
    pub attrs: Vec<Attr>,
    pub span: Span,
}

/// A block parameter `name` or `name = default`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub default: Option<Expr>,
    pub span: Span,
}

/// An attribute, `#[allow(unbalanced_channels, simd_width)]`: used for
/// in-source lint levels. `name` is `allow`/`warn`/`deny`; `args` the lint names.
#[derive(Clone, Debug, PartialEq)]
pub struct Attr {
    pub name: Ident,
    pub args: Vec<Ident>,
    pub span: Span,
}

/// `{ statements }` with the span of the braces.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub attrs: Vec<Attr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `input NAME: [d0, d1, ...];`
    Input { name: Ident, shape: Vec<Expr> },
    /// `let NAME = EXPR;`
    Let { name: Ident, value: Expr },
    /// `let (A, B, ...) = EXPR;`
    LetTuple { names: Vec<Ident>, value: Expr },
    /// `NAME = EXPR;`
    Assign { name: Ident, value: Expr },
    /// `output NAME = EXPR;` or `output NAME;` (value None).
    Output { name: Ident, value: Option<Expr> },
    /// `return EXPR;`
    Return { value: Expr },
    /// `for I in A..B { ... }`
    For {
        var: Ident,
        start: Expr,
        end: Expr,
        body: Body,
    },
    /// `if C { ... } else if ... { ... } else { ... }`: the `else if` chain is
    /// nested as an `If` statement inside `else_body`.
    If {
        cond: Expr,
        then_body: Body,
        else_body: Option<Body>,
    },
    /// An expression statement (`foo(x);`): allowed, its value is discarded.
    Expr(Expr),
    /// A statement that did not parse (its error was already reported).
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// A piece of a string literal: text, or an interpolated `{expr}`.
#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    Interp(Expr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

/// A call argument: positional (`name` None) or keyword `name = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal. The text is kept (with `_`) so that `nnc fix` can
    /// rewrite it; `value` is None when it does not fit in i64 (reported by
    /// the elaborator as an overflow).
    Int {
        value: Option<i64>,
    },
    Float(f64),
    Bool(bool),
    Str(Vec<StrPart>),
    Name(Ident),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `callee(args)`. `x |> f(a)` is parsed as `Call { f, [x, a] }` with
    /// `pipe` set (for messages).
    Call {
        callee: Ident,
        args: Vec<Arg>,
        pipe: bool,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `if C { E1 } else { E2 }` as an expression (`else if` chains nest in `else_`).
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        else_: Box<Expr>,
    },
    /// `( e )`: kept so spans and messages stay exact.
    Paren(Box<Expr>),
    /// An expression that did not parse (its error was already reported).
    Error,
}

//! Codes of lexing and parsing (E0001–E0099).

super::code_table! {
    INVALID_UTF8 = "E0001" {
        title: "the source file is not valid UTF-8",
        explanation: "A `.nn` file must be UTF-8 text. The diagnostic points at the first byte \
that is not part of a valid UTF-8 sequence.\n\nFix: re-save the file as UTF-8.",
    }
    UNKNOWN_CHAR = "E0002" {
        title: "unknown character",
        explanation: "The lexer found a character that cannot start any token of the language, \
for example `$`, `@`, a single `&` or `|`, or a non-ASCII letter outside a string or comment.\n\n\
```\nlet x = a & b;   // error: `&` alone is not an operator\n```\n\n\
Fix: remove the character, or write the intended operator (`&&`, `||`, `|>`). Identifiers \
are ASCII only: `[A-Za-z_][A-Za-z0-9_]*`. Lexing continues after the bad character, so \
other errors in the file are still reported.",
    }
    UNTERMINATED_COMMENT = "E0003" {
        title: "unterminated block comment",
        explanation: "A `/*` comment was never closed. Block comments nest: every `/*` inside \
a comment needs its own `*/`.\n\n```\n/* outer /* inner */\nnetwork n { }\n```\n\n\
Here the comment runs to the end of the file because the inner `/*` consumed the only `*/`.\n\n\
Fix: add the missing `*/`.",
    }
    UNTERMINATED_STRING = "E0004" {
        title: "unterminated string literal",
        explanation: "A string literal must be closed with `\"` on the same line where it starts \
(strings cannot span lines).\n\n```\nlet n = \"layer1;\n```\n\n\
Fix: add the closing `\"`. To put a newline into a string write `\\n`, and write `\\\"` for a \
quote inside a string.",
    }
    UNKNOWN_ESCAPE = "E0005" {
        title: "unknown escape sequence in a string",
        explanation: "Inside a string literal, `\\` starts an escape. The known escapes are \
`\\\"` (quote), `\\\\` (backslash), `\\n` (newline), `\\t` (tab), `\\r` (carriage return) and \
`\\0` (NUL). Braces are escaped by doubling them: `{{` and `}}`.\n\n\
```\nlet s = \"a\\qb\";   // error: `\\q` is not an escape\n```\n\n\
Fix: use one of the escapes above, or write `\\\\` for a literal backslash.",
    }
    MALFORMED_INTERPOLATION = "E0006" {
        title: "malformed string interpolation",
        explanation: "In a string, `{expr}` inserts the value of a compile-time expression \
(`\"layer{s + 1}\"`). The braces must be balanced and hold an expression:\n\n\
- `\"a{b\"` has an unclosed `{`;\n- `\"a}b\"` has an unmatched `}`;\n- `\"a{}b\"` has an empty \
interpolation;\n- a string literal cannot appear inside an interpolation.\n\n\
Fix: close the interpolation, or write `{{` and `}}` for literal braces.",
    }
    STRING_TOO_LONG = "E0007" {
        title: "string literal too long",
        explanation: "String literals are limited to 4096 bytes. Strings in `.nn` files are \
weight names and messages, so a longer literal is almost certainly a mistake (for example \
a missing closing quote on a very long line).\n\nFix: shorten the string.",
    }
    INVALID_NUMBER = "E0008" {
        title: "invalid number literal",
        explanation: "A number literal could not be read: a float literal whose value is out \
of the range of a 64-bit float (`1e999`), or a literal immediately followed by letters \
(`3px`, `1e`).\n\nInteger literals may contain `_` separators (`1_000`); floats are written \
`0.5`, `1e-5` or `2.5e3` (a digit is required after the `.`: write `2.0`, not `2.`).\n\n\
Fix: write the number in one of these forms.",
    }
    TOO_MANY_DIAGNOSTICS = "E0009" {
        title: "too many diagnostics; the rest are not shown",
        explanation: "A note at the end of the output when a file produced more than 100 \
errors (or more than 100 warnings): only the first 100 of each are printed, and the note \
says how many were left out. The limit keeps the time and the output spent on a badly \
broken file (for example a binary file given by mistake) bounded.\n\n\
Fix: fix the errors shown, which often removes the later ones, and compile again.",
    }
    UNEXPECTED_TOKEN = "E0010" {
        title: "unexpected token",
        explanation: "The parser found a token that cannot appear at this place. The message \
lists what would have been accepted:\n\n```\nlet x = conv2d(image out = 64);\n\
//                   ^^^ expected one of `,` or `)`, found `out`\n```\n\n\
Fix: look at the place the error points to; often a `,`, an operator or a closing \
delimiter is missing just before it. The parser recovers after the error (at the next `;` or \
`}`) and reports later, independent errors as well.",
    }
    UNCLOSED_DELIMITER = "E0011" {
        title: "unclosed delimiter",
        explanation: "The file ended while a `(`, `[` or `{` was still open. The secondary \
label shows the opening delimiter that was never closed.\n\n```\nnetwork n {\n    \
input x: [1, 3];\n// end of file: `{` not closed\n```\n\nFix: add the closing delimiter where \
the construct ends.",
    }
    MISMATCHED_DELIMITER = "E0012" {
        title: "mismatched closing delimiter",
        explanation: "A closing delimiter does not match the innermost open one, for example \
`f(a, b]` or `[1, 2)`. The labels show the opening delimiter and the closing one that does \
not match it.\n\nFix: use the closing delimiter that matches the opener, or close the inner \
delimiter first.",
    }
    UNEXPECTED_CLOSING = "E0013" {
        title: "unexpected closing delimiter",
        explanation: "A `)`, `]` or `}` appears with no matching opening delimiter before \
it.\n\n```\nnetwork n {\n    let x = f(a));\n}\n```\n\nFix: remove the extra closing \
delimiter, or add the missing opening one.",
    }
    EXPECTED_SEMICOLON = "E0014" {
        title: "expected `;`",
        explanation: "Statements (`let`, `input`, `output`, `return`, assignments and \
expression statements) end with `;`. Only `for` and `if` statements, whose bodies are in \
braces, need none.\n\n```\nlet x = relu(x)\nlet y = x;\n```\n\n\
Fix: insert the `;` at the end of the statement (`nnc fix` does this automatically).",
    }
    EXPECTED_ITEM = "E0015" {
        title: "expected an item",
        explanation: "At the top level of a file only items are allowed: \
`network NAME { ... }` and `block NAME(PARAMS) { ... }`, optionally preceded by attributes \
like `#[allow(lint)]`. Statements must be inside the body of a network or block.\n\n\
```\nnetwrok resnet { ... }   // error: did you mean `network`?\n```\n\n\
Fix: correct the keyword (misspellings of `network` and `block` are recognized and their \
bodies still checked), or move the statement into a body.",
    }
    POSITIONAL_AFTER_KEYWORD = "E0016" {
        title: "positional argument after a keyword argument",
        explanation: "In a call, all positional arguments come before the keyword \
arguments:\n\n```\nconv2d(x, out = 64, 3)     // error\nconv2d(x, 3, out = 64)     // or\n\
conv2d(x, out = 64, kernel = 3)\n```\n\nFix: move the positional argument before the first \
keyword argument, or give it its keyword.",
    }
    NESTING_TOO_DEEP = "E0017" {
        title: "nesting too deep",
        explanation: "The input nests delimiters (`(`, `[`, `{`, string interpolations) more \
than 256 levels deep, or an expression is more than 1024 operators deep. Such inputs are \
rejected instead of risking the compiler's stack; no real network needs this depth.\n\n\
Fix: simplify the expression, for example with intermediate `let` bindings.",
    }
    CHAINED_COMPARISON = "E0018" {
        title: "comparison operators cannot be chained",
        explanation: "Comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`) are non-associative: \
`a < b < c` does not mean \"b is between a and c\".\n\n```\nif 0 < i < n { ... }        \
// error\nif 0 < i && i < n { ... }   // write this instead\n```\n\n\
Fix: split the chain with `&&`, or add parentheses if you really mean to compare a `bool`.",
    }
    BAD_ATTRIBUTE = "E0019" {
        title: "unknown or malformed attribute",
        explanation: "Attributes set lint levels for the item or statement that follows them. \
The only attributes are `#[allow(LINT, ...)]`, `#[warn(LINT, ...)]` and \
`#[deny(LINT, ...)]`, with one or more lint names.\n\n```\n#[allow(unbalanced_channels)]\n\
block b(x) { return x; }\n```\n\nFix: use one of the three attribute names.",
    }
    INVALID_ASSIGN_TARGET = "E0020" {
        title: "invalid assignment target",
        explanation: "Only a plain name can be assigned with `NAME = EXPR;`. Values are \
immutable: you cannot assign to an element of a list (`xs[0] = 1;`), to a call or to any \
other expression.\n\nFix: bind a new value instead, e.g. `let ys = [1, xs[1]];`. To compare, \
use `==`.",
    }
    IF_WITHOUT_ELSE = "E0021" {
        title: "`if` expression without `else`",
        explanation: "An `if` used as an expression must have an `else` branch, because it \
must produce a value in both cases:\n\n```\nlet s = if b == 0 { 2 };              // error\n\
let s = if b == 0 { 2 } else { 1 };   // ok\n```\n\nFix: add the `else` branch. (An `if` \
statement, whose bodies hold statements, needs no `else`.)",
    }
}

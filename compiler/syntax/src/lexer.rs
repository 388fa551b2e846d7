//! The lexer (logos).

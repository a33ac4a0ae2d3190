//! The loss expression language, parsed by hand (recursive descent) into an [`Ast`] whose every
//! piece remembers the column it was written at, so that an error can point there.
//!
//! ```text
//! sum     := product (("+" | "-" | "−") product)*
//! product := unary (("*" | "×" | "/" | "÷") unary)*
//! unary   := ("-" | "−") unary | power
//! power   := atom ("^" ["-"] INTEGER)?
//! atom    := NUMBER | NAME | NAME "(" sum ("," sum)* ")" | "(" sum ")"
//! ```
//! `-x^2` is `-(x^2)`; `x^2^3` is refused (write the parentheses).

use crate::format::Decimal;

/// The largest integer exponent `^` takes: each power is that many multiplications.
pub const MAX_EXPONENT: u32 = 64;

/// A refusal: what is wrong, and the 1-based column (in characters) where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A function of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// |x|.
    Abs,
    /// √x.
    Sqrt,
    /// e^x.
    Exp,
    /// ln x.
    Log,
    /// ln(1 + x).
    Log1p,
    /// tanh x.
    Tanh,
    /// 1 / (1 + e^−x).
    Sigmoid,
    /// The smaller of two.
    Min,
    /// The larger of two.
    Max,
}

impl Function {
    const ALL: [(&'static str, Function); 9] = [
        ("abs", Function::Abs),
        ("sqrt", Function::Sqrt),
        ("exp", Function::Exp),
        ("log", Function::Log),
        ("log1p", Function::Log1p),
        ("tanh", Function::Tanh),
        ("sigmoid", Function::Sigmoid),
        ("min", Function::Min),
        ("max", Function::Max),
    ];

    fn named(name: &str) -> Option<Function> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// How many arguments it takes.
    pub fn arity(self) -> usize {
        match self {
            Function::Min | Function::Max => 2,
            _ => 1,
        }
    }

    /// Its name in the language (and in op names).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map(|(n, _)| *n)
            .expect("every function is listed")
    }
}

/// Arithmetic between two expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// a + b.
    Add,
    /// a − b.
    Sub,
    /// a × b.
    Mul,
    /// a ÷ b.
    Div,
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Ast {
    /// `y`.
    Target,
    /// `p`.
    Prediction,
    /// A numeric literal, held exactly.
    Literal(Decimal),
    /// A named constant (`--const NAME=…`).
    Named(String),
    /// −x.
    Neg(Box<Ast>),
    /// a ∘ b.
    Binary(Operator, Box<Ast>, Box<Ast>),
    /// x^n.
    Power(Box<Ast>, i32),
    /// f(args).
    Call(Function, Vec<Ast>),
}

/// Parses `text`; `is_constant` says which names are constants.
pub fn parse(text: &str, is_constant: &dyn Fn(&str) -> bool) -> Result<Ast, ParseError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        at: 0,
        is_constant,
    };
    parser.skip_space();
    if parser.peek().is_none() {
        return Err(parser.error("empty expression"));
    }
    let ast = parser.sum()?;
    match parser.peek() {
        None => Ok(ast),
        Some(')') => Err(parser.error("unbalanced `)`: no `(` opens it")),
        Some(c) => Err(parser.error(format!("unexpected `{c}`: expected an operator"))),
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    at: usize,
    is_constant: &'a dyn Fn(&str) -> bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn bump(&mut self) {
        self.at += 1;
        self.skip_space();
    }

    fn error_at(&self, at: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            column: at + 1,
            message: message.into(),
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.at, message)
    }

    fn sum(&mut self) -> Result<Ast, ParseError> {
        let mut left = self.product()?;
        loop {
            let operator = match self.peek() {
                Some('+') => Operator::Add,
                Some('-' | '−') => Operator::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.product()?;
            left = Ast::Binary(operator, Box::new(left), Box::new(right));
        }
    }

    fn product(&mut self) -> Result<Ast, ParseError> {
        let mut left = self.unary()?;
        loop {
            let operator = match self.peek() {
                Some('*' | '×') => Operator::Mul,
                Some('/' | '÷') => Operator::Div,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.unary()?;
            left = Ast::Binary(operator, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Ast, ParseError> {
        if matches!(self.peek(), Some('-' | '−')) {
            self.bump();
            return Ok(Ast::Neg(Box::new(self.unary()?)));
        }
        self.power()
    }

    fn power(&mut self) -> Result<Ast, ParseError> {
        let base = self.atom()?;
        if self.peek() != Some('^') {
            return Ok(base);
        }
        self.bump();
        let start = self.at;
        let negative = matches!(self.peek(), Some('-' | '−'));
        if negative {
            self.bump();
        }
        let digits_start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let digits: String = self.chars[digits_start..self.at].iter().collect();
        let exponent_error = || {
            self.error_at(
                start,
                format!("an exponent is an integer from -{MAX_EXPONENT} to {MAX_EXPONENT}"),
            )
        };
        if digits.is_empty() || self.peek().is_some_and(|c| c == '.' || c.is_alphanumeric()) {
            return Err(exponent_error());
        }
        let magnitude: u32 = digits.parse().map_err(|_| exponent_error())?;
        if magnitude > MAX_EXPONENT {
            return Err(exponent_error());
        }
        self.skip_space();
        if self.peek() == Some('^') {
            return Err(self.error("`^` after a power: write (a^m)^n"));
        }
        let exponent = magnitude as i32;
        Ok(Ast::Power(
            Box::new(base),
            if negative { -exponent } else { exponent },
        ))
    }

    fn atom(&mut self) -> Result<Ast, ParseError> {
        let start = self.at;
        match self.peek() {
            None => Err(self.error("the expression ends where an operand is expected")),
            Some('(') => {
                self.bump();
                let inner = self.sum()?;
                if self.peek() != Some(')') {
                    return Err(self.error_at(start, "unbalanced `(`: no `)` closes it"));
                }
                self.bump();
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_alphabetic() || c == '_' => self.name(),
            Some(c) => Err(self.error(format!("unexpected `{c}`: expected an operand"))),
        }
    }

    fn number(&mut self) -> Result<Ast, ParseError> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
            self.at += 1;
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let mark = self.at;
            self.at += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.at += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.at = mark;
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.at += 1;
            }
        }
        let text: String = self.chars[start..self.at].iter().collect();
        let value = text
            .parse::<Decimal>()
            .map_err(|_| self.error_at(start, format!("`{text}` is not a number")))?;
        self.skip_space();
        Ok(Ast::Literal(value))
    }

    fn name(&mut self) -> Result<Ast, ParseError> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.at += 1;
        }
        let name: String = self.chars[start..self.at].iter().collect();
        self.skip_space();
        if self.peek() == Some('(') {
            let function = Function::named(&name).ok_or_else(|| {
                let names: Vec<&str> = Function::ALL.iter().map(|(n, _)| *n).collect();
                self.error_at(
                    start,
                    format!(
                        "unknown function `{name}`: expected {}",
                        crate::names::one_of(&names)
                    ),
                )
            })?;
            return self.call(function, start);
        }
        match name.as_str() {
            "y" => Ok(Ast::Target),
            "p" => Ok(Ast::Prediction),
            _ if Function::named(&name).is_some() => {
                Err(self.error_at(start, format!("`{name}` is a function: write {name}(…)")))
            }
            _ if (self.is_constant)(&name) => Ok(Ast::Named(name)),
            _ => Err(self.error_at(
                start,
                format!(
                    "unknown constant `{name}`: give it with --const {name}=VALUE (the variables are y and p)"
                ),
            )),
        }
    }

    fn call(&mut self, function: Function, start: usize) -> Result<Ast, ParseError> {
        let open = self.at;
        self.bump();
        let mut args = vec![self.sum()?];
        while self.peek() == Some(',') {
            self.bump();
            args.push(self.sum()?);
        }
        if self.peek() != Some(')') {
            return Err(match self.peek() {
                None => self.error_at(open, "unbalanced `(`: no `)` closes it"),
                Some(c) => self.error(format!("unexpected `{c}`: expected `,` or `)`")),
            });
        }
        self.bump();
        if args.len() != function.arity() {
            return Err(self.error_at(
                start,
                format!(
                    "{}() takes {} argument{}, not {}",
                    function.name(),
                    function.arity(),
                    if function.arity() == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        Ok(Ast::Call(function, args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column_of(text: &str) -> (usize, String) {
        let error = parse(text, &|name| name == "eps").unwrap_err();
        (error.column, error.message)
    }

    #[test]
    fn precedence_binds_power_then_minus_then_products() {
        let ast = parse("-p^2 + y * 3", &|_| false).unwrap();
        let Ast::Binary(Operator::Add, left, right) = ast else {
            panic!("a sum at the top")
        };
        assert!(matches!(*left, Ast::Neg(ref x) if matches!(**x, Ast::Power(_, 2))));
        assert!(matches!(*right, Ast::Binary(Operator::Mul, _, _)));
    }

    #[test]
    fn errors_point_at_their_column() {
        assert_eq!(column_of("abs(y - p").0, 4);
        assert_eq!(column_of("abs(y - p))").0, 11);
        assert_eq!(column_of("foo(y - p)").0, 1);
        assert_eq!(column_of("y - p / delta").0, 9);
        assert_eq!(column_of("(y - p)^0.5").0, 9);
        assert_eq!(column_of("y - ").0, 5);
        assert!(column_of("max(y)").1.contains("takes 2 arguments"));
    }
}

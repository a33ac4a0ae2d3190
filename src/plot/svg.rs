//! A small SVG writer: elements one per line, indented by depth, attributes in the order
//! written, numbers with at most two decimals, text escaped. The same calls give the same bytes.

use std::fmt::Write;

/// Writes one SVG document.
pub struct Svg {
    out: String,
    open: Vec<&'static str>,
}

/// An attribute value as SVG text.
pub trait Attr {
    /// Appends the value, escaped.
    fn write_to(&self, out: &mut String);
}

impl Attr for f64 {
    fn write_to(&self, out: &mut String) {
        out.push_str(&num(*self));
    }
}

impl Attr for &str {
    fn write_to(&self, out: &mut String) {
        out.push_str(&escape(self));
    }
}

impl Attr for String {
    fn write_to(&self, out: &mut String) {
        out.push_str(&escape(self));
    }
}

macro_rules! integer_attrs {
    ($($ty:ty),*) => {$(
        impl Attr for $ty {
            fn write_to(&self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
        }
    )*};
}

integer_attrs!(i32, i64, u64, usize);

/// A coordinate or length: at most two decimals, trailing zeros dropped, never `-0`. Formatting
/// is exact decimal arithmetic, so it is the same on every machine.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    let text = format!("{x:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".into(),
        other => other.into(),
    }
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for XML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An element being written: attributes first, then [`Tag::end`], [`Tag::open`] or
/// [`Tag::text`].
pub struct Tag<'s> {
    svg: &'s mut Svg,
    name: &'static str,
}

impl Tag<'_> {
    /// Adds an attribute.
    pub fn at(self, name: &str, value: impl Attr) -> Self {
        let out = &mut self.svg.out;
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        value.write_to(out);
        out.push('"');
        self
    }

    /// Adds an attribute when `value` is `Some`.
    pub fn at_some(self, name: &str, value: Option<impl Attr>) -> Self {
        match value {
            Some(value) => self.at(name, value),
            None => self,
        }
    }

    /// Closes an empty element: `<rect … />`.
    pub fn end(self) {
        self.svg.out.push_str("/>\n");
    }

    /// Opens an element with children; close it with [`Svg::close`].
    pub fn open(self) {
        self.svg.out.push_str(">\n");
        self.svg.open.push(self.name);
    }

    /// Writes the element with `text` (escaped) as its content.
    pub fn text(self, text: &str) {
        let out = &mut self.svg.out;
        let _ = writeln!(out, ">{}</{}>", escape(text), self.name);
    }

    /// Writes the element with `markup` (already escaped: `<tspan>`s) as its content.
    pub fn markup(self, markup: &str) {
        let out = &mut self.svg.out;
        let _ = writeln!(out, ">{markup}</{}>", self.name);
    }
}

impl Svg {
    /// A document of `width` × `height` pixels whose `<title>` is `title`.
    pub fn new(width: f64, height: f64, title: &str) -> Svg {
        let mut svg = Svg {
            out: String::new(),
            open: Vec::new(),
        };
        svg.el("svg")
            .at("xmlns", "http://www.w3.org/2000/svg")
            .at("width", width)
            .at("height", height)
            .at("viewBox", format!("0 0 {} {}", num(width), num(height)))
            .at("font-family", "sans-serif")
            .at("font-size", 12.0)
            .open();
        svg.el("title").text(title);
        svg.el("rect")
            .at("width", width)
            .at("height", height)
            .at("fill", "#ffffff")
            .end();
        svg
    }

    /// The picture's heading: `title` in bold at the top, from `x`.
    pub fn heading(&mut self, x: f64, title: &str) {
        self.el("text")
            .at("x", x)
            .at("y", 24.0)
            .at("font-size", 15.0)
            .at("font-weight", "bold")
            .text(title);
    }

    /// Starts the element `name`.
    pub fn el(&mut self, name: &'static str) -> Tag<'_> {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        Tag { svg: self, name }
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) {
        if let Some(name) = self.open.pop() {
            for _ in 0..self.open.len() {
                self.out.push_str("  ");
            }
            let _ = writeln!(self.out, "</{name}>");
        }
    }

    /// The `<svg>` element, every open element closed: for inlining into HTML.
    pub fn element(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

/// A stand-alone SVG file: the XML declaration and the `<svg>` element.
pub fn file(element: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{element}")
}

/// `points` as the value of a `points` attribute.
pub fn points(points: &[(f64, f64)]) -> String {
    let pairs: Vec<String> = points
        .iter()
        .map(|&(x, y)| format!("{},{}", num(x), num(y)))
        .collect();
    pairs.join(" ")
}

/// `base` with `exponent` as a superscript (`10⁻³`), as SVG text markup.
pub fn power(base: u32, exponent: i32) -> String {
    format!("{base}<tspan dy=\"-5\" font-size=\"9\">{exponent}</tspan>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_at_most_two_decimals_and_no_negative_zero() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(1.005), "1");
        assert_eq!(num(0.126), "0.13");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(-41.236), "-41.24");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn elements_nest_escape_and_close() {
        let mut svg = Svg::new(10.0, 5.5, "a <b> & 'c'");
        svg.el("g")
            .at("class", "lane")
            .at("data-lane", "f16")
            .open();
        svg.el("circle").at("r", 2.0).at("cx", 1usize).end();
        svg.el("text").at("x", 0.5).text("1 < 2");
        let text = file(&svg.element());
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"5.5\" \
             viewBox=\"0 0 10 5.5\" font-family=\"sans-serif\" font-size=\"12\">\n\
             \x20 <title>a &lt;b&gt; &amp; &#39;c&#39;</title>\n\
             \x20 <rect width=\"10\" height=\"5.5\" fill=\"#ffffff\"/>\n\
             \x20 <g class=\"lane\" data-lane=\"f16\">\n\
             \x20   <circle r=\"2\" cx=\"1\"/>\n\
             \x20   <text x=\"0.5\">1 &lt; 2</text>\n\
             \x20 </g>\n\
             </svg>\n"
        );
    }
}

//! JSON output that mirrors the CSV files: the same tables, the same column names, and
//! non-finite values as the strings `"nan"`, `"inf"`, `"-inf"` (JSON has no such numbers, and
//! `null` would not tell them apart).

use serde_json::{Map, Value};

/// One CSV cell as a JSON value: a finite number, a boolean, `null` for an empty cell, a string
/// otherwise.
pub fn cell(text: &str) -> Value {
    match text {
        "" => return Value::Null,
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => serde_json::Number::from_f64(x).map_or(Value::Null, |n| {
            // Integers stay integers (counts, steps).
            text.parse::<i64>().map_or(Value::Number(n), Value::from)
        }),
        _ => Value::String(text.to_string()),
    }
}

/// A table as an array of objects keyed by column name.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                let object: Map<String, Value> = header
                    .iter()
                    .zip(row)
                    .map(|(name, text)| (name.to_string(), cell(text)))
                    .collect();
                Value::Object(object)
            })
            .collect(),
    )
}

/// Pretty-printed, with a final newline.
pub fn render(value: &Value) -> String {
    // Serialising a Value built from strings and finite numbers cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_non_finite_values_apart() {
        assert_eq!(cell("nan"), Value::from("nan"));
        assert_eq!(cell("inf"), Value::from("inf"));
        assert_eq!(cell("-inf"), Value::from("-inf"));
        assert_eq!(cell(""), Value::Null);
        assert_eq!(cell("400"), Value::from(400));
        assert_eq!(cell("1e-08"), Value::from(1e-8));
        assert_eq!(cell("f16"), Value::from("f16"));
        assert_eq!(cell("true"), Value::Bool(true));
    }
}

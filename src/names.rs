//! Names of the crate's enums. One declarative macro, [`named_enum!`](crate::named_enum), gives
//! an enum whose variants are written by name (on the command line, in reports, in files) its
//! name table, its `Display`, and — for an enum a flag takes — a `FromStr` whose refusal is
//! worded like every other: ``unknown loss `hinge`: expected mse, mae, relative, huber, …``.

use crate::Error;

/// How a message lists the names it accepts: `a`, `a or b`, `a, b or c`.
///
/// ```
/// use precision_audit::names::one_of;
///
/// assert_eq!(one_of(&["sgd", "adam"]), "sgd or adam");
/// assert_eq!(one_of(&["mse", "mae", "relative"]), "mse, mae or relative");
/// ```
pub fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The refusal of a value that names none of `names`, given to `flag`:
/// ``{flag}: unknown {noun} `{given}`: expected {one_of(names)}``.
pub fn unknown(flag: &str, noun: &str, given: &str, names: &[&str]) -> Error {
    Error::InvalidFlag {
        flag: flag.into(),
        message: format!("unknown {noun} `{given}`: expected {}", one_of(names)),
    }
}

/// Declares a fieldless enum whose variants have names, written `Variant = "name"`, and gives it:
///
/// - `ALL`, every variant in declaration order (an array);
/// - `name()`, the variant's name, and `Display`, which writes it;
/// - `from_name(&str)`, the variant with exactly that name, if any;
/// - with `: parsed from "--flag" as "noun"` after the enum's name, `FromStr`, which refuses an
///   unknown name with [`unknown`]`(flag, noun, …)`.
///
/// Attributes (derives, docs) pass through to the enum and its variants unchanged.
///
/// ```
/// use precision_audit::named_enum;
///
/// named_enum! {
///     /// A colour.
///     #[derive(Clone, Copy, Debug, PartialEq)]
///     pub enum Colour: parsed from "--colour" as "colour" {
///         /// Like blood.
///         Red = "red",
///         /// Like the sea.
///         Blue = "blue",
///     }
/// }
///
/// assert_eq!(Colour::ALL, [Colour::Red, Colour::Blue]);
/// assert_eq!(Colour::Blue.to_string(), "blue");
/// assert_eq!("red".parse::<Colour>().unwrap(), Colour::Red);
/// assert_eq!(
///     "green".parse::<Colour>().unwrap_err().to_string(),
///     "--colour: unknown colour `green`: expected red or blue"
/// );
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $Enum:ident : parsed from $flag:literal as $noun:literal {
            $( $(#[$variant_meta:meta])* $Variant:ident = $name:literal ),+ $(,)?
        }
    ) => {
        $crate::named_enum! {
            $(#[$meta])*
            $vis enum $Enum {
                $( $(#[$variant_meta])* $Variant = $name ),+
            }
        }

        impl ::std::str::FromStr for $Enum {
            type Err = $crate::Error;

            fn from_str(s: &str) -> ::std::result::Result<Self, $crate::Error> {
                Self::from_name(s).ok_or_else(|| {
                    $crate::names::unknown($flag, $noun, s, &Self::ALL.map(Self::name))
                })
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $Enum:ident {
            $( $(#[$variant_meta:meta])* $Variant:ident = $name:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $Enum {
            $( $(#[$variant_meta])* $Variant, )+
        }

        impl $Enum {
            /// Every variant, in declaration order.
            pub const ALL: [$Enum; [$($name),+].len()] = [$($Enum::$Variant),+];

            /// The name this variant is written as: on the command line, in reports, in files.
            pub fn name(self) -> &'static str {
                match self {
                    $( $Enum::$Variant => $name, )+
                }
            }

            /// The variant called exactly `name`, if any.
            pub fn from_name(name: &str) -> ::std::option::Option<$Enum> {
                Self::ALL.into_iter().find(|variant| variant.name() == name)
            }
        }

        impl ::std::fmt::Display for $Enum {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(one_of(&[]), "");
        assert_eq!(one_of(&["weight"]), "weight");
        assert_eq!(one_of(&["weight", "bias"]), "weight or bias");
        assert_eq!(
            one_of(&["relu", "tanh", "sigmoid", "identity"]),
            "relu, tanh, sigmoid or identity"
        );
    }

    #[test]
    fn every_flag_refuses_an_unknown_name_in_one_wording() {
        use crate::kernel::{Accumulate, Activation, Order};
        use crate::model::Preset;
        use crate::train::{Optimizer, UpdateRounding};

        fn refusal<T: std::str::FromStr<Err = Error>>(text: &str) -> String {
            match text.parse::<T>() {
                Ok(_) => panic!("`{text}` should be refused"),
                Err(error) => error.to_string(),
            }
        }
        assert_eq!(
            refusal::<Preset>("hinge"),
            "--loss: unknown loss `hinge`: expected mse, mae, relative, huber, log-cosh, msle, smape, mape, \
             bce, softmax-ce or softmax-ce-naive"
        );
        assert_eq!(
            refusal::<Optimizer>("rmsprop"),
            "--optimizer: unknown optimizer `rmsprop`: expected sgd or adam"
        );
        assert_eq!(
            refusal::<Activation>("gelu"),
            "--activation: unknown activation `gelu`: expected relu, tanh, sigmoid or identity"
        );
        assert_eq!(
            refusal::<Accumulate>("f8"),
            "--accumulate: unknown accumulator `f8`: expected same, f32 or f64"
        );
        assert_eq!(
            refusal::<Order>("shuffled"),
            "--order: unknown order `shuffled`: expected sequential, pairwise or kahan"
        );
        assert_eq!(
            refusal::<UpdateRounding>("up"),
            "--update-rounding: unknown update rounding `up`: expected nearest, stochastic or kahan"
        );
        assert_eq!("kahan".parse::<Order>().unwrap(), Order::Kahan);
        assert_eq!("tanh".parse::<Activation>().unwrap(), Activation::Tanh);
    }

    #[test]
    fn names_round_trip() {
        use crate::audit::EventKind;
        use crate::format::Class;

        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(EventKind::ALL.len(), 10);
        assert_eq!(EventKind::DivByZero.name(), "div_by_zero");
        assert_eq!(Class::from_name("Nan"), None, "names are matched exactly");
    }
}
